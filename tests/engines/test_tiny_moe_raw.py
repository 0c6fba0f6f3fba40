"""The tiny qwen3moe test model loads in llama.cpp and in MLX, and both compute the same thing."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from deepresearch_local.engines.templates import builtin_template
from tests.support import tiny_fixtures
from tests.support.tiny_moe import TinyModel

mx = pytest.importorskip("mlx.core")
mlx_lm = pytest.importorskip("mlx_lm")
llama_cpp = pytest.importorskip("llama_cpp")

# Until tests/conftest.py imports it for every test module.
tiny_moe = tiny_fixtures.tiny_moe

SAMPLE = (
    "<|im_start|>user\nWho wrote Hamlet? Search 'Gutenberg 1450' and visit https://example.org/a?b=1\n"
    '<tool_call>{"name": "search", "arguments": {"query": ["naïve café", "2024"]}}</tool_call>'
    "<|im_end|>\n<|im_start|>assistant\n"
)
N_GREEDY = 16


@pytest.fixture(scope="module")
def mlx_pair(tiny_moe: TinyModel) -> tuple[Any, Any]:
    return mlx_lm.load(str(tiny_moe.mlx_dir))


def _llama(model: TinyModel, *, f32_cache: bool = False) -> Any:
    extra = {"type_k": llama_cpp.GGML_TYPE_F32, "type_v": llama_cpp.GGML_TYPE_F32} if f32_cache else {}
    return llama_cpp.Llama(str(model.gguf_path), n_ctx=256, verbose=False, logits_all=True, **extra)


def _mlx_greedy(model: Any, prompt: list[int], n: int) -> list[int]:
    from mlx_lm.generate import generate_step

    steps = generate_step(mx.array(prompt), model, max_tokens=n, sampler=lambda lp: mx.argmax(lp, axis=-1))
    return [int(tok) for tok, _ in steps]


def _llama_greedy(llm: Any, prompt: list[int], n: int) -> list[int]:
    out: list[int] = []
    for tok in llm.generate(prompt, top_k=1, temp=0.0, repeat_penalty=1.0):
        out.append(int(tok))
        if len(out) == n:
            break
    return out


def test_writer_is_deterministic(tiny_moe: TinyModel, tmp_path) -> None:
    from tests.support.tiny_moe import write_tiny_moe

    again = write_tiny_moe(tmp_path, seed=0)
    assert again.gguf_path.read_bytes() == tiny_moe.gguf_path.read_bytes()
    other = write_tiny_moe(tmp_path / "s1", seed=1)
    assert other.gguf_path.read_bytes() != tiny_moe.gguf_path.read_bytes()


def test_mlx_loads_and_generates(tiny_moe: TinyModel, mlx_pair: tuple[Any, Any]) -> None:
    model, tokenizer = mlx_pair
    config = json.loads((tiny_moe.mlx_dir / "config.json").read_text())
    assert config["model_type"] == "qwen3_moe"
    assert model.model_type == "qwen3_moe"
    assert len(model.layers) == tiny_moe.n_layers
    assert tokenizer.chat_template == builtin_template()
    assert tokenizer.eos_token_id == tokenizer.convert_tokens_to_ids("<|im_end|>")
    messages = [{"role": "user", "content": "hi"}]
    text = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    assert text == "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
    tokens = _mlx_greedy(model, tokenizer.encode(SAMPLE), 12)
    assert len(tokens) == 12
    assert len(set(tokens)) > 3, tokens  # varied, not one token repeated
    assert all(0 <= t < tiny_moe.n_vocab for t in tokens)


def test_llama_loads_and_generates(tiny_moe: TinyModel) -> None:
    llm = _llama(tiny_moe)
    meta = llm.metadata
    assert meta["general.architecture"] == "qwen3moe"
    assert int(meta["qwen3moe.expert_count"]) > 0 and int(meta["qwen3moe.expert_used_count"]) > 0
    assert int(meta["qwen3moe.attention.key_length"]) == tiny_moe.head_dim
    assert int(meta["qwen3moe.attention.head_count_kv"]) == tiny_moe.n_kv_heads
    assert int(meta["qwen3moe.block_count"]) == tiny_moe.n_layers
    assert meta["tokenizer.chat_template"] == builtin_template()
    assert llm.n_vocab() == tiny_moe.n_vocab
    assert int(meta["qwen3moe.context_length"]) == tiny_moe.n_ctx_train
    assert llm.token_eos() == llm.tokenize(b"<|im_end|>", add_bos=False, special=True)[0]
    tokens = _llama_greedy(llm, llm.tokenize(SAMPLE.encode(), add_bos=False, special=True), 12)
    assert len(tokens) == 12
    assert len(set(tokens)) > 3, tokens


def test_tokenizers_agree(tiny_moe: TinyModel, mlx_pair: tuple[Any, Any]) -> None:
    _, tokenizer = mlx_pair
    llm = _llama(tiny_moe)
    ids_mlx = tokenizer.encode(SAMPLE, add_special_tokens=False)
    ids_llama = llm.tokenize(SAMPLE.encode(), add_bos=False, special=True)
    assert ids_mlx == ids_llama
    specials = [tokenizer.convert_tokens_to_ids(t) for t in ("<|im_start|>", "<|im_end|>", "<tool_call>")]
    assert all(s in ids_mlx for s in specials)  # special/added tokens stay single tokens
    assert len(ids_mlx) < len(SAMPLE.encode()) // 2  # real BPE merges, not bytes
    assert tokenizer.decode(ids_mlx) == SAMPLE
    assert llm.detokenize(ids_llama, special=True).decode() == SAMPLE


def test_same_logits_and_greedy_tokens(tiny_moe: TinyModel, mlx_pair: tuple[Any, Any]) -> None:
    model, tokenizer = mlx_pair
    prompt = tokenizer.encode(SAMPLE)
    mlx_logits = np.array(model(mx.array([prompt]))[0])
    assert mlx_logits.std() > 1.0  # varied logits, not a flat distribution

    llm = _llama(tiny_moe, f32_cache=True)
    llm.eval(prompt)
    np.testing.assert_allclose(np.array(llm.scores[: len(prompt)]), mlx_logits, atol=1e-3, rtol=0)

    expected = _mlx_greedy(model, prompt, N_GREEDY)
    assert _llama_greedy(llm, prompt, N_GREEDY) == expected
    assert len(set(expected)) > N_GREEDY // 3, expected

    # llama.cpp's default f16 KV cache rounds K/V: logits stay close at most positions, but a
    # near-tie in the expert router can flip at a few, so exact comparisons need the f32 cache.
    llm16 = _llama(tiny_moe)
    llm16.eval(prompt)
    row_err = np.abs(np.array(llm16.scores[: len(prompt)]) - mlx_logits).max(axis=1)
    assert row_err[0] < 0.05
    assert np.mean(row_err < 0.1) >= 0.9, row_err
