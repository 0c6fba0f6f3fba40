"""The vector-store benchmark runs, and every way of storing the vectors finds the same neighbours."""

from __future__ import annotations

from deepresearch_local.bench.vector_store import bench, main, render


def test_the_ways_agree_and_the_figures_are_printed() -> None:
    result = bench(rows=3000, dim=64, queries=4, n=100)
    matrix, mapped = result["ways"]["matrix"], result["ways"]["mmap"]
    assert matrix["same_top_50"] == 1.0
    assert mapped["same_top_50"] >= 0.96  # scores rounded to float16 in the library may swap near-ties
    assert matrix["p95_ms"] >= matrix["p50_ms"] > 0
    assert "sqlite-vec" in result["ways"]
    text = render(result)
    assert "3,000 vectors of 64 dimensions" in text and "mmap" in text
    assert main(["--rows", "2000", "--dim", "32", "--queries", "2"]) == 0
