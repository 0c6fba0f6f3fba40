"""The model catalog: the data files in the top-level ``models/`` folder (shipped in the wheel).

Agent models (``load_catalog``) and sentence-embedding models for library search
(``load_embedding_catalog``, families with ``kind = "embedding"``) live in the same folder but
are listed apart, so an embedding model is never offered as the research agent.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from deepresearch_local.errors import ConfigError
from deepresearch_local.hardware.modelinfo import ModelShape

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


@dataclass(frozen=True)
class HubSource:
    hub: str
    """"hf" (Hugging Face, or the mirror in HF_ENDPOINT) or "modelscope"."""
    repo: str
    file: str | None = None
    """The (first) file of a GGUF build; None for a whole-folder (MLX) build."""
    files: tuple[str, ...] = ()
    """Every part of a split GGUF, in order (empty for one file or a folder)."""
    include: tuple[str, ...] = ()
    """Glob patterns for a whole-folder build (empty: the default patterns)."""
    revision: str | None = None
    """A branch, tag or commit; None: the hub's default branch."""

    @property
    def is_folder(self) -> bool:
        return self.file is None

    @property
    def file_names(self) -> tuple[str, ...]:
        """The files to fetch; empty for a folder (listed from the hub at download time)."""
        return self.files or ((self.file,) if self.file else ())

    @property
    def label(self) -> str:
        where = {"hf": "Hugging Face", "modelscope": "ModelScope"}.get(self.hub, self.hub)
        return f"{where} {self.repo}" + (f":{self.file}" if self.file else "")


@dataclass(frozen=True)
class EmbeddingInfo:
    """How an embedding model is used (its ``[family.embedding]`` table)."""

    dim: int
    max_tokens: int
    pooling: str
    query_prefix: str = ""
    document_prefix: str = ""
    languages: str = ""


@dataclass(frozen=True)
class Variant:
    id: str
    family: str
    format: str
    quant: str
    approx_bytes: int
    quality: int
    """Higher is closer to the original weights; used to rank what fits."""
    sources: tuple[HubSource, ...]
    notes: str
    recommended: bool
    shape: ModelShape
    """The architecture with this variant's approximate weight size."""
    kind: str = "agent"
    """"agent" or "embedding" (a sentence-embedding model for library search)."""
    embedding: EmbeddingInfo | None = None


def catalog_dir() -> Path:
    """Inside an installed wheel the catalog is package data; in a checkout it is ``models/``."""
    packaged = Path(__file__).resolve().parent.parent / "catalog_data"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent.parent / "models"


def _shape(family: dict[str, Any], approx_bytes: int, name: str, fmt: str) -> ModelShape:
    from dataclasses import replace

    from deepresearch_local.hardware.offload import estimated_expert_bytes

    s = family["shape"]
    shape = ModelShape(
        name=name,
        format=fmt,
        architecture=s["architecture"],
        n_layers=s["n_layers"],
        n_heads=s["n_heads"],
        n_kv_heads=s["n_kv_heads"],
        key_length=s["head_dim"],
        value_length=s["head_dim"],
        n_embd=s["n_embd"],
        n_ff=s["expert_ff"] * s["n_experts_used"] if s.get("n_experts") else s["n_ff"],
        n_vocab=s["n_vocab"],
        n_ctx_train=s["n_ctx_train"],
        weight_bytes=approx_bytes,
        n_experts=s.get("n_experts", 0),
        n_experts_used=s.get("n_experts_used", 0),
    )
    return replace(shape, expert_layer_bytes=estimated_expert_bytes(shape))


def _source(s: dict[str, Any]) -> HubSource:
    files = tuple(s.get("files", ()))
    return HubSource(
        hub=s["hub"],
        repo=s["repo"],
        file=s.get("file") or (files[0] if files else None),
        files=files,
        include=tuple(s.get("include", ())),
        revision=s.get("revision"),
    )


def parse_family(data: dict[str, Any], origin: str) -> list[Variant]:
    """The variants of one catalog file (checked against the schema first)."""
    from deepresearch_local.weights.schema import validate_family

    problems = validate_family(data)
    if problems:
        listed = "; ".join(problems[:8]) + (f" (and {len(problems) - 8} more)" if len(problems) > 8 else "")
        raise ConfigError(f"Catalog file {origin} does not follow the schema: {listed}")
    try:
        family = data["family"]
        table = family.get("embedding")
        embedding = EmbeddingInfo(**table) if isinstance(table, dict) else None
        out = []
        for v in data["variant"]:
            out.append(
                Variant(
                    id=v["id"],
                    family=family["id"],
                    format=v["format"],
                    quant=v["quant"],
                    approx_bytes=int(v["approx_bytes"]),
                    quality=int(v["quality"]),
                    sources=tuple(_source(s) for s in v["sources"]),
                    notes=v.get("notes", ""),
                    recommended=bool(v.get("recommended", False)),
                    shape=_shape(family, int(v["approx_bytes"]), v["id"], v["format"]),
                    kind=family.get("kind", "agent"),
                    embedding=embedding,
                )
            )
        return out
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"Catalog file {origin} is malformed: missing or bad {exc}") from exc


@lru_cache(maxsize=1)
def _load_all() -> tuple[Variant, ...]:
    variants: list[Variant] = []
    for path in sorted(catalog_dir().glob("*.toml")):
        variants.extend(parse_family(tomllib.loads(path.read_text("utf-8")), path.name))
    return tuple(variants)


def load_catalog() -> tuple[Variant, ...]:
    """The agent models (embedding models are in :func:`load_embedding_catalog`)."""
    return tuple(v for v in _load_all() if v.kind == "agent")


def load_embedding_catalog() -> tuple[Variant, ...]:
    """The sentence-embedding models for library search."""
    return tuple(v for v in _load_all() if v.kind == "embedding")


def find_embedding_variant(variant_id: str) -> Variant | None:
    return next((v for v in load_embedding_catalog() if v.id == variant_id), None)


def find_variant(variant_id: str) -> Variant | None:
    return next((v for v in load_catalog() if v.id == variant_id), None)


def variant_for_file(name: str) -> Variant | None:
    """The catalog variant one of whose sources is this file name (for imports and scans)."""
    for variant in load_catalog():
        if any(source.file_names and name == source.file_names[0] for source in variant.sources):
            return variant
    return None
