"""Convert a BERT sentence-embedding folder (Hugging Face / sentence-transformers) to GGUF.

The input is a folder with ``config.json`` (``model_type`` "bert"), ``model.safetensors`` and
``tokenizer.json`` (or ``vocab.txt``); ``modules.json`` + ``*_Pooling/config.json`` give the
pooling (mean or CLS). The output loads in llama.cpp as architecture ``bert`` with a WordPiece
("bert") vocabulary, non-causal attention and the pooling written into the file.

This mirrors what llama.cpp's ``convert_hf_to_gguf.py`` does for ``BertModel`` without its
torch and transformers dependencies: tensors are read with numpy straight from the safetensors
file, 1-D tensors, norms, position and token-type embeddings stay F32, the matrices become F16
(or F32), the pooler and masked-LM heads are dropped, and the vocabulary is rewritten in the
"phantom space" form llama.cpp's WordPiece tokenizer expects (``##x`` -> ``x``, ``x`` -> ``▁x``,
control tokens unchanged). Only BERT proper is handled; XLM-RoBERTa (bge-m3, multilingual-e5)
and nomic-bert need llama.cpp's own converter or a ready-made GGUF from the catalog.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from deepresearch_local.atomic import atomic_path
from deepresearch_local.errors import ModelError

CONVERTER_VERSION = 1
"""Bump when the output changes, so caches keyed by it are rebuilt."""

OutType = Literal["f16", "f32"]
_PHANTOM = "\u2581"
_SAFETENSORS_DTYPES = {"F32": "<f4", "F16": "<f2", "BF16": "<u2", "F64": "<f8", "I64": "<i8", "I32": "<i4"}
_DROPPED = ("embeddings.position_ids", "pooler.dense.weight", "pooler.dense.bias")


@dataclass(frozen=True)
class BertFolder:
    """What the converter read from a model folder (also handy for reporting)."""

    config: dict[str, Any]
    tokens: list[str]
    special: dict[str, int]
    """Special token ids by role: cls, sep, pad, unk, mask (those the tokenizer defines)."""
    control: frozenset[int]
    pooling: Literal["mean", "cls"]


def read_safetensors(path: Path) -> dict[str, Any]:
    """Every tensor in a safetensors file as a float32/int numpy array (memory-mapped where it can)."""
    import numpy as np

    with path.open("rb") as fh:
        head = fh.read(8)
        if len(head) != 8:
            raise ModelError(f"{path} is not a safetensors file (too short). Download it again.")
        size = int.from_bytes(head, "little")
        if size > 100_000_000:
            raise ModelError(f"{path} is not a safetensors file (bad header). Download it again.")
        try:
            header = json.loads(fh.read(size))
        except ValueError as exc:
            raise ModelError(f"{path} has a broken safetensors header: {exc}. Download it again.") from exc
    start = 8 + size
    total = path.stat().st_size
    raw = np.memmap(path, dtype=np.uint8, mode="r")
    out: dict[str, Any] = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = _SAFETENSORS_DTYPES.get(info["dtype"])
        if dtype is None:
            raise ModelError(f"{path}: tensor {name} has unsupported dtype {info['dtype']}.")
        begin, end = info["data_offsets"]
        if start + end > total:
            raise ModelError(f"{path} is truncated (tensor {name} runs past the end). Download it again.")
        array = raw[start + begin : start + end].view(dtype).reshape(info["shape"])
        if info["dtype"] == "BF16":
            array = (array.astype(np.uint32) << 16).view(np.float32)
        out[name] = array
    return out


def _vocab(folder: Path) -> tuple[list[str], dict[str, int], frozenset[int]]:
    """(tokens by id, special ids by role, ids of control tokens) from tokenizer.json or vocab.txt."""
    roles = {"cls": "[CLS]", "sep": "[SEP]", "pad": "[PAD]", "unk": "[UNK]", "mask": "[MASK]"}
    config_path = folder / "tokenizer_config.json"
    if config_path.is_file():
        config = json.loads(config_path.read_text("utf-8"))
        for role in roles:
            value = config.get(f"{role}_token")
            if isinstance(value, dict):
                value = value.get("content")
            if isinstance(value, str):
                roles[role] = value
    vocab: dict[str, int]
    control: set[int] = set()
    tokenizer_json = folder / "tokenizer.json"
    if tokenizer_json.is_file():
        data = json.loads(tokenizer_json.read_text("utf-8"))
        model = data.get("model", {})
        if model.get("type") != "WordPiece":
            raise ModelError(
                f"{tokenizer_json} holds a {model.get('type')} tokenizer; this converter handles "
                "BERT WordPiece models only."
            )
        vocab = dict(model["vocab"])
        for added in data.get("added_tokens", []):
            vocab[added["content"]] = added["id"]
            if added.get("special"):
                control.add(added["id"])
    elif (folder / "vocab.txt").is_file():
        lines = (folder / "vocab.txt").read_text("utf-8").splitlines()
        vocab = {tok: i for i, tok in enumerate(lines)}
    else:
        raise ModelError(
            f"{folder} has neither tokenizer.json nor vocab.txt: it is not a complete BERT folder."
        )
    special = {role: vocab[tok] for role, tok in roles.items() if tok in vocab}
    if not control:
        control = set(special.values())
    size = max(vocab.values()) + 1
    tokens = [f"[PAD{i}]" for i in range(size)]
    for tok, i in vocab.items():
        tokens[i] = tok
    return tokens, special, frozenset(control)


def _pooling(folder: Path) -> Literal["mean", "cls"]:
    modules = folder / "modules.json"
    if modules.is_file():
        for module in json.loads(modules.read_text("utf-8")):
            if str(module.get("type", "")).endswith("Pooling"):
                config = json.loads((folder / module["path"] / "config.json").read_text("utf-8"))
                if config.get("pooling_mode_mean_tokens") or config.get("pooling_mode") == "mean":
                    return "mean"
                if config.get("pooling_mode_cls_token") or config.get("pooling_mode") == "cls":
                    return "cls"
                raise ModelError(f"{folder}: only mean and CLS pooling are supported.")
    return "mean"


def read_folder(folder: Path) -> BertFolder:
    config_path = folder / "config.json"
    if not config_path.is_file():
        raise ModelError(f"{folder} has no config.json: point at a sentence-transformers/BERT model folder.")
    config = json.loads(config_path.read_text("utf-8"))
    if config.get("model_type") != "bert":
        raise ModelError(
            f"{folder} is a {config.get('model_type')!r} model; this converter handles BERT only. "
            "Use a GGUF build from the embedding catalog instead."
        )
    tokens, special, control = _vocab(folder)
    return BertFolder(config, tokens, special, control, _pooling(folder))


def _tensor_name(name: str) -> str | None:
    """The HF name llama.cpp's tensor map knows, or None for tensors an embedder does not use."""
    if name.startswith("bert."):
        name = name[5:]
    if name.endswith(".gamma"):
        name = name[:-6] + ".weight"
    if name.endswith(".beta"):
        name = name[:-5] + ".bias"
    if name in _DROPPED or name.startswith("cls."):
        return None
    return name


