"""A fold run in which every failure path is forced, read back through ``sessions show --steps``:
each search result the tools returned reaches a complete report.

The scripted model here can only write what its prompt shows it: each report lists every search
result visible in the prompt (plus what the report it was shown already held). A result that a
failure path dropped from the prompts is therefore missing from every later report, and the test
fails.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from deepresearch_local.agent.config import AgentConfig
from deepresearch_local.engines.scripted import ScriptedEngine
from deepresearch_local.store import SessionStore
from tests.agent.conftest import FINDINGS, call_turn, is_report_prompt, run, tool_call

REPO = Path(__file__).resolve().parents[2]
SEEN = re.compile(r"A search for '([^']+)' found")
LISTED = re.compile(r"^- read '([^']+)'$", re.M)


def _shown_report(prompt: str) -> str:
    """The last complete report the prompt shows (kept rounds show several; the last is newest)."""
    reports = re.findall(r"<report>\n(.*?)\n</report>", prompt, re.S)
    return reports[-1] if reports else ""


def _absorbed(prompt: str) -> str:
    """The report a faithful model writes from this prompt: what it was shown, plus every result."""
    queries = dict.fromkeys([*LISTED.findall(_shown_report(prompt)), *SEEN.findall(prompt)])
    return "\n".join(f"- read '{q}'" for q in queries) or "- nothing read yet"


def absorbing_model() -> Any:
    """Good turns, then each way a fold turn can fail, each followed by a good turn."""

    def good(query: str) -> Any:
        return lambda p: (
            f"<think>Noted.</think>\n<report>\n{_absorbed(p)}\n</report>\n"
            + tool_call("search", query=[query])
        )

    script: list[Any] = [
        good("boiling point"),
        lambda p: "<think>" + " ".join(f"idea{i}" for i in range(400)),  # thinking cut by the limit
        good("pressure"),
        lambda p: f"<think>ok</think>\n<report>\n{_absorbed(p)}\n- half of a fin",  # report cut off
        good("altitude"),
        lambda p: call_turn("search", query=["humidity"]),  # a call without its report...
        lambda p: call_turn("search", query=["humidity"]),  # ...twice: it runs, carried along
        lambda p: f"<think>x</think>\n<report>\n{_absorbed(p)}\n</report>\n<tool_call>\n{{'name': sea",
        good("salt"),
        lambda p: f"<think>Done.</think>\n<report>\n{_absorbed(p)}\n</report>\n<answer>100 C.</answer>",
    ]

    def respond(prompt: str) -> str:
        if is_report_prompt(prompt):
            return FINDINGS
        assert script, "the loop asked the model more often than the script expected"
        return str(script.pop(0)(prompt))

    return respond


def _show(session: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "deepresearch_local", "sessions", "show", session, "--steps", "--json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        env=os.environ.copy(),
    )
    assert out.returncode == 0, out.stderr
    shown: dict[str, Any] = json.loads(out.stdout)
    return shown


@pytest.mark.parametrize("keep", [0.0, 0.9], ids=["fold-every-round", "rounds-kept"])
def test_every_search_result_reaches_a_report_in_the_session_view(keep: float) -> None:
    config = AgentConfig(mode="fold", max_output_tokens=256, fold_keep_fraction=keep)
    with SessionStore() as store:
        result = run(ScriptedEngine(respond=absorbing_model()), config=config, store=store)
        assert result.finished.termination == "answer"
        session = result.finished.session_id

    steps = _show(session)["questions"][0]["runs"][0]["steps"]
    kinds = [s["kind"] for s in steps]
    assert kinds.count("notice") == 4  # cut thinking, cut report, missing report, broken JSON
    complete = [
        (s["index"], s["data"]["report"])
        for s in steps
        if s["kind"] == "model" and s["data"].get("report") and s["data"].get("report_complete", True)
    ]
    tool_steps = [s for s in steps if s["kind"] == "tool"]
    ran = [q for s in tool_steps for q in SEEN.findall(s["data"]["observation"])]
    assert ran == ["boiling point", "pressure", "altitude", "humidity", "salt"]
    for step in tool_steps:
        for query in SEEN.findall(step["data"]["observation"]):
            later = [report for index, report in complete if index > step["index"]]
            assert any(f"- read '{query}'" in report for report in later), (query, complete)
    assert set(LISTED.findall(complete[-1][1])) == set(ran)  # the last report holds everything
