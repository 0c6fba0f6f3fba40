"""Regenerate the README's screenshot of the terminal app: ``packaging/assets/tui.svg``.

    .venv/bin/python packaging/assets/make_screenshot.py

A real research runs first, offline, in a throw-away home: a small folder of notes is indexed by
the real library, and a scripted model (fixed replies, so the picture is the same every time)
searches it twice and answers. Then the app opens that session at 120x40 and Textual
exports the screen as SVG. Nothing here touches the network or the user's own folders.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

OUT = Path(__file__).with_name("tui.svg")
SIZE = (120, 40)
QUESTION = "Do heat pumps still work well in very cold winters?"
NOTES = {
    "heat-pumps.md": (
        "# Heat pumps in cold climates\n\n"
        "Modern cold-climate air-source heat pumps keep heating down to about -25 °C. Their efficiency "
        "(COP) falls as the outdoor air gets colder: around 4 at +7 °C and close to 2 at -15 °C, so they "
        "still deliver about twice the heat of a resistive heater for the same electricity.\n\n"
        "## Field trials\n\n"
        "A two-winter field trial in Norway and Canada measured a seasonal COP of 2.6 to 3.1 in homes "
        "where January averages were below -10 °C. Backup resistive heat ran less than 5% of the time.\n"
    ),
    "defrost.md": (
        "# Defrost cycles\n\n"
        "Below about +5 °C frost builds up on the outdoor coil. The unit reverses for a few minutes to "
        "melt it, which costs 5 to 10% of seasonal efficiency in humid, near-freezing weather; in dry, "
        "very cold air frost forms more slowly.\n"
    ),
}


def _turn(think: str, name: str, arguments: dict[str, object]) -> str:
    call = json.dumps({"name": name, "arguments": arguments})
    return f"<think>{think}</think>\n<tool_call>\n{call}\n</tool_call>"


REPLIES = [
    _turn("Look in the user's notes first.", "local_search", {"query": ["heat pump cold climate COP"]}),
    _turn("Check the defrost penalty as well.", "local_search", {"query": ["defrost cycle efficiency"]}),
    "<think>The notes answer it with measured figures.</think>\n<answer>Yes. Cold-climate heat pumps "
    "keep heating to about -25 °C; their COP drops from about 4 at +7 °C to about 2 at -15 °C, and "
    "field trials in Norway and Canada measured seasonal COPs of 2.6 to 3.1 with backup heat running "
    "under 5% of the time. Defrost cycles cost 5 to 10% in humid, near-freezing weather.</answer>",
]
FINDINGS = (
    "- Cold-climate air-source heat pumps keep heating down to about -25 °C [1].\n"
    "- Efficiency falls with temperature: COP about 4 at +7 °C, close to 2 at -15 °C [1].\n"
    "- Two winters of field trials measured seasonal COPs of 2.6 to 3.1; backup heat ran under 5% "
    "of the time [1].\n"
    "- Defrost cycles cost 5 to 10% of seasonal efficiency in humid, near-freezing weather [2]."
)


def main() -> int:
    home = Path(tempfile.gettempdir()) / "deepresearch-demo"  # a fixed path: it shows in the sources
    shutil.rmtree(home, ignore_errors=True)
    os.environ["DEEPRESEARCH_HOME"] = str(home)
    docs = home / "notes"
    docs.mkdir(parents=True)
    for name, text in NOTES.items():
        (docs / name).write_text(text, "utf-8")

    from deepresearch_local.cli.main import main as cli
    from deepresearch_local.engines.scripted import ScriptedEngine
    from deepresearch_local.engines.scripted_file import REPORT_MARKER
    from deepresearch_local.service.sessions import SessionService

    if cli(["docs", "add", str(docs), "--name", "notes", "-q"]) != 0:
        return 1
    replies = iter(REPLIES)

    def respond(prompt: str) -> str:
        return FINDINGS if REPORT_MARKER in prompt else next(replies)

    engine = ScriptedEngine(respond=respond, context_tokens=32768)
    service = SessionService(engine=engine, offline=True)
    events = list(service.ask(QUESTION))
    session_id = str(getattr(events[0], "session_id"))  # noqa: B009  (the first event is RunStarted)
    svg = asyncio.run(_shoot(service, session_id))
    OUT.write_text(svg, "utf-8")
    shutil.rmtree(home, ignore_errors=True)
    print(f"wrote {OUT} ({len(svg):,} characters)")
    return 0


async def _shoot(service: object, session_id: str) -> str:
    from textual.widgets import Input, TextArea

    import deepresearch_local.tui.widgets.research.status as status
    from deepresearch_local.tui.app import DeepResearchApp
    from deepresearch_local.tui.screens.research import ResearchScreen

    status.process_rss = lambda: 9 << 30  # a fixed memory reading, like a loaded 30B model  # type: ignore[attr-defined]
    app = DeepResearchApp(service, first_run=False)  # type: ignore[arg-type]
    app.theme = "textual-dark"
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        assert isinstance(screen, ResearchScreen), screen
        await screen.open_session(session_id)
        screen.status.elapsed = 74.0
        for _ in range(20):
            await pilot.pause(0.05)
        for widget in [*screen.query(Input), *screen.query(TextArea)]:
            widget.cursor_blink = False
        await pilot.pause()
        await pilot.wait_for_scheduled_animations()
        return app.export_screenshot(title="deepresearch")


if __name__ == "__main__":
    sys.exit(main())
