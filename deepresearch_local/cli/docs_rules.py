"""``deepresearch docs rules``: a library folder's include and exclude globs, and the
``--include``/``--exclude`` options of ``docs add``."""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from deepresearch_local.library import Library

RULES_HELP = (
    "Patterns match paths inside the folder: one without '/' matches a name at any depth ('*.md', "
    "'build'), one with '/' matches from the folder's root ('build/**', 'api/*.html'). Excluded files "
    "are listed as skipped; included files are always indexed, even when they look generated, copy "
    "another file or match an exclude pattern."
)


def add_pattern_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--include",
        action="append",
        default=[],
        metavar="GLOB",
        help="always index files matching GLOB (repeatable)",
    )
    parser.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="GLOB",
        help="never index files matching GLOB (repeatable)",
    )


def add_parser(actions: Any) -> None:
    """Register ``docs rules``."""
    a: argparse.ArgumentParser = actions.add_parser(
        "rules",
        help="show or change a folder's include/exclude globs (then re-index it)",
        description="A library folder's include and exclude rules. " + RULES_HELP,
    )
    a.add_argument("name", help="the folder's name (see docs list)")
    add_pattern_options(a)
    a.add_argument(
        "--remove", action="append", default=[], metavar="GLOB", help="drop a pattern (repeatable)"
    )
    a.add_argument("--clear", action="store_true", help="drop every pattern")
    a.add_argument("-q", "--quiet", action="store_true", help="no progress lines while re-indexing")
    a.add_argument("--json", action="store_true", help="print JSON")
    a.set_defaults(handler=run_rules)


def _usage(exc: ValueError) -> Exception:
    from deepresearch_local.errors import UsageError

    return UsageError(f"Bad pattern: {exc}. {RULES_HELP}")


def _root_of(library: Library, name: str) -> str:
    from deepresearch_local.library import LibraryError

    for info in library.folders():
        if info.name == name:
            return info.root
    known = ", ".join(f.name for f in library.folders()) or "none yet"
    raise LibraryError(f"No library folder named {name!r} (folders: {known}). See `deepresearch docs list`.")


@contextmanager
def rules_for_add(
    library: Library, folder: str, include: Sequence[str], exclude: Sequence[str]
) -> Iterator[None]:
    """Store ``docs add``'s patterns for the folder before it is indexed; forget them again if
    adding fails."""
    from deepresearch_local.library import LibraryError
    from deepresearch_local.library.rules import load_rules, save_rules

    if not include and not exclude:
        yield
        return
    root = str(Path(os.path.realpath(Path(folder).expanduser())))
    before, _ = load_rules(library.store, root)
    try:
        save_rules(library.store, root, include, exclude)
    except ValueError as exc:
        raise _usage(exc) from exc
    try:
        yield
    except LibraryError:  # the folder was refused: its rules must not linger
        save_rules(library.store, root, before.include, before.exclude, replace=True)
        raise


def run_rules(args: argparse.Namespace) -> int:
    from deepresearch_local.cli.docs_cmd import _print_reports, _progress
    from deepresearch_local.cli.output import print_json
    from deepresearch_local.library import Library
    from deepresearch_local.library.rules import load_rules, remove_patterns, save_rules

    with Library() as library:
        root = _root_of(library, args.name)
        before, _ = load_rules(library.store, root)
        missing: list[str] = []
        try:
            if args.clear:
                save_rules(library.store, root, [], [], replace=True)
            if args.remove:
                _, missing = remove_patterns(library.store, root, args.remove)
            rules = save_rules(library.store, root, args.include, args.exclude)
        except ValueError as exc:
            raise _usage(exc) from exc
        reports = (
            library.reindex(args.name, on_progress=_progress(args.quiet or args.json))
            if rules != before
            else []
        )
    if args.json:
        print_json({"folder": args.name, **rules.as_dict(), "reports": [r.as_dict() for r in reports]})
        return 0
    for pattern in missing:
        print(f"No pattern {pattern!r} to remove.")
    include, exclude = " ".join(rules.include) or "(none)", " ".join(rules.exclude) or "(none)"
    print(f"{args.name}: include {include}; exclude {exclude}")
    if reports:
        _print_reports(reports, False)
        print(f"  See what was left out and why: deepresearch docs coverage {args.name} --skipped")
    elif not (args.include or args.exclude or args.remove or args.clear):
        print(f"  Change them with --include GLOB / --exclude GLOB / --remove GLOB. {RULES_HELP}")
    return 0
