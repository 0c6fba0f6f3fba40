"""A research run killed with SIGKILL at random moments resumes with nothing lost or repeated."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from deepresearch_local.store.sessions import SessionStore

ROUNDS = 10
KILL_WINDOW = 45
"""A process is killed after 1 to this many of its JSON events. A round streams 47 (its tokens, the
call, the result) and commits two steps, so a process commits at most two steps before its kill
(three for the first, with the opening library search): ten kills cannot finish the 24 steps of
the run, and every kill lands mid-turn or mid-tool."""


def _script(tmp_path: Path, select: str) -> Path:
    replies = []
    for i in range(1, ROUNDS + 1):
        replies.append(
            f"<think>round {i}: look further</think>\n"
            f"<report>- fact {i}: the archive holds item {i} [notes.md]</report>\n"
            "<tool_call>\n"
            f'{{"name": "local_search", "arguments": {{"query": ["item {i} archive"]}}}}'
            "\n</tool_call>"
        )
    replies.append(
        "<think>enough</think>\n<report>- all facts</report>\n<answer>Ten items are archived.</answer>"
    )
    if select == "tool_responses":  # the opening library search (agent.seed) is tool response 1
        replies.insert(0, "<answer>never asked</answer>")
    path = tmp_path / "script.json"
    path.write_text(
        json.dumps({"replies": replies, "select": select, "delay": 0.03, "context_tokens": 16384})
    )
    return path


def _docs(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    docs.mkdir()
    lines = [f"Item {i} is kept in the archive on shelf {i * 3}." for i in range(1, 40)]
    (docs / "notes.md").write_text("# Archive notes\n\n" + "\n\n".join(lines) + "\n")
    return docs


def _cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "deepresearch_local", *args]


def _run_until_killed(cmd: list[str], kill_at: int | None) -> tuple[int, list[dict[str, object]]]:
    """Run ``cmd`` and SIGKILL it right after its ``kill_at``-th JSON event (None: let it finish).

    The kill point is counted in events (every streamed token is one), not in seconds: a busy
    machine that starts Python slowly moves it nowhere, and it still lands mid-turn or mid-tool.
    """
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    lines: list[str] = []
    while kill_at is not None and len(lines) < kill_at:
        line = proc.stdout.readline()
        if not line:  # it ended before that many events
            break
        if line.startswith("{"):
            lines.append(line)
    if kill_at is not None and len(lines) == kill_at:
        os.kill(proc.pid, signal.SIGKILL)
    out, _ = proc.communicate(timeout=600)
    events = [json.loads(line) for line in [*lines, *out.splitlines()] if line.startswith("{")]
    return proc.returncode, events


@pytest.mark.parametrize("mode,select", [("fold", "round"), ("react", "tool_responses")])
def test_sigkill_at_random_points_then_resume(tmp_path: Path, mode: str, select: str) -> None:
    script, docs = _script(tmp_path, select), _docs(tmp_path)
    rng = random.Random(1234 + len(mode))
    ask = _cmd(
        "ask",
        "How many items are archived?",
        "--offline",
        "--docs",
        str(docs),
        "--mode",
        mode,
        "--scripted",
        str(script),
        "--json",
    )
    # Find the session id from a first run that is allowed to start properly.
    code, events = _run_until_killed(ask, rng.randint(1, KILL_WINDOW))
    started = [e for e in events if e["type"] == "run_started"]
    assert started, f"the run did not start (exit {code})"
    session = str(started[0]["session_id"])
    kills = 1 if code == -signal.SIGKILL else 0
    trials = 0
    finished: dict[str, object] | None = None
    while finished is None:
        trials += 1
        assert trials < 40, "resume never finished"
        resume = _cmd("sessions", "resume", session, "--json")
        code, events = _run_until_killed(resume, rng.randint(1, KILL_WINDOW) if kills < 10 else None)
        if code == -signal.SIGKILL:
            kills += 1
            continue
        done = [e for e in events if e["type"] == "finished"]
        if done:
            finished = done[-1]
        else:  # "Nothing to resume": the previous process finished just before the kill
            with SessionStore() as store:
                run = store.runs(session)[-1]
            assert run.status == "finished", f"resume exited {code} without finishing"
            finished = {"termination": run.termination, "answer": run.answer}
    assert kills >= 10
    assert finished["termination"] == "answer"
    assert finished["answer"] == "Ten items are archived."
    with SessionStore() as store:
        assert store.integrity_ok()
        runs = store.runs(session)
        assert len(runs) == 1
        steps = store.steps(runs[0].id)
        assert [s.index for s in steps] == list(range(len(steps)))
        kinds = [s.kind for s in steps]
        # Each round's model turn exactly once, each followed by its tool result; then answer, report.
        # The library searched for the question first (agent.seed), then each round once.
        assert kinds == ["seed", "tool"] + ["model", "tool"] * ROUNDS + ["model", "report"]
        rounds = [s.data["think"] for s in steps if s.kind == "model"]
        assert rounds == [f"round {i}: look further" for i in range(1, ROUNDS + 1)] + ["enough"]
        assert runs[0].status == "finished"
        assert runs[0].report and "Ten items are archived." in runs[0].report
