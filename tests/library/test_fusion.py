"""The fusion over arrays gives what its definition gives: ``file_scores``, ``for_size`` and
``scaled`` applied ranking by ranking, chunk scores summed in order, ties in the order files were
first met (the definition is written out here as the plain loop it once was)."""

from __future__ import annotations

import random

import pytest

from deepresearch_local.library.fusion import RRF_K, Ranking, file_scores, for_size, fuse_files, scaled


def _defined(
    rankings: list[Ranking], file_of: dict[int, int], depth: int, sizes: dict[int, int] | None
) -> list[tuple[int, float, list[tuple[int, float]]]]:
    score: dict[int, float] = {}
    chunk_scores: dict[int, dict[int, float]] = {}  # its keys: the files in the order first met
    for scored, weight, spread in rankings:
        scores = file_scores(scored, file_of)
        if sizes is not None:
            scores = for_size(scores, sizes, spread)
        for file_id, value in scaled(scores, depth).items():
            chunk_scores.setdefault(file_id, {})
            score[file_id] = score.get(file_id, 0.0) + weight * value
        for rank, (chunk_id, _) in enumerate(scored, start=1):
            owner = file_of.get(chunk_id)
            if owner is not None:
                chunks = chunk_scores.setdefault(owner, {})
                chunks[chunk_id] = chunks.get(chunk_id, 0.0) + weight / (RRF_K + rank)
    ordered = sorted(chunk_scores, key=lambda f: -score.get(f, 0.0))
    return [(f, score.get(f, 0.0), list(chunk_scores[f].items())) for f in ordered]


def _ranking(rng: random.Random, chunks: list[int], cosines: bool) -> list[tuple[int, float]]:
    picked = rng.sample(chunks, rng.randint(0, len(chunks)))
    if cosines:  # some below zero, some equal
        values = [rng.choice([rng.uniform(-0.3, 0.9), 0.5]) for _ in picked]
    else:
        values = [rng.choice([rng.uniform(0.1, 12.0), 3.0]) for _ in picked]
    return sorted(zip(picked, values, strict=True), key=lambda cv: -cv[1])


@pytest.mark.parametrize("seed", range(40))
def test_fusion_over_arrays_is_the_fusion_defined(seed: int) -> None:
    rng = random.Random(seed)
    files = list(range(1, rng.randint(2, 40)))
    chunks = list(range(100, 100 + rng.randint(1, 300)))
    file_of = {c: rng.choice(files) for c in chunks if rng.random() > 0.1}  # some chunks are gone
    sizes = {f: rng.randint(1, 500) for f in files if rng.random() > 0.2} if seed % 2 else None
    rankings = [Ranking(_ranking(rng, chunks, cosines=False), 1.0)]
    for _ in range(rng.randint(0, 3)):
        rankings.append(Ranking(_ranking(rng, chunks, cosines=True), 1.5, rng.choice([None, 0.05])))
    depth = rng.choice([3, 10, 50])
    fused = [(f, e.score, list(e.chunks.items())) for f, e in fuse_files(rankings, file_of, depth, sizes)]
    assert fused == _defined(rankings, file_of, depth, sizes)
