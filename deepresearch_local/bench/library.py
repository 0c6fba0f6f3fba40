"""``deepresearch bench library``: how fast the local library indexes and answers, on a real folder
or on a generated corpus (``--synthetic 100000`` makes about 100k chunks).

Everything runs against a temporary database, never the user's library. Queries are drawn from
the corpus itself (a few uncommon words of a random chunk, seeded), so every one has answers.
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from deepresearch_local.cli.output import print_json, table
from deepresearch_local.errors import UsageError
from deepresearch_local.units import human_bytes

PARAGRAPHS_PER_FILE = 100
WORDS = 120
"""Words per paragraph: about 900 characters, one chunk each."""


def _vocabulary(rng: random.Random, size: int) -> list[str]:
    syllables = [c + v for c in "bcdfghjklmnprstvz" for v in ("a", "e", "i", "o", "u", "ai", "ou")]
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))))
    return sorted(words)


def make_corpus(folder: Path, chunks: int, seed: int = 7) -> int:
    """Write text files holding about ``chunks`` chunks (one ~900-character paragraph each, Zipf-
    distributed words). Returns the number of files."""
    rng = random.Random(seed)
    vocab = _vocabulary(rng, 30000)
    weights = [1.0 / (rank + 1) for rank in range(len(vocab))]
    cumulative = list(itertools.accumulate(weights))
    files = max(1, -(-chunks // PARAGRAPHS_PER_FILE))
    remaining = chunks
    for n in range(files):
        count = min(PARAGRAPHS_PER_FILE, remaining)
        remaining -= count
        words = rng.choices(vocab, cum_weights=cumulative, k=count * WORDS)
        paragraphs = []
        for p in range(count):
            part = words[p * WORDS : (p + 1) * WORDS]
            paragraphs.append("\n".join(" ".join(part[i : i + 12]) for i in range(0, WORDS, 12)))
        sub = folder / f"part{n // 100:03d}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"doc{n:05d}.txt").write_text("\n\n".join(paragraphs) + "\n", encoding="utf-8")
    return files


def _queries(library: Any, count: int, rng: random.Random) -> list[str]:
    from deepresearch_local.library.query import STOPWORDS, tokens

    ids = [int(r[0]) for r in library.store.query("SELECT id FROM chunks")]
    if not ids:
        return []
    out = []
    for chunk_id in rng.sample(ids, min(count, len(ids))):
        row = library.store.query("SELECT body FROM chunks_fts WHERE rowid = ?", (chunk_id,))
        words = [w for w in tokens(row[0][0]) if len(w) > 3 and w not in STOPWORDS and not w.isdigit()]
        if words:
            out.append(" ".join(rng.sample(words, min(3, len(words)))))
    return out


def _p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def timings(run: Any, items: list[Any]) -> dict[str, float]:
    """Wall-clock p50/p95/max per item, and the same of the process's CPU time (all its threads:
    steadier than wall time on a machine shared with other work)."""
    samples, cpu = [], []
    for item in items:
        start, start_cpu = time.perf_counter(), time.process_time()
        run(item)
        samples.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    if not samples:
        return {"count": 0, "p50_ms": 0.0, "p95_ms": 0.0, "max_ms": 0.0, "cpu_p50_ms": 0.0, "cpu_p95_ms": 0.0}
    return {
        "count": len(samples),
        "p50_ms": round(statistics.median(samples), 2),
        "p95_ms": round(_p95(samples), 2),
        "max_ms": round(max(samples), 2),
        "cpu_p50_ms": round(statistics.median(cpu), 2),
        "cpu_p95_ms": round(_p95(cpu), 2),
    }


def _plain(folder: Path, database: Path, questions: list[str]) -> dict[str, Any]:
    """The plain FTS5 indexer's figures on the same folder and questions (``plain_fts5``)."""
    import sqlite3
    from contextlib import closing

    from deepresearch_local.bench import plain_fts5

    built = plain_fts5.index(folder, database)
    with closing(sqlite3.connect(database)) as db:
        query = timings(lambda q: plain_fts5.search(db, q), questions)
    return {"index_seconds": built.seconds, "files": built.files, "chunks": built.chunks, "query": query}


