"""``bench listing``: ``models list`` with imported 30B-shaped GGUFs, its figures saved as JSON and
the README paragraph rendered from exactly that JSON; and what ``models list`` leaves unimported."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from deepresearch_local.bench.fake_gguf import write_fake_30b
from deepresearch_local.bench.listing_readme import BEGIN, END, render
from deepresearch_local.cli.main import main

REPO = Path(__file__).resolve().parents[2]
FIGURES = REPO / "packaging" / "benchmarks" / "small-machines" / "listing.json"
UNNEEDED = ("numpy", "llama_cpp", "textual", "jinja2", "gguf", "mlx")
"""What a listing needs none of (the installs' checks are remembered after the first run)."""
UNNEEDED_OURS = ("deepresearch_local.library", "deepresearch_local.weights.pull", "deepresearch_local.tui")


def test_the_readme_paragraph_is_rendered_from_the_committed_figures() -> None:
    text = (REPO / "README.md").read_text("utf-8")
    section = text[text.index(BEGIN) : text.index(END) + len(END)]
    figures = json.loads(FIGURES.read_text("utf-8"))
    assert section == render(figures)
    assert f"took {figures['command_median_seconds']:.2f} s" in section


@pytest.mark.slow
def test_a_run_saves_its_figures_and_fills_the_readme(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"# App\n\n{BEGIN}\nold figures\n{END}\n\nAfter.\n", "utf-8")
    out = tmp_path / "listing.json"
    argv = ["bench", "listing", "--files", "2", "--runs", "1", "--out", str(out), "--readme", str(readme)]
    assert main(argv) == 0
    figures = json.loads(out.read_text("utf-8"))
    assert figures["files"] == 2 and len(figures["command_runs"]) == 1
    assert figures["command_cached_median_seconds"] > 0 and figures["rows_warm_cache_seconds"] > 0
    assert figures["bytecode_cache_in_runs"] == (not os.environ.get("PYTHONDONTWRITEBYTECODE"))
    text = readme.read_text("utf-8")
    assert text == f"# App\n\n{render(figures)}\n\nAfter.\n" and "old figures" not in text
    assert "imports 2 header-only GGUFs" in text
    # Rendering again from the saved JSON measures nothing and gives the same paragraph.
    readme.write_text(f"{BEGIN}\n{END}\n", "utf-8")
    capsys.readouterr()
    assert main(["bench", "listing", "--from-json", str(out), "--readme", str(readme), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == figures
    assert readme.read_text("utf-8") == render(figures) + "\n"


def test_models_list_imports_only_what_it_shows(tmp_path: Path) -> None:
    """30B-shaped GGUFs imported: the listing reads their cached shapes and the remembered
    backend checks, and loads no numerical, engine, UI or downloader code."""
    for i in range(2):
        path = tmp_path / f"fake-30b-{i}.gguf"
        write_fake_30b(path)
        assert main(["models", "import", str(path)]) == 0
    code = (
        "import io, sys, contextlib\n"
        "from deepresearch_local.cli.main import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    assert main(['models', 'list', '--json']) == 0\n"
        "print('MODULES', ' '.join(sorted(sys.modules)))\n"
    )
    for _ in range(2):  # the first run checks the installs and remembers them
        run = subprocess.run(
            [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300, check=True
        )
    loaded = set(next(x for x in run.stdout.splitlines() if x.startswith("MODULES ")).split()[1:])
    assert "deepresearch_local.weights.listing" in loaded  # the listing really ran
    heavy = sorted(m for m in loaded if m.split(".")[0] in UNNEEDED or m.startswith(UNNEEDED_OURS))
    assert heavy == [], heavy
