"""Dense feedback: the query vector pulled toward BM25's first files finds what both missed."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import deepresearch_local.library.search as search_module
from deepresearch_local.library import Library
from deepresearch_local.library.feedback import FEEDBACK_PULL, feedback_query, first_chunks_of_files

QUERY = [1.0, 0.0, 0.0]
VECTORS = {
    # the only file holding the query's word; its vector is unlike the query's
    "kneading.md": [0.0, 0.0, 1.0],
    # no query word; as close to the query as to the kneading page: the page the user wants
    "resting.md": [0.8, 0.0, 0.6],
    # no query word; closer to the query than resting.md, unrelated to the kneading page
    **{f"other{n}.md": [0.85, math.sqrt(1 - 0.85**2), 0.0] for n in range(4)},
}


class _Fixed:
    id = "toy"

    def embed_query(self, text: str) -> list[float]:
        return QUERY


@pytest.fixture
def shelf(tmp_path: Path, library: Library) -> Library:
    root = tmp_path / "shelf"
    root.mkdir()
    texts = {"kneading.md": "Kneading dough by hand for ten minutes.", "resting.md": "Let it rest overnight."}
    for name in VECTORS:
        (root / name).write_text(f"# {name}\n\n{texts.get(name, 'A page about ' + name)}\n", encoding="utf-8")
    library.add(root, "shelf")
    rows = library.store.query("SELECT c.id, f.rel FROM chunks c JOIN files f ON f.id = c.file_id")
    library.vectors.add("toy", [int(r[0]) for r in rows], [VECTORS[str(r[1])] for r in rows])
    return library


def _names(library: Library) -> list[str]:
    return [Path(h.path).name for h in library.search("kneading", k=6, embedder=_Fixed())]


def test_feedback_brings_up_the_page_both_retrievers_ranked_low(
    shelf: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_feedback = _names(shelf)
    monkeypatch.setattr(search_module, "feedback_query", lambda *args: None)
    without = _names(shelf)
    resting = without.index("resting.md")
    assert all(without.index(f"other{n}.md") < resting for n in range(4))  # they are nearer the query
    assert with_feedback.index("resting.md") <= 2  # pulled toward the kneading page, it passes them


def test_feedback_query_is_the_unit_query_plus_a_pull_toward_the_centre(shelf: Library) -> None:
    rows = shelf.store.query("SELECT c.id, f.rel, f.id FROM chunks c JOIN files f ON f.id = c.file_id")
    chunk = {str(r[1]): int(r[0]) for r in rows}
    file_of = {int(r[0]): int(r[2]) for r in rows}
    lexical = [(chunk["kneading.md"], 3.0)]
    pulled = feedback_query(shelf.vectors, "toy", [2.0, 0.0, 0.0], lexical, file_of)
    assert pulled is not None
    assert pulled.tolist() == pytest.approx([1.0, 0.0, FEEDBACK_PULL], abs=1e-3)
    # nothing to learn from: no BM25 hit with a vector, or vectors of another size
    assert feedback_query(shelf.vectors, "toy", QUERY, [], file_of) is None
    assert feedback_query(shelf.vectors, "other-model", QUERY, lexical, file_of) is None
    assert feedback_query(shelf.vectors, "toy", [1.0, 0.0], lexical, file_of) is None


def test_the_centre_takes_each_files_best_chunk_once() -> None:
    file_of = {1: 10, 2: 10, 3: 20, 4: 30, 5: 40}
    ranking = [(2, 9.0), (1, 8.0), (7, 7.5), (3, 7.0), (4, 6.0), (5, 5.0)]
    assert first_chunks_of_files(ranking, file_of, 3) == [2, 3, 4]  # 7: a chunk that is gone
    assert first_chunks_of_files(ranking, file_of, 10) == [2, 3, 4, 5]


def test_rows_of_returns_the_vectors_in_the_order_asked(shelf: Library) -> None:
    rows = shelf.store.query(
        "SELECT c.id, f.rel FROM chunks c JOIN files f ON f.id = c.file_id ORDER BY c.id"
    )
    ids = [int(r[0]) for r in rows]
    got = shelf.vectors.rows_of("toy", [ids[-1], 10_000_000, ids[0]])
    want = np.asarray([VECTORS[str(rows[-1][1])], VECTORS[str(rows[0][1])]], dtype=np.float32)
    assert got.shape == (2, 3)
    assert np.allclose(got, want, atol=1e-3)
    assert shelf.vectors.rows_of("toy", []).shape[0] == 0
