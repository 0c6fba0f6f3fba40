"""``deepresearch docs``: add folders to the local library, see what got indexed and why, search it."""

from __future__ import annotations

import argparse
import sys
import time
from typing import TYPE_CHECKING, Any

from deepresearch_local.cli import docs_rules

if TYPE_CHECKING:
    from deepresearch_local.library import IndexReport, Library, Progress
    from deepresearch_local.library.search import DocumentEmbedder


def add_parser(sub: Any) -> None:
    """Register the ``docs`` command group."""
    p: argparse.ArgumentParser = sub.add_parser(
        "docs",
        help="manage the local document library",
        description="Your own folders of documents, indexed on this machine for the research agent.",
    )

    def docs_help(args: argparse.Namespace) -> int:
        p.print_help()
        return 2

    p.set_defaults(handler=docs_help)
    actions = p.add_subparsers(title="actions", metavar="ACTION")

    a = actions.add_parser("add", help="add a folder and index it (a progress line per file on stderr)")
    a.add_argument("folder", help="the folder to add (sub-folders included)")
    a.add_argument("--name", help="a short name for it (default: the folder's name)")
    docs_rules.add_pattern_options(a)
    a.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    a.add_argument("--json", action="store_true", help="print the report as JSON")
    a.set_defaults(handler=run_add)

    a = actions.add_parser("list", help="the library's folders with their counts")
    a.add_argument("--json", action="store_true", help="print JSON")
    a.set_defaults(handler=run_list)

    a = actions.add_parser("coverage", help="every file: indexed, skipped or failed, and why")
    a.add_argument("name", nargs="?", help="one folder (default: all)")
    a.add_argument("--failed", action="store_true", help="only files that failed")
    a.add_argument("--skipped", action="store_true", help="only files that were skipped")
    a.add_argument("--json", action="store_true", help="print JSON")
    a.set_defaults(handler=run_coverage)

    a = actions.add_parser("search", help="the best files for a question (several queries are merged)")
    a.add_argument(
        "query", nargs="+", help="what to look for, in your own words; quote each query, several are merged"
    )
    a.add_argument("-k", type=int, default=10, help="files to show (default 10)")
    a.add_argument("--folder", help="search one folder only")
    a.add_argument(
        "--mode",
        choices=("hybrid", "bm25"),
        default="hybrid",
        help="hybrid: keywords and meaning (needs an embedding model, else keywords alone); bm25: keywords",
    )
    a.add_argument("--json", action="store_true", help="print JSON")
    a.set_defaults(handler=run_search)

    a = actions.add_parser("reindex", help="update the index: only new or changed files are read")
    a.add_argument("name", nargs="?", help="one folder (default: all)")
    a.add_argument("--full", action="store_true", help="read every file again")
    a.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    a.add_argument("--json", action="store_true", help="print JSON")
    a.set_defaults(handler=run_reindex)

    a = actions.add_parser(
        "embed", help="embed new or changed passages for search by meaning (Ctrl+C keeps what is done)"
    )
    a.add_argument("--model", help="embedding model (default: the embedding_model setting)")
    a.add_argument("-q", "--quiet", action="store_true", help="no progress line")
    a.set_defaults(handler=run_embed)

    docs_rules.add_parser(actions)

    a = actions.add_parser("remove", help="forget a folder (its files are not touched)")
    a.add_argument("name", help="the folder's name (see docs list)")
    a.add_argument("--json", action="store_true", help="print JSON")
    a.set_defaults(handler=run_remove)


def _progress(quiet: bool) -> Any:
    if quiet:
        return None

    def show(event: Progress) -> None:
        line = f"[{event.done}/{event.total}] {event.status:<9} {event.rel}"
        if event.status == "indexed":
            line += f" ({event.chunks} chunks)"
        if event.reason:
            line += f": {event.reason}"
        print(line, file=sys.stderr, flush=True)

    return show


def _report_line(report: IndexReport) -> str:
    return (
        f"{report.folder}: {report.summary()} ({report.files} files, {report.chunks} chunks, "
        f"{report.seconds:.1f} s; {report.changed} new or changed, {report.unchanged} unchanged, "
        f"{report.removed} removed)"
    )


def _print_reports(reports: list[IndexReport], as_json: bool) -> None:
    from deepresearch_local.cli.output import print_json

    if as_json:
        print_json([r.as_dict() for r in reports])
        return
    for report in reports:
        print(_report_line(report))
        for note in report.notes:
            print(f"  {note}")
        if report.failed:
            print(f"  See why: deepresearch docs coverage {report.folder} --failed")


def run_add(args: argparse.Namespace) -> int:
    from deepresearch_local.library import Library

    with Library() as library:
        with docs_rules.rules_for_add(library, args.folder, args.include, args.exclude):
            report = library.add(args.folder, args.name, on_progress=_progress(args.quiet))
        _embed_configured(library, args.quiet or args.json)
    if args.json:
        from deepresearch_local.cli.output import print_json

        print_json(report.as_dict())
    else:
        _print_reports([report], False)
    return 0


def run_embed(args: argparse.Namespace) -> int:
    from deepresearch_local.errors import UsageError
    from deepresearch_local.library import Library
    from deepresearch_local.library.embedding.configured import configured_embedder, open_embedder

    embedder = open_embedder(args.model) if args.model else configured_embedder()
    if embedder is None:
        raise UsageError(
            "No embedding model yet. Pull one: `deepresearch models pull bge-small-en-v1.5-q8_0` "
            "(English) or `bge-m3-q8_0` (many languages; `deepresearch models list` shows them), "
            "or give a GGUF embedding model with --model PATH."
        )
    with Library() as library:
        _catch_up(library, args.quiet)
        before = library.vectors.count(embedder.id)
        _embed_missing(library, embedder, args.quiet)
        after = library.vectors.count(embedder.id)
    print(f"{after} passages can be found by meaning with {embedder.id} ({after - before} new).")
    return 0


