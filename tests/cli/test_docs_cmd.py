"""``deepresearch docs`` end to end, each command in its own process, as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.library.corpus import Corpus, build

REPO = Path(__file__).resolve().parents[2]


def _docs(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "deepresearch_local", "docs", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        env=os.environ.copy(),  # carries the test's DEEPRESEARCH_HOME
    )


def _json(*args: str) -> Any:
    out = _docs(*args, "--json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@pytest.fixture
def corpus(tmp_path: Path) -> Corpus:
    built = build(tmp_path)
    # Another process cannot be made to fail on it, and root may read a chmod 000 file: leave it out.
    (built.root / "locked.txt").unlink()
    return built


def test_add_search_coverage_reindex_remove(corpus: Corpus, isolated_home: Path) -> None:
    added = _docs("add", str(corpus.root), "--name", "lib", "--json")
    assert added.returncode == 0, added.stderr
    report = json.loads(added.stdout)
    assert (report["folder"], report["files"], report["indexed"], report["skipped"], report["failed"]) == (
        "lib",
        16,
        6,
        9,
        1,
    )
    progress = added.stderr.splitlines()
    assert len(progress) == 16
    assert progress[0].startswith("[1/16] skipped   .env: hidden file")
    assert any(line.startswith("[") and "indexed   report.pdf (3 chunks)" in line for line in progress)
    assert any("failed    corrupt.pdf: not a readable PDF" in line for line in progress)
    assert (isolated_home / "data" / "library.sqlite3").is_file()

    [folder] = _json("list")
    assert (folder["name"], folder["root"], folder["indexed"], folder["chunks"]) == (
        "lib",
        str(corpus.root.resolve()),
        6,
        report["chunks"],
    )

    hits = _json("search", "axolotl survey", "-k", "3")
    assert [(h["path"], h["location"]) for h in hits] == [(str(corpus.root / "report.pdf"), "p. 2")]
    assert hits[0]["score"] > 0 and "The axolotl survey counted 42 animals." in hits[0]["snippet"]
    fused = _json("search", "zebrafish", "pelican ferry")
    assert {h["location"] for h in fused} == {
        "§ Field guide > Install > Linux, lines 9-12",
        "§ Handbook > Ferries, lines 3-7",
    }

    coverage = _json("coverage", "--failed")
    assert (coverage["files"], coverage["indexed"], coverage["skipped"], coverage["failed"]) == (16, 6, 9, 1)
    assert [(r["rel"], r["status"]) for r in coverage["records"]] == [("corrupt.pdf", "failed")]
    skipped = _json("coverage", "lib", "--skipped")["records"]
    assert {r["rel"]: r["reason"] for r in skipped}["selfloop"] == "symlink loop"
    assert len(skipped) == 9

    again = _json("reindex")
    assert [(r["changed"], r["unchanged"], r["removed"]) for r in again] == [(0, 10, 0)]
    (corpus.root / "notes.txt").write_text("A new line about a capybara.\n", encoding="utf-8")
    changed = _json("reindex", "lib")
    assert [(r["changed"], r["unchanged"]) for r in changed] == [(1, 9)]
    assert [h["location"] for h in _json("search", "capybara")] == ["line 1"]

    removed = _json("remove", "lib")
    assert removed["removed"]["name"] == "lib"
    assert _json("list") == [] and _json("search", "capybara") == []
    assert (corpus.root / "notes.txt").exists()


def test_text_output(corpus: Corpus) -> None:
    added = _docs("add", str(corpus.root), "-q")
    assert added.returncode == 0 and added.stderr == ""
    first = added.stdout.splitlines()[0]
    assert first.startswith("library: 6 indexed, 9 skipped, 1 failed (16 files, ")
    assert added.stdout.splitlines()[1] == "  See why: deepresearch docs coverage library --failed"
    coverage = _docs("coverage")
    assert coverage.stdout.rstrip().endswith("6 of 16 files indexed, 9 skipped, 1 failed")
    assert "skipped  pipe.txt" in coverage.stdout and "not a regular file (FIFO)" in coverage.stdout
    search = _docs("search", "narwhal")
    assert search.stdout.startswith(f"1. {corpus.root / 'memo.docx'}:§ Budget > Travel, lines 3-7  (score ")
    listing = _docs("list")
    assert listing.stdout.splitlines()[0].split() == [
        "name", "indexed", "skipped", "failed", "chunks", "last", "indexed", "folder",
    ]  # fmt: skip


def test_errors_and_help(tmp_path: Path) -> None:
    missing = _docs("reindex", "nope")
    assert missing.returncode == 1
    assert missing.stderr.startswith("Library problem: No library folder named 'nope' (folders: none yet).")
    not_dir = _docs("add", str(tmp_path / "absent"))
    assert not_dir.returncode == 1 and "is not a folder" in not_dir.stderr
    bare = _docs()
    assert bare.returncode == 2 and "coverage" in bare.stdout and "reindex" in bare.stdout
    empty = _docs("search", "anything")
    assert (empty.returncode, empty.stdout.strip()) == (
        0,
        "The library is empty. Add a folder with: deepresearch docs add FOLDER",
    )
