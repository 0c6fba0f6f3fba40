"""Open the terminal app headless and report when its first screen is up.

Run in a fresh process (``python -m deepresearch_local.bench.firstpaint``) by ``bench startup``,
which times the whole start from outside. Prints one JSON line the moment the first screen is
mounted and painted (Textual's ``run_test``: the app is ready, the screen's widgets have processed
their mount messages, and one more pause lets the pending refresh run), then closes the app.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import sys
import time

SIZE = (120, 40)


def main() -> int:
    start = time.perf_counter()
    try:
        from deepresearch_local.tui.app import DeepResearchApp
    except Exception as exc:  # not built yet, or broken: say so instead of failing the benchmark
        print(json.dumps({"available": False, "reason": f"{type(exc).__name__}: {exc}"}), flush=True)
        return 0
    imported = time.perf_counter()
    # The screen a returning user sees; first-run setup is a separate screen on top of it.
    params = inspect.signature(DeepResearchApp).parameters
    app = DeepResearchApp(first_run=False) if "first_run" in params else DeepResearchApp()

    async def paint() -> None:
        async with app.run_test(size=SIZE) as pilot:
            ready = time.perf_counter()
            await pilot.pause()
            painted = time.perf_counter()
            report = {
                "available": True,
                "screen": type(app.screen).__name__,
                "import_seconds": round(imported - start, 4),
                "ready_seconds": round(ready - start, 4),
                "painted_seconds": round(painted - start, 4),
            }
            print(json.dumps(report), flush=True)

    try:
        asyncio.run(paint())
    finally:
        service = getattr(app, "service", None)
        if service is not None and hasattr(service, "close"):
            service.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
