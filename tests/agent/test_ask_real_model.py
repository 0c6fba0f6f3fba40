"""End to end: `deepresearch ask --offline` with the real 0.5B model through llama.cpp over a folder.

The run must work, not merely end: greedy decoding (temperature 0: llama.cpp's greedy sampler, so
no seed is involved and the run is the same every time on a given build), a question whose answer
is one line of one file, and the test demands exit 0, the right answer, and a report whose sources
check out (``bench.citations``) with a cited location that holds the fact. The model is not told
the answer. A forced final answer (at the step limit, or after the loop guard) counts: it is an
answer the app gives the user, with exit 0.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from deepresearch_local.bench.citations import check_report
from deepresearch_local.bench.judge import match
from deepresearch_local.library.model import parse_location
from deepresearch_local.library.reading import load_document
from deepresearch_local.session_replay import report_sources
from deepresearch_local.store.sessions import SessionStore

REPO = Path(__file__).resolve().parents[2]
NETWATCH = REPO / "tests" / "support" / "netwatch"
QUESTION = "When was the Kettle Point lighthouse built?"
FACT = "1871"
MAX_STEPS = 3


NOTES = {
    "lighthouse.md": (
        "# Kettle Point lighthouse\n\nThe lighthouse at Kettle Point was built in 1871 from local "
        "granite.\nIts lamp was electrified in 1934.\n"
    ),
    "harbour.txt": "Harbour notes\n\nThe keeper's cottage became a museum of coastal shipping in 1988.\n",
}
PROMPT_DATE = "2026-12-01"
"""The date the model is told (as in the pipx smoke run): the system prompt holds it."""


def _docs(root: Path) -> Path:
    """Two notes; the answer is one line of one of them (the same folder as the pipx smoke run's)."""
    docs = root / "docs"
    docs.mkdir(parents=True, exist_ok=True)
    for name, text in NOTES.items():
        if not (docs / name).exists() or (docs / name).read_text() != text:
            (docs / name).write_text(text)
    return docs


def _fixed_docs() -> Path:
    """The notes at one path on every run: search results show the file's full path to the model,
    and a path that changed from run to run (pytest's numbered temporary folders) changed what the
    0.5B model wrote, sometimes from an answer to none. The same path as ``.ci/pipx-smoke``."""
    return _docs(Path(tempfile.gettempdir()) / "deepresearch-kettle-point")


def cited_text(path: Path, location: str) -> str:
    """The text a citation points at: the cited lines (or pages, or heading), else the whole file."""
    doc = load_document(path)
    loc = parse_location(location, paged=doc.pages is not None)
    lines = doc.lines
    if loc is not None and loc.line_start is not None:
        end = loc.line_end if loc.line_end is not None else loc.line_start
        lines = [line for line in lines if loc.line_start <= line.no <= end]
    elif loc is not None and loc.page is not None:
        last = loc.page_end if loc.page_end is not None else loc.page
        lines = [line for line in lines if line.page is not None and loc.page <= line.page <= last]
    elif loc is not None and loc.heading:
        wanted = loc.heading.split(">")[-1].strip().lower()
        lines = [line for line in lines if any(h.lower() == wanted for h in line.heading)]
    return "\n".join(line.text for line in lines)


@pytest.mark.timeout(3000)  # a few model calls: a minute or two on a quiet machine, far more when loaded
def test_offline_ask_answers_with_the_real_model(qwen05b: Path, tmp_path: Path, isolated_home: Path) -> None:
    """React mode, as the pipx smoke run (the 0.5B model pastes the search result into fold's answer)."""
    mode = "react"
    docs = _fixed_docs()
    report_path = tmp_path / "report.md"
    netlog = tmp_path / "net.log"
    env = {
        **os.environ,
        "DEEPRESEARCH_HOME": str(isolated_home),
        "DEEPRESEARCH_DATE": PROMPT_DATE,
        "PYTHONPATH": os.pathsep.join([str(NETWATCH), str(REPO)]),
        "DRL_NETWATCH_LOG": str(netlog),
    }
    cmd = [
        sys.executable, "-m", "deepresearch_local", "ask", QUESTION, "--offline", "--docs", str(docs),
        "--model", str(qwen05b), "--context", "4096", "--max-steps", str(MAX_STEPS), "--mode", mode,
        "--temperature", "0", "--json", "-o", str(report_path),
    ]  # fmt: skip
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=2700)
    events = [json.loads(line) for line in proc.stdout.splitlines()]  # every line is one JSON object
    assert all("type" in e for e in events)
    ends = (events[0]["type"], events[-1]["type"]) if events else None
    assert ends == ("run_started", "finished"), proc.stderr[-3000:]
    started, finished = events[0], events[-1]
    # It answered (exit 0), and the answer is right.
    assert proc.returncode == 0, (finished["termination"], proc.stderr[-3000:])
    assert finished["termination"] in ("answer", "forced_answer", "loop_forced_answer")
    assert match(finished["answer"], FACT), finished["answer"]
    # The model's own answer, not a tool result pasted back (the 0.5B model has done that).
    results = [
        e["text"].strip().splitlines()[0]
        for e in events
        if e["type"] == "tool_resulted" and e["text"].strip()
    ]
    assert not any(first in finished["answer"] for first in results), finished["answer"]
    # Within its limits: the step limit (plus one forced final call) and the prompt budget.
    assert finished["steps"] <= MAX_STEPS + 1
    assert 0 < finished["max_prompt_tokens"] <= started["budget_tokens"]
    assert started["context_tokens"] == 4096  # read back from llama.cpp
    assert started["mode"] == mode
    called = {e["name"] for e in events if e["type"] == "tool_called"}
    assert called <= {"local_search", "local_read", "parse_file", "PythonInterpreter"}
    # The session is stored with every step.
    with SessionStore(isolated_home / "data" / "sessions.sqlite3") as store:
        run = store.runs(finished["session_id"])[-1]
        assert run.status == "finished" and run.termination == finished["termination"]
        assert len([s for s in store.steps(run.id) if s.kind == "model"]) == finished["steps"]
        evidence = store.evidence(run.id)
    # The report: its sources check out (files the run read, locations inside them), and one of the
    # cited locations holds the fact the answer states.
    assert report_path.is_file() and finished["report_path"] == str(report_path)
    report = report_path.read_text()
    assert report.startswith(f"# {QUESTION}") and "## Sources" in report
    checks = check_report(report, evidence)
    assert checks and all(c.ok for c in checks), [(c.entry, c.reason) for c in checks]
    sources = [s for s in report_sources(report, evidence) if s.kind == "file"]
    assert sources, report
    assert any(match(cited_text(Path(s.source), s.location), FACT) for s in sources), report
    # Offline means offline: nothing in the process even tried to reach a non-loopback host.
    assert not netlog.exists() or netlog.read_text() == ""


def test_cited_text_reads_the_cited_lines(tmp_path: Path) -> None:
    """The citation check above can fail: a location away from the fact does not hold it."""
    docs = _docs(tmp_path)
    lighthouse, harbour = docs / "lighthouse.md", docs / "harbour.txt"
    assert match(cited_text(lighthouse, "§ Kettle Point lighthouse, lines 3-3"), FACT)
    assert match(cited_text(lighthouse, "§ Kettle Point lighthouse"), FACT)
    assert not match(cited_text(lighthouse, "lines 4-4"), FACT)
    assert not match(cited_text(harbour, "lines 1-3"), FACT)


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
