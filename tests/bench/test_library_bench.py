"""``deepresearch bench library``: figures on a generated corpus and on a real folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deepresearch_local.bench.library import make_corpus
from deepresearch_local.cli.main import main
from deepresearch_local.paths import get_paths


def test_generated_corpus_has_the_requested_chunks(tmp_path: Path) -> None:
    files = make_corpus(tmp_path, 250, seed=3)
    assert files == 3
    texts = sorted(p.read_text("utf-8") for p in tmp_path.rglob("*.txt"))
    assert sorted(t.count("\n\n") + 1 for t in texts) == [50, 100, 100]
    again = tmp_path / "again"
    make_corpus(again, 250, seed=3)
    assert sorted(p.read_text("utf-8") for p in again.rglob("*.txt")) == texts  # seeded: reproducible
    assert all(800 <= len(p) <= 1200 for t in texts for p in t.split("\n\n")[:-1])


def test_bench_synthetic_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "library", "--synthetic", "300", "--queries", "30", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["files"], result["indexed"], result["chunks"]) == (3, 3, 300)
    assert result["index_seconds"] > 0 and result["reindex_unchanged_seconds"] >= 0
    assert result["reindex_read_again"] == 0
    assert result["index_workers"] == 0  # 3 files: too few to start worker processes
    query = result["query"]
    assert query["count"] == 30 and 0 < query["p50_ms"] <= query["p95_ms"] <= query["max_ms"]
    assert 0 < query["cpu_p50_ms"] <= query["cpu_p95_ms"]  # CPU time too (steadier under load)
    assert result["fused_query"]["count"] == 10
    assert result["db_bytes"] > 0
    assert result["measured_at"].endswith("UTC")
    assert all(v is None or v >= 0 for v in result["load_average"].values())  # how busy the machine was
    assert not get_paths().library_db.exists()  # the user's library is never touched
    plain = result["plain_fts5"]  # the plain indexer on the same files, for scale
    assert plain["files"] == 3 and plain["index_seconds"] > 0
    assert 270 <= plain["chunks"] <= 300  # the same text in fixed 1,000-character pieces
    assert plain["query"]["count"] == 30 and plain["query"]["p50_ms"] > 0
    assert {"cpu", "cores", "ram_total_bytes", "gpus", "versions"} <= result["machine"].keys()


def test_bench_synthetic_hybrid_json(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["bench", "library", "--synthetic", "200", "--queries", "12", "--dense", "8", "--json"]
    assert main(argv) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["dense_dimensions"] == 8 and result["dense_store_seconds"] >= 0
    assert result["dense_vectors"] == result["chunks"] == 200  # every chunk has one: search uses them
    hybrid = result["hybrid_query"]
    assert hybrid["count"] == 12 and 0 < hybrid["p50_ms"] <= hybrid["p95_ms"] <= hybrid["max_ms"]
    assert result["hybrid_fused_query"]["count"] == 4
    dense = result["dense_pass"]  # the bare product over every vector: a part of each hybrid search
    assert 0 <= dense["p50_ms"] < hybrid["p50_ms"] and dense["dtype"] == "float16"
    assert dense["mib"] == round(200 * 8 * 2 / 2**20, 1)  # float16: half of float32
    assert "hybrid_query" not in json.loads(_run_plain(capsys))


def _run_plain(capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["bench", "library", "--synthetic", "100", "--queries", "3", "--json"]) == 0
    return capsys.readouterr().out


def test_bench_folder_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for n in range(4):
        (tmp_path / f"doc{n}.md").write_text(f"# Doc {n}\n\nA paragraph about topic number {n}.\n", "utf-8")
    (tmp_path / "junk.bin").write_bytes(b"\x00" * 10)
    assert main(["bench", "library", str(tmp_path), "--queries", "5"]) == 0
    out = capsys.readouterr().out
    assert "files                      5 (4 indexed, 1 skipped, 0 failed)" in out
    assert "chunks                     4" in out and "query (1 query)" in out


def test_the_plain_indexer_reads_pages_and_texts_and_ranks_files(tmp_path: Path) -> None:
    import sqlite3
    from contextlib import closing

    from deepresearch_local.bench import plain_fts5

    docs = tmp_path / "docs"
    (docs / "sub").mkdir(parents=True)
    page = "<html><head><script>var lighthouse = 1;</script></head><body><p>{}</p></body></html>"
    (docs / "harbour.html").write_text(page.format("The harbour lighthouse guides ferries. " * 60), "utf-8")
    (docs / "sub" / "bread.md").write_text("Sourdough bread needs a lively starter.\n", "utf-8")
    (docs / "empty.html").write_text(page.format(""), "utf-8")
    (docs / "photo.png").write_bytes(b"\x89PNG lighthouse")
    built = plain_fts5.index(docs, tmp_path / "plain.sqlite3")
    assert (built.files, built.chunks) == (2, 4)  # 2,340 characters of page text: 3 chunks, 1 of text
    with closing(sqlite3.connect(tmp_path / "plain.sqlite3")) as db:
        assert plain_fts5.search(db, "where is the lighthouse") == [str(docs / "harbour.html")]
        assert plain_fts5.search(db, "starter for bread") == [str(docs / "sub" / "bread.md")]
        assert plain_fts5.search(db, "var") == []  # scripts are left out
        assert plain_fts5.search(db, "the of") == []  # common words alone find nothing


def test_bench_needs_a_corpus(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "library"]) == 2
    assert "Give a folder to index" in capsys.readouterr().err
