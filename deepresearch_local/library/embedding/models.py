"""Embedding models from the catalog: download them, remember them, and build embedders.

Catalog entries with ``kind = "embedding"`` (``models/bge-small-en-v1.5.toml`` …) are fetched by
the same resumable, sha256-verified downloader as agent models, into ``models_dir/<variant>/``,
but registered in their own registry file (``embedding-models.json`` beside ``models.json``),
so an embedding model never becomes the research agent's default model. The first one pulled
becomes the default embedder.
"""

from __future__ import annotations

from pathlib import Path

from deepresearch_local.errors import ModelError
from deepresearch_local.library.embedding.llama_embedder import Embedder
from deepresearch_local.library.embedding.spec import EmbeddingSpec, Pooling
from deepresearch_local.weights.catalog import (
    HubSource,
    Variant,
    find_embedding_variant,
    load_embedding_catalog,
)
from deepresearch_local.weights.events import DownloadControl, Emit, ignore
from deepresearch_local.weights.registry import RegisteredModel
from deepresearch_local.weights.registry import embedding_registry as embedding_registry  # re-exported


def spec_for_variant(variant: Variant) -> EmbeddingSpec:
    """The embedder settings a catalog entry gives (prefixes, token limit, pooling, size)."""
    info = variant.embedding
    if info is None:
        raise ModelError(f"{variant.id} is not an embedding model: pick one from the embedding catalog.")
    poolings: dict[str, Pooling] = {"mean": "mean", "cls": "cls", "last": "last"}
    return EmbeddingSpec(
        id=variant.family,
        query_prefix=info.query_prefix,
        document_prefix=info.document_prefix,
        max_tokens=info.max_tokens,
        pooling=poolings.get(info.pooling),
        dim=info.dim,
    )


def _variant_for_path(path: Path) -> Variant | None:
    return next(
        (v for v in load_embedding_catalog() if any(path.name in s.file_names for s in v.sources)),
        None,
    )


def pull_embedding_model(
    variant: str | Variant,
    *,
    emit: Emit = ignore,
    control: DownloadControl | None = None,
    dest_root: Path | None = None,
) -> RegisteredModel:
    """Download (or find already downloaded) one embedding variant and register it."""
    from deepresearch_local.weights.pull import Puller, PullTarget

    found = find_embedding_variant(variant) if isinstance(variant, str) else variant
    if found is None:
        known = ", ".join(v.id for v in load_embedding_catalog())
        raise ModelError(f"Unknown embedding model {variant!r}. The catalog has: {known}.")
    # the same repositories on ModelScope are tried after the listed sources
    mirrors = tuple(
        HubSource("modelscope", s.repo, s.file, s.files, s.include)
        for s in found.sources
        if s.hub == "hf" and not any(m.hub == "modelscope" and m.repo == s.repo for m in found.sources)
    )
    target = PullTarget(found.id, found.format, found.sources + mirrors, found.id, found)
    puller = Puller(target, dest_root=dest_root, emit=emit, control=control, registry=embedding_registry())
    return puller.run()


def embedder_for(name_or_path: str | Path | None = None, **options: int) -> Embedder:
    """An :class:`Embedder` for a downloaded catalog variant, a registered id, a GGUF path, or
    (None) the default embedding model; ``options`` go to ``Embedder`` (n_threads, batch_tokens …).
    """
    registry = embedding_registry()
    if name_or_path is None:
        default = registry.default_id()
        entry = registry.get(default) if default else None
        if entry is None:
            raise ModelError(
                "No embedding model is downloaded. Fetch one with `pull_embedding_model"
                "('bge-small-en-v1.5-q8_0')` (English) or 'bge-m3-q8_0' (multilingual)."
            )
    else:
        entry = registry.find(str(name_or_path))
    if entry is not None:
        variant = find_embedding_variant(entry.variant) if entry.variant else None
        path = Path(entry.path)
    else:
        variant = find_embedding_variant(str(name_or_path))
        if variant is not None:
            raise ModelError(
                f"{variant.id} is not downloaded yet: pull it first "
                f"(about {variant.approx_bytes // 1_000_000} MB)."
            )
        path = Path(str(name_or_path)).expanduser()
        variant = _variant_for_path(path)
    spec = spec_for_variant(variant) if variant is not None else EmbeddingSpec(id=path.stem)
    return Embedder(path, spec, **options)
