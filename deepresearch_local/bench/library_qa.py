"""``deepresearch bench library --qa FILE.jsonl``: does search put the right page in the top 5?

Each line of the question file is ``{"question": ..., "gold": [path suffixes], "corpus": ...,
"kind": ...}``; a question is answered when a returned file's path ends with one of its gold
suffixes. The folders (``--docs NAME=DIR``, repeatable) are indexed together into a temporary
library (or the one ``--index-db`` keeps between runs) and every question searches all of them at
once, as users do. Figures per mode (``bm25``, and ``hybrid`` when an embedding model is given):
recall@k, MRR over the top 10, and the same split by corpus and by kind; plus index, embedding
and query times (query times leave out embedding the query, which is timed on its own). Each
mode searches on the index opened afresh, so its times include scoring each common word the first
time a question uses it, as in a new session of the app, and never profit from the mode before.

A gold page the library did not index because it is another file's copy ("duplicate of PATH" in
coverage) or a redirect to another page ("a redirect page (to PAGE)") is found when the file that
stands for it is: search returns one copy of a document, and a question writer who takes gold
from the file list cannot know which one (rustdoc writes ``collections/struct.VecDeque.html`` and
``collections/vec_deque/struct.VecDeque.html``; texi2html writes a stub page per section that
sends the browser to the chapter holding it).
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deepresearch_local.errors import UsageError

MRR_DEPTH = 10


@dataclass(frozen=True)
class Question:
    question: str
    gold: tuple[str, ...]
    corpus: str = ""
    kind: str = ""


def load_questions(path: Path) -> list[Question]:
    """Questions from a JSONL file; a bad line is an error that names it."""
    out: list[Question] = []
    for no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            data = json.loads(line)
            gold = data["gold"]
            gold = (gold,) if isinstance(gold, str) else tuple(str(g) for g in gold)
            question = str(data["question"]).strip()
        except (ValueError, KeyError, TypeError) as exc:
            raise UsageError(
                f"{path}:{no}: each line must be a JSON object with 'question' and 'gold' ({exc})."
            ) from exc
        if not question or not gold:
            raise UsageError(f"{path}:{no}: the question and its gold suffixes must not be empty.")
        out.append(Question(question, gold, str(data.get("corpus", "")), str(data.get("kind", ""))))
    if not out:
        raise UsageError(f"{path} holds no questions.")
    return out


def first_gold_rank(paths: Sequence[str], gold: Sequence[str]) -> int | None:
    """1-based rank of the first path that ends with a gold suffix, or None."""
    for rank, path in enumerate(paths, start=1):
        normalised = path.replace("\\", "/")
        if any(normalised.endswith("/" + g.lstrip("/")) or normalised == g for g in gold):
            return rank
    return None


HOPS = 5
"""Redirects and copies followed from a gold page to the file that stands for it, at most."""


def stand_ins(library: Any) -> dict[str, str]:
    """Path of each file left out as a copy of another or as a redirect -> the indexed file that
    stands for it (copies of copies and redirects to redirects are followed)."""
    from deepresearch_local.library.duplicates import DUPLICATE_PREFIX
    from deepresearch_local.library.html_reader import REDIRECT_PREFIX

    store = library.store
    step: dict[str, str] = {}
    copies = store.query(
        "SELECT f.path, k.path FROM file_signatures s JOIN files f ON f.id = s.file_id "
        "JOIN files k ON k.id = s.duplicate_of WHERE f.status = 'skipped' AND f.reason LIKE ?",
        (DUPLICATE_PREFIX + "%",),
    )
    step.update((str(row[0]), str(row[1])) for row in copies)
    for row in store.query("SELECT path, reason FROM files WHERE reason LIKE ?", (REDIRECT_PREFIX + "%)",)):
        path, target = str(row[0]), str(row[1])[len(REDIRECT_PREFIX) : -1].split("#")[0].split("?")[0]
        if target and "://" not in target and not target.startswith("/"):
            step[path] = os.path.normpath(os.path.join(os.path.dirname(path), target))
    indexed = {str(row[0]) for row in store.query("SELECT path FROM files WHERE status = 'indexed'")}
    out: dict[str, str] = {}
    for path, target in step.items():
        for _ in range(HOPS):
            if target in indexed or target not in step:
                break
            target = step[target]
        if target in indexed:
            out[path] = target
    return out


def with_stand_ins(gold: Sequence[str], stand_in: dict[str, str]) -> tuple[str, ...]:
    """``gold`` and the indexed files standing for the gold pages that are copies or redirects."""
    extra = [
        target
        for path, target in stand_in.items()
        if first_gold_rank([path], gold) is not None and first_gold_rank([target], gold) is None
    ]
    return (*gold, *dict.fromkeys(extra))


def score(ranks: Sequence[int | None], k: int) -> dict[str, float]:
    n = len(ranks) or 1
    return {
        "questions": len(ranks),
        f"recall@{k}": round(sum(1 for r in ranks if r is not None and r <= k) / n, 3),
        "mrr": round(sum(1.0 / r for r in ranks if r is not None and r <= MRR_DEPTH) / n, 3),
    }


def _percentiles(samples: list[float]) -> dict[str, float]:
    if not samples:
        return {"p50_ms": 0.0, "p95_ms": 0.0}
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered), 2),
        "p95_ms": round(ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))], 2),
    }


class _CachedQueries:
    """The embedder with its query vectors computed ahead, so search times leave them out."""

    def __init__(self, embedder: Any, texts: Sequence[str]) -> None:
        self.id: str = embedder.id
        start = time.perf_counter()
        self.vectors = {t: embedder.embed_query(t) for t in dict.fromkeys(texts)}
        self.seconds = time.perf_counter() - start

    def embed_query(self, text: str) -> Any:
        return self.vectors[text]


def evaluate(library: Any, questions: Sequence[Question], mode: str, embedder: Any, k: int) -> dict[str, Any]:
    """Search every question in one mode; figures overall, per corpus and per kind."""
    stand_in = stand_ins(library)
    ranks: list[int | None] = []
    resolved = 0
    times: list[float] = []
    misses: list[dict[str, Any]] = []
    for q in questions:
        start = time.perf_counter()
        hits = library.search(q.question, k=max(k, MRR_DEPTH), mode=mode, embedder=embedder)
        times.append((time.perf_counter() - start) * 1000)
        gold = with_stand_ins(q.gold, stand_in)
        resolved += len(gold) > len(q.gold)
        rank = first_gold_rank([h.path for h in hits], gold)
        ranks.append(rank)
        if rank is None or rank > k:
            misses.append({"question": q.question, "gold": list(gold), "top": [h.path for h in hits[:k]]})
    groups: dict[str, list[int | None]] = defaultdict(list)
    for q, rank in zip(questions, ranks, strict=True):
        if q.corpus:
            groups[f"corpus:{q.corpus}"].append(rank)
        if q.kind:
            groups[f"kind:{q.kind}"].append(rank)
    return {
        "mode": mode,
        **score(ranks, k),
        "groups": {name: score(group, k) for name, group in sorted(groups.items())},
        "query": _percentiles(times),
        "gold_stand_ins": resolved,
        "misses": misses,
    }


def _throughput(library: Any, embedder: Any, sample: int = 32) -> float | None:
    """Chunks/s embedding a sample of the library's chunks (when they were embedded earlier)."""
    from deepresearch_local.library.vectors import embedding_text

    rows = library.store.query(
        "SELECT fts.title, fts.heading, fts.body FROM chunks_fts fts ORDER BY rowid LIMIT ?", (sample,)
    )
    if not rows:
        return None
    start = time.perf_counter()
    embedder.embed_documents([embedding_text(r[0], r[1], r[2]) for r in rows])
    return round(len(rows) / (time.perf_counter() - start), 1)


