"""Read a model's shape without loading its weights: a GGUF header or an MLX/HF folder."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deepresearch_local.errors import ModelError

# Tensor types llama.cpp's CPU backend repacks into an interleaved copy at load time
# (x86 AVX2 / ARM NEON). The copy is extra resident memory while the mapped originals
# stay in the page cache (reclaimable).
CPU_REPACKED_TYPES = frozenset({"Q4_0", "Q4_K", "IQ4_NL"})


@dataclass(frozen=True)
class ModelShape:
    """What the memory calculator needs to know about a model."""

    name: str
    format: str
    """"gguf" or "mlx"."""
    architecture: str
    n_layers: int
    n_heads: int
    n_kv_heads: int
    key_length: int
    value_length: int
    n_embd: int
    n_ff: int
    """Feed-forward width per token: dense FFN width, or expert width × experts used for MoE."""
    n_vocab: int
    n_ctx_train: int
    weight_bytes: int
    """Bytes of tensor data (what must be in memory to run)."""
    cpu_repack_bytes: int = 0
    """Bytes of tensors llama.cpp's CPU backend copies into a repacked layout."""
    layer_bytes: tuple[int, ...] = ()
    """Tensor bytes per transformer block (for partial GPU offload)."""
    n_experts: int = 0
    n_experts_used: int = 0
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def non_layer_bytes(self) -> int:
        return self.weight_bytes - sum(self.layer_bytes)


def read_shape(path: str | Path) -> ModelShape:
    """Shape of a GGUF file or an MLX (Hugging Face layout) folder."""
    p = Path(path)
    if p.is_dir():
        return read_mlx_shape(p)
    if p.is_file():
        return read_gguf_shape(p)
    raise ModelError(f"No model at {p}: give a .gguf file or an MLX model folder.")


def _field(reader: Any, key: str) -> Any:
    f = reader.fields.get(key)
    if f is None:
        return None
    return f.contents()


def read_gguf_shape(path: Path) -> ModelShape:
    """Read the header and tensor table of a GGUF (the tensor data is memory-mapped, not read)."""
    from gguf import GGUFReader

    try:
        reader = GGUFReader(str(path))
    except Exception as exc:  # gguf raises ValueError / struct errors on bad files
        raise ModelError(
            f"{path.name} is not a readable GGUF file ({exc}). Re-download or verify it."
        ) from exc
    arch = str(_field(reader, "general.architecture") or "")
    if not arch:
        raise ModelError(f"{path.name} has no general.architecture: not a model GGUF.")

    def num(key: str, default: int = 0) -> int:
        value = _field(reader, f"{arch}.{key}")
        if isinstance(value, list):  # per-layer arrays: take the largest
            value = max(value) if value else None
        return int(value) if value is not None else default

    n_embd = num("embedding_length")
    n_heads = num("attention.head_count")
    n_kv = num("attention.head_count_kv", n_heads)
    head_dim = n_embd // n_heads if n_heads else 0
    n_layers = num("block_count")
    n_experts = num("expert_count")
    n_used = num("expert_used_count")
    n_ff = num("expert_feed_forward_length") * n_used if n_experts else num("feed_forward_length")
    tokens = _field(reader, "tokenizer.ggml.tokens")
    n_vocab = len(tokens) if isinstance(tokens, list) else num("vocab_size")

    weight = repack = 0
    per_layer = [0] * n_layers
    for tensor in reader.tensors:
        size = int(tensor.n_bytes)
        weight += size
        if tensor.tensor_type.name in CPU_REPACKED_TYPES and tensor.name != "token_embd.weight":
            repack += size
        if tensor.name.startswith("blk."):
            index = int(tensor.name.split(".")[1])
            if index < n_layers:
                per_layer[index] += size
    return ModelShape(
        name=path.name,
        format="gguf",
        architecture=arch,
        n_layers=n_layers,
        n_heads=n_heads,
        n_kv_heads=n_kv,
        key_length=num("attention.key_length", head_dim),
        value_length=num("attention.value_length", head_dim),
        n_embd=n_embd,
        n_ff=n_ff,
        n_vocab=n_vocab,
        n_ctx_train=num("context_length"),
        weight_bytes=weight,
        cpu_repack_bytes=repack,
        layer_bytes=tuple(per_layer),
        n_experts=n_experts,
        n_experts_used=n_used,
        details={"file_bytes": path.stat().st_size, "file_type": _field(reader, "general.file_type")},
    )


def read_mlx_shape(folder: Path) -> ModelShape:
    """Shape from config.json; weight bytes from the safetensors files' sizes."""
    config_path = folder / "config.json"
    if not config_path.is_file():
        raise ModelError(f"{folder} has no config.json: not an MLX / Hugging Face model folder.")
    try:
        cfg = json.loads(config_path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"Cannot read {config_path}: {exc}") from exc
    cfg = {**cfg.get("text_config", {}), **cfg}
    files = sorted(folder.glob("*.safetensors"))
    if not files:
        raise ModelError(f"{folder} has no .safetensors weights.")
    n_heads = int(cfg.get("num_attention_heads", 0))
    n_embd = int(cfg.get("hidden_size", 0))
    head_dim = int(cfg.get("head_dim") or (n_embd // n_heads if n_heads else 0))
    n_experts = int(cfg.get("num_experts") or cfg.get("num_local_experts") or 0)
    n_used = int(cfg.get("num_experts_per_tok") or 0)
    if n_experts:
        n_ff = int(cfg.get("moe_intermediate_size", 0)) * n_used
    else:
        n_ff = int(cfg.get("intermediate_size", 0))
    quant = cfg.get("quantization") or cfg.get("quantization_config") or {}
    return ModelShape(
        name=folder.name,
        format="mlx",
        architecture=str(cfg.get("model_type", "")),
        n_layers=int(cfg.get("num_hidden_layers", 0)),
        n_heads=n_heads,
        n_kv_heads=int(cfg.get("num_key_value_heads") or n_heads),
        key_length=head_dim,
        value_length=head_dim,
        n_embd=n_embd,
        n_ff=n_ff,
        n_vocab=int(cfg.get("vocab_size", 0)),
        n_ctx_train=int(cfg.get("max_position_embeddings", 0)),
        weight_bytes=sum(f.stat().st_size for f in files),
        n_experts=n_experts,
        n_experts_used=n_used,
        details={"quantization_bits": quant.get("bits") if isinstance(quant, dict) else None},
    )
