"""``deepresearch bench startup``: how fast the command line answers and the terminal app appears.

Every figure is wall time from outside, in fresh processes, median of ``--runs``: a bare Python
start (the floor), ``deepresearch --help``, and the terminal app's first paint (process start to
the moment its first screen is mounted and painted, headless, in a temporary home so no user data
is read). The app is reported as not available when ``deepresearch_local.tui.app`` cannot load.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from deepresearch_local.cli.output import print_json, table
from deepresearch_local.errors import UsageError

PAINT_TIMEOUT = 120


def help_command() -> list[str]:
    """The ``deepresearch`` console script next to this interpreter, else ``python -m``."""
    script = Path(sys.executable).parent / ("deepresearch.exe" if os.name == "nt" else "deepresearch")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "deepresearch_local"]


def _wall(cmd: list[str], env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, env=env, timeout=120
    )
    return time.perf_counter() - start


def _summary(samples: list[float]) -> dict[str, Any]:
    return {
        "median_seconds": round(statistics.median(samples), 4),
        "min_seconds": round(min(samples), 4),
        "max_seconds": round(max(samples), 4),
        "runs": [round(s, 4) for s in samples],
    }


def first_paint(home: Path) -> dict[str, Any]:
    """One headless start of the app; wall time until its first screen is painted."""
    env = {**os.environ, "DEEPRESEARCH_HOME": str(home)}
    cmd = [sys.executable, "-m", "deepresearch_local.bench.firstpaint"]
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True, env=env
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    arrived = time.perf_counter() - start
    try:
        _, err = proc.communicate(timeout=PAINT_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    if not line.strip():
        return {
            "available": False,
            "reason": f"the app did not start (exit {proc.returncode}): {err.strip()[-500:]}",
        }
    report: dict[str, Any] = json.loads(line)
    if report.get("available"):
        report["first_paint_seconds"] = round(arrived, 4)
    return report


def bench(runs: int) -> dict[str, Any]:
    from deepresearch_local.bench.machine import machine_info

    if runs < 1:
        raise UsageError("--runs must be at least 1.")
    python = [_wall([sys.executable, "-c", "pass"]) for _ in range(runs)]
    cmd = [*help_command(), "--help"]
    helps = [_wall(cmd) for _ in range(runs)]
    tui: dict[str, Any]
    with tempfile.TemporaryDirectory(prefix="deepresearch-bench-") as tmp:
        paints = []
        for n in range(runs):
            report = first_paint(Path(tmp) / f"home{n}")
            if not report.get("available"):
                break
            paints.append(report)
    if paints:
        tui = {
            "available": True,
            "screen": paints[0]["screen"],
            "home": "fresh temporary DEEPRESEARCH_HOME",
            **_summary([p["first_paint_seconds"] for p in paints]),
            "in_process_import_seconds": round(statistics.median(p["import_seconds"] for p in paints), 4),
        }
    else:
        tui = report
    return {
        "python_start": {"command": f"{sys.executable} -c pass", **_summary(python)},
        "help": {
            "command": "deepresearch --help" if len(cmd) == 2 else "python -m deepresearch_local --help",
            **_summary(helps),
        },
        "tui_first_paint": tui,
        "machine": machine_info(),
    }


def from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The figures for parsed ``bench startup`` arguments (also used by ``bench all``)."""
    return bench(args.runs)


def run(args: argparse.Namespace) -> int:
    result = from_args(args)
    if args.json:
        print_json(result)
        return 0
    rows = [
        ("python -c pass (floor)", f"{result['python_start']['median_seconds'] * 1000:.0f} ms"),
        (result["help"]["command"], f"{result['help']['median_seconds'] * 1000:.0f} ms"),
    ]
    tui = result["tui_first_paint"]
    if tui.get("available"):
        rows.append((f"terminal app first paint ({tui['screen']})", f"{tui['median_seconds'] * 1000:.0f} ms"))
    else:
        rows.append(("terminal app first paint", f"not available: {tui['reason']}"))
    print(table(rows, header=(f"start-up, median of {args.runs}", "wall time")))
    return 0
