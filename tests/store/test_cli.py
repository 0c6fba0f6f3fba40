"""``deepresearch sessions ...`` end to end: seeded through the API, run in fresh interpreters."""

from __future__ import annotations

import argparse
import builtins
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from deepresearch_local.cli.main import main
from deepresearch_local.store import SessionStore
from tests.store.conftest import REPORT_1, Seeded, seed

REPO = Path(__file__).resolve().parents[2]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "deepresearch_local", "sessions", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        env=os.environ.copy(),
    )


def _json(*args: str) -> Any:
    out = _cli(*args)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@pytest.fixture
def seeded() -> Seeded:
    with SessionStore() as store:
        return seed(store)


def test_list(seeded: Seeded) -> None:
    listed = _json("list", "--json")
    assert [(s["id"], s["title"], s["questions"], s["last_termination"]) for s in listed] == [
        (seeded.session, "Heat pumps", 2, None),
        (seeded.other_session, "Sourdough starters", 1, None),
    ]
    assert listed[0]["last_answer"] == "Yes, with a COP above 1.5."
    assert [s["id"] for s in _json("list", "--search", "STARTER", "--json")] == [seeded.other_session]
    assert _json("list", "--search", "zeppelin", "--json") == []
    text = _cli("list")
    assert text.returncode == 0
    rows = text.stdout.splitlines()
    assert rows[0].split() == ["id", "updated", "questions", "last", "run", "title"]
    assert rows[2].startswith(seeded.session) and rows[2].endswith("Heat pumps")


def test_list_on_a_new_home_is_empty() -> None:
    assert _json("list", "--json") == []
    out = _cli("list")
    assert out.returncode == 0 and "No sessions yet" in out.stdout


def test_show_json_with_steps_and_network(seeded: Seeded) -> None:
    shown = _json("show", seeded.session[:4], "--steps", "--network", "--json")
    assert shown["session"]["id"] == seeded.session
    assert [q["id"] for q in shown["questions"]] == [seeded.q1, seeded.q2]
    first, second = shown["questions"]
    assert [(r["id"], r["status"], r["termination"], r["answer"]) for r in first["runs"]] == [
        (seeded.run1, "finished", "answered", "Yes, with a COP above 1.5.")
    ]
    assert first["runs"][0]["report"] == REPORT_1
    assert [(s["index"], s["kind"], s["summary"]) for s in first["runs"][0]["steps"]] == [
        (0, "model", 'search {"query": ["heat pump COP -20"]}'),
        (1, "tool", "5 results for 'heat pump COP -20'"),
        (2, "model", "<answer>Yes, with a COP above 1.5.</answer>"),
    ]
    assert second["runs"][0]["status"] == "running"
    assert [(e["kind"], e["target"], e["ok"]) for e in shown["network"]] == [
        ("search", "heat pump COP -20", True),
        ("fetch", "https://example.test/cop", False),
    ]
    plain = _json("show", seeded.session, "--json")
    assert "network" not in plain and "steps" not in plain["questions"][0]["runs"][0]


def test_show_text(seeded: Seeded) -> None:
    out = _cli("show", seeded.session, "--network", "--steps")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == f"Session {seeded.session}: Heat pumps"
    assert "Question 2: Which refrigerant is best? Consider R290 and R32." in lines
    assert "  Answer: Yes, with a COP above 1.5." in lines
    assert f"resume with `deepresearch sessions resume {seeded.session}`" in out.stdout
    assert "Network: 2 requests left this machine" in lines
    assert any(line.split()[-3:] == ["visit", "failed", "https://example.test/cop"] for line in lines)


