"""SIGKILL right at each way a turn can fail, then resume: the run goes on as if never killed.

The runs are real ``deepresearch ask`` processes over a small library folder, with a scripted model
(``--scripted``) that answers by the prompt alone, so a resumed process answers as the killed one
would have. Each recovering round answers well only when its prompt still holds what must not be
lost (the result the model had not taken in, the last complete report); otherwise it answers
"LOST", which the final checks catch. Each process is killed right after a chosen event of its
JSON stream: after a failed turn and its reminder are committed, mid-turn, after a carried tool
result, after a refused summary.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from deepresearch_local.store.sessions import SessionStore

Event = dict[str, Any]
KillAt = Callable[[Event], bool]

FACTS = {
    "alpha": "The alpha crate holds 12 lanterns.",
    "bravo": "The bravo crate holds 7 compasses.",
    "charlie": "The charlie crate holds 3 telescopes.",
    "delta": "The delta crate holds 9 sextants.",
}
ANSWER = "Alpha 12 lanterns, bravo 7 compasses, charlie 3 telescopes, delta 9 sextants."
LOST = "<think>Something is missing.</think>\n<answer>LOST</answer>"


def _docs(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, fact in FACTS.items():
        (docs / f"{name}.md").write_text(f"# The {name} crate\n\n{fact}\n\nIt was counted in spring.\n")
    return docs


def _call(word: str) -> str:
    body = json.dumps({"name": "local_search", "arguments": {"query": [f"{word} crate"]}})
    return f"<tool_call>\n{body}\n</tool_call>"


def _fold_turn(report: str, word: str) -> str:
    return f"<think>Next: {word}.</think>\n<report>\n{report}\n</report>\n{_call(word)}"


def _seen(word: str) -> str:
    return FACTS[word].split("crate ", 1)[1].rstrip(".")  # e.g. "holds 12 lanterns"


def _ask(tmp_path: Path, mode: str, spec: dict[str, Any], *extra: str) -> list[str]:
    script = tmp_path / "script.json"
    # A small delay per streamed chunk: a kill sent after an event lands before the next commit.
    base = {"context_tokens": 16384, "delay": 0.02, "report": "The crates were counted [1]."}
    script.write_text(json.dumps({**base, **spec}))
    docs = _docs(tmp_path)
    return [
        *("ask", "What do the four crates hold?", "--offline", "--docs", str(docs), "--mode", mode),
        *("--scripted", str(script), "--json", *extra),
    ]


def _run(args: list[str], kill_at: KillAt | None) -> tuple[int, list[Event]]:
    """Run ``deepresearch ARGS`` and SIGKILL it right after the first event ``kill_at`` accepts."""
    cmd = [sys.executable, "-m", "deepresearch_local", *args]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    events: list[Event] = []
    for line in proc.stdout:
        if not line.startswith("{"):
            continue
        events.append(json.loads(line))
        if kill_at is not None and kill_at(events[-1]):
            os.kill(proc.pid, signal.SIGKILL)
            break
    proc.communicate(timeout=600)
    return proc.returncode, events


def _notice(text: str) -> KillAt:
    return lambda e: e["type"] == "notice" and text in str(e["message"])


def _type(kind: str) -> KillAt:
    return lambda e: e["type"] == kind


def _kill_and_resume(first: list[str], kills: list[KillAt]) -> tuple[str, list[str]]:
    """Run ``first`` killed at ``kills[0]``, resume killed at each next one, then resume to the end.
    Returns the session id and every event type seen, in order."""
    code, events = _run(first, kills[0])
    assert code == -signal.SIGKILL, "the run ended before its first kill point"
    session = str(next(e for e in events if e["type"] == "run_started")["session_id"])
    seen = [e["type"] for e in events]
    for kill in [*kills[1:], None]:
        code, events = _run(["sessions", "resume", session, "--json"], kill)
        seen += [e["type"] for e in events]
        if kill is not None:
            assert code == -signal.SIGKILL, f"the resumed run ended before its kill point (exit {code})"
    assert code == 0, f"the last resume exited {code}"
    return session, seen


def _stored(session: str) -> tuple[Any, list[Any]]:
    with SessionStore() as store:
        assert store.integrity_ok()
        [run] = store.runs(session)
        steps = store.steps(run.id)
    assert [s.index for s in steps] == list(range(len(steps)))
    return run, steps


def test_fold_failures_killed_at_each_point_resume_without_loss(tmp_path: Path) -> None:
    r1 = "- nothing found yet"
    r2 = "- alpha: 12 lanterns [alpha.md]"
    r3 = r2 + "\n- bravo: 7 compasses [bravo.md]"
    r4 = r3 + "\n- charlie: 3 telescopes [charlie.md]\n- delta: 9 sextants [delta.md]"
    cut_thinking = "<think>" + " ".join(f"idea{i}" for i in range(400))
    cut_report = f"<think>ok</think>\n<report>\n{r3}\n- charlie: half writ"
    bad_json = (
        f"<think>next</think>\n<report>\n{r3}\n</report>\n<tool_call>\n{{'name': local_search, </tool_call>"
    )
    no_report = f"<think>Next: delta.</think>\n{_call('delta')}"
    final = f"<think>All four.</think>\n<report>\n{r4}\n</report>\n<answer>{ANSWER}</answer>"
    rounds: dict[int, tuple[list[str], str]] = {  # round: (what its prompt must hold, the reply)
        3: ([_seen("alpha"), r1, "256-token limit"], _fold_turn(r2, "bravo")),
        5: ([_seen("bravo"), f"<report>\n{r2}\n</report>", "cut off before </report>"], bad_json),
        6: ([_seen("bravo"), f"<report>\n{r2}\n</report>", "not valid JSON"], _fold_turn(r3, "charlie")),
        8: ([_seen("charlie"), "did not write a complete <report>"], no_report),
        9: ([_seen("charlie"), _seen("delta"), "An earlier action whose result"], final),
    }
    rules = [  # a round kept after a clean turn still holds the round before it: the next one lacks it
        {"has": [f"(round {n} of", *has], "lacks": [f"(round {n + 1} of"], "reply": reply}
        for n, (has, reply) in rounds.items()
    ]
    replies = [_fold_turn(r1, "alpha"), cut_thinking, LOST, cut_report, LOST, LOST, no_report, LOST, LOST]
    spec = {"replies": replies, "select": "round", "rules": rules}
    first = _ask(tmp_path, "fold", spec, "--max-output-tokens", "256")
    kills = [
        _notice("Unusable reply"),  # round 2: thinking cut by the output limit
        _notice("Unusable reply"),  # round 4: the report cut off
        _type("token_delta"),  # mid-way through round 5
        _notice("Unusable reply"),  # round 5: broken JSON after a result
        _notice("left out its report"),  # round 7: a call without its report
        _type("tool_resulted"),  # round 8: the second try without a report ran; its result is carried
    ]
    session, seen = _kill_and_resume(first, kills)
    run, steps = _stored(session)
    assert (run.status, run.termination, run.answer) == ("finished", "answer", ANSWER)
    assert [s.kind for s in steps] == [
        "seed", "tool",  # the library searched for the question before the first turn
        "model", "tool", "model", "notice", "model", "tool", "model", "notice", "model", "notice",
        "model", "tool", "model", "notice", "model", "tool", "model", "report",
    ]  # fmt: skip
    model = [s for s in steps if s.kind == "model"]
    assert [s.data["finish"] for s in model][:2] == ["stop", "length"]
    assert model[3].data["report_complete"] is False
    assert [s.data["arguments"]["query"] for s in steps if s.kind == "tool"] == [
        ["What do the four crates hold?"],
        ["alpha crate"],
        ["bravo crate"],
        ["charlie crate"],
        ["delta crate"],
    ]
    assert [s.data["reason"] for s in steps if s.kind == "notice"] == ["format", "format", "format", "report"]
    assert seen.count("run_started") == len(kills) + 1


def _react_spec(summary_replies: tuple[str, str], after: str, facts: list[str]) -> dict[str, Any]:
    """Searches until ReSum is needed; the two summary requests (with, then without the tools) get
    ``summary_replies``; a prompt holding ``after`` gets the answer if it still holds ``facts``."""
    words = list(FACTS) * 4
    replies = [f"<think>Look up {w}.</think>\n{_call(w)}" for w in words]
    return {
        "select": "tool_responses",
        "replies": replies,
        "rules": [
            {"has": ["<summary></summary>", "<tools>"], "reply": summary_replies[0]},
            {"has": ["<summary></summary>"], "lacks": ["<tools>"], "reply": summary_replies[1]},
            {"has": [after, *facts], "reply": f"<think>Done.</think>\n<answer>{ANSWER}</answer>"},
            {"has": [after], "reply": LOST},
        ],
    }


def test_a_summary_that_calls_a_tool_killed_and_resumed_restarts_from_the_retry(tmp_path: Path) -> None:
    summary = "- " + "\n- ".join(FACTS.values())
    valid = f"<think>Condense.</think>\n<summary>\n{summary}\n</summary>"
    spec = _react_spec((_call("alpha"), valid), "You already researched", [_seen(w) for w in FACTS])
    first = _ask(tmp_path, "react", spec, "--budget", "2600", "--max-output-tokens", "512")
    kills = [_notice("The summary could not be used"), _notice("summarizing and restarting")]
    session, _ = _kill_and_resume(first, kills)
    run, steps = _stored(session)
    assert (run.termination, run.answer) == ("answer", ANSWER)
    summaries = [s for s in steps if s.kind == "summary"]
    assert [s.data["valid"] for s in summaries] == [False, True]
    assert [s.data["tools"] for s in summaries] == [True, False]
    assert summaries[1].data["summary"] == summary
    kinds = [s.kind for s in steps]
    assert kinds[kinds.index("summary") :] == ["summary", "summary", "model", "report"]


def test_cut_summaries_killed_and_resumed_force_an_answer_from_the_full_history(tmp_path: Path) -> None:
    cut = "<think>" + "Let me recall what the pages said. " * 4
    # The forced prompt is the history itself (its results shown smaller to fit): the last search
    # call and what it found are still there.
    history = ['"bravo crate"', _seen("bravo")]
    spec = _react_spec(
        (cut, "<think>Condense.</think>\n<summary>\n- alpha crate"), "reached the limit", history
    )
    first = _ask(tmp_path, "react", spec, "--budget", "2600", "--max-output-tokens", "512")
    kills = [_notice("The summary could not be used"), _notice("no usable summary came back")]
    session, _ = _kill_and_resume(first, kills)
    run, steps = _stored(session)
    assert (run.termination, run.answer) == ("forced_answer", ANSWER)
    kinds = [s.kind for s in steps]
    assert kinds[kinds.index("summary") :] == ["summary", "summary", "forced", "model", "report"]
    assert all(not s.data["valid"] for s in steps if s.kind == "summary")
