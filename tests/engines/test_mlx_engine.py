"""The MLX engine on real mlx-lm with tiny random-weight models (qwen3moe, and a dense qwen3)."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from deepresearch_local.engines.base import (
    CancelToken,
    EngineEvent,
    Finished,
    GenerationRequest,
    PromptProcessed,
    Sampling,
    TextDelta,
    collect,
)
from deepresearch_local.errors import ContextOverflow, ModelError
from tests.support.tiny_dense import write_tiny_dense
from tests.support.tiny_fixtures import tiny_moe  # noqa: F401  (until the conftest imports it)
from tests.support.tiny_moe import TinyModel

pytest.importorskip("mlx.core")
pytest.importorskip("mlx_lm")

from deepresearch_local.engines.mlx import MLXEngine

GREEDY = Sampling.greedy()
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "search",
            "description": "Search the web.",
            "parameters": {"type": "object", "properties": {"query": {"type": "string"}}},
        },
    }
]
SYSTEM = {"role": "system", "content": "You are a deep research assistant. Cite your sources."}


def ask(content: str, max_tokens: int = 24, **kw: object) -> GenerationRequest:
    messages = [SYSTEM, {"role": "user", "content": content}]
    return GenerationRequest(messages=messages, max_tokens=max_tokens, sampling=GREEDY, **kw)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def tiny_dense(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_dense(tmp_path_factory.mktemp("tiny-dense")).path


@pytest.fixture
def model_dir(tiny_moe: TinyModel) -> Path:  # noqa: F811
    return tiny_moe.mlx_dir


@pytest.fixture(params=["tiny_moe", "tiny_dense"])
def any_model_dir(request: pytest.FixtureRequest) -> Path:
    value = request.getfixturevalue(request.param)
    return value.mlx_dir if isinstance(value, TinyModel) else Path(value)


@pytest.fixture
def engine(model_dir: Path) -> Iterator[MLXEngine]:
    eng = MLXEngine(model_dir)
    eng.load()
    yield eng
    eng.unload()


def split(events: list[EngineEvent]) -> tuple[PromptProcessed, list[TextDelta], Finished]:
    first, *middle, last = events
    assert isinstance(first, PromptProcessed)
    assert all(isinstance(e, TextDelta) for e in middle)
    assert isinstance(last, Finished)
    return first, middle, last  # type: ignore[return-value]


def fresh_text(model_dir: Path, request: GenerationRequest) -> str:
    eng = MLXEngine(model_dir)
    try:
        return collect(eng.generate(request)).text
    finally:
        eng.unload()


def test_load_info_render_and_count(engine: MLXEngine, tiny_moe: TinyModel) -> None:  # noqa: F811
    info = engine.info
    assert (info.backend, info.model) == ("mlx", tiny_moe.mlx_dir.name)
    assert info.device.startswith("mlx:")
    assert info.context_tokens == engine.context_size() == tiny_moe.n_ctx_train
    text = engine.render([SYSTEM, {"role": "user", "content": "hi"}], tools=TOOLS, enable_thinking=False)
    assert "<tools>" in text and '"name": "search"' in text and SYSTEM["content"] in text
    assert text.endswith("<|im_start|>assistant\n<think>\n\n</think>\n\n")
    assert not engine.render([{"role": "user", "content": "hi"}]).endswith("</think>\n\n")
    assert engine.count_tokens("<|im_start|>") == 1
    assert engine.count_tokens("") == 0


def test_stream_is_well_formed(any_model_dir: Path) -> None:
    eng = MLXEngine(any_model_dir)
    request = ask("What is the capital of France?", max_tokens=12, tools=TOOLS)
    first, deltas, last = split(list(eng.generate(request)))
    prompt = eng.render(request.messages or [], tools=TOOLS)
    assert first.prompt_tokens == last.prompt_tokens == eng.count_tokens(prompt)
    assert first.reused_tokens == last.reused_tokens == 0
    assert first.prefill_seconds > 0 and last.prefill_tps > 0 and last.decode_tps > 0
    counts = [d.completion_tokens for d in deltas]
    assert counts == sorted(counts) and all(1 <= c <= 12 for c in counts)
    assert last.text == "".join(d.text for d in deltas)
    assert (last.reason, last.completion_tokens, last.stop_string) == ("length", 12, None)
    assert last.peak_memory_bytes and last.peak_memory_bytes > 0
    assert eng.info.details["peak_memory"] == last.peak_memory_bytes
    eng.unload()


def test_max_tokens_one(engine: MLXEngine) -> None:
    last = collect(engine.generate(ask("Who wrote Hamlet?", max_tokens=1)))
    assert (last.reason, last.completion_tokens) == ("length", 1)


def test_stop_string_cuts_the_text(engine: MLXEngine, model_dir: Path) -> None:
    full = fresh_text(model_dir, ask("Who wrote Hamlet?", max_tokens=40))
    stop = full[12:15]
    assert len(stop) == 3
    last = collect(engine.generate(ask("Who wrote Hamlet?", max_tokens=40, stop=("NEVER-SEEN", stop))))
    assert (last.reason, last.stop_string) == ("stop", stop)
    assert last.text == full[: full.find(stop)]
    assert last.completion_tokens < 40


def test_eos_ends_with_stop(engine: MLXEngine) -> None:
    request = ask("Who wrote Hamlet?", max_tokens=30)
    first = collect(engine.generate(request))
    ids = engine._cache_tokens[first.prompt_tokens :]
    assert len(ids) == 30
    at = next(i for i in range(2, 30) if ids[i] not in ids[:i])
    engine._tokenizer.add_eos_token(str(ids[at]))  # make a token the model will emit end the turn
    last = collect(engine.generate(request))
    assert (last.reason, last.stop_string, last.completion_tokens) == ("stop", None, at + 1)
    assert engine.info.details["cached_tokens"] == last.prompt_tokens + at + 1  # the EOS is in the cache
    assert first.text.startswith(last.text)


def test_cancel_from_another_thread(engine: MLXEngine, model_dir: Path) -> None:
    cancel = CancelToken()
    started, done = threading.Event(), threading.Event()

    def canceller() -> None:
        started.wait(30)
        cancel.cancel()
        done.set()

    thread = threading.Thread(target=canceller)
    thread.start()
    request = ask("Write a long report about the printing press.", max_tokens=1500)
    events = []
    for event in engine.generate(request, cancel):
        events.append(event)
        if isinstance(event, TextDelta) and not started.is_set():
            started.set()
            assert done.wait(30)
    thread.join()
    _, deltas, last = split(events)
    assert last.reason == "cancelled"
    assert deltas and last.completion_tokens <= deltas[0].completion_tokens + 1 < 1500
    # The cache stays consistent: the next answer equals a fresh engine's.
    again = ask("Who wrote Hamlet?")
    assert collect(engine.generate(again)).text == fresh_text(model_dir, again)


def test_cancelled_before_start(engine: MLXEngine) -> None:
    cancel = CancelToken()
    cancel.cancel()
    events = list(engine.generate(ask("hi"), cancel))
    assert len(events) == 1 and isinstance(events[0], Finished)
    assert (events[0].reason, events[0].completion_tokens) == ("cancelled", 0)


class CancelAfter(CancelToken):
    """Reports cancelled from the ``n``-th look on (to land inside the prefill)."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.looks, self.n = 0, n

    @property
    def cancelled(self) -> bool:
        self.looks += 1
        return self.looks >= self.n


