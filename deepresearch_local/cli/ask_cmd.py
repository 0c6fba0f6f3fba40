"""``deepresearch ask``: research a question headlessly.

Progress goes to stderr (one line per step); the answer and report go to stdout or ``-o``.
``--json`` prints every event as one JSON object per line instead.

Exit codes: 0 answered · 1 failed · 2 usage error · 3 no usable model · 4 stopped by a limit
without an answer · 130 cancelled.
"""

from __future__ import annotations

import argparse
from typing import Any

from deepresearch_local.cli import run_help as H
from deepresearch_local.cli.engine_args import add_engine_arguments, saved_help


def _output_tokens(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number of tokens") from None
    if n < 256:
        raise argparse.ArgumentTypeError(f"{n} is too few: give at least 256 tokens (a turn must fit a call)")
    return n


def _fraction(value: str) -> float:
    try:
        f = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number: give a share such as 0.9") from None
    if not 0 <= f <= 1:
        raise argparse.ArgumentTypeError(f"{f} is not a share of the budget: give 0 to 1 (0 = every round)")
    return f


def add_run_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--docs", action="append", default=[], metavar="DIR", help="research these folders too")
    p.add_argument("--offline", action="store_true", help="no web: only local documents and tools")
    p.add_argument(
        "--allow-composed-urls",
        action="store_true",
        help="let visit open URLs the model composed itself after reading your documents (they could carry "
        "your data; by default only URLs from results, visited pages, the library or the question)",
    )
    p.add_argument(
        "--mode",
        choices=["fold", "react"],
        help=saved_help("fold (flat context) or react (full history)", H.mode),
    )
    p.add_argument("--max-steps", type=int, help=saved_help("model calls allowed", H.max_steps))
    p.add_argument("--max-minutes", type=float, help=saved_help("wall-clock limit", H.max_minutes))
    p.add_argument("--budget", type=int, help="prompt-token budget (default: context minus output reserve)")
    p.add_argument("--near-budget", choices=["summarize", "force_answer"], help="react mode near the budget")
    p.add_argument(
        "--max-output-tokens",
        type=_output_tokens,
        metavar="N",
        help=saved_help("tokens one model turn may write", H.max_output_tokens),
    )
    p.add_argument(
        "--fold-keep-fraction",
        type=_fraction,
        metavar="F",
        help=saved_help(
            "fold mode: keep earlier rounds in the prompt (reused from the KV cache) while it is under "
            "this share of the budget, then fold; 0 folds every round",
            H.fold_keep_fraction,
        ),
    )
    p.add_argument(
        "--preset",
        choices=["laptop", "upstream"],
        help=saved_help(
            "upstream: react, up to 128K context, 100 calls, 150 min, 10,000 output tokens", H.preset
        ),
    )
    p.add_argument("--temperature", type=float, help=saved_help("sampling temperature", H.temperature))
    p.add_argument("-o", "--output", metavar="REPORT.md", help="write the report here")
    p.add_argument("--json", action="store_true", help="print events as JSON lines on stdout")


def add_parser(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "ask",
        help="research a question headlessly and print the report",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("question", help="the question to research")
    p.add_argument("--session", metavar="ID", help="ask a follow-up in this session")
    add_engine_arguments(p)
    add_run_arguments(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from deepresearch_local.cli.research import run_question

    return run_question(args)
