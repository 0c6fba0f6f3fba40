"""The minimal GGUF header reader against gguf's own reader: the same keys, array lengths and
tensor sizes on the real 0.5B model and on a 30B-shaped header; large arrays are skipped; bad
files get a clear error."""

from __future__ import annotations

from pathlib import Path

import gguf
import pytest

from deepresearch_local.bench.fake_gguf import N_VOCAB, write_fake_30b
from deepresearch_local.errors import ModelError
from deepresearch_local.hardware.gguf_header import GGUFFormatError, file_type_name, read_header
from deepresearch_local.hardware.modelinfo import read_gguf_shape, shape_from_dict, shape_to_dict


@pytest.fixture(scope="module")
def fake30b(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("fake30b") / "fake-30b.gguf"
    write_fake_30b(path)
    return path


def _compare_with_gguf_reader(path: Path) -> None:
    ours = read_header(path)
    theirs = gguf.GGUFReader(str(path))
    assert [t.name for t in ours.tensors] == [t.name for t in theirs.tensors]
    assert [t.n_bytes for t in ours.tensors] == [int(t.n_bytes) for t in theirs.tensors]
    assert [t.type_name for t in ours.tensors] == [t.tensor_type.name for t in theirs.tensors]
    for key, field in theirs.fields.items():
        if key.startswith("GGUF."):
            continue
        value = field.contents()
        if isinstance(value, list):
            assert ours.array_lengths[key] == len(value), key
            if key in ours.fields:  # small numeric arrays are read
                assert ours.fields[key] == value, key
        else:
            assert ours.fields[key] == value, key


def test_same_answers_as_gguf_reader_on_the_real_model(qwen05b: Path) -> None:
    _compare_with_gguf_reader(qwen05b)
    header = read_header(qwen05b)
    # The vocabulary and merges were skipped, only counted.
    assert "tokenizer.ggml.tokens" not in header.fields
    assert header.array_lengths["tokenizer.ggml.tokens"] == 151936
    assert file_type_name(header.fields["general.file_type"]) == "Q4_K_M"


def test_a_30b_shaped_header(fake30b: Path) -> None:
    shape = read_gguf_shape(fake30b)
    assert (shape.n_vocab, shape.n_layers, shape.n_experts, shape.n_ff) == (N_VOCAB, 48, 128, 6144)
    assert 17e9 < shape.weight_bytes < 21e9  # a Q4_K_M-sized 30B
    assert len(set(shape.layer_bytes)) == 1 and shape.layer_bytes[0] > 0
    assert shape_from_dict(shape_to_dict(shape)) == shape  # the cache round trip


def test_wanted_arrays_are_read(fake30b: Path) -> None:
    header = read_header(fake30b, wanted=lambda key: key == "tokenizer.ggml.tokens")
    tokens = header.fields["tokenizer.ggml.tokens"]
    assert len(tokens) == N_VOCAB and tokens[:2] == ["tok000000", "tok000001"]
    assert "tokenizer.ggml.merges" not in header.fields


def test_truncated_and_foreign_files_are_clear_errors(fake30b: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.gguf"
    with open(fake30b, "rb") as f:
        cut.write_bytes(f.read(2_000_000))  # ends inside the vocabulary
    with pytest.raises(GGUFFormatError, match="truncated"):
        read_header(cut)
    with pytest.raises(ModelError, match=r"not a readable GGUF.*Re-download or verify"):
        read_gguf_shape(cut)
    empty = tmp_path / "empty.gguf"
    empty.write_bytes(b"")
    with pytest.raises(ModelError, match="magic"):
        read_gguf_shape(empty)
