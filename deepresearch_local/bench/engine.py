"""``deepresearch bench engine``: our engine's overhead against the raw library, same model, same run.

Rounds alternate raw and ours on one loaded model. Every round's prompt starts differently, so
no run reuses another's KV cache, and both sides are timed the same way from outside: prefill is
prompt tokens over the time to the first token, decode is the tokens after the first over the
time after it. Greedy sampling on a counting prompt keeps both sides generating the same tokens.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deepresearch_local.cli.output import print_json, table
from deepresearch_local.engines.base import Engine, Finished, GenerationRequest, Sampling
from deepresearch_local.engines.factory import EngineSpec, guess_backend, open_engine
from deepresearch_local.errors import UsageError


@dataclass(frozen=True)
class Sample:
    prompt_tokens: int
    completion_tokens: int
    prefill_tps: float
    decode_tps: float


def _prompt(engine: Engine, round_no: int, side: str, prompt_tokens: int) -> str:
    head = f"Run {round_no}{side}. Count upward from 1 with commas, never stop: "
    body = ", ".join(str(i) for i in range(1, prompt_tokens + 1))
    text = head + body
    # Cut to roughly the requested number of tokens.
    while engine.count_tokens(text) > prompt_tokens and len(text) > len(head) + 10:
        text = text[: int(len(text) * 0.9)]
    return text.rsplit(",", 1)[0] + ","


def _time_stream(chunks: Iterator[Any], count: Callable[[Any], int]) -> tuple[float, float, int]:
    """(time to first token, time from first token to end, tokens) for any stream of chunks."""
    start = time.perf_counter()
    first: float | None = None
    tokens = 0
    for chunk in chunks:
        n = count(chunk)
        if n and first is None:
            first = time.perf_counter()
        tokens += n
    end = time.perf_counter()
    first = first or end
    return first - start, end - first, tokens


def _sample(prompt_tokens: int, ttft: float, decode_s: float, tokens: int) -> Sample:
    return Sample(
        prompt_tokens,
        tokens,
        prompt_tokens / ttft if ttft > 0 else 0.0,
        (tokens - 1) / decode_s if decode_s > 0 and tokens > 1 else 0.0,
    )


def _ours(engine: Engine, prompt: str, gen_tokens: int) -> Sample:
    request = GenerationRequest(prompt=prompt, max_tokens=gen_tokens, sampling=Sampling.greedy())
    holder: list[Finished] = []

    def count(event: Any) -> int:
        if isinstance(event, Finished):
            holder.append(event)
            return 0
        return 1 if getattr(event, "text", "") else 0

    ttft, decode_s, _ = _time_stream(engine.generate(request), count)
    done = holder[0]
    return _sample(done.prompt_tokens, ttft, decode_s, done.completion_tokens)


def _raw_llama(engine: Engine, prompt: str, gen_tokens: int) -> Sample:
    import llama_cpp

    llm = engine.llm  # type: ignore[attr-defined]
    tokens = llm.tokenize(prompt.encode("utf-8"), add_bos=True, special=True)
    llama_cpp.llama_perf_context_reset(llm.ctx)
    stream = llm.create_completion(
        prompt=tokens, max_tokens=gen_tokens, temperature=0.0, top_k=1, top_p=1.0, min_p=0.0, stream=True
    )
    ttft, decode_s, _ = _time_stream(stream, lambda c: 1 if c["choices"][0]["text"] else 0)
    # Chunks are not tokens (partial UTF-8 arrives empty, a flush may come extra): ask llama.cpp,
    # which evaluated every sampled token but the last one.
    n = min(gen_tokens, llama_cpp.llama_perf_context(llm.ctx).n_eval + 1)
    return _sample(len(tokens), ttft, decode_s, n)


def _raw_mlx(engine: Engine, prompt: str, gen_tokens: int) -> Sample:
    import mlx_lm
    from mlx_lm.sample_utils import make_sampler

    model, tokenizer = engine.model, engine.tokenizer  # type: ignore[attr-defined]
    ids = tokenizer.encode(prompt, add_special_tokens=False)
    stream = mlx_lm.stream_generate(
        model, tokenizer, ids, max_tokens=gen_tokens, sampler=make_sampler(temp=0.0)
    )
    ttft, decode_s, n = _time_stream(stream, lambda r: 1)
    return _sample(len(ids), ttft, decode_s, n)


def _summary(samples: list[Sample]) -> dict[str, float]:
    return {
        "prefill_tps": round(statistics.median(s.prefill_tps for s in samples), 2),
        "decode_tps": round(statistics.median(s.decode_tps for s in samples), 2),
        "prompt_tokens": samples[0].prompt_tokens,
        "completion_tokens": round(statistics.median(s.completion_tokens for s in samples)),
    }


def bench(spec: EngineSpec, prompt_tokens: int, gen_tokens: int, rounds: int) -> dict[str, Any]:
    backend = guess_backend(spec)
    raw: Callable[[Engine, str, int], Sample]
    if backend == "llama.cpp":
        raw = _raw_llama
    elif backend == "mlx":
        raw = _raw_mlx
    else:
        raise UsageError("bench engine compares against a local library: use a .gguf file or an MLX folder.")
    engine = open_engine(spec)
    engine.load()
    # Warm-up: first calls pay for page faults and thread start.
    _ours(engine, _prompt(engine, 0, "w", min(prompt_tokens, 64)), 8)
    raw_samples: list[Sample] = []
    our_samples: list[Sample] = []
    for r in range(1, rounds + 1):
        order = ((raw, raw_samples, "a"), (_ours, our_samples, "b"))
        for fn, bucket, side in order if r % 2 else order[::-1]:
            bucket.append(fn(engine, _prompt(engine, r, side, prompt_tokens), gen_tokens))
    raw_s, our_s = _summary(raw_samples), _summary(our_samples)
    from deepresearch_local.bench.machine import machine_info

    return {
        "model": str(Path(spec.model or "")),
        "backend": backend,
        "engine": dict(engine.info.details) | {"context_tokens": engine.info.context_tokens},
        "rounds": rounds,
        "raw": raw_s,
        "ours": our_s,
        "decode_ratio": round(our_s["decode_tps"] / raw_s["decode_tps"], 3) if raw_s["decode_tps"] else None,
        "prefill_ratio": round(our_s["prefill_tps"] / raw_s["prefill_tps"], 3)
        if raw_s["prefill_tps"]
        else None,
        "machine": machine_info(backend=backend),
    }


def spec_from_args(args: argparse.Namespace) -> EngineSpec:
    """The engine the flags name, chosen by the service's rule (a registered id works too); the
    saved settings are left out so that figures depend on the flags alone."""
    from deepresearch_local.config import Settings
    from deepresearch_local.service.engine import choose_engine, engine_spec
    from deepresearch_local.service.request import RunRequest

    request = RunRequest(
        model=args.model,
        backend=args.backend,
        context=args.context or max(2048, args.prompt_tokens + args.gen_tokens + 256),
        gpu_layers=args.gpu_layers,
        kv_type=args.kv_type,
        constrain_tool_calls=args.constrain_tool_calls,
    )
    return engine_spec(choose_engine(Settings(), request))


def from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The figures for parsed ``bench engine`` arguments (also used by ``bench all``)."""
    return bench(spec_from_args(args), args.prompt_tokens, args.gen_tokens, args.rounds)


def run(args: argparse.Namespace) -> int:
    result = from_args(args)
    if args.json:
        print_json(result)
        return 0
    rows = [
        (side, f"{result[side]['prefill_tps']:.1f}", f"{result[side]['decode_tps']:.1f}")
        for side in ("raw", "ours")
    ]
    print(table(rows, header=("", "prefill tok/s", "decode tok/s")))
    print(
        f"\nours/raw: decode {result['decode_ratio']}, prefill {result['prefill_ratio']} "
        f"({result['backend']}, {Path(result['model']).name}, {result['machine']['cpu']})"
    )
    return 0
