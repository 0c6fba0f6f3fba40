"""``deepresearch bench memory``: is the memory-fit calculator right on this machine?

For each context, the calculator's expected peak RSS (``hardware.fit.estimate``) is set against the
peak RSS measured in a fresh process that loads the model with that context, prefills a full batch
and decodes a few tokens (``bench.memprobe``). Runs on the CPU (no layers offloaded), where RSS is
the whole story; the error is (predicted - measured) / measured.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from deepresearch_local.cli.output import print_json, table
from deepresearch_local.errors import EngineError, UsageError
from deepresearch_local.units import human_bytes

PROBE_TIMEOUT = 900


def measure(model: Path, context: int, kv_type: str = "f16") -> dict[str, Any]:
    """Peak RSS of loading ``model`` at ``context`` and generating, in a fresh interpreter."""
    cmd = [
        sys.executable,
        "-m",
        "deepresearch_local.bench.memprobe",
        str(model),
        str(context),
        "--kv-type",
        kv_type,
    ]
    try:
        out = subprocess.run(
            cmd, capture_output=True, text=True, timeout=PROBE_TIMEOUT, stdin=subprocess.DEVNULL
        )
    except subprocess.TimeoutExpired as exc:
        raise EngineError(f"Measuring {model.name} at {context} tokens took over {PROBE_TIMEOUT} s.") from exc
    lines = out.stdout.strip().splitlines()
    if out.returncode != 0 or not lines:
        tail = out.stderr.strip()[-600:]
        raise EngineError(
            f"Loading {model.name} with a {context}-token context failed (exit {out.returncode}): {tail}. "
            "Try smaller --contexts, or check the file with `deepresearch models verify`."
        )
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def bench(model: Path, contexts: list[int], kv_type: str = "f16") -> dict[str, Any]:
    from deepresearch_local.bench.machine import machine_info
    from deepresearch_local.hardware.fit import estimate
    from deepresearch_local.hardware.modelinfo import read_shape

    if not model.is_file():
        raise UsageError(
            f"{model} is not a file. bench memory measures a GGUF model with llama.cpp: pass a .gguf file."
        )
    shape = read_shape(model)
    rows = []
    for context in contexts:
        est = estimate(shape, context, kv_type=kv_type)
        probe = measure(model, context, kv_type)
        measured = int(probe["peak_rss_bytes"])
        rows.append(
            {
                "context_tokens": context,
                "allocated_context_tokens": probe["context_tokens"],
                "prompt_tokens": probe["prompt_tokens"],
                "predicted_peak_rss_bytes": est.expected_peak_rss,
                "measured_peak_rss_bytes": measured,
                "error_percent": round((est.expected_peak_rss - measured) / measured * 100, 2),
                "predicted": {
                    "weights": est.weights,
                    "kv_cache": est.kv_cache,
                    "compute": est.compute,
                    "overhead": est.overhead,
                    "cpu_repack": est.cpu_repack,
                },
            }
        )
    return {
        "model": str(model),
        "kv_type": kv_type,
        "device": "cpu (no layers offloaded)",
        "contexts": contexts,
        "results": rows,
        "max_abs_error_percent": max(abs(r["error_percent"]) for r in rows),
        "machine": machine_info(backend="llama.cpp"),
    }


def from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The figures for parsed ``bench memory`` arguments (also used by ``bench all``)."""
    return bench(Path(args.model).expanduser(), args.contexts, args.kv_type)


def run(args: argparse.Namespace) -> int:
    result = from_args(args)
    if args.json:
        print_json(result)
        return 0
    rows = [
        (
            f"{r['context_tokens']:,}",
            human_bytes(r["predicted_peak_rss_bytes"]),
            human_bytes(r["measured_peak_rss_bytes"]),
            f"{r['error_percent']:+.1f}%",
        )
        for r in result["results"]
    ]
    print(table(rows, header=("context", "predicted peak", "measured peak", "error")))
    print(f"\n{Path(result['model']).name}, KV {result['kv_type']}, llama.cpp on the CPU.")
    return 0
