"""Measure the real peak memory of loading a model and generating at one context size.

Run in a fresh process (``python -m deepresearch_local.bench.memprobe MODEL CONTEXT``) so the
peak RSS belongs to that configuration alone. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys

from deepresearch_local.engines.base import GenerationRequest, Sampling, collect
from deepresearch_local.engines.memory import peak_rss_bytes

FILLER = "The quick brown fox jumps over the lazy dog while the river keeps running to the sea. "


def measure(model: str, context: int, prompt_tokens: int = 600, kv_type: str = "f16") -> dict[str, object]:
    """Load ``model`` with ``context`` tokens, prefill at least one full batch, decode a few tokens."""
    from deepresearch_local.engines.llamacpp import LlamaCppEngine

    engine = LlamaCppEngine(model, context_tokens=context, kv_type=kv_type)  # type: ignore[arg-type]
    engine.load()
    text = FILLER * (prompt_tokens // 16 + 1)
    tokens = engine.tokenize(text)[: min(prompt_tokens, context - 16)]
    prompt = engine.llm.detokenize(tokens).decode("utf-8", errors="ignore")
    done = collect(
        engine.generate(GenerationRequest(prompt=prompt, max_tokens=8, sampling=Sampling.greedy()))
    )
    return {
        "model": model,
        "context_tokens": engine.context_size(),
        "kv_type": kv_type,
        "prompt_tokens": done.prompt_tokens,
        "peak_rss_bytes": peak_rss_bytes(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("model")
    parser.add_argument("context", type=int)
    parser.add_argument("--kv-type", default="f16")
    args = parser.parse_args(argv)
    print(json.dumps(measure(args.model, args.context, kv_type=args.kv_type)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
