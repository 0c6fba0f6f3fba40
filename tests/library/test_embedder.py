"""The llama.cpp embedder on a real sentence-embedding model (all-MiniLM-L6-v2 as GGUF)."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from deepresearch_local.engines.base import CancelToken
from deepresearch_local.errors import ModelError
from deepresearch_local.library.embedding import (
    Embedder,
    EmbeddingCancelled,
    EmbeddingSpec,
    TextEmbedder,
)
from tests.support.bert_reference import BertReference

MEMO = (
    "Memoization stores the return value of a function for each set of arguments, so a later call "
    "with the same arguments returns the cached result instead of computing it again."
)
PERMISSIONS = (
    "Unix file permissions say who may read, write or execute a file; chmod changes the mode bits "
    "and chown changes the owner."
)
CHUNKS = [
    MEMO,
    PERMISSIONS,
    "The Treaty of Westphalia ended the Thirty Years' War in 1648.",
    "Photosynthesis turns light, water and carbon dioxide into sugar and oxygen.",
    "Kurz: ein deutscher Satz über Bahnhöfe und Züge.",
    "x" * 10,
    "Rust's borrow checker enforces that references never outlive the data they point to.",
]


def test_it_is_a_text_embedder_with_the_models_facts(minilm: Embedder) -> None:
    assert isinstance(minilm, TextEmbedder)
    assert minilm.id == "all-minilm-l6-v2"
    assert minilm.dim == 384 and minilm.max_tokens == 256


def test_a_query_is_closest_to_the_passage_that_answers_it(minilm: Embedder) -> None:
    query = minilm.embed_query("How do I make a function remember earlier results?")
    docs = minilm.embed_documents([MEMO, PERMISSIONS])
    assert docs.dtype == np.float32 and docs.shape == (2, 384)
    memo, perms = docs @ query
    assert memo > perms + 0.2


def test_batched_vectors_equal_one_by_one_and_are_normalised(minilm: Embedder) -> None:
    batched = minilm.embed(CHUNKS)
    single = np.stack([minilm.embed([text])[0] for text in CHUNKS])
    assert np.allclose(np.linalg.norm(batched, axis=1), 1.0, atol=1e-5)
    # the same up to float rounding (F16 weights: batch shapes take different kernels)
    assert np.sum(batched * single, axis=1).min() > 0.9999


def test_small_batches_give_the_same_vectors(minilm_gguf: Path, minilm: Embedder) -> None:
    # 64 tokens per batch: the chunks are split over several llama.cpp batches
    with Embedder(minilm_gguf, EmbeddingSpec(max_tokens=64), batch_tokens=64, n_threads=1) as small:
        texts = list(CHUNKS) * 3
        got = small.embed(texts)
        assert small.last_stats is not None and small.last_stats.batches > 1
    assert np.sum(got * minilm.embed(texts), axis=1).min() > 0.9999


def test_long_input_is_cut_to_max_tokens(minilm: Embedder, minilm_folder: Path) -> None:
    long = " ".join(f"sentence {i} about rivers, bridges and the towns beside them." for i in range(80))
    assert minilm.count_tokens(long) > 600
    a, b = minilm.embed([long + " apples and pears", long + " rockets and satellites"])
    stats = minilm.last_stats
    assert stats is not None and stats.truncated == 2 and stats.tokens == 2 * 256
    assert float(a @ b) > 0.9999  # the differing endings were cut off
    # the vector is the one of the first 255 tokens plus the closing [SEP]
    reference = BertReference(minilm_folder)
    ids = reference.token_ids(long)
    assert float(a @ reference.encode_ids([*ids[:255], ids[-1]])) > 0.99


def test_prefixes_come_from_the_spec(minilm_gguf: Path, minilm: Embedder) -> None:
    spec = EmbeddingSpec(id="e5-style", query_prefix="query: ", document_prefix="passage: ")
    with Embedder(minilm_gguf, spec, n_threads=1) as prefixed:
        q = prefixed.embed_query("rivers")
        d = prefixed.embed_documents(["bridges"])[0]
    assert float(q @ minilm.embed(["query: rivers"])[0]) > 0.9999
    assert float(d @ minilm.embed(["passage: bridges"])[0]) > 0.9999
    assert float(q @ minilm.embed(["rivers"])[0]) < 0.99


def test_progress_is_reported_per_batch_and_cancel_stops_between_batches(minilm_gguf: Path) -> None:
    texts = [f"{i}: {CHUNKS[i % len(CHUNKS)]}" for i in range(24)]
    seen: list[tuple[int, int]] = []
    with Embedder(minilm_gguf, EmbeddingSpec(max_tokens=64), batch_tokens=64, n_threads=1) as emb:
        emb.embed(texts, progress=lambda done, total: seen.append((done, total)))
        assert len(seen) > 2 and seen[-1] == (24, 24)
        assert [d for d, _ in seen] == sorted({d for d, _ in seen})
        stats = emb.last_stats
        assert stats is not None and stats.texts == 24 and stats.texts_per_second > 0

        token = CancelToken()
        calls: list[int] = []

        def stop_after_first(done: int, total: int) -> None:
            calls.append(done)
            token.cancel()

        with pytest.raises(EmbeddingCancelled) as info:
            emb.embed(texts, progress=stop_after_first, cancel=token)
        assert calls == [info.value.done] and 0 < info.value.done < 24
        # the embedder is still usable afterwards
        assert emb.embed(["still works"]).shape == (1, 384)


def test_threads_share_one_embedder(minilm_gguf: Path, minilm: Embedder) -> None:
    shared = Embedder(minilm_gguf, minilm.spec, n_threads=1)  # not loaded yet: the threads race to load it
    results: dict[int, np.ndarray] = {}
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            results[i] = shared.embed(CHUNKS[i : i + 3])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    shared.unload()
    assert not errors and len(results) == 4
    for i, got in results.items():
        assert np.sum(got * minilm.embed(CHUNKS[i : i + 3]), axis=1).min() > 0.9999


def test_missing_file_says_what_to_do(tmp_path: Path) -> None:
    emb = Embedder(tmp_path / "nowhere.gguf")
    with pytest.raises(ModelError, match=r"No embedding model at .*models pull"):
        emb.embed(["x"])


def test_non_gguf_file_is_named_as_such(tmp_path: Path) -> None:
    path = tmp_path / "model.safetensors"
    path.write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}      ")
    with pytest.raises(ModelError, match=r"not a GGUF file.*convert"):
        Embedder(path).load()


def test_truncated_gguf_says_download_again(minilm_gguf: Path, tmp_path: Path) -> None:
    path = tmp_path / "cut.gguf"
    path.write_bytes(minilm_gguf.read_bytes()[:5_000_000])
    with pytest.raises(ModelError, match=r"could not load.*download it again"):
        Embedder(path).load()


def test_a_chat_model_is_not_an_embedder(qwen05b: Path) -> None:
    with pytest.raises(ModelError, match=r"no pooling.*not a sentence-embedding model"):
        Embedder(qwen05b).load()


def test_a_spec_for_another_model_is_caught(minilm_gguf: Path) -> None:
    with pytest.raises(ModelError, match=r"384-dimensional.*says 768"):
        Embedder(minilm_gguf, EmbeddingSpec(id="bge-base", dim=768)).load()


def test_a_model_still_open_when_the_app_quits_is_closed_before_the_teardown(minilm_gguf: Path) -> None:
    """Left to ``Llama.__del__`` during the interpreter's teardown, a model finds llama-cpp-python's
    modules gone and prints a traceback as the app quits: it is closed at exit instead."""
    import subprocess
    import sys

    script = f"""
import atexit
state = {{}}
atexit.register(lambda: print("model freed" if state["model"].model is None else "model open"))
from deepresearch_local.library.embedding.configured import open_embedder
embedder = open_embedder({str(minilm_gguf)!r})
embedder.embed_query("kiln")
state["model"] = embedder._llm._model
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "model freed"
    assert "Exception ignored" not in done.stderr
