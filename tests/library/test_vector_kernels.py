"""The two vector kernels: SimSIMD over the float16 matrix (the default) and numpy's BLAS over a
float32 copy (where SimSIMD is missing) rank the same chunks with the same scores."""

from __future__ import annotations

import numpy as np
import pytest

from deepresearch_local.library import Library, vectors
from deepresearch_local.library.vectors import Shortlist


def _unit_rows(rows: int, dims: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    matrix = rng.standard_normal((rows, dims)).astype(np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix.astype(np.float16)  # as stored


@pytest.mark.parametrize("threaded_from", [1, 10**9])
@pytest.mark.parametrize("queries", [1, 3])
def test_simsimd_and_blas_give_the_same_scores(
    monkeypatch: pytest.MonkeyPatch, threaded_from: int, queries: int
) -> None:
    assert vectors._simsimd() is not None, "SimSIMD is a dependency: pip install simsimd"
    monkeypatch.setattr(vectors, "THREADED_FROM", threaded_from)  # every core, and one thread
    stored = _unit_rows(6000, 96, seed=queries)
    columns = np.stack([vectors._unit(v, 96, "test") for v in _unit_rows(queries, 96, seed=99)], axis=1)
    simd = vectors._product(stored, columns)
    blas = vectors._product(stored.astype(np.float32), columns)
    assert simd.shape == blas.shape == (6000, queries) and simd.dtype == np.float32
    assert np.abs(simd - blas).max() < 1e-5  # the same sums, in another order
    for column in range(queries):
        simd_top = vectors._best(vectors._rounded(simd[:, column]), 50)
        blas_top = vectors._best(vectors._rounded(blas[:, column]), 50)
        assert len(set(simd_top.tolist()) & set(blas_top.tolist())) >= 49  # a float16 tie at most


def test_a_shortlist_ranks_a_nearby_vector_with_either_kernel() -> None:
    stored = _unit_rows(500, 32, seed=5)
    ids = np.arange(100, 600, dtype=np.int64)
    query = stored[7].astype(np.float32)
    near = query + 0.05 * stored[8].astype(np.float32)
    ranked = [
        Shortlist(ids, np.zeros(500, dtype=np.float32), rows, 0.0).nearest(near, 3)
        for rows in (stored, stored.astype(np.float32))
    ]
    assert ranked[0] == ranked[1] and ranked[0][0][0] == 107


def test_the_loaded_matrix_keeps_the_stored_float16(indexed: tuple[Library, object, object]) -> None:
    library = indexed[0]
    ids = [int(r[0]) for r in library.store.query("SELECT id FROM chunks ORDER BY id")]
    library.vectors.add("toy", ids, [[1.0, float(i), 0.5, 0.0] for i in range(len(ids))])
    matrix = library.vectors.matrix("toy")
    assert matrix.dtype == np.float16 and matrix.shape == (len(ids), 4)  # half the memory of float32
    assert library.vectors.nearest("toy", [1.0, 0.0, 0.5, 0.0], 1)[0][0] == ids[0]


def test_scores_round_to_float16_as_the_cast_does() -> None:
    rng = np.random.default_rng(3)
    edges = [0.0, -0.0, 1.0, -1.0, 0.99951171875, 0.999755859375, 2**-14, 2**-14 * 0.999, 2**-24]
    edges += [65504.0, 65519.0, 65520.0, 7e4]  # the largest float16, the last below inf, inf
    for scale in (1.0, 1e-3, 1e-6, 1e-8, 3e4):
        scores = np.concatenate([rng.standard_normal(200_000) * scale, edges]).astype(np.float32)
        with np.errstate(over="ignore"):
            cast = scores.astype(np.float16).astype(np.float32)
        assert np.array_equal(vectors._rounded(scores), cast)