def test_cancel_during_prefill(engine: MLXEngine, model_dir: Path) -> None:
    engine.prefill_step_size = 8
    request = ask("Tell me about the history of the printing press in Europe, with sources.")
    cancel = CancelAfter(3)
    events = list(engine.generate(request, cancel))
    assert len(events) == 1 and isinstance(events[0], Finished)
    assert (events[0].reason, events[0].completion_tokens) == ("cancelled", 0)
    # Looks: before the prefill, before step 1, after step 1 (cancelled). The cache keeps that
    # step's 8 tokens and the next answer is still right.
    last = collect(engine.generate(request))
    assert last.reused_tokens == 8
    assert last.text == fresh_text(model_dir, request)


def test_prompt_cache_reused_across_turns(any_model_dir: Path) -> None:
    eng = MLXEngine(any_model_dir)
    turn1 = [SYSTEM, {"role": "user", "content": "What is the capital of France?"}]
    one = collect(eng.generate(GenerationRequest(messages=turn1, max_tokens=20, sampling=GREEDY)))
    turn2 = [*turn1, {"role": "assistant", "content": one.text}, {"role": "user", "content": "And Germany?"}]
    request = GenerationRequest(messages=turn2, max_tokens=20, sampling=GREEDY)
    first, _, two = split(list(eng.generate(request)))
    assert first.reused_tokens == two.reused_tokens >= 0.9 * one.prompt_tokens
    assert two.prompt_tokens > two.reused_tokens
    assert eng.info.details["cached_tokens"] == two.prompt_tokens + two.completion_tokens
    assert two.text == fresh_text(any_model_dir, request)
    eng.unload()


