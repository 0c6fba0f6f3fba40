"""Both local engines run the same tiny qwen3moe weights (Tongyi's architecture) to the same tokens."""

from __future__ import annotations

from deepresearch_local.engines.base import GenerationRequest, Sampling, collect
from deepresearch_local.engines.llamacpp import LlamaCppEngine
from deepresearch_local.engines.mlx import MLXEngine
from tests.support.tiny_moe import TinyModel


def test_llamacpp_and_mlx_give_the_same_greedy_text(tiny_moe: TinyModel) -> None:
    # f32 KV: llama.cpp's f16 cache rounds enough to flip near-tie expert choices in a random model.
    llama = LlamaCppEngine(tiny_moe.gguf_path, context_tokens=512, kv_type="f32", flash_attn=False)
    mlx = MLXEngine(tiny_moe.mlx_dir, context_tokens=512)
    messages = [
        {"role": "system", "content": "You research."},
        {"role": "user", "content": "Find the answer."},
    ]
    prompt_llama = llama.render(messages, enable_thinking=False)
    prompt_mlx = mlx.render(messages, enable_thinking=False)
    assert prompt_llama == prompt_mlx  # same template, rendered by our Jinja and by transformers
    assert llama.count_tokens(prompt_llama) == mlx.count_tokens(prompt_mlx)
    request = GenerationRequest(prompt=prompt_llama, max_tokens=16, sampling=Sampling.greedy())
    a = collect(llama.generate(request))
    b = collect(mlx.generate(request))
    assert a.completion_tokens == b.completion_tokens == 16
    assert a.token_ids == b.token_ids
    assert len(set(a.token_ids)) >= 8  # not a degenerate repeat

    # Text differs only where random byte tokens form invalid UTF-8, which each decoder shows its way.
    def ascii_only(t: str) -> str:
        return "".join(ch for ch in t if ch.isascii())

    assert ascii_only(b.text) in ascii_only(a.text)
    assert llama.info.details["architecture"] == "qwen3moe"
