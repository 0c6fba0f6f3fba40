"""`deepresearch ask` as a script sees it: JSON lines, progress on stderr, documented exit codes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SEARCH = (
    '<think>look</think>\n<tool_call>\n{"name": "local_search", "arguments": {"query": ["shelf"]}}'
    "\n</tool_call>"
)
ANSWER = "<think>found it</think>\n<answer>Shelf 14.</answer>"


def _script(tmp_path: Path, replies: list[str], **extra: object) -> Path:
    path = tmp_path / "script.json"
    path.write_text(json.dumps({"replies": replies, **extra}))
    return path


def _docs(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    docs.mkdir(exist_ok=True)
    (docs / "notes.md").write_text("# Notes\n\nThe blue box is on shelf 14.\n")
    return docs


def _ask(tmp_path: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "deepresearch_local", "ask", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=REPO)


def test_json_lines_and_exit_0_when_answered(tmp_path: Path) -> None:
    script = _script(tmp_path, [SEARCH, ANSWER])
    out = _ask(tmp_path, "Where is the blue box?", "--offline", "--docs", str(_docs(tmp_path)),
               "--scripted", str(script), "--json")  # fmt: skip
    assert out.returncode == 0, out.stderr
    events = [json.loads(line) for line in out.stdout.splitlines()]
    types = [e["type"] for e in events]
    assert types[0] == "run_started" and types[-1] == "finished"
    assert {"step_started", "tool_called", "tool_resulted", "answer_ready", "report_ready"} <= set(types)
    finished = events[-1]
    assert finished["answer"] == "Shelf 14." and finished["termination"] == "answer"
    assert finished["steps"] == 2 and finished["max_prompt_tokens"] > 0
    report = Path(finished["report_path"]).read_text()
    assert "## Sources" in report and str(_docs(tmp_path) / "notes.md") in report


def test_plain_output_progress_on_stderr_report_on_stdout(tmp_path: Path) -> None:
    script = _script(tmp_path, [SEARCH, ANSWER])
    out = _ask(tmp_path, "Where is the blue box?", "--offline", "--docs", str(_docs(tmp_path)),
               "--scripted", str(script))  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("# Where is the blue box?") and "Shelf 14." in out.stdout
    # The opening library search (agent.seed), then one line per model step.
    assert '  local_search {"query": ["Where is the blue box?"]}' in out.stderr
    assert "step 1/40" in out.stderr and "answer: 2 steps" in out.stderr


def test_exit_4_when_a_limit_stops_the_run_without_an_answer(tmp_path: Path) -> None:
    script = _script(tmp_path, [SEARCH] * 10)
    out = _ask(tmp_path, "Where?", "--offline", "--docs", str(_docs(tmp_path)), "--scripted", str(script),
               "--max-steps", "2", "--json")  # fmt: skip
    assert out.returncode == 4, out.stderr
    finished = json.loads(out.stdout.splitlines()[-1])
    assert finished["termination"] == "max_llm_calls" and finished["answer"] is None


def test_exit_2_on_usage_errors(tmp_path: Path) -> None:
    assert _ask(tmp_path, "   ").returncode == 2
    assert _ask(tmp_path, "q", "--mode", "sideways").returncode == 2


def test_exit_3_without_a_usable_model(tmp_path: Path) -> None:
    out = _ask(tmp_path, "q", "--offline", "--model", str(tmp_path / "missing.gguf"))
    assert out.returncode == 3
    assert "--model" in out.stderr


def test_exit_130_when_cancelled_with_ctrl_c(tmp_path: Path) -> None:
    script = _script(tmp_path, [SEARCH] * 30 + [ANSWER], delay=0.05)
    cmd = [sys.executable, "-m", "deepresearch_local", "ask", "Where?", "--offline", "--docs",
           str(_docs(tmp_path)), "--scripted", str(script), "--json"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
    assert proc.stdout is not None
    lines = [proc.stdout.readline()]  # run_started: the run is under way
    assert json.loads(lines[0])["type"] == "run_started"
    while json.loads(lines[-1])["type"] != "tool_resulted":  # one step done: the Ctrl-C lands mid-run
        lines.append(proc.stdout.readline())
        assert lines[-1], "the run ended before its first tool result"
    os.kill(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    events = [json.loads(line) for line in [*lines, *out.splitlines()]]
    assert events[-1]["type"] == "finished" and events[-1]["termination"] == "cancelled"
    assert any(e["type"] == "cancelled" for e in events)
