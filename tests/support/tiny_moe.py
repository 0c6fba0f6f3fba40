"""A tiny random-weight qwen3moe model (Tongyi-DeepResearch's architecture) for offline tests.

``write_tiny_moe`` writes the *same* weights twice: a GGUF file for llama.cpp and a
Hugging Face style folder for ``mlx_lm.load``. The tokenizer is a small byte-level BPE
(Qwen2 pre-tokenizer, ChatML special tokens) trained deterministically on built-in text.
Everything is float32, so both engines compute the same logits (to ~1e-5) when llama.cpp
runs with an f32 KV cache (``type_k=type_v=GGML_TYPE_F32``). With its default f16 cache the
logits differ by ~1e-2 and, at a rare near-tie in the expert router, by more: compare greedy
tokens across engines only with the f32 cache.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from deepresearch_local.engines.templates import builtin_template

if TYPE_CHECKING:
    from tokenizers import Tokenizer

# Model dimensions: Qwen3-MoE shaped (n_head * head_dim != hidden, qk-norm, top-2 of 8 experts).
HIDDEN = 64
N_LAYERS = 2
N_HEADS = 4
N_KV_HEADS = 2
HEAD_DIM = 32
N_EXPERTS = 8
N_EXPERTS_USED = 2
MOE_FF = 48
DENSE_FF = 128  # unused by all-MoE layers, but both formats declare it
N_CTX_TRAIN = 2048
ROPE_THETA = 1_000_000.0
RMS_EPS = 1e-6
BPE_VOCAB = 640  # byte-level BPE size before the added tokens

SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")
USER_TOKENS = ("<tool_call>", "</tool_call>", "<tool_response>", "</tool_response>", "<think>", "</think>")
# Qwen2's pre-tokenizer regex (llama.cpp's "qwen2" pre-tokenizer uses the same one).
QWEN2_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)

_CORPUS = """\
Deep research means asking a question, searching the web, visiting the pages that look useful,
reading them carefully and writing an answer that cites its sources. The agent thinks first,
then calls a tool: search, visit, scholar, python or parse_file. Each tool returns a response
that the agent reads before it decides what to do next. When the evidence is sufficient, the
agent writes the final answer between answer tags and stops.
The quick brown fox jumps over the lazy dog. A local model runs on your own machine, with
llama.cpp on Linux and Windows, and with MLX on Apple Silicon. Nothing leaves the computer
unless the user allows web access. Documents such as PDF, DOCX, Markdown and plain text files
can be indexed and searched offline.
{"name": "search", "arguments": {"query": ["history of the printing press", "Gutenberg 1450"]}}
{"name": "visit", "arguments": {"url": "https://example.org/article", "goal": "find the date"}}
The year 2024 had 366 days; 12 months; 52 weeks. Numbers: 0 1 2 3 4 5 6 7 8 9 10 100 1000.
User: What is the capital of France? Assistant: The capital of France is Paris.
User: Who wrote Hamlet? Assistant: William Shakespeare wrote Hamlet around 1600.
Questions, answers, sources, citations, summaries, reports, notes, and conclusions.
"""


# Hugging Face layer tensor -> GGUF layer tensor (same numpy layout; GGUF's ne order is reversed).
_LAYER_TENSORS = {
    "input_layernorm": "attn_norm",
    "self_attn.q_proj": "attn_q",
    "self_attn.k_proj": "attn_k",
    "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output",
    "self_attn.q_norm": "attn_q_norm",
    "self_attn.k_norm": "attn_k_norm",
    "post_attention_layernorm": "ffn_norm",
    "mlp.gate": "ffn_gate_inp",
}


@dataclass(frozen=True)
class TinyModel:
    """Where the two forms of the tiny model were written, and its shape."""

    gguf_path: Path  # the .gguf file
    mlx_dir: Path  # the HF/MLX folder
    n_layers: int
    n_kv_heads: int
    head_dim: int
    n_vocab: int
    n_ctx_train: int


def _train_tokenizer() -> Tokenizer:
    """Train the byte-level BPE on ``_CORPUS`` and append the added tokens (Qwen's layout)."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, trainers
    from tokenizers import pre_tokenizers as pre

    tok = Tokenizer(models.BPE(unk_token=None, fuse_unk=False, byte_fallback=False))
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre.Sequence(
        [
            pre.Split(Regex(QWEN2_SPLIT), behavior="isolated", invert=False),
            pre.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)  # type: ignore[call-arg]
    trainer = trainers.BpeTrainer(
        vocab_size=BPE_VOCAB,
        min_frequency=1,
        show_progress=False,
        initial_alphabet=pre.ByteLevel.alphabet(),
        special_tokens=[],
    )
    tok.train_from_iterator(_CORPUS.splitlines(keepends=True), trainer=trainer)
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in SPECIAL_TOKENS])
    tok.add_tokens([AddedToken(t, special=False, normalized=False) for t in USER_TOKENS])
    return tok


