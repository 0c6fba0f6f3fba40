"""Arguments of ``bench context``, ``memory``, ``startup`` and ``research`` (argparse only: imported
when the command tree is built, so it must stay light)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

Lazy = Callable[[str, str], Callable[[argparse.Namespace], int]]


def _contexts(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.replace(" ", "").split(",") if v]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of token counts: {text!r}") from None
    if not values or any(v < 512 for v in values):
        raise argparse.ArgumentTypeError("give one or more contexts of at least 512 tokens, e.g. 2048,8192")
    return values


def add_parsers(sub: Any, lazy: Lazy) -> None:
    from deepresearch_local.cli.ask_cmd import add_engine_arguments

    p: argparse.ArgumentParser = sub.add_parser(
        "context", help="prompt tokens per step, fold vs react, on a scripted research through the agent"
    )
    p.add_argument("--steps", type=int, default=40, help="research turns; the last one answers (default 40)")
    p.add_argument("--budget", type=int, default=16384, help="prompt-token budget (default 16384)")
    p.add_argument("--model", help="count with this model's tokenizer and template (.gguf or MLX folder)")
    p.add_argument("--kv-type", choices=["f16", "q8_0", "q4_0"], default="f16", help="for the KV estimate")
    p.add_argument(
        "--tongyi-kv",
        action="store_true",
        help="estimate the KV cache with Tongyi-30B's shape even when --model gives the tokenizer",
    )
    p.add_argument("--plot", metavar="FILE.png", help="write a plot of prompt tokens per step")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=lazy("deepresearch_local.bench.context", "run"))

    p = sub.add_parser("memory", help="the fit calculator's memory prediction vs measured peak RSS")
    p.add_argument("--model", required=True, help="a .gguf file")
    p.add_argument(
        "--contexts",
        type=_contexts,
        default=[2048, 8192, 16384],
        help="comma-separated (default 2048,8192,16384)",
    )
    p.add_argument("--kv-type", choices=["f16", "q8_0", "q4_0"], default="f16")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=lazy("deepresearch_local.bench.memory", "run"))

    p = sub.add_parser("startup", help="`deepresearch --help` wall time and the terminal app's first paint")
    p.add_argument("--runs", type=int, default=5, help="runs of each measurement; the median is reported")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=lazy("deepresearch_local.bench.startup", "run"))

    p = sub.add_parser("research", help="research a JSONL file of {question, answer} and score the runs")
    p.add_argument("--questions", required=True, metavar="FILE.jsonl", help='lines of {"question", "answer"}')
    add_engine_arguments(p)
    p.add_argument("--docs", action="append", default=[], metavar="DIR", help="research these folders too")
    p.add_argument("--offline", action="store_true", help="no web: only local documents and tools")
    p.add_argument("--mode", choices=["fold", "react", "both"], default="both", help="default: both")
    p.add_argument("--max-steps", type=int, default=20, help="model calls allowed per question (default 20)")
    p.add_argument("--max-minutes", type=float, default=30.0, help="wall-clock limit per question")
    p.add_argument("--budget", type=int, help="prompt-token budget (default: context minus output reserve)")
    p.add_argument("--temperature", type=float, help="sampling temperature (default 0.6)")
    p.add_argument("--limit", type=int, help="only the first N questions")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=lazy("deepresearch_local.bench.research", "run"))