def run_reindex(args: argparse.Namespace) -> int:
    from deepresearch_local.library import Library

    with Library() as library:
        reports = library.reindex(args.name, on_progress=_progress(args.quiet), full=args.full)
        _embed_configured(library, args.quiet or args.json)
    if not reports and not args.json:
        print("The library is empty. Add a folder with: deepresearch docs add FOLDER")
        return 0
    _print_reports(reports, args.json)
    return 0


def _when(stamp: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(stamp)) if stamp else "never"


def run_list(args: argparse.Namespace) -> int:
    from deepresearch_local.cli.output import print_json, table
    from deepresearch_local.library import Library

    with Library() as library:
        folders = library.folders()
    if args.json:
        print_json([f.as_dict() for f in folders])
        return 0
    if not folders:
        print("The library is empty. Add a folder with: deepresearch docs add FOLDER")
        return 0
    rows = [
        (f.name, str(f.indexed), str(f.skipped), str(f.failed), str(f.chunks), _when(f.indexed_at), f.root)
        for f in folders
    ]
    print(table(rows, header=("name", "indexed", "skipped", "failed", "chunks", "last indexed", "folder")))
    return 0


def run_coverage(args: argparse.Namespace) -> int:
    from deepresearch_local.cli.output import print_json, table
    from deepresearch_local.library import Library
    from deepresearch_local.library.coverage import breakdown, breakdown_line

    with Library() as library:
        records = library.coverage(args.name)
    totals = {s: sum(r.status == s for r in records) for s in ("indexed", "skipped", "failed")}
    wanted = {s for s, on in (("failed", args.failed), ("skipped", args.skipped)) if on}
    shown = [r for r in records if not wanted or r.status in wanted]
    if args.json:
        by_reason = dict(breakdown(records))
        listed = [r.as_dict() for r in shown]
        print_json({"files": len(records), **totals, "skipped_by_reason": by_reason, "records": listed})
        return 0
    several = len({r.folder for r in records}) > 1
    rows = [
        (r.status, f"{r.folder}/{r.rel}" if several else r.rel, r.reason or f"{r.chunks} chunks")
        for r in shown
    ]
    if rows:
        print(table(rows, header=("status", "file", "reason")))
        print()
    skipped = breakdown_line(records)
    if skipped:
        print(skipped)
    print(
        f"{totals['indexed']} of {len(records)} files indexed, "
        f"{totals['skipped']} skipped, {totals['failed']} failed"
    )
    return 0


def run_search(args: argparse.Namespace) -> int:
    from deepresearch_local.cli.output import print_json
    from deepresearch_local.library import Library
    from deepresearch_local.library.embedding.configured import configured_embedder

    with Library() as library:
        _catch_up(library, args.json)
        embedder = configured_embedder() if args.mode == "hybrid" else None
        if embedder is not None:
            _embed_missing(library, embedder, args.json)
        k = max(args.k, 1)
        hits = library.search(args.query, k=k, folder=args.folder, mode=args.mode, embedder=embedder)
        empty = not library.folders()
    if args.json:
        print_json([h.as_dict() for h in hits])
        return 0
    if empty:
        print("The library is empty. Add a folder with: deepresearch docs add FOLDER")
        return 0
    if not hits:
        print("No results. Try other words for the same idea, or several queries at once.")
        return 0
    for i, hit in enumerate(hits, start=1):
        print(f"{i}. {hit.path}:{hit.location}  (score {hit.score:.3f})")
        print(f"   {hit.title}")
        print(f"   {hit.snippet}")
        if hit.also_at:
            print(f"   also at: {'; '.join(str(loc) for loc in hit.also_at)}")
        if hit.also_in:
            print(f"   same passage in: {'; '.join(hit.also_in)}")
        print()
    return 0


def _catch_up(library: Library, quiet: bool) -> None:
    """Read again, once, folders a library upgrade marked, saying so on stderr."""
    pending = library.upgrade_pending()
    if not pending:
        return
    if not quiet:
        print(f"Updating the index of {', '.join(pending)} for this version (once)...", file=sys.stderr)
    library.catch_up(_progress(quiet))


def _embed_configured(library: Library, quiet: bool) -> None:
    """After indexing: embed the new passages when an embedding model is set (else nothing)."""
    from deepresearch_local.library.embedding.configured import configured_embedder

    embedder = configured_embedder()
    if embedder is not None:
        _embed_missing(library, embedder, quiet)


def _embed_missing(library: Library, embedder: DocumentEmbedder, quiet: bool) -> None:
    """Embed chunks that have no vector yet, with a progress line on stderr."""
    if library.vectors.count_missing(embedder.id) == 0:
        return

    def progress(done: int, total: int) -> None:
        if not quiet:
            print(f"\rEmbedding the library for search by meaning: {done}/{total} chunks", end="",
                  file=sys.stderr, flush=True)  # fmt: skip

    library.embed_missing(embedder, progress)
    if not quiet:
        print(file=sys.stderr)


def run_remove(args: argparse.Namespace) -> int:
    from deepresearch_local.cli.output import print_json
    from deepresearch_local.library import Library

    with Library() as library:
        info = library.remove(args.name, on_progress=_progress(args.json))
    if args.json:
        print_json({"removed": info.as_dict()})
        return 0
    files = info.indexed + info.skipped + info.failed
    print(
        f"Removed {info.name!r} ({info.root}) from the library: {files} files and {info.chunks} chunks "
        "forgotten. The files themselves were not touched."
    )
    return 0