def test_unknown_and_ambiguous_ids(seeded: Seeded) -> None:
    out = _cli("show", "zzzzzzz", "--json")
    assert out.returncode == 2 and out.stdout == ""
    assert "No session matches 'zzzzzzz'" in out.stderr and "deepresearch sessions list" in out.stderr
    with SessionStore() as store:
        ids = [store.create_session(f"s{i}") for i in range(40)]  # 42 ids over 36 first characters
    first_chars = [i[0] for i in [*ids, seeded.session, seeded.other_session]]
    shared = next(c for c in first_chars if first_chars.count(c) > 1)
    out = _cli("show", shared)
    assert out.returncode == 2 and "Ambiguous session id" in out.stderr


def test_export_to_a_file_and_to_stdout(seeded: Seeded, tmp_path: Path) -> None:
    target = tmp_path / "heat.md"
    out = _cli("export", seeded.session[:3], "-o", str(target))
    assert out.returncode == 0, out.stderr
    assert out.stdout == "" and str(target) in out.stderr
    written = target.read_text(encoding="utf-8")
    assert written.startswith("# Heat pumps\n")
    assert "### Answer\n\nYes, with a COP above 1.5.\n" in written
    assert "#### Sources\n1. https://example.test/cop" in written
    to_stdout = _cli("export", seeded.session)
    assert to_stdout.returncode == 0 and to_stdout.stdout == written
    bad = _cli("export", seeded.session, "-o", str(tmp_path / "missing" / "x.md"))
    assert bad.returncode == 2 and "Pick a writable path" in bad.stderr


def test_rename(seeded: Seeded) -> None:
    renamed = _json("rename", seeded.other_session, "Rye starters", "--json")
    assert (renamed["id"], renamed["title"]) == (seeded.other_session, "Rye starters")
    with SessionStore() as store:
        assert store.get_session(seeded.other_session).title == "Rye starters"
    assert _cli("rename", seeded.other_session, "  ").returncode == 2


def test_rm_needs_confirmation_when_not_interactive(seeded: Seeded) -> None:
    out = _cli("rm", seeded.session)
    assert out.returncode == 2
    assert f"deepresearch sessions rm {seeded.session} --yes" in out.stderr
    assert len(_json("list", "--json")) == 2
    assert _json("rm", seeded.session, "--yes", "--json") == {
        "removed": seeded.session,
        "title": "Heat pumps",
    }
    assert [s["id"] for s in _json("list", "--json")] == [seeded.other_session]


def test_rm_asks_on_a_terminal(
    seeded: Seeded, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    prompts: list[str] = []
    replies = iter(["n", "y"])

    def fake_input(prompt: str = "") -> str:
        prompts.append(prompt)
        return next(replies)

    monkeypatch.setattr(builtins, "input", fake_input)
    assert main(["sessions", "rm", seeded.session]) == 1
    with SessionStore() as store:
        assert store.get_session(seeded.session).title == "Heat pumps"
    assert main(["sessions", "rm", seeded.session]) == 0
    assert prompts[0].startswith(f'Remove session {seeded.session} "Heat pumps" with its 2 question(s)')
    assert "Removed session" in capsys.readouterr().out
    with SessionStore() as store:
        assert [s.id for s in store.list_sessions()] == [seeded.other_session]


def test_resume_hands_the_full_id_to_the_resume_command(
    seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    received: list[argparse.Namespace] = []

    class FakeResume:
        @staticmethod
        def resume_command(args: argparse.Namespace) -> int:
            received.append(args)
            return 4

    monkeypatch.setitem(sys.modules, "deepresearch_local.cli.resume_cmd", FakeResume)
    assert main(["sessions", "resume", seeded.session[:4], "--json"]) == 4
    assert received[0].id == seeded.session and received[0].json is True


def test_resume_of_an_unknown_session_is_a_usage_error(seeded: Seeded) -> None:
    assert main(["sessions", "resume", "zzzzzzz"]) == 2


def test_sessions_without_an_action_prints_help() -> None:
    out = _cli()
    assert out.returncode == 2
    for action in ("list", "show", "export", "rename", "resume", "rm"):
        assert f"    {action} " in out.stdout
