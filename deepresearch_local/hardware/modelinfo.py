"""Read a model's shape without loading its weights: a GGUF header or an MLX/HF folder."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
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
    expert_layer_bytes: tuple[int, ...] = ()
    """Bytes of the routed experts' tensors per block (``ffn_*_exps``; empty for a dense model)."""
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


def read_gguf_shape(path: Path) -> ModelShape:
    """Read the header and tensor table of a GGUF (arrays such as the vocabulary are skipped and
    the tensor data is never read). A split GGUF's other parts add their tensors."""
    from deepresearch_local.hardware.gguf_header import GGUFFormatError, read_header

    try:
        header = read_header(path)
    except (OSError, GGUFFormatError) as exc:
        raise ModelError(
            f"{path.name} is not a readable GGUF file ({exc}). Re-download or verify it."
        ) from exc
    fields = header.fields
    arch = str(fields.get("general.architecture") or "")
    if not arch:
        raise ModelError(f"{path.name} has no general.architecture: not a model GGUF.")

    def num(key: str, default: int = 0) -> int:
        value = fields.get(f"{arch}.{key}")
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
    n_vocab = header.array_lengths.get("tokenizer.ggml.tokens") or num("vocab_size")

    tensors = list(header.tensors)
    file_bytes = path.stat().st_size
    for part in _other_split_parts(path, int(fields.get("split.count") or 1)):
        try:
            tensors += read_header(part).tensors
            file_bytes += part.stat().st_size
        except (OSError, GGUFFormatError) as exc:
            raise ModelError(f"{part.name} (part of {path.name}) is not readable: {exc}") from exc
    weight = repack = 0
    per_layer = [0] * n_layers
    experts = [0] * n_layers
    for tensor in tensors:
        weight += tensor.n_bytes
        if tensor.type_name in CPU_REPACKED_TYPES and tensor.name != "token_embd.weight":
            repack += tensor.n_bytes
        if tensor.name.startswith("blk."):
            index = int(tensor.name.split(".")[1])
            if index < n_layers:
                per_layer[index] += tensor.n_bytes
                if "_exps." in tensor.name:
                    experts[index] += tensor.n_bytes
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
        expert_layer_bytes=tuple(experts) if any(experts) else (),
        details={"file_bytes": file_bytes, "file_type": fields.get("general.file_type")},
    )


def _other_split_parts(path: Path, count: int) -> list[Path]:
    """Parts 2..N of a split GGUF named ``NAME-00001-of-0000N.gguf`` (empty otherwise)."""
    import re

    m = re.match(r"^(?P<stem>.+)-00001-of-(?P<count>\d{5})\.gguf$", path.name)
    if count <= 1 or m is None:
        return []
    return [path.with_name(f"{m['stem']}-{i:05d}-of-{m['count']}.gguf") for i in range(2, count + 1)]


def shape_to_dict(shape: ModelShape) -> dict[str, Any]:
    """JSON-ready form (for the per-file cache in the registry)."""
    out = asdict(shape)
    out["layer_bytes"] = list(shape.layer_bytes)
    out["expert_layer_bytes"] = list(shape.expert_layer_bytes)
    out["details"] = dict(shape.details)
    return out


def shape_from_dict(data: Mapping[str, Any]) -> ModelShape:
    """Inverse of :func:`shape_to_dict`; raises ``TypeError``/``KeyError`` on a foreign dict."""
    known = {k: v for k, v in data.items() if k in ModelShape.__dataclass_fields__}
    known["layer_bytes"] = tuple(int(b) for b in known.get("layer_bytes", ()))
    if known.get("n_experts") and "expert_layer_bytes" not in known:
        raise KeyError("expert_layer_bytes")  # cached before experts were counted: read the file again
    known["expert_layer_bytes"] = tuple(int(b) for b in known.get("expert_layer_bytes", ()))
    known["details"] = dict(known.get("details", {}))
    return ModelShape(**known)


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
