"""Where the library's vectors should live at a million chunks: what each way costs per query,
to load, and in memory.

Compared, on the same seeded random unit vectors (what they say does not matter for the time):

- ``matrix``: what the library does (``VectorIndex``): float16 blobs in SQLite, loaded once
  into one matrix (float16 multiplied by SimSIMD, or float32 by numpy where SimSIMD is missing),
  a query is one matrix-vector product;
- ``mmap``: the vectors as float16 in a file beside the database, memory-mapped: nothing is
  loaded up front and the pages are the OS's to keep or drop; multiplied a block at a time by
  the library's kernel (without SimSIMD, each block converted to float32 first, which made a
  query ten times slower than the matrix);
- ``sqlite-vec``: the ``vec0`` virtual table (float32, brute force in C), when the
  ``sqlite-vec`` package is installed and this Python's ``sqlite3`` can load extensions.

Run: ``python -m deepresearch_local.bench.vector_store --rows 1000000`` (about 2 GB of disk in a
temporary folder; prints a table, or JSON with ``--json``).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from deepresearch_local.bench.library import timings

BLOCK = 65536
"""Rows written at a time."""


def memory() -> dict[str, int]:
    """This process's resident memory in bytes: anonymous (its own) and file-backed (mapped
    files the OS may drop). Empty where ``/proc`` is missing."""
    out: dict[str, int] = {}
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("RssAnon", "RssFile"):
                out[key] = int(value.split()[0]) * 1024
    except OSError:
        pass
    return out


def _unit(rng: Any, rows: int, dim: int) -> Any:
    import numpy as np

    data = rng.standard_normal((rows, dim), dtype=np.float32)
    data /= np.linalg.norm(data, axis=1, keepdims=True)
    return data


def _store(path: Path, rows: int, dim: int, seed: int, model: str) -> tuple[Any, float]:
    """A library database holding ``rows`` chunks of one file, each with a vector; the store and
    the seconds the vectors took to write."""
    import numpy as np

    from deepresearch_local.library.store import Store

    store = Store(path)
    with store.transaction() as db:
        db.execute("INSERT INTO folders (id, name, root, added_at) VALUES (1, 'bench', '/bench', 0)")
        db.execute(
            "INSERT INTO files (id, folder_id, rel, path, kind, status, reason) "
            "VALUES (1, 1, 'a.txt', '/bench/a.txt', 'text', 'indexed', '')"
        )
        db.executemany(
            "INSERT INTO chunks (id, file_id, ordinal, line_start, line_end, heading) "
            "VALUES (?, 1, ?, 1, 1, '')",
            ((i, i) for i in range(1, rows + 1)),
        )
    rng = np.random.default_rng(seed)
    started = time.perf_counter()
    for at in range(0, rows, BLOCK):
        count = min(BLOCK, rows - at)
        blobs = _unit(rng, count, dim).astype(np.float16)
        with store.transaction() as db:
            db.executemany(
                "INSERT INTO chunk_vectors (chunk_id, model, vec) VALUES (?, ?, ?)",
                ((at + i + 1, model, blobs[i].tobytes()) for i in range(count)),
            )
    return store, time.perf_counter() - started


def _matrix(store: Any, model: str, queries: Any, n: int) -> dict[str, Any]:
    from deepresearch_local.library.vectors import VectorIndex

    index = VectorIndex(store)
    before = memory()
    started = time.perf_counter()
    first = index.nearest(model, queries[0], n)
    load_s = time.perf_counter() - started
    after = memory()
    figures: dict[str, Any] = {"load_seconds": round(load_s, 2), "top": [chunk_id for chunk_id, _ in first]}
    if before and after:
        figures["anonymous_memory_bytes"] = after["RssAnon"] - before["RssAnon"]
    figures.update(timings(lambda q: index.nearest(model, q, n), queries[1:]))
    return figures


def _mmap(store: Any, model: str, folder: Path, queries: Any, n: int) -> dict[str, Any]:
    import numpy as np

    path = folder / "vectors.f16"
    started = time.perf_counter()
    with path.open("wb") as out:  # what a memory-mapped store would keep beside the database
        for (blob,) in store.db.execute(
            "SELECT vec FROM chunk_vectors WHERE model = ? ORDER BY chunk_id", (model,)
        ):
            out.write(blob)
    export_s = time.perf_counter() - started
    dim = len(queries[0])
    before = memory()
    mapped = np.memmap(path, dtype=np.float16, mode="r").reshape(-1, dim)

    from deepresearch_local.library.vectors import _product, _unit, searched_dtype

    def nearest(q: Any) -> Any:
        column = _unit(q, dim, model).reshape(-1, 1)
        scores = np.empty(mapped.shape[0], dtype=np.float32)
        for at in range(0, mapped.shape[0], BLOCK):
            block = mapped[at : at + BLOCK].astype(searched_dtype(), copy=False)
            scores[at : at + BLOCK] = _product(block, column)[:, 0]
        top = np.argpartition(-scores, n - 1)[:n]
        return top[np.argsort(-scores[top], kind="stable")]

    first = nearest(queries[0])
    after = memory()
    figures: dict[str, Any] = {
        "export_seconds": round(export_s, 2),
        "load_seconds": 0.0,
        "top": [int(i) + 1 for i in first],  # rows hold chunks 1, 2, ... in order
    }
    if before and after:
        figures["anonymous_memory_bytes"] = after["RssAnon"] - before["RssAnon"]
        figures["file_memory_bytes"] = after["RssFile"] - before["RssFile"]
    figures.update(timings(nearest, queries[1:]))
    return figures


def _sqlite_vec(store: Any, model: str, folder: Path, queries: Any, n: int) -> dict[str, Any]:
    import sqlite3

    try:
        import sqlite_vec  # type: ignore[import-not-found,import-untyped,unused-ignore]
    except ImportError:
        return {"unavailable": "the sqlite-vec package is not installed (pip install sqlite-vec)"}
    db = sqlite3.connect(folder / "vec.sqlite3")
    if not hasattr(db, "enable_load_extension"):
        return {"unavailable": "this Python's sqlite3 cannot load extensions (built without them)"}
    db.enable_load_extension(True)
    sqlite_vec.load(db)
    dim = len(queries[0])
    import numpy as np

    started = time.perf_counter()
    db.execute(f"CREATE VIRTUAL TABLE v USING vec0(embedding float[{dim}])")
    rows = store.db.execute(
        "SELECT chunk_id, vec FROM chunk_vectors WHERE model = ? ORDER BY chunk_id", (model,)
    )
    db.executemany(
        "INSERT INTO v (rowid, embedding) VALUES (?, ?)",
        ((r[0], np.frombuffer(r[1], dtype=np.float16).astype(np.float32).tobytes()) for r in rows),
    )
    db.commit()
    figures: dict[str, Any] = {"import_seconds": round(time.perf_counter() - started, 2)}
    sql = "SELECT rowid, distance FROM v WHERE embedding MATCH ? AND k = ?"

    def nearest(q: Any) -> list[Any]:
        return db.execute(sql, (q.astype(np.float32).tobytes(), n)).fetchall()

    figures["top"] = [int(r[0]) for r in nearest(queries[0])]
    figures.update(timings(nearest, queries))
    return figures


def bench(rows: int, dim: int = 384, queries: int = 30, n: int = 500, seed: int = 11) -> dict[str, Any]:
    import numpy as np

    model = f"bench-random-{dim}"
    with tempfile.TemporaryDirectory(prefix="deepresearch-vectors-") as tmp:
        folder = Path(tmp)
        store, write_s = _store(folder / "bench.sqlite3", rows, dim, seed, model)
        asked = _unit(np.random.default_rng(seed + 1), queries + 1, dim)
        result: dict[str, Any] = {
            "rows": rows,
            "dimensions": dim,
            "candidates": n,
            "vectors_write_seconds": round(write_s, 2),
            "ways": {
                "matrix": _matrix(store, model, asked, n),
                "mmap": _mmap(store, model, folder, asked, n),
                "sqlite-vec": _sqlite_vec(store, model, folder, asked, n),
            },
        }
        store.close()
    reference = result["ways"]["matrix"].pop("top")
    for figures in result["ways"].values():  # the same neighbours, whatever the store
        if "top" in figures:
            found = figures.pop("top")
            figures["same_top_50"] = len(set(found[:50]) & set(reference[:50])) / 50
    result["ways"]["matrix"]["same_top_50"] = 1.0
    from deepresearch_local.bench.machine import machine_info

    result["machine"] = machine_info()
    return result


def render(result: dict[str, Any]) -> str:
    mib = 1 << 20
    lines = [f"{result['rows']:,} vectors of {result['dimensions']} dimensions, top {result['candidates']}:"]
    for name, figures in result["ways"].items():
        if "unavailable" in figures:
            lines.append(f"  {name:<11} unavailable: {figures['unavailable']}")
            continue
        memory_text = ""
        if "anonymous_memory_bytes" in figures:
            memory_text = f", own memory +{figures['anonymous_memory_bytes'] / mib:,.0f} MiB"
        if "file_memory_bytes" in figures:
            memory_text += f", mapped file +{figures['file_memory_bytes'] / mib:,.0f} MiB"
        lines.append(
            f"  {name:<11} query p50 {figures['p50_ms']:.1f} ms, p95 {figures['p95_ms']:.1f} ms, "
            f"load {figures.get('load_seconds', figures.get('import_seconds', 0.0)):.1f} s{memory_text}, "
            f"top 50 as the matrix's: {figures['same_top_50']:.0%}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--queries", type=int, default=30)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = bench(args.rows, args.dim, args.queries)
    print(json.dumps(result, indent=2) if args.json else render(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