def _dense_pass(library: Any, embedder: _RandomVectors, rounds: int = 20) -> dict[str, Any]:
    """The floor of exact dense search on this machine: one query's product with every stored
    vector through the kernel searches use (SimSIMD over float16, or numpy over float32), timed
    alone."""
    import numpy as np

    from deepresearch_local.library import vectors

    matrix = library.vectors.matrix(embedder.id)
    column = np.asarray(embedder.vectors(1)[0], dtype=np.float32).reshape(-1, 1)
    vectors._product(matrix, column)  # warm
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        vectors._product(matrix, column)
        samples.append((time.perf_counter() - start) * 1000)
    return {
        "p50_ms": round(statistics.median(samples), 3),
        "mib": round(matrix.nbytes / 2**20, 1),
        "dtype": str(matrix.dtype),
    }


def _load() -> float | None:
    """The machine's 1-minute load average (None where the OS has none): the query times of a
    loaded machine are not those of a quiet one."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


class _RandomVectors:
    """An embedder stand-in for timing hybrid search: seeded random unit vectors (what the vectors
    say does not matter for the time a search takes; the query's own embedding is left out)."""

    def __init__(self, dim: int, seed: int) -> None:
        import numpy as np

        self.dim, self.rng = dim, np.random.default_rng(seed)
        self.queue: list[Any] = []

    @property
    def id(self) -> str:
        return f"bench-random-{self.dim}"

    def vectors(self, count: int) -> Any:
        return self.rng.standard_normal((count, self.dim), dtype="float32")

    def embed_query(self, text: str) -> Any:
        return self.queue.pop() if self.queue else self.vectors(1)[0]


def _add_vectors(library: Any, embedder: _RandomVectors, batch: int = 5000) -> float:
    """Give every chunk a vector; returns the seconds it took."""
    start = time.perf_counter()
    ids = [int(r[0]) for r in library.store.query("SELECT id FROM chunks ORDER BY id")]
    for at in range(0, len(ids), batch):
        part = ids[at : at + batch]
        library.vectors.add(embedder.id, part, embedder.vectors(len(part)))
    return round(time.perf_counter() - start, 2)


def bench(
    folder: Path | None, synthetic: int | None, queries: int = 200, seed: int = 7, dense: int = 0
) -> dict[str, Any]:
    from deepresearch_local.library import Library

    with tempfile.TemporaryDirectory(prefix="deepresearch-bench-") as tmp:
        generate_s = 0.0
        if synthetic:
            folder = Path(tmp) / "corpus"
            start = time.perf_counter()
            make_corpus(folder, synthetic, seed)
            generate_s = time.perf_counter() - start
        assert folder is not None
        with Library(Path(tmp) / "bench.sqlite3") as library:
            load_before = _load()
            first = library.add(folder, "bench")
            again = library.reindex("bench")[0]
            rng = random.Random(seed)
            single = _queries(library, queries, rng)
            loaded = library.ready_for_search()  # once a session: timed apart from the queries
            groups = [single[i : i + 3] for i in range(0, len(single) - 2, 3)]
            db_bytes = sum(p.stat().st_size for p in Path(tmp).glob("bench.sqlite3*"))
            result = {
                "corpus": f"synthetic ({synthetic} chunks requested)" if synthetic else str(folder),
                "files": first.files,
                "indexed": first.indexed,
                "skipped": first.skipped,
                "failed": first.failed,
                "chunks": first.chunks,
                "index_seconds": first.seconds,
                "prepare_seconds": first.prepare_seconds,
                "index_workers": first.workers,
                "reindex_unchanged_seconds": again.seconds,
                "reindex_read_again": again.changed,
                "load_seconds": round(loaded, 3),
                "query": timings(lambda q: library.search(q, k=10), single),
                "fused_query": timings(lambda g: library.search(g, k=10), groups),
                "db_bytes": db_bytes,
                "measured_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                "load_average": {"before": load_before, "after": _load()},
                "plain_fts5": _plain(folder, Path(tmp) / "plain.sqlite3", single),
            }
            if dense > 0:
                embedder = _RandomVectors(dense, seed)
                result["dense_dimensions"] = dense
                result["dense_store_seconds"] = _add_vectors(library, embedder)
                result["dense_vectors"] = library.vectors.count(embedder.id)

                def hybrid(query: Any) -> None:
                    embedder.queue = list(embedder.vectors(len(query) if isinstance(query, list) else 1))
                    library.search(query, k=10, mode="hybrid", embedder=embedder)

                library.search(single[:1], k=10, mode="hybrid", embedder=embedder)  # loads the matrix
                result["hybrid_query"] = timings(hybrid, single)
                result["hybrid_fused_query"] = timings(hybrid, groups)
                result["dense_pass"] = _dense_pass(library, embedder)
            if synthetic:
                result["generate_seconds"] = round(generate_s, 2)
    from deepresearch_local.bench.machine import machine_info

    result["machine"] = machine_info()
    return result


def _docs(values: list[str]) -> list[tuple[str, Path]]:
    out = []
    for value in values:
        name, sep, folder = value.partition("=")
        if not sep or not name.strip() or not folder.strip():
            raise UsageError(f"--docs takes NAME=DIR (got {value!r}).")
        path = Path(folder).expanduser()
        if not path.is_dir():
            raise UsageError(f"{path} is not a folder.")
        out.append((name.strip(), path))
    return out


def from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The figures for parsed ``bench library`` arguments (also used by ``bench all``)."""
    if getattr(args, "qa", None):
        from deepresearch_local.bench.library_qa import run_qa

        qa = Path(args.qa).expanduser()
        if not qa.is_file():
            raise UsageError(f"{qa} is not a file of questions.")
        docs = _docs(args.docs)
        if not docs:
            raise UsageError("Name the folders the questions ask about: --docs NAME=DIR (repeatable).")
        index_db = Path(args.index_db).expanduser() if args.index_db else None
        say = lambda text: print(text, file=sys.stderr)  # noqa: E731
        corpus = getattr(args, "corpus", None)
        return run_qa(qa, docs, args.embedder, args.k, index_db, say=say, corpus=corpus)
    if not args.folder and not args.synthetic:
        raise UsageError("Give a folder to index (bench library DIR) or --synthetic CHUNKS.")
    folder = Path(args.folder).expanduser() if args.folder else None
    if folder is not None and not folder.is_dir():
        raise UsageError(f"{folder} is not a folder.")
    return bench(folder, args.synthetic, args.queries, dense=getattr(args, "dense", 0) or 0)


def _plain_row(plain: dict[str, Any]) -> str:
    q = plain["query"]
    return (
        f"index {plain['index_seconds']:.2f} s ({plain['chunks']} chunks of 1,000 characters, one process); "
        f"query p50 {q['p50_ms']:.1f} ms, p95 {q['p95_ms']:.1f} ms"
    )


def _pass_row(dense: dict[str, Any]) -> str:
    kind = dense.get("dtype", "float32")
    mib = dense["mib"]
    return f"{dense['p50_ms']:.1f} ms (a bare {kind} product over {mib:.0f} MiB: exact search's floor)"


def run(args: argparse.Namespace) -> int:
    result = from_args(args)
    if args.json:
        print_json(result)
        return 0
    if "modes" in result:
        from deepresearch_local.bench.library_qa import render

        print(render(result))
        return 0
    q, f = result["query"], result["fused_query"]
    hybrid_rows = (("1 query", result.get("hybrid_query")), ("3 fused", result.get("hybrid_fused_query")))
    rows = [
        ("corpus", result["corpus"]),
        ("files", f"{result['files']} ({result['indexed']} indexed, {result['skipped']} skipped, "
                  f"{result['failed']} failed)"),
        ("chunks", str(result["chunks"])),
        ("index", f"{result['index_seconds']:.2f} s ({result.get('index_workers', 0)} reading workers; "
                  f"{result.get('prepare_seconds', 0.0):.2f} s of it reading the common words' postings)"),
        *((("plain FTS5, same folder", _plain_row(result["plain_fts5"])),) if "plain_fts5" in result else ()),
        ("re-index, nothing changed", f"{result['reindex_unchanged_seconds']:.2f} s"),
        ("first-search load", f"{result.get('load_seconds', 0.0) * 1000:.0f} ms (not in the queries)"),
        ("query (1 query)", f"p50 {q['p50_ms']:.1f} ms, p95 {q['p95_ms']:.1f} ms ({q['count']} queries)"),
        ("query (3 fused)", f"p50 {f['p50_ms']:.1f} ms, p95 {f['p95_ms']:.1f} ms ({f['count']} searches)"),
        *(
            (f"hybrid, {result['dense_dimensions']}-dim vectors ({label})",
             f"p50 {t['p50_ms']:.1f} ms, p95 {t['p95_ms']:.1f} ms ({t['count']} searches)")
            for label, t in hybrid_rows
            if t is not None
        ),
        *((("one pass, all vectors", _pass_row(result["dense_pass"])),) if "dense_pass" in result else ()),
        ("database", human_bytes(result["db_bytes"])),
        ("measured", f"{result['measured_at']}, load average {result['load_average']['before']} before, "
                     f"{result['load_average']['after']} after"),
    ]  # fmt: skip
    print(table(rows, header=("library benchmark", "")))
    return 0