def test_divergent_prompts_trim_the_cache(engine: MLXEngine, model_dir: Path) -> None:
    collect(engine.generate(ask("Tell me about the history of the printing press in Europe.")))
    # Same system prompt, different question: the cache is trimmed back to the shared prefix.
    other = ask("Who wrote Hamlet?")
    shared = engine.count_tokens(engine.render([SYSTEM], add_generation_prompt=False))
    last = collect(engine.generate(other))
    assert shared <= last.reused_tokens < last.prompt_tokens
    assert last.text == fresh_text(model_dir, other)
    # A different beginning: almost nothing is reused, and the answer is still right.
    different = GenerationRequest(
        messages=[{"role": "user", "content": "Hi"}], max_tokens=24, sampling=GREEDY
    )
    last = collect(engine.generate(different))
    assert last.reused_tokens <= 3
    assert last.text == fresh_text(model_dir, different)
    # The very same prompt again: all but its last token come from the cache.
    again = collect(engine.generate(different))
    assert (again.reused_tokens, again.text) == (again.prompt_tokens - 1, last.text)


def test_sampling_is_seeded_and_independent_of_reuse(engine: MLXEngine) -> None:
    prompt = "<|im_start|>user\nhello hello hello<|im_end|>\n<|im_start|>assistant\n"

    def run(sampling: Sampling) -> tuple[Finished, Finished]:
        """The same request on an empty cache, then served from the cache."""
        engine.unload()
        request = GenerationRequest(prompt=prompt, max_tokens=60, sampling=sampling)
        return collect(engine.generate(request)), collect(engine.generate(request))

    plain, _ = run(GREEDY)
    # Penalties see the same tokens whether the prompt was computed or served from the cache.
    for sampling in (
        Sampling(temperature=0.0, presence_penalty=5.0),
        Sampling(temperature=0.0, repeat_penalty=3.0),
    ):
        fresh, reused = run(sampling)
        assert (fresh.reused_tokens, reused.reused_tokens) == (0, reused.prompt_tokens - 1)
        assert fresh.text == reused.text != plain.text
    first, second = run(
        Sampling(temperature=1.0, top_p=0.9, top_k=50, presence_penalty=1.5, repeat_penalty=1.2, seed=7)
    )
    assert first.text == second.text and first.completion_tokens == 60


def test_quantized_kv_cache(model_dir: Path, tiny_moe: TinyModel) -> None:  # noqa: F811
    with pytest.raises(ModelError, match="kv_group_size"):
        MLXEngine(model_dir, kv_bits=8, kv_group_size=64).load()  # head_dim 32
    eng = MLXEngine(model_dir, kv_bits=8, kv_group_size=tiny_moe.head_dim)
    turn1 = [SYSTEM, {"role": "user", "content": "What is the capital of France?"}]
    one = collect(eng.generate(GenerationRequest(messages=turn1, max_tokens=10, sampling=GREEDY)))
    turn2 = [*turn1, {"role": "assistant", "content": one.text}, {"role": "user", "content": "Why?"}]
    two = collect(eng.generate(GenerationRequest(messages=turn2, max_tokens=10, sampling=GREEDY)))
    assert (one.completion_tokens, two.completion_tokens) == (10, 10)
    assert two.reused_tokens >= 0.9 * one.prompt_tokens
    assert type(eng._cache[0]).__name__ == "QuantizedKVCache"  # type: ignore[index]
    assert eng.info.details["kv_bits"] == 8
    eng.unload()


def test_context_overflow_is_refused(model_dir: Path) -> None:
    eng = MLXEngine(model_dir, context_tokens=64)
    assert eng.context_size() == eng.info.context_tokens == 64
    with pytest.raises(ContextOverflow, match="context is 64 tokens"):
        eng.generate(GenerationRequest(prompt="word " * 200, max_tokens=8))
    prompt = "<|im_start|>user\nhello<|im_end|>\n"
    n = eng.count_tokens(prompt)
    with pytest.raises(ContextOverflow):
        eng.generate(GenerationRequest(prompt=prompt, max_tokens=64 - n + 1))
    last = collect(eng.generate(GenerationRequest(prompt=prompt, max_tokens=64 - n, sampling=GREEDY)))
    assert last.prompt_tokens + last.completion_tokens <= 64
    eng.unload()


def test_unload_then_generate_reloads(engine: MLXEngine) -> None:
    before = collect(engine.generate(ask("hi"))).text
    engine.unload()
    engine.unload()
    assert engine.info.details["cached_tokens"] == 0
    again = collect(engine.generate(ask("hi")))
    assert (again.reused_tokens, again.text) == (0, before)


def test_folder_without_tokenizer_json_is_refused(model_dir: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(model_dir, broken)
    (broken / "tokenizer.json").unlink()
    with pytest.raises(ModelError, match=r"tokenizer\.json"):
        MLXEngine(broken).load()


def test_missing_folder_is_refused(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(ModelError, match="not found") as err:
        MLXEngine(missing).load()
    assert str(missing) in str(err.value)
