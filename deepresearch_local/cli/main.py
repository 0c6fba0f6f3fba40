"""The ``deepresearch`` command tree.

Start-up must stay instant: this module imports only the standard library and our light
modules; every command imports what it needs inside its handler.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from deepresearch_local import __version__
from deepresearch_local.cli.engine_args import add_engine_arguments
from deepresearch_local.errors import EXIT_CANCELLED, DeepResearchError

Handler = Callable[[argparse.Namespace], int]


def _lazy(module: str, function: str) -> Handler:
    """A handler that imports its module only when the command runs."""

    def handler(args: argparse.Namespace) -> int:
        import importlib

        result: int = getattr(importlib.import_module(module), function)(args)
        return result

    return handler


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deepresearch",
        description="Deep research on your own machine with Tongyi DeepResearch. "
        "Run without a command to open the terminal app.",
    )
    parser.add_argument("--version", action="version", version=f"deepresearch-local {__version__}")
    parser.set_defaults(handler=_lazy("deepresearch_local.tui.run", "main"))
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")

    p = sub.add_parser("paths", help="print every folder and file the app uses")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=_lazy("deepresearch_local.cli.paths_cmd", "run"))

    p = sub.add_parser("doctor", help="probe this machine and recommend a backend, model and context")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=_lazy("deepresearch_local.cli.doctor", "run"))

    p = sub.add_parser("chat", help="a plain terminal chat, to try a model")
    add_engine_arguments(p)
    p.add_argument("--system", default="You are a helpful assistant.", help="system message")
    p.add_argument("--max-tokens", type=int, default=1024)
    p.add_argument("--temperature", type=float, default=0.6)
    p.add_argument("--no-think", action="store_true", help="ask the template to skip thinking")
    p.set_defaults(handler=_lazy("deepresearch_local.cli.chat", "run"))

    # Command groups that live in their own modules (argparse only at import; work inside handlers).
    from deepresearch_local.cli import ask_cmd, docs_cmd, models_cmd, sessions_cmd

    for module in (ask_cmd, sessions_cmd, docs_cmd, models_cmd):
        module.add_parser(sub)

    bench = sub.add_parser("bench", help="benchmarks that print figures")

    def bench_help(args: argparse.Namespace) -> int:
        bench.print_help()
        return 2

    bench.set_defaults(handler=bench_help)
    bench_sub = bench.add_subparsers(title="benchmarks", metavar="BENCH")
    p = bench_sub.add_parser("engine", help="prefill/decode tokens/s: our engine vs the raw library")
    add_engine_arguments(p, defaults="none", model_required=True)
    p.add_argument("--prompt-tokens", type=int, default=512)
    p.add_argument("--gen-tokens", type=int, default=128)
    p.add_argument("--rounds", type=int, default=3, help="alternating rounds of raw and ours")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=_lazy("deepresearch_local.bench.engine", "run"))
    p = bench_sub.add_parser("library", help="local library: index time, re-index time, query p50/p95")
    p.add_argument("folder", nargs="?", help="a folder of documents to index (into a temporary database)")
    p.add_argument(
        "--synthetic", type=int, metavar="CHUNKS", help="generate a corpus of this many chunks instead"
    )
    p.add_argument("--queries", type=int, default=200, help="queries to time (drawn from the corpus)")
    p.add_argument(
        "--dense", type=int, default=0, metavar="DIM",
        help="also give every chunk a random DIM-dimension vector and time hybrid queries",
    )  # fmt: skip
    p.add_argument("--qa", metavar="FILE.jsonl", help="questions with gold files: print recall@k and MRR")
    p.add_argument(
        "--docs", action="append", default=[], metavar="NAME=DIR", help="a folder the questions ask about"
    )
    p.add_argument("--embedder", metavar="MODEL", help="embedding model (GGUF path or catalog id) for hybrid")
    p.add_argument("--k", type=int, default=5, help="a question counts as found in the top K files")
    p.add_argument("--corpus", metavar="NAME", help='only the questions about this corpus (their "corpus")')
    p.add_argument("--index-db", metavar="PATH", help="keep the index in this file between runs")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=_lazy("deepresearch_local.bench.library", "run"))
    from deepresearch_local.bench import options as bench_options

    bench_options.add_parsers(bench_sub, _lazy)  # context, memory, startup, research
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.handler(args)
        return code
    except DeepResearchError as exc:
        print(f"{exc.title}: {exc}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:  # output piped into `head` and the like
        return 0
    except KeyboardInterrupt:
        print("Cancelled.", file=sys.stderr)
        return EXIT_CANCELLED


if __name__ == "__main__":
    sys.exit(main())
