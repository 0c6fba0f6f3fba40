"""A plain numpy BERT encoder with mean/CLS pooling: the reference the GGUF conversion is checked
against. It reads the safetensors with the ``safetensors`` package and tokenises with the
``tokenizers`` package (neither is used by the converter), so the two paths share no code.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np


def _erf(x: np.ndarray) -> np.ndarray:
    # Abramowitz & Stegun 7.1.26 (absolute error below 1.5e-7): enough for an exact-GELU reference.
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return np.asarray(sign * (1.0 - poly * np.exp(-a * a)))


def _gelu(x: np.ndarray) -> np.ndarray:
    return np.asarray(0.5 * x * (1.0 + _erf(x / np.sqrt(2.0))))


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return np.asarray((x - mean) / np.sqrt(var + eps) * w + b)


class BertReference:
    def __init__(self, folder: Path) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        self.config: dict[str, Any] = json.loads((folder / "config.json").read_text("utf-8"))
        raw = load_file(str(folder / "model.safetensors"))
        self.w = {k.removeprefix("bert."): v.astype(np.float64) for k, v in raw.items()}
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.no_truncation()
        pooling = json.loads((folder / "1_Pooling" / "config.json").read_text("utf-8"))
        self.cls_pooling = bool(pooling.get("pooling_mode_cls_token"))

    def token_ids(self, text: str) -> list[int]:
        return list(self.tokenizer.encode(text).ids)

    def encode_ids(self, ids: list[int]) -> np.ndarray:
        """The pooled, L2-normalised sentence vector for one token sequence (with CLS/SEP)."""
        c, w = self.config, self.w
        eps = float(c.get("layer_norm_eps", 1e-12))
        n_heads = int(c["num_attention_heads"])
        n = len(ids)
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][:n]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
        d = x.shape[1] // n_heads
        for i in range(int(c["num_hidden_layers"])):
            p = f"encoder.layer.{i}."

            def lin(h: np.ndarray, name: str, p: str = p) -> np.ndarray:
                return np.asarray(h @ w[p + name + ".weight"].T + w[p + name + ".bias"])

            q = lin(x, "attention.self.query").reshape(n, n_heads, d).transpose(1, 0, 2)
            k = lin(x, "attention.self.key").reshape(n, n_heads, d).transpose(1, 0, 2)
            v = lin(x, "attention.self.value").reshape(n, n_heads, d).transpose(1, 0, 2)
            scores = q @ k.transpose(0, 2, 1) / np.sqrt(d)
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            scores /= scores.sum(-1, keepdims=True)
            ctx = (scores @ v).transpose(1, 0, 2).reshape(n, n_heads * d)
            x = _layer_norm(
                x + lin(ctx, "attention.output.dense"),
                w[p + "attention.output.LayerNorm.weight"],
                w[p + "attention.output.LayerNorm.bias"],
                eps,
            )
            h = _gelu(lin(x, "intermediate.dense"))
            x = _layer_norm(
                x + lin(h, "output.dense"),
                w[p + "output.LayerNorm.weight"],
                w[p + "output.LayerNorm.bias"],
                eps,
            )
        pooled = x[0] if self.cls_pooling else x.mean(0)
        return np.asarray(pooled / np.linalg.norm(pooled), dtype=np.float32)

    def encode(self, text: str) -> np.ndarray:
        return self.encode_ids(self.token_ids(text))