def _random_weights(seed: int, n_vocab: int) -> dict[str, np.ndarray]:
    """Seeded float32 weights under Hugging Face Qwen3-MoE names."""
    rng = np.random.default_rng(seed)

    def mat(rows: int, cols: int, gain: float = 1.0) -> np.ndarray:
        return np.asarray(rng.standard_normal((rows, cols)) * (gain / cols**0.5), dtype=np.float32)

    def norm(n: int) -> np.ndarray:
        return np.asarray(0.2 * rng.standard_normal(n) + 1.0, dtype=np.float32)

    q_dim, kv_dim = N_HEADS * HEAD_DIM, N_KV_HEADS * HEAD_DIM
    w: dict[str, np.ndarray] = {"model.embed_tokens.weight": mat(n_vocab, HIDDEN, np.sqrt(HIDDEN))}
    for i in range(N_LAYERS):
        p = f"model.layers.{i}"
        w[f"{p}.input_layernorm.weight"] = norm(HIDDEN)
        w[f"{p}.self_attn.q_proj.weight"] = mat(q_dim, HIDDEN)
        w[f"{p}.self_attn.k_proj.weight"] = mat(kv_dim, HIDDEN)
        w[f"{p}.self_attn.v_proj.weight"] = mat(kv_dim, HIDDEN)
        w[f"{p}.self_attn.o_proj.weight"] = mat(HIDDEN, q_dim)
        w[f"{p}.self_attn.q_norm.weight"] = norm(HEAD_DIM)
        w[f"{p}.self_attn.k_norm.weight"] = norm(HEAD_DIM) * 2.0  # sharper attention
        w[f"{p}.post_attention_layernorm.weight"] = norm(HIDDEN)
        w[f"{p}.mlp.gate.weight"] = mat(N_EXPERTS, HIDDEN, 2.0)
        for e in range(N_EXPERTS):
            w[f"{p}.mlp.experts.{e}.gate_proj.weight"] = mat(MOE_FF, HIDDEN)
            w[f"{p}.mlp.experts.{e}.up_proj.weight"] = mat(MOE_FF, HIDDEN)
            w[f"{p}.mlp.experts.{e}.down_proj.weight"] = mat(HIDDEN, MOE_FF, 2.0)
    w["model.norm.weight"] = norm(HIDDEN)
    w["lm_head.weight"] = mat(n_vocab, HIDDEN, 4.0)
    return w


def _write_hf(out: Path, tok: Tokenizer, weights: dict[str, np.ndarray], template: str) -> None:
    """The Hugging Face folder: config, safetensors, tokenizer files (what ``mlx_lm.load`` reads)."""
    from safetensors.numpy import save_file

    out.mkdir(parents=True, exist_ok=True)
    ids = {t: tok.token_to_id(t) for t in SPECIAL_TOKENS}
    config = {
        "architectures": ["Qwen3MoeForCausalLM"],
        "model_type": "qwen3_moe",
        "hidden_size": HIDDEN,
        "num_hidden_layers": N_LAYERS,
        "num_attention_heads": N_HEADS,
        "num_key_value_heads": N_KV_HEADS,
        "head_dim": HEAD_DIM,
        "intermediate_size": DENSE_FF,
        "moe_intermediate_size": MOE_FF,
        "num_experts": N_EXPERTS,
        "num_experts_per_tok": N_EXPERTS_USED,
        "norm_topk_prob": True,
        "decoder_sparse_step": 1,
        "mlp_only_layers": [],
        "hidden_act": "silu",
        "rms_norm_eps": RMS_EPS,
        "rope_theta": ROPE_THETA,
        "rope_scaling": None,
        "max_position_embeddings": N_CTX_TRAIN,
        "vocab_size": tok.get_vocab_size(),
        "tie_word_embeddings": False,
        "attention_bias": False,
        "torch_dtype": "float32",
        "bos_token_id": ids["<|endoftext|>"],
        "eos_token_id": ids["<|im_end|>"],
    }
    (out / "config.json").write_text(json.dumps(config, indent=2), "utf-8")
    eos = [ids["<|im_end|>"], ids["<|endoftext|>"]]
    generation = {"bos_token_id": ids["<|endoftext|>"], "eos_token_id": eos}
    (out / "generation_config.json").write_text(json.dumps(generation, indent=2), "utf-8")
    save_file(weights, str(out / "model.safetensors"), metadata={"format": "pt"})
    tok.save(str(out / "tokenizer.json"))
    flags = {"lstrip": False, "normalized": False, "rstrip": False, "single_word": False}
    added = {
        str(tok.token_to_id(t)): {"content": t, "special": t in SPECIAL_TOKENS, **flags}
        for t in (*SPECIAL_TOKENS, *USER_TOKENS)
    }
    tokenizer_config = {
        "tokenizer_class": "Qwen2Tokenizer",
        "added_tokens_decoder": added,
        "additional_special_tokens": ["<|im_start|>", "<|im_end|>"],
        "bos_token": None,
        "eos_token": "<|im_end|>",
        "pad_token": "<|endoftext|>",
        "unk_token": None,
        "errors": "replace",
        "clean_up_tokenization_spaces": False,
        "split_special_tokens": False,
        "model_max_length": N_CTX_TRAIN,
        "chat_template": template,
    }
    (out / "tokenizer_config.json").write_text(json.dumps(tokenizer_config, indent=2), "utf-8")


