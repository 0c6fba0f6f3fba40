"""The citation check of ``bench research``: every source entry of a report must open."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from deepresearch_local.bench.citations import check_report, source_entries
from tests.tools.pdf_bytes import make_pdf

GUIDE = "# Guide\n\n## Install\n\nRun the installer.\nThen restart.\n\n## Usage\n\nOpen the app.\n"


def _docs(tmp_path: Path) -> tuple[Path, Path, Path]:
    guide = tmp_path / "guide.md"
    guide.write_text(GUIDE, "utf-8")  # 10 lines
    pdf = tmp_path / "paper.pdf"
    pdf.write_bytes(make_pdf([["First page text."], ["Second page text."], ["Third page text."]]))
    gone = tmp_path / "gone.txt"
    gone.write_text("deleted after the run\n", "utf-8")
    return guide, pdf, gone


def _evidence(*sources: tuple[str, str]) -> list[dict[str, Any]]:
    return [
        {
            "source": s,
            "location": loc,
            "text": "x",
            "title": "",
            "kind": "web" if s.startswith("http") else "file",
        }
        for s, loc in sources
    ]


def _report(*entries: str) -> str:
    lines = "\n".join(f"{n}. {e}" for n, e in enumerate(entries, 1))
    return f"# Q\n\n## Answer\n\nA [1].\n\n## Sources\n\n{lines}\n\n† flagged note\n"


def test_sources_that_open_and_sources_that_do_not(tmp_path: Path) -> None:
    guide, pdf, gone = _docs(tmp_path)
    evidence = _evidence(
        (str(guide), "§ Guide > Install, lines 5-6"),
        (str(pdf), "p. 2"),
        (str(gone), "line 1"),
        ("https://example.org/a", "chars 0-100"),
    )
    gone.unlink()
    report = _report(
        f"Guide: {guide}, § Guide > Install, lines 5-6",  # ok
        f"{guide}, lines 9-12",  # past the end (10 lines)
        f"{guide}, § Guide > Uninstall",  # no such heading
        f"paper.pdf: {pdf}, pp. 2-3",  # ok
        f"{pdf}, p. 4",  # the PDF has 3 pages
        f"{gone}, line 1",  # deleted
        "Page A: https://example.org/a, chars 0-100",  # read by the run
        "https://example.org/never-read, chars 0-10",  # not read by the run
        "something with no source at all",
        f"{guide}",  # a file without a location opens as a whole
    )
    checks = check_report(report, evidence)
    assert [c.ok for c in checks] == [True, False, False, True, False, False, True, False, False, True]
    reasons = [c.reason for c in checks]
    assert reasons[1] == "lines 9-12 is outside guide.md (10 lines)"
    assert reasons[2] == "guide.md has no heading 'Guide > Uninstall'"
    assert reasons[4] == "p. 4 is outside paper.pdf (3 pages)"
    assert reasons[5] == f"{gone} does not exist"
    assert reasons[7] == "https://example.org/never-read is not a page this run read"
    assert reasons[8] == "neither a URL nor a file this run read"


def test_source_entries_stop_at_the_next_section() -> None:
    markdown = "# Q\n\n## Sources\n\n1. a\n2. b\n\n## Appendix\n\n3. not a source\n"
    assert source_entries(markdown) == ["a", "b"]
    assert source_entries("# Q\n\n## Answer\n\n1. a list item, not a source\n") == []


def test_a_file_the_run_never_read_does_not_check_out(tmp_path: Path) -> None:
    guide, _, _ = _docs(tmp_path)
    checks = check_report(_report(f"{guide}, lines 1-2"), _evidence(("https://example.org/a", "")))
    assert [(c.ok, c.reason) for c in checks] == [(False, "neither a URL nor a file this run read")]
