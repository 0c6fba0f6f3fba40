"""The BERT-to-GGUF converter: llama.cpp loads its output and computes the same sentence vectors
as an independent numpy BERT (safetensors + tokenizers packages) on the original weights."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from deepresearch_local.errors import ModelError
from deepresearch_local.library.embedding import Embedder
from deepresearch_local.weights.bert_gguf import convert_bert, read_folder
from tests.support.bert_reference import BertReference

SENTENCES = [
    "How do I make a function remember earlier results?",
    "SQLite's FTS5 extension ranks matches with BM25.",
    "Le café de la gare ouvre à six heures, n'est-ce pas ?",
    "東京の天気は晴れです。 Mixed text with unicode — dashes, “quotes” and 3.14159.",
    "a",
]


@pytest.fixture(scope="module")
def reference(minilm_folder: Path) -> BertReference:
    return BertReference(minilm_folder)


def test_llama_cpp_tokenises_like_the_original_tokenizer(minilm: Embedder, reference: BertReference) -> None:
    minilm.load()
    for text in SENTENCES:
        assert minilm._llm.tokenize(text.encode(), add_bos=True, special=False) == reference.token_ids(text)


def test_converted_model_matches_the_numpy_reference(minilm: Embedder, reference: BertReference) -> None:
    got = minilm.embed(SENTENCES)
    for text, row in zip(SENTENCES, got):
        want = reference.encode(text)
        assert float(row @ want) >= 0.99, text
    # and the sentences are told apart: no two different sentences are near-identical
    sims = got @ got.T
    assert (sims[~np.eye(len(SENTENCES), dtype=bool)] < 0.95).all()


def test_gguf_header_describes_a_mean_pooled_bert(minilm_gguf: Path, minilm_folder: Path) -> None:
    import gguf

    reader = gguf.GGUFReader(minilm_gguf)

    def field(key: str) -> object:
        return reader.fields[key].contents()

    assert field("general.architecture") == "bert"
    assert field("bert.pooling_type") == int(gguf.PoolingType.MEAN)
    assert field("bert.attention.causal") is False
    assert field("bert.block_count") == 6 and field("bert.embedding_length") == 384
    assert field("tokenizer.ggml.model") == "bert"
    tokens = field("tokenizer.ggml.tokens")
    assert isinstance(tokens, list)
    vocab = json.loads((minilm_folder / "tokenizer.json").read_text("utf-8"))["model"]["vocab"]
    assert len(tokens) == len(vocab)
    # WordPiece in llama.cpp's "phantom space" form: word starts get "▁", "##" pieces lose it
    assert tokens[vocab["the"]] == "\u2581the" and tokens[vocab["##ing"]] == "ing"
    assert tokens[vocab["[CLS]"]] == "[CLS]" and field("tokenizer.ggml.bos_token_id") == vocab["[CLS]"]
    names = {t.name for t in reader.tensors}
    assert "token_types.weight" in names and not any("pooler" in n for n in names)
    types = {t.name: t.tensor_type for t in reader.tensors}
    assert types["token_embd.weight"] == gguf.GGMLQuantizationType.F16
    assert types["position_embd.weight"] == gguf.GGMLQuantizationType.F32


def test_f32_conversion_agrees_with_f16(minilm_folder: Path, minilm: Embedder, tmp_path: Path) -> None:
    path = convert_bert(minilm_folder, tmp_path / "minilm-f32.gguf", outtype="f32")
    with Embedder(path, minilm.spec, n_threads=1) as f32:
        a = f32.embed(SENTENCES[:3])
    b = minilm.embed(SENTENCES[:3])
    assert np.min(np.sum(a * b, axis=1)) > 0.999


def _copy_folder(src: Path, dest: Path) -> Path:
    shutil.copytree(src, dest)
    return dest


def test_converter_refuses_other_architectures(minilm_folder: Path, tmp_path: Path) -> None:
    folder = _copy_folder(minilm_folder, tmp_path / "xlmr")
    config = json.loads((folder / "config.json").read_text())
    config["model_type"] = "xlm-roberta"
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelError, match=r"BERT only.*catalog"):
        read_folder(folder)


def test_converter_reports_missing_and_truncated_weights(minilm_folder: Path, tmp_path: Path) -> None:
    folder = _copy_folder(minilm_folder, tmp_path / "broken")
    weights = folder / "model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError, match=r"truncated.*Download it again"):
        convert_bert(folder, tmp_path / "out.gguf")
    assert not [p.name for p in tmp_path.iterdir() if "out.gguf" in p.name]  # nor a temporary file
    weights.unlink()
    with pytest.raises(ModelError, match=r"no model.safetensors"):
        convert_bert(folder, tmp_path / "out.gguf")
    (folder / "config.json").unlink()
    with pytest.raises(ModelError, match=r"no config.json"):
        convert_bert(folder, tmp_path / "out.gguf")


def test_cls_pooling_folder_converts_to_a_cls_model(minilm_folder: Path, tmp_path: Path) -> None:
    # bge models pool the [CLS] token: the converter must carry that into the GGUF
    folder = _copy_folder(minilm_folder, tmp_path / "cls")
    pooling = folder / "1_Pooling" / "config.json"
    config = json.loads(pooling.read_text())
    config.update(pooling_mode_mean_tokens=False, pooling_mode_cls_token=True)
    pooling.write_text(json.dumps(config))
    path = convert_bert(folder, tmp_path / "cls.gguf")
    reference = BertReference(folder)
    with Embedder(path, n_threads=1) as emb:
        got = emb.embed(SENTENCES[:3])
    for text, row in zip(SENTENCES[:3], got):
        assert float(row @ reference.encode(text)) >= 0.99


def test_vocab_txt_gives_the_same_vocabulary(minilm_folder: Path, minilm_gguf: Path, tmp_path: Path) -> None:
    import gguf

    folder = _copy_folder(minilm_folder, tmp_path / "vocab")
    vocab = json.loads((folder / "tokenizer.json").read_text("utf-8"))["model"]["vocab"]
    (folder / "vocab.txt").write_text("\n".join(sorted(vocab, key=vocab.__getitem__)) + "\n", "utf-8")
    (folder / "tokenizer.json").unlink()
    path = convert_bert(folder, tmp_path / "vocab.gguf")

    def tokens(p: Path) -> tuple[object, object]:
        reader = gguf.GGUFReader(p)
        return reader.fields["tokenizer.ggml.tokens"].contents(), reader.fields[
            "tokenizer.ggml.token_type"
        ].contents()

    assert tokens(path) == tokens(minilm_gguf)
