"""The ``deepresearch`` command tree: fast start-up, the help, the version, paths, doctor, and the
commands that are not built yet."""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

import deepresearch_local
from deepresearch_local.cli.main import main

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[2]
COMMANDS = ("paths", "doctor", "chat", "ask", "sessions", "docs", "models", "bench")
BENCHES = ("engine", "context", "library", "memory", "startup", "research")
HEAVY = ("textual", "llama_cpp", "mlx", "mlx_lm", "httpx", "gguf", "ddgs", "numpy")


def _run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``deepresearch ARGS`` in a fresh interpreter (DEEPRESEARCH_HOME comes from the test's env)."""
    return subprocess.run(
        [sys.executable, "-m", "deepresearch_local", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        env=os.environ.copy(),
    )


def test_help_imports_nothing_heavy() -> None:
    code = (
        "import sys\n"
        "from deepresearch_local.cli.main import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit as exc:\n"
        "    assert exc.code == 0, exc.code\n"
        "print('MODULES', ' '.join(sorted(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60, check=True
    )
    line = next(x for x in out.stdout.splitlines() if x.startswith("MODULES "))
    loaded = set(line.split()[1:])
    assert "deepresearch_local.cli.main" in loaded  # the listing is real
    heavy = sorted(m for m in loaded if m.split(".")[0] in HEAVY)
    assert heavy == [], heavy


def test_help_lists_every_command() -> None:
    out = _run("--help")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("usage: deepresearch ")
    assert set(COMMANDS) <= _listed(out.stdout), out.stdout
    bench = _run("bench", "--help")
    assert bench.returncode == 0
    assert set(BENCHES) <= _listed(bench.stdout), bench.stdout


def _listed(help_text: str) -> set[str]:
    """The sub-command names in an argparse help (the indented rows under ``COMMAND``)."""
    return {line.split()[0] for line in help_text.splitlines() if line.startswith("    ") and line.strip()}


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"deepresearch-local {deepresearch_local.__version__}"
    out = _run("--version")
    assert (out.returncode, out.stdout.strip()) == (0, "deepresearch-local 0.1.0")


def test_paths_json_under_home(isolated_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["paths", "--json"]) == 0
    paths = json.loads(capsys.readouterr().out)
    keys = {
        "config_dir",
        "data_dir",
        "cache_dir",
        "log_dir",
        "models_dir",
        "config_file",
        "sessions_db",
        "library_db",
        "registry_file",
    }
    assert set(paths) == keys
    home = isolated_home.resolve()
    for key, value in paths.items():
        assert Path(value).is_relative_to(home), (key, value)
    assert paths["models_dir"] == str(home / "models")
    assert paths["config_file"] == str(home / "config" / "config.toml")
    assert paths["sessions_db"] == str(home / "data" / "sessions.sqlite3")
    assert len(set(paths.values())) == len(paths)  # nothing shares a location


def test_paths_table(isolated_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["paths"]) == 0
    out = capsys.readouterr().out
    assert str(isolated_home.resolve() / "data" / "library.sqlite3") in out
    assert "DEEPRESEARCH_HOME=DIR" in out


def test_doctor_json_on_this_machine(isolated_home: Path) -> None:
    out = _run("doctor", "--json")
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    keys = {"os", "arch", "cpu", "ram_total_bytes", "ram_available_bytes", "gpus", "backends", "recommended"}
    assert keys <= d.keys()
    assert d["os"] in ("linux", "macos", "windows") and d["arch"] and d["cpu"]
    total = psutil.virtual_memory().total
    assert 0.9 * total <= d["ram_total_bytes"] <= 1.1 * total
    assert 0 < d["ram_available_bytes"] <= d["ram_total_bytes"]
    assert isinstance(d["gpus"], list)
    assert set(d["backends"]) == {"llama.cpp", "mlx"}
    for name, backend in d["backends"].items():
        assert {"available", "device", "reason"} <= backend.keys(), name
        assert isinstance(backend["available"], bool) and backend["device"] and backend["reason"]
    assert d["backends"]["llama.cpp"]["available"] == (importlib.util.find_spec("llama_cpp") is not None)
    rec = d["recommended"]
    assert {"backend", "variant", "context_tokens", "why"} <= rec.keys()
    assert rec["backend"] in ("mlx", "llama.cpp", "openai") and rec["context_tokens"] >= 8192 and rec["why"]
    assert d["models_dir"] == str(isolated_home.resolve() / "models")


def test_doctor_text(isolated_home: Path) -> None:
    out = _run("doctor")
    assert out.returncode == 0, out.stderr
    assert "Recommended: " in out.stdout and "Why: " in out.stdout
    assert "llama.cpp" in out.stdout and "models folder" in out.stdout


def test_no_command_opens_the_terminal_app(monkeypatch: pytest.MonkeyPatch) -> None:
    """``deepresearch`` alone runs ``deepresearch_local.tui.run:main`` (imported only then)."""
    import deepresearch_local.tui.run as tui_run

    seen: list[object] = []

    def fake_main(args: object) -> int:
        seen.append(args)
        return 7

    monkeypatch.setattr(tui_run, "main", fake_main)
    assert main([]) == 7
    assert len(seen) == 1


def test_bench_without_a_benchmark_prints_help() -> None:
    out = _run("bench")
    assert out.returncode == 2 and "engine" in out.stdout


def test_console_script_entry_point() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))
    target = project["project"]["scripts"]["deepresearch"]
    assert target == "deepresearch_local.cli.main:main"
    module, _, attr = target.partition(":")
    entry = getattr(importlib.import_module(module), attr)
    assert entry is main
    assert entry(["paths", "--json"]) == 0