def convert_bert(folder: Path, dest: Path, *, outtype: OutType = "f16", name: str | None = None) -> Path:
    """Write ``dest`` (a GGUF) from the BERT folder; written to a temporary name, then renamed."""
    import gguf
    import numpy as np

    info = read_folder(folder)
    cfg = info.config
    weights = folder / "model.safetensors"
    if not weights.is_file():
        raise ModelError(
            f"{folder} has no model.safetensors (pytorch_model.bin is not read): save the model as "
            "safetensors first."
        )
    tensors = read_safetensors(weights)
    n_layers = int(cfg["num_hidden_layers"])
    arch = gguf.MODEL_ARCH.BERT
    names = gguf.get_tensor_name_map(arch, n_layers)
    f32_kinds = (gguf.MODEL_TENSOR.POS_EMBD, gguf.MODEL_TENSOR.TOKEN_TYPES)
    f32_names = {gguf.TENSOR_NAMES[k] + ".weight" for k in f32_kinds}

    with atomic_path(dest) as tmp:  # a failure removes the half-written file
        writer = gguf.GGUFWriter(str(tmp), gguf.MODEL_ARCH_NAMES[arch])
        try:
            writer.add_name(name or folder.name)
            writer.add_file_type(
                gguf.LlamaFileType.MOSTLY_F16 if outtype == "f16" else gguf.LlamaFileType.ALL_F32
            )
            writer.add_block_count(n_layers)
            writer.add_context_length(int(cfg["max_position_embeddings"]))
            writer.add_embedding_length(int(cfg["hidden_size"]))
            writer.add_feed_forward_length(int(cfg["intermediate_size"]))
            writer.add_head_count(int(cfg["num_attention_heads"]))
            writer.add_layer_norm_eps(float(cfg.get("layer_norm_eps", 1e-12)))
            writer.add_causal_attention(False)
            writer.add_pooling_type(gguf.PoolingType.MEAN if info.pooling == "mean" else gguf.PoolingType.CLS)
            writer.add_token_type_count(int(cfg.get("type_vocab_size", 1)))

            toktypes = [
                gguf.TokenType.CONTROL
                if i in info.control
                else gguf.TokenType.UNUSED
                if tok == f"[PAD{i}]"
                else gguf.TokenType.NORMAL
                for i, tok in enumerate(info.tokens)
            ]
            phantom = [
                tok if kind == gguf.TokenType.CONTROL else tok[2:] if tok.startswith("##") else _PHANTOM + tok
                for tok, kind in zip(info.tokens, toktypes)
            ]
            writer.add_tokenizer_model("bert")
            writer.add_tokenizer_pre("default")
            writer.add_token_list(phantom)
            writer.add_token_types(toktypes)
            ids = info.special
            if "cls" in ids:
                writer.add_bos_token_id(ids["cls"])
            for role, add in (
                ("sep", writer.add_sep_token_id),
                ("pad", writer.add_pad_token_id),
                ("unk", writer.add_unk_token_id),
                ("mask", writer.add_mask_token_id),
            ):
                if role in ids:
                    add(ids[role])

            for hf_name, array in tensors.items():
                short = _tensor_name(hf_name)
                if short is None:
                    continue
                new = names.get_name(short, try_suffixes=(".weight", ".bias"))
                if new is None:
                    raise ModelError(
                        f"{folder}: tensor {hf_name} has no llama.cpp name; is this a plain BERT model?"
                    )
                keep_f32 = (
                    outtype == "f32" or array.ndim <= 1 or new.endswith("_norm.weight") or new in f32_names
                )
                data = np.ascontiguousarray(array, dtype=np.float32 if keep_f32 else np.float16)
                writer.add_tensor(new, data)

            writer.write_header_to_file()
            writer.write_kv_data_to_file()
            writer.write_tensors_to_file()
            writer.close()
        except BaseException:
            writer.close()
            raise
    return dest
