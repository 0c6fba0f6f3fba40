"""``docs add --include/--exclude``, ``docs rules`` and the coverage breakdown, as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.library.generated import build_generated

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


def test_rules_from_the_command_line(tmp_path: Path) -> None:
    docs = build_generated(tmp_path / "site")
    added = _docs("add", str(docs.root), "--exclude", "copy/**", "--include", "Cargo.lock", "-q")
    assert added.returncode == 0, added.stderr
    assert added.stdout.startswith("site: 3 indexed, 5 skipped (1 duplicates), 0 failed (8 files, ")

    coverage = _docs("coverage", "--skipped")
    lines = coverage.stdout.splitlines()
    assert any(
        line.startswith("skipped  copy/guide.html") and "excluded by the folder's rule copy/**" in line
        for line in lines
    )
    assert any(
        line.startswith("skipped  _sources/guide.rst.txt") and "duplicate of guide.html" in line
        for line in lines
    )
    assert lines[-2:] == [
        "Skipped: 3 generated files, 1 duplicates, 1 excluded by the folder's rules",
        "3 of 8 files indexed, 5 skipped, 0 failed",
    ]
    as_json = json.loads(_docs("coverage", "--json").stdout)
    assert as_json["skipped_by_reason"] == {
        "generated files": 3,
        "duplicates": 1,
        "excluded by the folder's rules": 1,
    }

    shown = _docs("rules", "site")
    assert shown.stdout.splitlines()[0] == "site: include Cargo.lock; exclude copy/**"
    changed = _docs("rules", "site", "--remove", "copy/**", "--exclude", "notes.md", "--json")
    assert changed.returncode == 0, changed.stderr
    result = json.loads(changed.stdout)
    assert (result["include"], result["exclude"]) == (["Cargo.lock"], ["notes.md"])
    [report] = result["reports"]
    assert (report["indexed"], report["duplicates"]) == (2, 2)  # the copy is back, as a duplicate

    bad = _docs("rules", "site", "--exclude", "../elsewhere")
    assert bad.returncode != 0 and "points outside the folder" in bad.stderr
    refused = _docs("add", str(docs.root / "_static"), "--include", "*.js")
    assert refused.returncode != 0 and "already covers it" in refused.stderr
    assert _docs("rules", "site").stdout.splitlines()[0] == "site: include Cargo.lock; exclude notes.md"
