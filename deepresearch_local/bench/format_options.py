"""Arguments of ``bench format`` and ``bench listing`` (argparse only: imported when the command
tree is built)."""

from __future__ import annotations

import argparse
from typing import Any

from deepresearch_local.bench.options import Lazy


def add_format_parsers(sub: Any, lazy: Lazy) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "format", help="unusable turns (malformed or unknown tool calls), with and without a grammar"
    )
    p.add_argument("--model", required=True, help="a .gguf file (llama.cpp) or an MLX model folder")
    p.add_argument("--samples", type=int, default=3, help="samples per prompt and mode (default 3)")
    p.add_argument("--limit", type=int, help="only the first N prompts")
    p.add_argument("--max-tokens", type=int, default=160, help="tokens one turn may write (default 160)")
    p.add_argument("--temperature", type=float, default=0.6, help="sampling temperature (default 0.6)")
    p.add_argument("--context", type=int, default=4096, help="context to load the model with")
    p.add_argument("--threads", type=int, help="llama.cpp threads (default: physical cores)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=lazy("deepresearch_local.bench.format", "run"))

    p = sub.add_parser("listing", help="`models list` wall time with several imported 30B-shaped GGUFs")
    p.add_argument("--files", type=int, default=5, help="30B-shaped GGUF headers to import (default 5)")
    p.add_argument("--runs", type=int, default=3, help="runs of the command; the median is reported")
    p.add_argument(
        "--compare-gguf-reader", action="store_true", help="also time gguf.GGUFReader on one header"
    )
    p.add_argument("--out", metavar="FILE.json", help="also save the figures as JSON here")
    p.add_argument(
        "--from-json", metavar="FILE.json", help="measure nothing: take the figures a previous --out saved"
    )
    p.add_argument(
        "--readme", metavar="README.md", help="replace the README's listing paragraph (its markers)"
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=lazy("deepresearch_local.bench.listing", "run"))
