"""Fusion: several rankings of chunks (BM25's, the dense ones) made one ranking of files.

Each ranking scores files by their best chunks (``file_scores``; in hybrid search less what a
file's size alone lends it, ``for_size``), scaled to 1 for its first file down to 0 for its
``FUSE_DEPTH``-th (``scaled``); a file scores the weighted sum over the rankings. Within a file
each chunk keeps the reciprocal of its rank, summed over the rankings, so the best passage can be
chosen. ``fuse_files`` does it with numpy over the rankings' arrays, to the same numbers as the
three functions above it (they are the definition; a test holds the two together), and works out
a file's chunks only when they are asked for: a search shows a few files of the hundreds fused.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

FUSE_DEPTH = 50
"""Files of each ranking that count in the fusion, scaled from 1 (its first) to 0 (its 50th): a
retriever that is sure of its first file (far above the rest) gives it nearly its full weight,
where reciprocal ranks gave a file ranked first by one list little more than one ranked fifth by
all. Measured with ``bench library --qa`` (all-MiniLM-L6-v2, five question sets, 237 questions):
recall@5 0.772 with reciprocal rank fusion (k = 60), 0.814 here; depths of 30 to 75 gave 0.797 to
0.814, and reciprocal ranks with k = 30 or 15, 0.793 to 0.806."""

RRF_K = 60
"""Ranks of chunks within a file (which passage is shown) are fused by reciprocal rank."""

SECOND_WEIGHT = 0.5
"""How much a file's second and third best chunks add to its best one (see ``file_scores``)."""

SIZE_CORRECTION = 0.25
"""A file scores by its best chunks, and the best of many chunks is high by chance alone: the
largest of n draws from a spread of scores lies about ``spread * sqrt(2 ln n)`` above their
mean. So in hybrid search each ranking's file scores give back this share of that, and a
changelog or a book-length manual of thousands of chunks no longer outranks the short page that
answers (``for_size``). Measured with ``bench library --qa`` (all-MiniLM-L6-v2): hybrid recall@5
pooled over the seven question sets other than dev went from 0.820 to 0.835 (dev 0.912 -> 0.923,
no set lower; 0.5 gave 0.820 and cost four sets), and on heldout7, written after it was chosen
(pytest, requests, click and bash docs, 32 questions), from 0.906 to 0.938. In keyword search
alone it changed nothing pooled (0.630), losing dev and heldout2 questions, so keyword search
leaves it out."""


class Ranking(NamedTuple):
    """One retriever's chunks for one query, best first, and what they count for in the fusion."""

    scored: Sequence[tuple[int, float]]
    weight: float
    spread: float | None = None
    """How widely the retriever's scores vary for this query (the standard deviation of its
    cosines over all chunks), or None: that of the ranking's own file scores."""


def file_scores(scored: Sequence[tuple[int, float]], file_of: dict[int, int]) -> dict[int, float]:
    """Each file's score in one ranking (best first, as every retriever gives it): its best chunk's
    score plus half of the next two (a page with several strong passages beats one with a single
    lucky one; many weak mentions do not add up to much)."""
    per_file: dict[int, list[float]] = {}
    for chunk_id, value in scored:
        file_id = file_of.get(chunk_id)
        if file_id is None:  # the chunk is gone (a stale vector)
            continue
        values = per_file.get(file_id)
        if values is None:
            per_file[file_id] = [value]
        elif len(values) < 3:  # best first: a file's first three are its best three
            values.append(value)
    return {f: values[0] + SECOND_WEIGHT * sum(values[1:3]) for f, values in per_file.items()}


def scaled(scores: dict[int, float], depth: int = FUSE_DEPTH) -> dict[int, float]:
    """One ranking's file scores mapped onto 1 (its first file) .. 0 (its ``depth``-th file and
    those below, left out). A ranking of fewer files (a rare word, a small library) is scaled down
    to 0 (or its lowest score, if negative), so its last file keeps what it scored. When the scores
    are all equal, the files get 1."""
    if not scores:
        return {}
    top, floor = _bounds(sorted(scores.values(), reverse=True), depth)
    if top <= floor:
        return {f: 1.0 for f, v in scores.items() if v >= top}
    return {f: (v - floor) / (top - floor) for f, v in scores.items() if v > floor}


def for_size(scores: dict[int, float], sizes: dict[int, int], spread: float | None) -> dict[int, float]:
    """File scores less what a file's size alone lends them (see ``SIZE_CORRECTION``): a file
    of n chunks loses ``SIZE_CORRECTION * spread * sqrt(2 ln n)``, ``spread`` being how widely
    the scores vary (None: the standard deviation of ``scores`` themselves)."""
    if not scores:
        return scores
    step = SIZE_CORRECTION * (_spread(list(scores.values())) if spread is None else spread)
    return {f: v - step * _size_lends(sizes.get(f, 1)) for f, v in scores.items()}


def _bounds(ordered: Sequence[float], depth: int) -> tuple[float, float]:
    """(top, floor) of ``scaled`` from a ranking's file scores, highest first."""
    top = float(ordered[0])
    floor = float(ordered[depth - 1]) if len(ordered) >= depth else min(0.0, float(ordered[-1]))
    return top, floor


def _spread(values: list[float]) -> float:
    """The standard deviation of ``values``, summed in their order (as ``fuse_files`` must)."""
    mean = sum(values) / len(values)
    return math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))


