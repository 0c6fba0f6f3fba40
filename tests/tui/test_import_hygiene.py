"""Textual lives only in ``deepresearch_local.tui``: importing any other module of the package,
in a fresh interpreter, must not import it (the headless CLI and the agent stay UI-free)."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import deepresearch_local

REPO = Path(__file__).resolve().parents[2]

CHECK = """
import importlib, json, sys
leaks = {}
for name in sys.argv[1:]:
    before = set(sys.modules)
    importlib.import_module(name)
    if "textual" in sys.modules:
        leaks[name] = sorted(m for m in set(sys.modules) - before if m.split(".")[0] == "textual")[:3]
        break
print(json.dumps({"checked": len(sys.argv) - 1, "leaks": leaks}))
"""


def headless_modules() -> list[str]:
    names = [
        info.name
        for info in pkgutil.walk_packages(deepresearch_local.__path__, "deepresearch_local.")
        if not info.name.startswith("deepresearch_local.tui") and not info.name.endswith("__main__")
    ]
    return ["deepresearch_local", *sorted(names)]


def test_no_module_outside_the_tui_imports_textual() -> None:
    import json

    modules = headless_modules()
    assert {"deepresearch_local.service.sessions", "deepresearch_local.agent.runner"} <= set(modules)
    assert len(modules) > 80  # the walk really found the package
    out = subprocess.run(
        [sys.executable, "-c", CHECK, *modules], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result == {"checked": len(modules), "leaks": {}}


def test_the_check_sees_a_leak() -> None:
    """The same check reports a module that does import Textual (the test can fail)."""
    import json

    out = subprocess.run(
        [sys.executable, "-c", CHECK, "deepresearch_local.config", "deepresearch_local.tui.app"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert list(result["leaks"]) == ["deepresearch_local.tui.app"]
