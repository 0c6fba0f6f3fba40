"""End to end: `deepresearch ask --offline` with the real 0.5B model through llama.cpp over a folder."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from deepresearch_local.store.sessions import SessionStore

REPO = Path(__file__).resolve().parents[2]
NETWATCH = REPO / "tests" / "support" / "netwatch"
QUESTION = "Which shelf holds the blue archive box?"
MAX_STEPS = 4


def _docs(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "archive.md").write_text(
        "# Archive handbook\n\n## Storage\n\n"
        "The blue archive box is kept on shelf 14 in the north storage room.\n"
        "The red archive box moved to shelf 3 in 2024.\n\n## Access\n\n"
        "Visitors need a signed badge from the front desk before entering the storage rooms.\n"
    )
    (docs / "history.txt").write_text(
        "The archive was founded in 1962 by the city council.\n"
        "Its first curator was Maria Lind, who served until 1990.\n"
    )
    return docs


def _check_sources_open(report: str) -> int:
    """Every source listed in the report is a file that exists, and its line range is in it."""
    sources = report.split("## Sources", 1)[1]
    checked = 0
    for line in sources.strip().splitlines():
        match = re.match(r"\d+\. (?:.*?: )?(/[^,]+)(?:, (.*))?$", line.strip())
        if not match:
            continue
        path = Path(match.group(1))
        assert path.is_file(), f"cited file does not exist: {path}"
        lines = re.search(r"lines (\d+)-(\d+)", match.group(2) or "")
        if lines:
            total = len(path.read_text().splitlines())
            assert 1 <= int(lines.group(1)) <= int(lines.group(2)) <= total, line
        checked += 1
    return checked


def test_offline_ask_with_the_real_model(qwen05b: Path, tmp_path: Path, isolated_home: Path) -> None:
    docs = _docs(tmp_path)
    report_path = tmp_path / "report.md"
    netlog = tmp_path / "net.log"
    env = {
        **os.environ,
        "DEEPRESEARCH_HOME": str(isolated_home),
        "PYTHONPATH": os.pathsep.join([str(NETWATCH), str(REPO)]),
        "DRL_NETWATCH_LOG": str(netlog),
    }
    cmd = [
        sys.executable, "-m", "deepresearch_local", "ask", QUESTION, "--offline", "--docs", str(docs),
        "--model", str(qwen05b), "--context", "8192", "--max-steps", str(MAX_STEPS), "--temperature", "0",
        "--json", "-o", str(report_path),
    ]  # fmt: skip
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode in (0, 4), proc.stderr[-3000:]
    events = [json.loads(line) for line in proc.stdout.splitlines()]  # every line is one JSON object
    assert all("type" in e for e in events)
    assert events[0]["type"] == "run_started" and events[-1]["type"] == "finished"
    started, finished = events[0], events[-1]
    for key in ("answer", "termination", "session_id", "report_path", "steps", "max_prompt_tokens"):
        assert key in finished
    # Within its limits: the step limit (plus one forced final call) and the prompt budget.
    assert finished["steps"] <= MAX_STEPS + 1
    assert 0 < finished["max_prompt_tokens"] <= started["budget_tokens"]
    assert started["context_tokens"] == 8192  # read back from llama.cpp
    called = {e["name"] for e in events if e["type"] == "tool_called"}
    assert called <= {"local_search", "local_read", "parse_file", "PythonInterpreter"}
    # The session is stored with every step.
    with SessionStore(isolated_home / "data" / "sessions.sqlite3") as store:
        run = store.runs(finished["session_id"])[-1]
        assert run.status == "finished" and run.termination == finished["termination"]
        assert len([s for s in store.steps(run.id) if s.kind == "model"]) == finished["steps"]
    if finished["answer"]:
        assert finished["termination"] in ("answer", "forced_answer", "loop_forced_answer")
        assert report_path.is_file() and finished["report_path"] == str(report_path)
        report = report_path.read_text()
        assert report.startswith(f"# {QUESTION}") and "## Sources" in report
        assert _check_sources_open(report) >= 1
    else:
        assert proc.returncode == 4
    # Offline means offline: nothing in the process even tried to reach a non-loopback host.
    assert not netlog.exists() or netlog.read_text() == ""


def test_the_network_watcher_sees_attempts(tmp_path: Path) -> None:
    """The watcher above can fail: it logs an attempt (raised as an audit event, nothing is sent)."""
    netlog = tmp_path / "net.log"
    env = {**os.environ, "PYTHONPATH": str(NETWATCH), "DRL_NETWATCH_LOG": str(netlog)}
    code = (
        "import sys; sys.audit('socket.connect', None, ('192.0.2.1', 80)); "
        "sys.audit('socket.connect', None, ('127.0.0.1', 80))"
    )
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=60)
    assert netlog.read_text() == "socket.connect '192.0.2.1'\n"