@functools.lru_cache(maxsize=4096)
def _size_lends(chunks: int) -> float:
    """sqrt(2 ln n) for a file of n chunks (the expected best of n draws, in spreads)."""
    return math.sqrt(2 * math.log(max(chunks, 1)))


_GONE = -1
"""The owner of a chunk that no longer exists (file ids are SQLite row ids, never negative)."""


class _Source(NamedTuple):
    """One ranking as the fusion keeps it, to work out a file's chunks later."""

    owners: npt.NDArray[np.int64]
    ids: list[int]
    weight: float


class FusedFile:
    """A file's fused score and, when asked, its chunks' own fused scores."""

    __slots__ = ("_chunks", "_file", "_sources", "score")

    def __init__(self, file_id: int, sources: list[_Source]) -> None:
        self.score = 0.0
        self._file = file_id
        self._sources = sources
        self._chunks: dict[int, float] | None = None

    @property
    def chunks(self) -> dict[int, float]:
        """Chunk id -> its reciprocal ranks summed over the rankings (in the order first met)."""
        import numpy as np

        if self._chunks is None:
            chunks: dict[int, float] = {}
            for owners, ids, weight in self._sources:
                for at in np.flatnonzero(owners == self._file).tolist():
                    chunk_id = ids[at]
                    chunks[chunk_id] = chunks.get(chunk_id, 0.0) + weight / (RRF_K + at + 1)
            self._chunks = chunks
        return self._chunks


def _ranked_files(
    owners: npt.NDArray[np.int64], values: npt.NDArray[np.float64]
) -> tuple[list[int], npt.NDArray[np.float64]]:
    """``file_scores`` over arrays: the files in the order first met and their scores."""
    import numpy as np

    kept = owners != _GONE
    owners, values = owners[kept], values[kept]
    if not len(owners):
        return [], np.zeros(0)
    order = np.argsort(owners, kind="stable")  # each file's chunks together, best first
    grouped, group_values = owners[order], values[order]
    starts = np.flatnonzero(np.concatenate(([True], grouped[1:] != grouped[:-1])))
    counts = np.diff(np.append(starts, len(grouped)))
    last = len(grouped) - 1
    second = np.where(counts >= 2, group_values[np.minimum(starts + 1, last)], 0.0)
    third = np.where(counts >= 3, group_values[np.minimum(starts + 2, last)], 0.0)
    scores = group_values[starts] + SECOND_WEIGHT * (second + third)
    met = np.argsort(order[starts], kind="stable")  # groups in the order their files first came
    return grouped[starts][met].tolist(), scores[met]


def _less_size(
    files: list[int], scores: npt.NDArray[np.float64], lends: dict[int, float], spread: float | None
) -> npt.NDArray[np.float64]:
    """``for_size`` over arrays (``lends``: each file's sqrt(2 ln n))."""
    import numpy as np

    step = SIZE_CORRECTION * (_spread(scores.tolist()) if spread is None else spread)
    corrected: npt.NDArray[np.float64] = scores - step * np.array([lends.get(f, 0.0) for f in files])
    return corrected


def _scaled(files: list[int], scores: npt.NDArray[np.float64], depth: int) -> list[tuple[int, float]]:
    """``scaled`` over arrays: (file, scaled score) of those kept, in the files' order."""
    import numpy as np

    top, floor = _bounds(np.sort(scores)[::-1].tolist(), depth)
    if top <= floor:
        return [(files[at], 1.0) for at in np.flatnonzero(scores >= top).tolist()]
    at = np.flatnonzero(scores > floor)
    values = ((scores[at] - floor) / (top - floor)).tolist()
    return [(files[i], v) for i, v in zip(at.tolist(), values, strict=True)]


def fuse_files(
    rankings: Sequence[Ranking],
    file_of: dict[int, int],
    depth: int = FUSE_DEPTH,
    sizes: dict[int, int] | None = None,
) -> list[tuple[int, FusedFile]]:
    """The files of all ``rankings``, best first (see the module): each ranking's file scores
    (less what size lends them when ``sizes`` gives each file's chunks), scaled over its first
    ``depth`` files and weighted; ties in the order the files were first met."""
    import numpy as np

    files: dict[int, FusedFile] = {}
    sources: list[_Source] = []
    lends = {f: _size_lends(n) for f, n in sizes.items()} if sizes is not None else {}
    for scored, weight, spread in rankings:
        ids = [chunk_id for chunk_id, _ in scored]
        owner_list = [file_of.get(chunk_id, _GONE) for chunk_id in ids]
        owners = np.array(owner_list, dtype=np.int64)
        sources.append(_Source(owners, ids, weight))
        ranked, scores = _ranked_files(owners, np.array([value for _, value in scored], dtype=np.float64))
        if ranked:
            if sizes is not None:
                scores = _less_size(ranked, scores, lends, spread)
            for file_id, value in _scaled(ranked, scores, depth):
                entry = files.get(file_id)
                if entry is None:
                    entry = files[file_id] = FusedFile(file_id, sources)
                entry.score += weight * value
        for owner in dict.fromkeys(owner_list):  # files met only below the scaled ones
            if owner != _GONE and owner not in files:
                files[owner] = FusedFile(owner, sources)
    return sorted(files.items(), key=lambda kv: -kv[1].score)