def run_qa(
    qa: Path,
    docs: Sequence[tuple[str, Path]],
    embedder_spec: str | None,
    k: int = 5,
    index_db: Path | None = None,
    say: Callable[[str], None] = lambda _: None,
    corpus: str | None = None,
) -> dict[str, Any]:
    """Index ``docs`` and search every question of ``qa`` (only those about ``corpus`` when it
    is given) in each mode."""
    from deepresearch_local.library import Library

    questions = [q for q in load_questions(qa) if corpus is None or q.corpus == corpus]
    if not questions:
        raise UsageError(f"{qa} has no questions about the corpus {corpus!r}.")
    with tempfile.TemporaryDirectory(prefix="deepresearch-qa-") as tmp:
        db = index_db or Path(tmp) / "qa.sqlite3"
        with Library(db) as library:
            known = {f.name for f in library.folders()}
            start = time.perf_counter()
            index: dict[str, Any] = {}
            for name, folder in docs:
                say(f"indexing {name} ({folder})")
                report = library.add(folder, name) if name not in known else library.reindex(name)[0]
                index[name] = {"files": report.files, "indexed": report.indexed, "chunks": report.chunks,
                               "seconds": report.seconds}  # fmt: skip
            library.catch_up()  # a kept index an upgrade marked is read again now, not in a timed search
            result: dict[str, Any] = {
                "questions": str(qa),
                **({"corpus": corpus} if corpus else {}),
                "k": k,
                "folders": index,
                "index_seconds": round(time.perf_counter() - start, 2),
                "modes": [],
            }
            modes: list[tuple[str, Any]] = [("bm25", None)]
            if embedder_spec:
                from deepresearch_local.library.embedding.configured import open_embedder

                embedder = open_embedder(embedder_spec)
                say(f"embedding the library's chunks with {embedder.id}")
                start = time.perf_counter()
                made = library.embed_missing(embedder)
                seconds = time.perf_counter() - start
                result["embedding"] = {
                    "model": embedder.id,
                    "chunks_embedded": made,
                    "seconds": round(seconds, 1),
                    "chunks_per_s": (
                        round(made / seconds, 1) if made >= 32 else _throughput(library, embedder)
                    ),
                }
                cached = _CachedQueries(embedder, [q.question for q in questions])
                result["embedding"]["query_embed_ms"] = round(1000 * cached.seconds / len(questions), 1)
                modes.append(("hybrid", cached))
        for mode, emb in modes:
            say(f"searching {len(questions)} questions ({mode})")
            with Library(db) as fresh:  # each mode starts cold: no word scored by the mode before
                if emb is not None:
                    fresh.vectors.matrix(emb.id)  # the vectors are loaded, as a running app has them
                loaded = fresh.ready_for_search()  # the chunk tables too (once a session, timed apart)
                result["modes"].append(
                    {**evaluate(fresh, questions, mode, emb, k), "load_ms": round(1000 * loaded, 1)}
                )
    from deepresearch_local.bench.machine import machine_info

    result["machine"] = machine_info()
    return result


