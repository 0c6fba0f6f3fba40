"""Dense vectors of the library's chunks, stored beside the FTS index and searched in memory.

Each chunk's vector (L2-normalised, stored as float16 to halve the disk and memory it takes) lives
in ``chunk_vectors`` of the library database, keyed by chunk id and the embedding model that made
it, and disappears with its chunk (foreign key cascade). Search loads every vector of one model
into one matrix the first time it is needed and keeps it until the table changes; a search is then
one matrix product with all its query vectors.

The matrix stays float16 in memory (about 75 MB per 100k chunks of 384 dimensions) and is
multiplied by SimSIMD's float16 kernels (F16C and FMA on x86, NEON on Apple Silicon; sums in
float32, on every core): 100k chunks on two cores take 6 ms a query, where numpy, which multiplies
float16 without SIMD, takes 80 ms and its float32 BLAS product 11-13 ms over a float32 copy of
twice the memory. Where SimSIMD is not installed the matrix is kept as float32 and multiplied by
numpy, as before. Scores are rounded to float16 as the float16 product gave them, so the order of
the sums in either kernel rarely matters (about 1 in 700 scores differs by one float16 step: over
100k random vectors, 19 of 20 queries kept the same top 500 and the 20th swapped ranks past 480).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from deepresearch_local.library.cores import cores
from deepresearch_local.library.store import Store

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from deepresearch_local.library.search import MatrixLike, VectorLike

    Matrix = npt.NDArray[np.float32]
    Stored = npt.NDArray[Any]
    """The loaded vectors: float16 where SimSIMD multiplies them, else float32."""
    IntArray = npt.NDArray[np.int64]
    FloatArray = npt.NDArray[np.float32]


LOAD_BATCH = 8192
"""Vectors read from the database at a time while the matrix is loaded."""


@dataclass(frozen=True)
class _Loaded:
    version: int
    ids: IntArray
    folders: IntArray
    matrix: Stored


class VectorIndex:
    """The chunk vectors of one library database."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._cache: dict[str, _Loaded] = {}
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}
        self._counts_at = -1

    def _version(self) -> int:
        rows = self.store.query("SELECT value FROM library_state WHERE key = 'vectors_version'")
        return int(rows[0][0]) if rows else 0

    def _bump(self) -> None:
        with self.store.transaction() as db:
            db.execute(
                "INSERT INTO library_state (key, value) VALUES ('vectors_version', 1) "
                "ON CONFLICT(key) DO UPDATE SET value = value + 1"
            )

    # ---------------------------------------------------------------- writing

    def missing(self, model: str, limit: int) -> list[tuple[int, str]]:
        """Up to ``limit`` chunks (id, text to embed) that have no vector from ``model`` yet,
        in file order. The text is the document title, the heading path and the body."""
        rows = self.store.query(
            """
            SELECT c.id, fts.title, fts.heading, fts.body FROM chunks c
            JOIN chunks_fts fts ON fts.rowid = c.id
            WHERE NOT EXISTS (SELECT 1 FROM chunk_vectors v WHERE v.chunk_id = c.id AND v.model = ?)
            ORDER BY c.file_id, c.ordinal LIMIT ?
            """,
            (model, limit),
        )
        return [(int(r[0]), embedding_text(r[1], r[2], r[3])) for r in rows]

    def count_missing(self, model: str) -> int:
        return int(
            self.store.query(
                "SELECT COUNT(*) FROM chunks c WHERE NOT EXISTS "
                "(SELECT 1 FROM chunk_vectors v WHERE v.chunk_id = c.id AND v.model = ?)",
                (model,),
            )[0][0]
        )

    def count(self, model: str) -> int:
        """Vectors stored from ``model`` (every hybrid search asks: remembered until vectors are
        stored or removed, which the vectors' version counts, not until any write: a search's
        own scratch writes would make it count 100k rows again, 7 ms, every query)."""
        with self._lock:
            now = self._version()
            if now != self._counts_at:
                self._counts.clear()
                self._counts_at = now
            if model not in self._counts:
                sql = "SELECT COUNT(*) FROM chunk_vectors WHERE model = ?"
                self._counts[model] = int(self.store.query(sql, (model,))[0][0])
            return self._counts[model]

    def add(self, model: str, ids: Sequence[int], vectors: MatrixLike) -> int:
        """Store vectors for chunks; those whose chunk is gone meanwhile are left out. Returns how
        many were stored."""
        import numpy as np

        if len(ids) != len(vectors):
            raise ValueError(f"{len(ids)} chunk ids but {len(vectors)} vectors")
        stored = 0
        with self.store.transaction() as db:
            for chunk_id, vector in zip(ids, vectors, strict=True):
                array = np.asarray(vector, dtype=np.float32)
                norm = float(np.linalg.norm(array))
                blob = (array / norm if norm > 0 else array).astype(np.float16).tobytes()
                cur = db.execute(
                    "INSERT OR REPLACE INTO chunk_vectors (chunk_id, model, vec) "
                    "SELECT id, ?, ? FROM chunks WHERE id = ?",
                    (model, blob, chunk_id),
                )
                stored += cur.rowcount
        self._bump()
        return stored

    def forget(self, model: str | None = None) -> None:
        """Drop the vectors of one model (all when None), e.g. after switching embedders."""
        with self.store.transaction() as db:
            if model is None:
                db.execute("DELETE FROM chunk_vectors")
            else:
                db.execute("DELETE FROM chunk_vectors WHERE model = ?", (model,))
        self._bump()

    # ---------------------------------------------------------------- searching

    def _load(self, model: str) -> _Loaded:
        """Every vector of ``model`` in one matrix (rows in chunk id order; float16, or float32
        without SimSIMD), read a batch at a time into the matrix, so loading needs little more
        memory than the matrix itself."""
        import numpy as np

        version = self._version()
        with self._lock:
            cached = self._cache.get(model)
            if cached is not None and cached.version == version:
                return cached
            joins = "FROM chunk_vectors v JOIN chunks c ON c.id = v.chunk_id JOIN files f ON f.id = c.file_id"
            count_sql = f"SELECT COUNT(*) {joins} WHERE v.model = ?"
            rows_sql = f"SELECT v.chunk_id, f.folder_id, v.vec {joins} WHERE v.model = ? ORDER BY v.chunk_id"
            with self.store.lock, closing(self.store.db.cursor()) as cursor:
                cursor.row_factory = None
                count = int(cursor.execute(count_sql, (model,)).fetchone()[0])
                cursor.execute(rows_sql, (model,))
                ids = np.empty(count, dtype=np.int64)
                folders = np.empty(count, dtype=np.int64)
                dtype = searched_dtype()
                matrix = np.zeros((0, 0), dtype=dtype)
                at = 0
                while at < count and (rows := cursor.fetchmany(LOAD_BATCH)):
                    rows = rows[: count - at]
                    if at == 0:
                        matrix = np.empty((count, len(rows[0][2]) // 2), dtype=dtype)
                    end = at + len(rows)
                    ids[at:end] = [r[0] for r in rows]
                    folders[at:end] = [r[1] for r in rows]
                    stored = np.frombuffer(b"".join(r[2] for r in rows), dtype=np.float16)
                    matrix[at:end] = stored.reshape(len(rows), -1)
                    at = end
            loaded = _Loaded(version, ids[:at], folders[:at], matrix[:at])
            self._cache[model] = loaded
            return loaded

    def matrix(self, model: str) -> Stored:
        """Every vector of ``model``, the matrix searches multiply (loaded if it is not)."""
        return self._load(model).matrix

    def rows_of(self, model: str, chunk_ids: Sequence[int]) -> Matrix:
        """The vectors (float32 rows) of those of ``chunk_ids`` that have one, in the order given."""
        import numpy as np

        loaded = self._load(model)
        if not len(chunk_ids) or loaded.matrix.shape[0] == 0:
            return np.zeros((0, loaded.matrix.shape[1] if loaded.matrix.ndim == 2 else 0), dtype=np.float32)
        wanted = np.asarray(chunk_ids, dtype=np.int64)
        at = np.minimum(np.searchsorted(loaded.ids, wanted), len(loaded.ids) - 1)
        rows: Matrix = loaded.matrix[at[loaded.ids[at] == wanted]].astype(np.float32)
        return rows

    def nearest(
        self, model: str, query: VectorLike, n: int, folder_id: int | None = None
    ) -> list[tuple[int, float]]:
        """The ``n`` chunks whose vectors are closest to ``query`` (cosine), best first."""
        return self.shortlists(model, [query], n, folder_id)[0].ranked()

    def shortlists(
        self, model: str, queries: Sequence[VectorLike], size: int, folder_id: int | None = None
    ) -> list[Shortlist]:
        """Each query's ``size`` nearest chunks (with their vectors, to rank other vectors among
        them), in one pass over the matrix: a product with several query vectors costs far less
        than one product each (100k chunks of 384 dimensions, two cores: 19 ms for six, against
        48 ms)."""
        import numpy as np

        loaded = self._load(model)
        if loaded.matrix.shape[0] == 0 or size <= 0 or not len(queries):
            empty = np.zeros(0, dtype=np.int64)
            return [Shortlist(empty, np.zeros(0, dtype=np.float32), loaded.matrix[:0], 0.0) for _ in queries]
        columns = [_unit(query, loaded.matrix.shape[1], model) for query in queries]
        products = _product(loaded.matrix, np.stack(columns, axis=1))
        size = min(size, products.shape[0])
        out: list[Shortlist] = []
        for column in range(products.shape[1]):
            scores = _rounded(products[:, column])
            if folder_id is not None:
                scores = np.where(loaded.folders == folder_id, scores, -np.inf)
            top = _best(scores, size)
            finite = scores if folder_id is None else scores[np.isfinite(scores)]
            spread = float(finite.std()) if len(finite) else 0.0
            out.append(Shortlist(loaded.ids[top], scores[top], loaded.matrix[top], spread))
        return out


@dataclass(frozen=True)
class Shortlist:
    """The chunks nearest one query vector, best first, with their vectors."""

    ids: IntArray
    scores: FloatArray
    rows: Stored
    """Their vectors, as the loaded matrix holds them, multiplied by ``_product`` too: a float32
    copy costs numpy's slow float16 cast, and a BLAS product in the same search leaves OpenBLAS's
    threads spinning against SimSIMD's (the next 100k product took 14 ms instead of 6)."""
    spread: float
    """The standard deviation of the query's cosines over all the chunks searched."""

    def ranked(self) -> list[tuple[int, float]]:
        """(chunk id, cosine) of the shortlist, best first."""
        return list(zip(self.ids.tolist(), self.scores.astype("float64").tolist(), strict=True))

    def nearest(self, vector: VectorLike, n: int) -> list[tuple[int, float]]:
        """The ``n`` chunks of the shortlist closest to another ``vector``. Meant for a vector near
        the shortlist's query (the query moved toward a feedback centre), whose own nearest chunks
        are among the query's; a chunk outside the shortlist is never returned."""
        if not len(self.ids) or n <= 0:
            return []
        column = _unit(vector, self.rows.shape[1], "the library's model").reshape(-1, 1)
        scores = _rounded(_product(self.rows, column)[:, 0])
        top = _best(scores, min(n, len(self.ids)))
        return list(zip(self.ids[top].tolist(), scores[top].astype("float64").tolist(), strict=True))


PRODUCT_BLOCK = 2048
"""Rows of a float32 matrix multiplied at a time by several query vectors: the block is still in
the cache for the second and third vector, where a product of the whole matrix with a few columns
reads it from memory more slowly than one column does (100k x 384, two cores: 30 ms for three
queries at once, 24 ms in blocks; one query, 12 ms, is multiplied whole)."""
THREADED_FROM = 32768
"""Rows from which SimSIMD multiplies on every core; below, one thread (under a millisecond)."""


@cache
def _simsimd() -> Any:
    """The SimSIMD module, or None where it is not installed (or its library cannot load)."""
    try:
        import simsimd
    except (ImportError, OSError):
        return None
    return simsimd


def searched_dtype() -> Any:
    """The dtype vectors are multiplied in: float16 where SimSIMD is installed, else float32."""
    import numpy as np

    return np.float16 if _simsimd() is not None else np.float32


def _product(matrix: Stored, columns: Matrix) -> Matrix:
    """``matrix @ columns`` as float32: SimSIMD's float16 kernel for a float16 matrix, numpy's
    BLAS (in blocks of rows when there are several columns) for a float32 one."""
    import numpy as np

    if matrix.dtype == np.float16:
        threads = cores() if matrix.shape[0] >= THREADED_FROM else 1
        queries = np.ascontiguousarray(columns.T, dtype=np.float16)  # exact: _unit rounded them
        scores = _simsimd().cdist(queries, matrix, metric="dot", threads=threads)
        return np.asarray(scores, dtype=np.float32).T
    if columns.shape[1] == 1 or matrix.shape[0] <= PRODUCT_BLOCK:
        product: Matrix = matrix @ columns
        return product
    out = np.empty((matrix.shape[0], columns.shape[1]), dtype=np.float32)
    for start in range(0, matrix.shape[0], PRODUCT_BLOCK):
        np.matmul(matrix[start : start + PRODUCT_BLOCK], columns, out=out[start : start + PRODUCT_BLOCK])
    return out


def _unit(query: VectorLike, dimensions: int, model: str) -> Matrix:
    """The query as a unit float32 vector, rounded through float16 like the stored vectors."""
    import numpy as np

    q = np.asarray(query, dtype=np.float32).reshape(-1)
    if q.shape[0] != dimensions:
        raise ValueError(
            f"The query vector has {q.shape[0]} dimensions but the library's vectors from {model} "
            f"have {dimensions}: re-embed the library (`deepresearch docs embed`)."
        )
    unit: Matrix = (q / (float(np.linalg.norm(q)) or 1.0)).astype(np.float16).astype(np.float32)
    return unit


def _rounded(product: Matrix) -> Matrix:
    """Scores as the float16 product gave them (see the module's docstring): each float32 rounded
    to float16's 11 significant bits, half to even, by integer arithmetic on its bits (numpy's
    float16 cast takes three times as long: 10 ms at a million chunks). Values outside float16's
    normal range (under 2**-14, or from 2**15, where it overflows) take the cast itself, so the
    result is always the cast's."""
    import numpy as np

    scores = np.ascontiguousarray(product, dtype=np.float32)
    bits = scores.view(np.uint32)
    rounded: Matrix = ((bits + ((bits >> 13) & 1) + 0x0FFF) & 0xFFFFE000).view(np.float32)
    exponent = bits & 0x7F800000
    special = (exponent - np.uint32(113 << 23)) >= np.uint32(29 << 23)  # wraps below 2**-14
    if special.any():
        with np.errstate(over="ignore"):
            rounded[special] = scores[special].astype(np.float16).astype(np.float32)
    return rounded


def _best(scores: Matrix, n: int) -> IntArray:
    """Positions of the ``n`` highest finite scores, best first (ties in position order)."""
    import numpy as np

    top = np.argpartition(-scores, n - 1)[:n]
    top = top[np.argsort(-scores[top], kind="stable")]
    kept: IntArray = top[np.isfinite(scores[top])]
    return kept


def embedding_text(title: str, heading: str, body: str) -> str:
    """What an embedder reads for one chunk: where it sits, then its text."""
    head = " > ".join(part for part in (title.strip(), heading.strip()) if part)
    return f"{head}\n{body}" if head else body


EmbedProgress = Callable[[int, int], None]
"""(chunks embedded so far, chunks to embed in all)."""
