"""Open a GGUF the way every run without ``--context`` does, in a fresh process, and report.

``python -m tests.engines.auto_context_probe MODEL [RAM_BYTES [KV_TYPE]]``: with RAM_BYTES the
process pretends the machine has that much memory (what ``auto_context`` reads from psutil); KV_TYPE
is the KV cache type asked for (``--kv-type``, default f16). Prints one
JSON object: the context ``auto_context`` chose, the context llama.cpp really allocated (read
back), the budget, and the peak memory after a full batch was prefilled.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import SimpleNamespace

from deepresearch_local.bench.memprobe import FILLER


def main(model: str, ram_bytes: int | None, kv_type: str = "f16") -> dict[str, object]:
    import psutil

    if ram_bytes is not None:
        psutil.virtual_memory = lambda: SimpleNamespace(total=ram_bytes)  # type: ignore[assignment]
    from deepresearch_local.engines.base import GenerationRequest, Sampling, collect
    from deepresearch_local.engines.factory import EngineSpec, auto_context, open_engine
    from deepresearch_local.engines.memory import peak_rss_bytes
    from deepresearch_local.hardware.fit import MemoryBudget

    chosen, _layers = auto_context(Path(model), "llama.cpp", kv_type, None)
    engine = open_engine(EngineSpec(model=model, kv_type=kv_type))  # no context: auto_context chooses
    engine.load()
    prompt = engine.llm.detokenize(engine.tokenize(FILLER * 40)[:600]).decode("utf-8", "ignore")  # type: ignore[attr-defined]
    done = collect(
        engine.generate(GenerationRequest(prompt=prompt, max_tokens=4, sampling=Sampling.greedy()))
    )
    return {
        "chosen_context": chosen,
        "allocated_context": engine.context_size(),
        "budget_bytes": MemoryBudget.for_machine(psutil.virtual_memory().total).ram_bytes,
        "prompt_tokens": done.prompt_tokens,
        "peak_rss_bytes": peak_rss_bytes(),
    }


if __name__ == "__main__":
    ram = int(sys.argv[2]) if len(sys.argv) > 2 else None
    print(json.dumps(main(sys.argv[1], ram, *sys.argv[3:4])))