def _write_gguf(path: Path, tok: Tokenizer, weights: dict[str, np.ndarray], template: str) -> None:
    """The GGUF file: qwen3moe hyper-parameters, the gpt2/qwen2 tokenizer, stacked expert tensors."""
    import gguf

    n_vocab = tok.get_vocab_size()
    vocab = tok.get_vocab(with_added_tokens=True)
    tokens = [""] * n_vocab
    for text, idx in vocab.items():
        tokens[idx] = text
    kinds = {t: gguf.TokenType.CONTROL for t in SPECIAL_TOKENS}
    kinds.update({t: gguf.TokenType.USER_DEFINED for t in USER_TOKENS})
    types = [kinds.get(t, gguf.TokenType.NORMAL) for t in tokens]
    merges = json.loads(tok.to_str())["model"]["merges"]
    merges = [m if isinstance(m, str) else " ".join(m) for m in merges]

    w = gguf.GGUFWriter(str(path), "qwen3moe")
    w.add_name("tiny-qwen3moe")
    w.add_file_type(gguf.LlamaFileType.ALL_F32)
    w.add_context_length(N_CTX_TRAIN)
    w.add_embedding_length(HIDDEN)
    w.add_block_count(N_LAYERS)
    w.add_feed_forward_length(DENSE_FF)
    w.add_head_count(N_HEADS)
    w.add_head_count_kv(N_KV_HEADS)
    w.add_key_length(HEAD_DIM)
    w.add_value_length(HEAD_DIM)
    w.add_rope_dimension_count(HEAD_DIM)
    w.add_rope_freq_base(ROPE_THETA)
    w.add_layer_norm_rms_eps(RMS_EPS)
    w.add_expert_count(N_EXPERTS)
    w.add_expert_used_count(N_EXPERTS_USED)
    w.add_expert_feed_forward_length(MOE_FF)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("qwen2")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(merges)
    w.add_bos_token_id(vocab["<|endoftext|>"])
    w.add_eos_token_id(vocab["<|im_end|>"])
    w.add_pad_token_id(vocab["<|endoftext|>"])
    w.add_add_bos_token(False)
    w.add_chat_template(template)

    w.add_tensor("token_embd.weight", weights["model.embed_tokens.weight"])
    for i in range(N_LAYERS):
        p, b = f"model.layers.{i}", f"blk.{i}"
        for hf, gg in _LAYER_TENSORS.items():
            w.add_tensor(f"{b}.{gg}.weight", weights[f"{p}.{hf}.weight"])
        for proj in ("gate", "up", "down"):  # numpy (n_expert, out, in) == ggml ne (in, out, n_expert)
            stacked = np.stack([weights[f"{p}.mlp.experts.{e}.{proj}_proj.weight"] for e in range(N_EXPERTS)])
            w.add_tensor(f"{b}.ffn_{proj}_exps.weight", stacked)
    w.add_tensor("output_norm.weight", weights["model.norm.weight"])
    w.add_tensor("output.weight", weights["lm_head.weight"])

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def write_tiny_moe(dest: Path, seed: int = 0) -> TinyModel:
    """Write the tiny qwen3moe model under ``dest`` as ``tiny-qwen3moe.gguf`` and ``tiny-qwen3moe-mlx/``."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    tok = _train_tokenizer()
    weights = _random_weights(seed, tok.get_vocab_size())
    template = builtin_template()
    model = TinyModel(
        gguf_path=dest / "tiny-qwen3moe.gguf",
        mlx_dir=dest / "tiny-qwen3moe-mlx",
        n_layers=N_LAYERS,
        n_kv_heads=N_KV_HEADS,
        head_dim=HEAD_DIM,
        n_vocab=tok.get_vocab_size(),
        n_ctx_train=N_CTX_TRAIN,
    )
    _write_hf(model.mlx_dir, tok, weights, template)
    _write_gguf(model.gguf_path, tok, weights, template)
    return model
