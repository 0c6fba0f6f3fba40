"""Which file (and folder) each chunk belongs to, as arrays kept until the index changes.

Search asks this for every candidate chunk of every query (500 and more); one lookup in memory
costs far less than a join over the chunk ids each time. The arrays are rebuilt on the first
search after chunks enter or leave the index (``Store.index_generation``).
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from deepresearch_local.library.store import Store

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class _Table:
    """Sorted keys and their values (memory follows the number of rows, not the largest id)."""

    keys: IntArray
    values: IntArray

    def get(self, wanted: IntArray) -> IntArray:
        """The value of each wanted key, -1 where there is none."""
        import numpy as np

        if not len(self.keys):
            return np.full(len(wanted), -1, dtype=np.int64)
        at = np.minimum(np.searchsorted(self.keys, wanted), len(self.keys) - 1)
        return np.where(self.keys[at] == wanted, self.values[at], -1)


@dataclass(frozen=True)
class _Arrays:
    at: tuple[int, bytes]
    file_of_chunk: _Table
    folder_of_file: _Table
    chunks_of_file: _Table


class Owners:
    """Chunk id -> (file id, folder id) for one library database."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._arrays: _Arrays | None = None
        self._lock = threading.Lock()

    def _current(self) -> _Arrays:
        now = self.store.index_generation()
        with self._lock:
            if self._arrays is not None and self._arrays.at == now:
                return self._arrays
            with self.store.lock:
                cursor = self.store.db.cursor()
                cursor.row_factory = None
                chunks = cursor.execute("SELECT id, file_id FROM chunks").fetchall()
                files = cursor.execute("SELECT id, folder_id FROM files").fetchall()
            file_of_chunk, folder_of_file = _lookup(chunks), _lookup(files)
            self._arrays = _Arrays(now, file_of_chunk, folder_of_file, _counted(file_of_chunk.values))
            return self._arrays

    def of(self, chunk_ids: Sequence[int]) -> tuple[list[int], list[int]]:
        """(file id, folder id) of each chunk, -1 for both where the chunk is gone."""
        import numpy as np

        arrays = self._current()
        files = arrays.file_of_chunk.get(np.asarray(chunk_ids, dtype=np.int64))
        folders = arrays.folder_of_file.get(files)
        return files.tolist(), folders.tolist()

    def sizes(self, file_ids: Sequence[int]) -> list[int]:
        """How many chunks each file has in the index (0 for a file with none)."""
        import numpy as np

        counts = self._current().chunks_of_file.get(np.asarray(file_ids, dtype=np.int64))
        return np.maximum(counts, 0).tolist()  # type: ignore[no-any-return]


def _counted(values: IntArray) -> _Table:
    """How many times each value occurs (a file's chunks, from each chunk's file)."""
    import numpy as np

    keys, counts = np.unique(values, return_counts=True)  # once per change of the index
    return _Table(keys.astype(np.int64), counts.astype(np.int64))


def _lookup(pairs: Sequence[tuple[int, int]]) -> _Table:
    """A table of (key, value) pairs."""
    import numpy as np

    flat = np.fromiter(itertools.chain.from_iterable(pairs), dtype=np.int64, count=2 * len(pairs))
    keys, values = flat[0::2], flat[1::2]
    order = np.argsort(keys, kind="stable")
    return _Table(keys[order], values[order])


def owners(store: Store) -> Owners:
    """The ``Owners`` of a store (one per store, kept as long as the store)."""
    return store.companion(Owners)