def render(result: dict[str, Any]) -> str:
    """A plain table of the figures."""
    k = result["k"]
    lines = [f"{'mode':<8} {'group':<22} {'n':>4} {'recall@' + str(k):>9} {'MRR':>6} {'p95 ms':>7}"]
    for m in result["modes"]:
        rows = [("all", m), *m["groups"].items()]
        for name, figures in rows:
            p95 = f"{m['query']['p95_ms']:.1f}" if name == "all" else ""
            lines.append(
                f"{m['mode']:<8} {name:<22} {figures['questions']:>4} {figures[f'recall@{k}']:>9.3f} "
                f"{figures['mrr']:>6.3f} {p95:>7}"
            )
    lines.append(f"indexed in {result['index_seconds']:.1f} s: " + ", ".join(
        f"{name} {f['indexed']} files, {f['chunks']} chunks" for name, f in result["folders"].items()
    ))  # fmt: skip
    loads = [f"{m['mode']} {m['load_ms']:.0f} ms" for m in result["modes"] if "load_ms" in m]
    if loads:
        lines.append("loaded for the first search (left out of the query times): " + ", ".join(loads))
    emb = result.get("embedding")
    if emb:
        lines.append(
            f"embedded {emb['chunks_embedded']} chunks with {emb['model']} in {emb['seconds']} s "
            f"({emb['chunks_per_s']} chunks/s); one query embedding {emb['query_embed_ms']} ms"
        )
    return "\n".join(lines)
