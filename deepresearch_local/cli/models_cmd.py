"""``deepresearch models``: list, download, import, scan, verify, remove and choose model weights.

Only argparse at import time; each action imports what it needs when it runs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def add_parser(sub: Any) -> None:
    """Register the ``models`` command group."""
    p: argparse.ArgumentParser = sub.add_parser(
        "models", help="list, download, import and verify model weights"
    )

    def group_help(args: argparse.Namespace) -> int:
        p.print_help()
        return 2

    p.set_defaults(handler=group_help)
    actions = p.add_subparsers(title="actions", metavar="ACTION")

    a = actions.add_parser(
        "list", help="every build: size, fit on this machine, the recommended one; your weights"
    )
    a.set_defaults(handler=run_list)

    a = actions.add_parser("pull", help="download a build or an embedding model (resumable, verified)")
    a.add_argument(
        "model",
        metavar="VARIANT|REPO_ID:FILE",
        help="a catalog variant (agent or embedding model, see `models list`), REPO_ID:FILE.gguf or REPO_ID",
    )
    a.add_argument("--source", choices=["hf", "modelscope"], help="use only this hub (default: fall back)")
    a.add_argument("--dir", type=Path, help="models folder to download into (default: the app's)")
    a.set_defaults(handler=run_pull)

    a = actions.add_parser("import", help="register a GGUF file or MLX folder where it is (no copy)")
    a.add_argument("path", type=Path)
    a.add_argument("--name", help="the id to register it under (default: from the file name)")
    a.set_defaults(handler=run_import)

    a = actions.add_parser("scan", help="find weights already on disk (HF cache, LM Studio, folders)")
    a.add_argument("dirs", nargs="*", type=Path, metavar="DIR", help="more folders to search")
    a.add_argument("--import", dest="do_import", action="store_true", help="register what is found")
    a.set_defaults(handler=run_scan)

    a = actions.add_parser("verify", help="re-check the sha256 of registered weights")
    a.add_argument("model", nargs="?", metavar="VARIANT", help="one model (default: all)")
    a.set_defaults(handler=run_verify)

    a = actions.add_parser("rm", help="unregister a model; delete it if this app downloaded it")
    a.add_argument("model", metavar="VARIANT")
    a.set_defaults(handler=run_rm)

    a = actions.add_parser("use", help="make a registered model the default")
    a.add_argument("model", metavar="VARIANT")
    a.set_defaults(handler=run_use)

    for action in actions.choices.values():
        action.add_argument("--json", action="store_true", help="print JSON")


def run_list(args: argparse.Namespace) -> int:
    from deepresearch_local.cli.output import print_json, table
    from deepresearch_local.hardware.probe import probe
    from deepresearch_local.paths import get_paths
    from deepresearch_local.units import human_bytes
    from deepresearch_local.weights.listing import LIST_CONTEXT, model_rows
    from deepresearch_local.weights.recommend import recommend

    hw = probe(get_paths().models_dir, cached_backends=True)
    rec = recommend(hw)
    rows = model_rows(hw, rec=rec)
    if args.json:
        print_json(
            {
                "context_tokens": LIST_CONTEXT,
                "recommended": rec.variant,
                "models": [r.to_dict() for r in rows],
                "embedding_models": _embedding_rows(),
            }
        )
        return 0
    cells = []
    for r in rows:
        size = ("~" if r.size_is_approx else "") + human_bytes(r.size_bytes)
        status = r.status + (", default" if r.default else "")
        ctx = f"{r.max_context // 1024}K" if r.max_context else "-"
        cells.append(
            (("* " if r.recommended else "  ") + r.id, r.format, r.quant, size, r.verdict, ctx, status)
        )
    print(table(cells, header=("  model", "format", "quant", "size", "fits here", "max context", "status")))
    print(
        f"\nFit is for {LIST_CONTEXT // 1024}K tokens of context; 'max context' is the most that fits here."
    )
    if rec.variant:
        print(f"* recommended: {rec.variant}. {rec.why}")
        here = any(r.recommended and r.status in ("downloaded", "imported") for r in rows)
        if not here:
            print(f"Download it with: deepresearch models pull {rec.variant}")
    else:
        print(f"Nothing in the catalog runs well here: {rec.why}")
    _print_embedding_models()
    return 0


def _embedding_rows() -> list[dict[str, Any]]:
    """The embedding models for library search by meaning (small: they fit any machine)."""
    from deepresearch_local.weights.catalog import load_embedding_catalog
    from deepresearch_local.weights.registry import embedding_registry

    registry = embedding_registry()
    default = registry.default_id()
    rows = []
    for v in load_embedding_catalog():
        entry = registry.find(v.id)
        rows.append(
            {
                "id": v.id,
                "languages": v.embedding.languages if v.embedding is not None else "",
                "quant": v.quant,
                "approx_bytes": v.approx_bytes,
                "recommended": v.recommended,
                "status": "downloaded" if entry else "-",
                "default": entry is not None and entry.id == default,
            }
        )
    return rows


def _print_embedding_models() -> None:
    from deepresearch_local.cli.output import table
    from deepresearch_local.units import human_bytes
    from deepresearch_local.weights.registry import embedding_registry

    rows = _embedding_rows()
    cells = [
        (
            ("* " if r["recommended"] else "  ") + r["id"],
            r["languages"],
            r["quant"],
            "~" + human_bytes(r["approx_bytes"]),
            r["status"] + (", default" if r["default"] else ""),
        )
        for r in rows
    ]
    if not cells:
        return
    print("\nEmbedding models, for library search by meaning (hybrid with keywords):")
    print(table(cells, header=("  model", "languages", "quant", "size", "status")))
    if embedding_registry().default_id() is None:
        print("Without one, library search uses keywords alone. Get one: deepresearch models pull ID")


def run_pull(args: argparse.Namespace) -> int:
    from deepresearch_local.cli.models_progress import ProgressPrinter
    from deepresearch_local.cli.output import print_json
    from deepresearch_local.weights.pull import pull

    printer = ProgressPrinter()
    try:
        if _is_embedding(args.model):  # library search models: their own registry
            from deepresearch_local.library.embedding.models import pull_embedding_model

            entry = pull_embedding_model(args.model, emit=printer, dest_root=args.dir)
        else:
            entry = pull(args.model, source=args.source, dest_root=args.dir, emit=printer)
    except KeyboardInterrupt:
        printer.close()
        print("Stopped. What was downloaded is kept: run the same command to resume.", file=sys.stderr)
        return 130
    finally:
        printer.close()
    if args.json:
        print_json(entry.to_dict())
    elif _is_embedding(args.model):
        print(
            f"Ready: {entry.id} at {entry.path}. Library search now also finds passages by meaning; "
            "`deepresearch docs embed` prepares the folders already indexed."
        )
    else:
        print(f"Ready: {entry.id} at {entry.path}")
    return 0


def _is_embedding(name: str) -> bool:
    from deepresearch_local.weights.catalog import find_embedding_variant

    return find_embedding_variant(name) is not None


def run_import(args: argparse.Namespace) -> int:
    from deepresearch_local.cli.output import print_json
    from deepresearch_local.units import human_bytes
    from deepresearch_local.weights.scan import import_path

    entry, new = import_path(args.path, name=args.name)
    if args.json:
        print_json({**entry.to_dict(), "new": new})
    elif new:
        print(
            f"Imported {entry.id} ({entry.format}, {human_bytes(entry.size)}) from {entry.path}: "
            "registered in place, nothing copied."
        )
    else:
        print(f"{entry.path} is already registered as {entry.id}.")
    return 0


def run_scan(args: argparse.Namespace) -> int:
    from deepresearch_local.cli.output import print_json
    from deepresearch_local.weights.scan import import_path, scan

    found = scan(args.dirs)
    new = [f for f in found if f.registered_as is None]
    if not args.json:
        if not found:
            where = "the Hugging Face cache, LM Studio's models folders" + "".join(
                f", {d}" for d in args.dirs
            )
            print(f"No GGUF files or MLX folders found in {where}.")
            return 0
        _print_found(found)
    wants_import = args.do_import
    if new and not wants_import and not args.json and sys.stdin.isatty():
        answer = input(f"\nImport {len(new)} of them (registered in place, nothing copied)? [y/N] ")
        wants_import = answer.strip().lower().startswith("y")
    imported: list[str] = []
    for f in new if wants_import else []:
        try:
            imported.append(import_path(f.path)[0].id)
        except Exception as exc:  # one unreadable file must not stop the others
            print(f"Skipped {f.path}: {exc}", file=sys.stderr)
    if args.json:
        print_json({"found": [f.to_dict() for f in found], "imported": imported})
    elif imported:
        print(f"\nImported: {', '.join(imported)}")
    elif new:
        print(
            f"\n{len(new)} not registered yet: `deepresearch models scan --import` registers them in place."
        )
    return 0


def _print_found(found: list[Any]) -> None:
    from deepresearch_local.cli.output import table
    from deepresearch_local.units import human_bytes

    rows = [
        (f.path, f.format, human_bytes(f.size), f.where, f.variant or "", f.registered_as or "-")
        for f in found
    ]
    print(table(rows, header=("path", "format", "size", "where", "catalog variant", "registered as")))


def run_verify(args: argparse.Namespace) -> int:
    from deepresearch_local.cli.output import print_json
    from deepresearch_local.errors import ModelError
    from deepresearch_local.weights.manage import verify_model
    from deepresearch_local.weights.registry import Registry

    registry = Registry()
    if args.model:
        entry = registry.find(args.model)
        if entry is None:
            raise ModelError(f"No registered model {args.model!r}: see `deepresearch models list`.")
        entries = [entry]
    else:
        entries = registry.entries()
    results = []
    for entry in entries:
        if not args.json:
            print(f"Checking {entry.id}…", file=sys.stderr)
        results.append(verify_model(entry, registry))
    if args.json:
        print_json([r.to_dict() for r in results])
    else:
        for r in results:
            print(f"{'ok ' if r.ok else 'BAD'}  {r.id}: {r.message}")
        if not results:
            print("No registered models: `deepresearch models pull VARIANT` or `models import PATH`.")
    return 0 if all(r.ok for r in results) else 1


def run_rm(args: argparse.Namespace) -> int:
    from deepresearch_local.cli.output import print_json
    from deepresearch_local.errors import ModelError
    from deepresearch_local.weights.manage import remove_model, remove_partials
    from deepresearch_local.weights.pull import parse_target, partial_files
    from deepresearch_local.weights.registry import Registry

    registry = Registry()
    if registry.find(args.model) is None:
        leftovers = partial_files(parse_target(args.model))
        if not leftovers:
            raise ModelError(f"No registered model {args.model!r} and no partial download of it.")
        removed = remove_partials(leftovers)
        if args.json:
            print_json({"id": args.model, "unregistered": False, "deleted": [str(p) for p in removed]})
        else:
            print(f"Deleted the partial download of {args.model} ({len(removed)} files).")
        return 0
    entry, deleted = remove_model(args.model, registry)
    if args.json:
        print_json({"id": entry.id, "unregistered": True, "deleted": [str(p) for p in deleted]})
    elif deleted:
        print(f"Removed {entry.id} and deleted {entry.path}.")
    else:
        print(f"Unregistered {entry.id}; its files stay where they are ({entry.path}).")
    return 0


def run_use(args: argparse.Namespace) -> int:
    from deepresearch_local.cli.output import print_json
    from deepresearch_local.errors import ModelError
    from deepresearch_local.weights.registry import Registry

    registry = Registry()
    entry = registry.find(args.model)
    if entry is None:
        raise ModelError(
            f"{args.model} is not registered: `deepresearch models pull {args.model}` or "
            "`deepresearch models import PATH` first."
        )
    registry.set_default(entry.id)
    if args.json:
        print_json(entry.to_dict())
    else:
        print(f"Default model: {entry.id} ({entry.path})")
    return 0
