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
    from deepresearch_local.cli.engine_args import add_engine_arguments

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
    add_engine_arguments(p, defaults="none")  # the figures depend on the flags alone
    p.add_argument("--docs", action="append", default=[], metavar="DIR", help="research these folders too")
    p.add_argument("--offline", action="store_true", help="no web: only local documents and tools")
    p.add_argument("--mode", choices=["fold", "react", "both"], default="both", help="default: both")
    p.add_argument("--max-steps", type=int, default=20, help="model calls allowed per question (default 20)")
    p.add_argument("--max-minutes", type=float, default=30.0, help="wall-clock limit per question")
    p.add_argument("--budget", type=int, help="prompt-token budget (default: context minus output reserve)")
    p.add_argument("--temperature", type=float, help="sampling temperature (default 0.6)")
    p.add_argument("--max-output-tokens", type=int, default=4096, help="tokens one model turn may write")
    p.add_argument("--limit", type=int, help="only the first N questions")
    p.add_argument(
        "--judge",
        action="store_true",
        help="also ask the loaded model whether each answer matches (judge accuracy, beside match accuracy)",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=lazy("deepresearch_local.bench.research", "run"))

    from deepresearch_local.bench.format_options import add_format_parsers

    add_format_parsers(sub, lazy)

    p = sub.add_parser(
        "all", help="every benchmark, JSON saved per run, a Markdown summary (optionally into the README)"
    )
    p.add_argument(
        "--model", action="append", default=[], help="a .gguf file or MLX folder; repeat to compare"
    )
    p.add_argument("--out", default="bench-results", help="folder for the JSON files, plot and summary")
    p.add_argument("--readme", metavar="README.md", help="replace the section between its benchmark markers")
    p.add_argument("--from-results", action="store_true", help="only re-render the summary from --out")
    p.add_argument(
        "--sample", action="store_true", help="research the bundled sample documents and questions"
    )
    p.add_argument("--questions", metavar="FILE.jsonl", help="research these questions (with --docs)")
    p.add_argument("--docs", action="append", default=[], metavar="DIR", help="folders for the research runs")
    p.add_argument("--limit", type=int, help="only the first N questions")
    p.add_argument("--max-steps", type=int, default=8, help="model calls per research question (default 8)")
    p.add_argument("--context", type=int, default=8192, help="context for the research runs (default 8192)")
    p.add_argument(
        "--max-output-tokens", type=int, default=1024, help="tokens one model turn may write (default 1024)"
    )
    p.add_argument("--rounds", type=int, default=3, help="engine bench rounds")
    p.add_argument("--prompt-tokens", type=int, default=512, help="engine bench prompt")
    p.add_argument("--gen-tokens", type=int, default=128, help="engine bench generated tokens")
    p.add_argument("--contexts", default="2048,8192,16384", help="memory bench contexts")
    p.add_argument("--steps", type=int, default=40, help="context bench turns")
    p.add_argument("--chunks", type=int, default=100_000, help="library bench synthetic corpus size")
    p.add_argument("--startup-runs", type=int, default=5, help="start-up bench runs")
    p.set_defaults(handler=lazy("deepresearch_local.bench.suite", "run"))
