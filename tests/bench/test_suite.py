"""``deepresearch bench all``: every benchmark with the real 0.5B model on tiny settings, the JSON of
each saved, and the README section rendered from exactly those files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from deepresearch_local.bench.machine import describe
from deepresearch_local.bench.suite import load_results
from deepresearch_local.bench.summary import BEGIN, END, render, splice
from deepresearch_local.cli.main import main
from deepresearch_local.errors import UsageError

REPO = Path(__file__).resolve().parents[2]
MiB = 1 << 20


def _readme(tmp_path: Path) -> Path:
    (tmp_path / "packaging" / "assets").mkdir(parents=True)
    readme = tmp_path / "README.md"
    readme.write_text(
        f"# App\n\nIntro.\n\n## Benchmarks\n\n{BEGIN}\nold figures\n{END}\n\n## After\n\nEnd.\n", "utf-8"
    )
    return readme


@pytest.mark.slow
@pytest.mark.timeout(3000)  # six benchmarks with the real model: 1.5 min quiet, over 10 min loaded
def test_all_benchmarks_with_the_real_model_fill_the_readme(
    qwen05b: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    readme, out = _readme(tmp_path), tmp_path / "results"
    code = main([
        "bench", "all", "--model", str(qwen05b), "--out", str(out), "--readme", str(readme),
        "--rounds", "1", "--prompt-tokens", "64", "--gen-tokens", "8", "--contexts", "2048",
        "--steps", "6", "--chunks", "300", "--startup-runs", "1",
        "--sample", "--limit", "1", "--max-steps", "2", "--context", "4096", "--max-output-tokens", "256",
    ])  # fmt: skip
    assert code == 0
    progress = capsys.readouterr().err
    stem = qwen05b.name.removesuffix(".gguf")
    names = [f"engine-{stem}", f"memory-{stem}", "context", "library", "startup", f"research-{stem}"]
    for n, name in enumerate(names, start=1):
        assert f"[{n}/{len(names)}] deepresearch bench {name.split('-')[0]} " in progress
    # The JSON stays in --out; the plot moves next to the README's pictures.
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{name}.json" for name in names)
    results = load_results(out)
    assert results[f"engine-{stem}"]["ours"]["decode_tps"] > 0
    [mem] = results[f"memory-{stem}"]["results"]
    assert mem["context_tokens"] == 2048 and abs(mem["error_percent"]) <= 10
    assert results["context"]["fold"]["max_prompt_tokens"] <= results["context"]["budget"]
    assert results["library"]["chunks"] >= 300
    assert results["startup"]["help"]["median_seconds"] > 0
    research = results[f"research-{stem}"]
    assert research["offline"] is True and research["max_output_tokens"] == 256
    assert [r["mode"] for r in research["results"]] == ["fold", "react"]
    assert all(r["command"].startswith("deepresearch bench ") for r in results.values())

    text = readme.read_text("utf-8")
    assert text.startswith("# App\n\nIntro.\n\n## Benchmarks\n\n" + BEGIN)
    assert text.endswith(END + "\n\n## After\n\nEnd.\n") and "old figures" not in text
    section = text[text.index(BEGIN) : text.index(END) + len(END)] + "\n"
    assert (tmp_path / "packaging" / "assets" / "context-per-step.png").read_bytes()[:4] == b"\x89PNG"
    assert "](packaging/assets/context-per-step.png)" in section
    for heading in ("Engine overhead", "Context per step", "Local library", "Memory", "Start-up", "Research"):
        assert f"### {heading}" in section
    assert f"| `{qwen05b.name}` | 2,048 | {mem['predicted_peak_rss_bytes'] / MiB:,.0f} MiB | " in section
    assert f"{results['context']['react']['max_prompt_tokens']:,}" in section
    assert "Measured on " in section and "cores" in section

    # Re-rendering from the saved JSON gives the same section, without running anything.
    shutil.copy(readme, tmp_path / "before.md")
    assert main(["bench", "all", "--from-results", "--out", str(out), "--readme", str(readme)]) == 0
    assert readme.read_text("utf-8") == (tmp_path / "before.md").read_text("utf-8")
    # Without --readme the summary is written into --out and printed.
    capsys.readouterr()
    assert main(["bench", "all", "--from-results", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert printed == (out / "benchmarks.md").read_text("utf-8") + "\n"
    assert "### Memory" in printed and "](packaging/assets/" not in printed


def test_a_readme_without_markers_is_refused_with_what_to_add() -> None:
    with pytest.raises(UsageError, match="<!-- bench:begin -->"):
        splice("# App\n", "section")


def test_no_results_and_no_model_say_what_to_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "all", "--from-results", "--out", str(tmp_path)]) == 2
    assert "Run `deepresearch bench all` first" in capsys.readouterr().err
    assert main(["bench", "all", "--out", str(tmp_path)]) == 2
    assert "--model" in capsys.readouterr().err


def test_the_readme_section_is_rendered_from_the_committed_results() -> None:
    """The figures in the README are exactly those in packaging/benchmarks (no hand edits)."""
    results = load_results(REPO / "packaging" / "benchmarks")
    text = (REPO / "README.md").read_text("utf-8")
    section = text[text.index(BEGIN) : text.index(END) + len(END)] + "\n"
    assert section == render(results, plot="packaging/assets/context-per-step.png")
    assert f"Measured on {describe(results['context']['machine'])};" in section
