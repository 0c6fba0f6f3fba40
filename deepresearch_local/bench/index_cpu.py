"""CPU seconds the library spends indexing folders: a first index and an unchanged re-index, each
into a temporary database. CPU time (``time.process_time``), not wall time, so the figures hold on
a loaded machine. Run: ``python -m deepresearch_local.bench.index_cpu FOLDER [FOLDER ...]``."""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def measure(folder: Path) -> dict[str, object]:
    """Index ``folder`` twice into a fresh temporary library and time both runs."""
    from deepresearch_local.library import Library

    with tempfile.TemporaryDirectory() as tmp, Library(Path(tmp) / "bench.sqlite3") as library:
        started = time.process_time()
        first = library.add(folder)
        indexed = time.process_time() - started
        started = time.process_time()
        again = library.add(folder)
        unchanged = time.process_time() - started
    return {
        "folder": str(folder),
        "indexed": first.indexed,
        "skipped": first.skipped,
        "failed": first.failed,
        "chunks": first.chunks,
        "index_cpu_seconds": round(indexed, 2),
        "reindex_unchanged_cpu_seconds": round(unchanged, 3),
        "reindex_read_again": again.changed,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("folders", nargs="+", type=Path)
    args = parser.parse_args(argv)
    for folder in args.folders:
        figures = measure(folder)
        print(" ".join(f"{key}={value}" for key, value in figures.items()))


if __name__ == "__main__":
    main()
