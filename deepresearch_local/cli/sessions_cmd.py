"""``deepresearch sessions``: list, show, export, rename, resume and remove research sessions."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from deepresearch_local.cli.engine_args import add_engine_arguments
from deepresearch_local.errors import UsageError


def add_parser(sub: Any) -> None:
    """Register the ``sessions`` command group (argparse only; the work happens in the handlers)."""
    group: argparse.ArgumentParser = sub.add_parser(
        "sessions", help="list, show, export, resume and remove research sessions"
    )

    def group_help(args: argparse.Namespace) -> int:
        group.print_help()
        return 2

    group.set_defaults(handler=group_help)
    actions = group.add_subparsers(title="actions", metavar="ACTION")
    id_help = "session id (a unique prefix is enough)"

    p = actions.add_parser("list", help="sessions, most recently active first")
    p.add_argument(
        "--search", metavar="TEXT", help="only sessions whose title, questions or answers contain TEXT"
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=list_sessions)

    p = actions.add_parser("show", help="a session's questions and runs, with their terminations and answers")
    p.add_argument("id", metavar="ID", help=id_help)
    p.add_argument("--steps", action="store_true", help="also list every step of every run")
    p.add_argument(
        "--network", action="store_true", help="also list every query and URL that left this machine"
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=show_session)

    p = actions.add_parser("export", help="write a session as Markdown: questions, answers and reports")
    p.add_argument("id", metavar="ID", help=id_help)
    p.add_argument("-o", "--output", metavar="FILE.md", help="write to this file (default: standard output)")
    p.set_defaults(handler=export_session)

    p = actions.add_parser("rename", help="give a session another title")
    p.add_argument("id", metavar="ID", help=id_help)
    p.add_argument("title", metavar="TITLE")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=rename_session)

    p = actions.add_parser("resume", help="continue an interrupted run from its last saved step")
    p.add_argument("id", metavar="ID", help=id_help)
    add_engine_arguments(p, defaults="run")
    p.add_argument("-o", "--output", metavar="REPORT.md", help="also write the report to this file")
    p.add_argument("--json", action="store_true", help="print one JSON object per event")
    p.set_defaults(handler=resume_session)

    p = actions.add_parser("rm", help="remove a session with its runs, steps and sources")
    p.add_argument("id", metavar="ID", help=id_help)
    p.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=remove_session)


def list_sessions(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from deepresearch_local.cli.output import print_json
    from deepresearch_local.cli.sessions_view import sessions_table
    from deepresearch_local.store import SessionStore

    with SessionStore() as store:
        sessions = store.list_sessions(args.search)
    if args.json:
        print_json([asdict(s) for s in sessions])
    elif sessions:
        print(sessions_table(sessions))
    elif args.search:
        print(f"No session mentions {args.search!r}.")
    else:
        print('No sessions yet. Start one with `deepresearch ask "QUESTION"`.')
    return 0


def show_session(args: argparse.Namespace) -> int:
    from deepresearch_local.cli.output import print_json
    from deepresearch_local.cli.sessions_view import show_json, show_text
    from deepresearch_local.store import SessionStore

    with SessionStore() as store:
        session_id = store.resolve_id(args.id)
        info = store.get_session(session_id)
        questions = store.questions(session_id)
        runs = store.runs(session_id)
        steps = {run.id: store.steps(run.id) for run in runs} if args.steps else None
        network = store.network(session_id) if args.network else None
    if args.json:
        print_json(show_json(info, questions, runs, steps, network))
    else:
        print(show_text(info, questions, runs, steps, network))
    return 0


def export_session(args: argparse.Namespace) -> int:
    from pathlib import Path

    from deepresearch_local.store import SessionStore
    from deepresearch_local.store.export import session_markdown

    with SessionStore() as store:
        markdown = session_markdown(store, store.resolve_id(args.id))
    if not args.output:
        sys.stdout.write(markdown)
        return 0
    target = Path(args.output).expanduser()
    try:
        target.write_text(markdown, encoding="utf-8")
    except OSError as exc:
        raise UsageError(
            f"Cannot write {target}: {exc.strerror or exc}. Pick a writable path with -o."
        ) from exc
    print(f"Wrote {target}", file=sys.stderr)
    return 0


def rename_session(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from deepresearch_local.cli.output import print_json
    from deepresearch_local.store import SessionStore

    if not args.title.strip():
        raise UsageError("A session title cannot be empty.")
    with SessionStore() as store:
        session_id = store.resolve_id(args.id)
        store.rename_session(session_id, args.title.strip())
        info = store.get_session(session_id)
    if args.json:
        print_json(asdict(info))
    else:
        print(f"Renamed session {session_id}: {info.title}")
    return 0


def remove_session(args: argparse.Namespace) -> int:
    from deepresearch_local.cli.output import print_json
    from deepresearch_local.store import SessionStore

    with SessionStore() as store:
        session_id = store.resolve_id(args.id)
        info = store.get_session(session_id)
        if not args.yes:
            if not sys.stdin.isatty():
                raise UsageError(
                    f"Not removing session {session_id} without confirmation. "
                    f"Run `deepresearch sessions rm {session_id} --yes` to remove it."
                )
            try:
                reply = input(
                    f'Remove session {session_id} "{info.title}" with its {info.questions} question(s), '
                    "runs and sources? [y/N] "
                )
            except EOFError:
                reply = ""
            if reply.strip().lower() not in ("y", "yes"):
                print("Kept the session.", file=sys.stderr)
                return 1
        store.delete_session(session_id)
    if args.json:
        print_json({"removed": session_id, "title": info.title})
    else:
        print(f"Removed session {session_id} ({info.title}).")
    return 0


def resume_session(args: argparse.Namespace) -> int:
    """Hand over to ``resume_cmd`` (the full session id replaces the typed prefix)."""
    from deepresearch_local.cli.resume_cmd import resume_command
    from deepresearch_local.store import SessionStore

    with SessionStore() as store:
        args.id = store.resolve_id(args.id)
    return resume_command(args)
