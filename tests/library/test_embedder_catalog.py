"""Embedding models in the catalog: the schema holds them, they stay out of the agent model
lists, and one is pulled through the real downloader (from a hub on 127.0.0.1) and used."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from deepresearch_local.errors import ModelError
from deepresearch_local.library.embedding import Embedder, EmbeddingSpec
from deepresearch_local.library.embedding.models import (
    embedder_for,
    embedding_registry,
    pull_embedding_model,
    spec_for_variant,
)
from deepresearch_local.weights.catalog import find_variant, load_catalog, load_embedding_catalog
from deepresearch_local.weights.registry import Registry
from deepresearch_local.weights.schema import validate_family
from tests.weights.fakehub import FakeHub

EMBEDDING_FAMILY: dict[str, Any] = {
    "family": {
        "id": "demo-embed",
        "name": "Demo embedder",
        "kind": "embedding",
        "license": "MIT",
        "upstream": "acme/demo-embed",
        "description": "A demo.",
        "embedding": {"dim": 384, "max_tokens": 512, "pooling": "mean", "query_prefix": "query: "},
        "shape": {
            "architecture": "bert",
            "n_layers": 6,
            "n_heads": 12,
            "n_kv_heads": 12,
            "head_dim": 32,
            "n_embd": 384,
            "n_ff": 1536,
            "n_vocab": 30522,
            "n_ctx_train": 512,
        },
    },
    "variant": [
        {
            "id": "demo-embed-f16",
            "format": "gguf",
            "quant": "F16",
            "approx_bytes": 46_000_000,
            "quality": 9,
            "sources": [{"hub": "hf", "repo": "acme/demo-embed-gguf", "file": "demo-embed-f16.gguf"}],
        }
    ],
}


def test_the_catalog_has_an_english_and_a_multilingual_embedder() -> None:
    models = load_embedding_catalog()
    assert {v.embedding.languages for v in models if v.embedding} >= {"en", "multilingual"}
    for v in models:
        assert v.kind == "embedding" and v.embedding is not None, v.id
        assert v.format == "gguf" and v.sources[0].hub == "hf"
        assert all(s.file and v.quant.lower() in s.file.lower() for s in v.sources), v.id
        spec = spec_for_variant(v)
        assert spec.dim == v.shape.n_embd and spec.max_tokens and spec.max_tokens <= v.shape.n_ctx_train
    e5 = spec_for_variant(next(v for v in models if v.family == "multilingual-e5-large"))
    assert (e5.query_prefix, e5.document_prefix, e5.pooling) == ("query: ", "passage: ", "mean")
    bge = spec_for_variant(next(v for v in models if v.family == "bge-small-en-v1.5"))
    assert bge.query_prefix.startswith("Represent this sentence") and bge.document_prefix == ""
    families = {v.family for v in models}
    for family in families:
        assert sum(v.recommended for v in models if v.family == family) == 1, family


def test_embedding_models_are_never_agent_models() -> None:
    agent_ids = {v.id for v in load_catalog()}
    for v in load_embedding_catalog():
        assert v.id not in agent_ids and find_variant(v.id) is None
    assert all(v.kind == "agent" and v.embedding is None for v in load_catalog())


def test_schema_checks_the_embedding_table() -> None:
    assert validate_family(EMBEDDING_FAMILY) == []
    no_table = copy.deepcopy(EMBEDDING_FAMILY)
    del no_table["family"]["embedding"]
    assert any("needs an [family.embedding]" in p for p in validate_family(no_table))
    bad = copy.deepcopy(EMBEDDING_FAMILY)
    bad["family"]["embedding"].update(pooling="max", dim=0, colour="red")
    problems = validate_family(bad)
    assert any("'pooling' must be one of" in p for p in problems)
    assert any("'dim' must be positive" in p for p in problems)
    assert any("unknown key 'colour'" in p for p in problems)
    agent = copy.deepcopy(EMBEDDING_FAMILY)
    del agent["family"]["kind"]
    problems = validate_family(agent)
    assert any('needs kind = "embedding"' in p for p in problems)
    assert any("below 100 MB" in p for p in problems)  # agent models are never that small
    unknown = copy.deepcopy(EMBEDDING_FAMILY)
    unknown["family"]["kind"] = "reranker"
    assert any("'kind' must be one of" in p for p in validate_family(unknown))


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    for name in ("HF_TOKEN", "HF_HUB_OFFLINE", "MODELSCOPE_DOMAIN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MODELSCOPE_ENDPOINT", "http://127.0.0.1:9")
    with FakeHub() as server:
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        yield server


def test_pull_registers_apart_and_builds_the_embedder(hub: FakeHub, minilm_gguf: Path) -> None:
    variant = next(v for v in load_embedding_catalog() if v.id == "bge-small-en-v1.5-q8_0")
    source = variant.sources[0]
    assert source.file is not None
    # the hub serves our converted MiniLM under bge-small's name: same size of vectors (384)
    hub.add(source.repo, source.file, minilm_gguf.read_bytes())
    with pytest.raises(ModelError, match=r"not downloaded yet: pull it first"):
        embedder_for(variant.id)
    with pytest.raises(ModelError, match=r"No embedding model is downloaded"):
        embedder_for()

    entry = pull_embedding_model(variant.id)
    assert Path(entry.path).read_bytes() == minilm_gguf.read_bytes() and entry.variant == variant.id
    assert Registry().entries() == []  # the agent models' registry is untouched
    assert embedding_registry().default_id() == variant.id

    with embedder_for(n_threads=1) as emb:  # the default embedder: the one just pulled
        assert emb.spec == spec_for_variant(variant) and emb.id == "bge-small-en-v1.5"
        docs = emb.embed_documents(["Memoization caches return values.", "chmod changes file permissions."])
        assert docs.shape == (2, 384) and np.allclose(np.linalg.norm(docs, axis=1), 1.0, atol=1e-5)
        # the catalog's CLS pooling replaced the file's mean pooling
        with Embedder(minilm_gguf, EmbeddingSpec(pooling="cls"), n_threads=1) as cls:
            assert float(docs[0] @ cls.embed(["Memoization caches return values."])[0]) > 0.9999
        with Embedder(minilm_gguf, n_threads=1) as mean:
            assert float(docs[0] @ mean.embed(["Memoization caches return values."])[0]) < 0.99
    # a second pull finds it in place
    assert pull_embedding_model(variant.id).path == entry.path
    with pytest.raises(ModelError, match=r"Unknown embedding model 'tongyi-30b-q4_k_m'"):
        pull_embedding_model("tongyi-30b-q4_k_m")


def test_a_plain_path_gets_its_catalog_spec_by_file_name(minilm_gguf: Path, tmp_path: Path) -> None:
    named = tmp_path / "bge-small-en-v1.5-f16.gguf"
    named.symlink_to(minilm_gguf)
    assert embedder_for(named).spec.query_prefix.startswith("Represent this sentence")
    other = embedder_for(minilm_gguf)
    assert other.spec.query_prefix == "" and other.id == minilm_gguf.stem
