"""GPU check of MoE expert offload, for a machine with an NVIDIA GPU (not run in CI).

Run from the repository root with a CUDA build of llama-cpp-python importable:

    CMAKE_ARGS="-DGGML_CUDA=on -DCMAKE_CUDA_ARCHITECTURES=native" pip install llama-cpp-python==0.3.36
    pip install gguf tokenizers numpy
    OUT=/tmp/out python packaging/gpu/expert_offload_check.py

(Where nothing can be downloaded: take the sdist, drop vendor/llama.cpp/{models,docs,.git} and
the unused ggml backends to bring it near 8 MB, and build it there with --no-build-isolation.)

It writes the tiny qwen3moe test model and a larger random one (about 3 GiB with the default
dims, BIG_HIDDEN and BIG_EXPERTS change them), then loads each all on the GPU, with whole layers
split, with the experts of some layers in RAM (the tensor overrides of engines/tensor_overrides.py),
and on the CPU, printing load time, decode tokens/s and which tensors llama.cpp placed by an
override. Results: $OUT/expert_offload_gpu.json.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, os.getcwd())
import llama_cpp

import tests.support.tiny_moe as tm
from deepresearch_local.engines.base import GenerationRequest, Sampling, collect
from deepresearch_local.engines.llamacpp import LlamaCppEngine
from deepresearch_local.engines.tensor_overrides import LoadLog, expert_patterns

OUT = Path(os.environ.get("OUT", "/tmp/out"))
OUT.mkdir(parents=True, exist_ok=True)
PROMPT = "The agent thinks first, then calls a tool:"
results: dict[str, object] = {"gpu_offload": bool(llama_cpp.llama_supports_gpu_offload())}
print("gpu offload supported:", results["gpu_offload"], flush=True)


def run(path: Path, label: str, tokens: int, **kw: object) -> dict[str, object]:
    engine = LlamaCppEngine(path, context_tokens=1024, kv_type="f16", flash_attn=False, **kw)  # type: ignore[arg-type]
    log = LoadLog()
    start = time.perf_counter()
    with log.capturing(llama_cpp):
        engine.load()
    loaded = time.perf_counter() - start
    request = GenerationRequest(prompt=PROMPT, max_tokens=tokens, sampling=Sampling.greedy())
    collect(engine.generate(GenerationRequest(prompt="warm up", max_tokens=4, sampling=Sampling.greedy())))
    start = time.perf_counter()
    done = collect(engine.generate(request))
    seconds = time.perf_counter() - start
    text = "".join(log.lines)
    offloaded = [line.strip() for line in log.lines if "offloaded" in line or "buffer size" in line]
    row = {
        "label": label,
        "load_s": round(loaded, 2),
        "tok_s": round(done.completion_tokens / seconds, 1),
        "tokens": done.completion_tokens,
        "text": done.text[:80],
        "overridden": len(engine.overridden_tensors),
        "overridden_to_cpu": text.count("overridden to CPU"),
        "offload_lines": offloaded[:8],
    }
    engine.unload()
    print(json.dumps(row), flush=True)
    return row


tiny = tm.write_tiny_moe(Path("/tmp/tiny"), seed=0)
results["tiny"] = [
    run(tiny.gguf_path, "gpu all", 32, gpu_layers=99),
    run(tiny.gguf_path, "gpu all, experts in RAM", 32, gpu_layers=99, cpu_tensors=expert_patterns(-1)),
    run(tiny.gguf_path, "cpu", 32, gpu_layers=0),
]
# A larger random MoE (about 3 GiB of f32 experts): same code, bigger dims.
tm.HIDDEN, tm.N_LAYERS, tm.N_EXPERTS, tm.MOE_FF = (
    int(os.environ.get("BIG_HIDDEN", 1024)),
    8,
    int(os.environ.get("BIG_EXPERTS", 64)),
    512,
)
big = tm.write_tiny_moe(Path("/tmp/big"), seed=0)
print("big model", big.gguf_path.stat().st_size >> 20, "MiB", flush=True)
results["big"] = [
    run(big.gguf_path, "gpu all", 64, gpu_layers=99),
    run(big.gguf_path, "4/8 layers on the GPU", 64, gpu_layers=4),
    run(big.gguf_path, "experts of 4/8 layers in RAM", 64, gpu_layers=99, cpu_tensors=expert_patterns(4, 8)),
    run(big.gguf_path, "experts of 8/8 layers in RAM", 64, gpu_layers=99, cpu_tensors=expert_patterns(-1)),
    run(big.gguf_path, "cpu", 64, gpu_layers=0),
]
(OUT / "expert_offload_gpu.json").write_text(json.dumps(results, indent=1))
