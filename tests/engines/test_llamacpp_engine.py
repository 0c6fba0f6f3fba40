"""The llama.cpp backend on the real Qwen2.5-Coder-0.5B Q4_K_M GGUF."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from deepresearch_local.engines.base import (
    CancelToken,
    Finished,
    GenerationRequest,
    PromptProcessed,
    Sampling,
    TextDelta,
    collect,
)
from deepresearch_local.engines.llamacpp import LlamaCppEngine
from deepresearch_local.errors import ContextOverflow, ModelError

COUNTING = "Continue the sequence exactly, one number per comma: 1, 2, 3, 4, 5,"
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "search",
            "description": "Web search.",
            "parameters": {
                "type": "object",
                "properties": {"query": {"type": "array", "items": {"type": "string"}}},
                "required": ["query"],
            },
        },
    }
]


@pytest.fixture(scope="module")
def engine(qwen05b: Path) -> Iterator[LlamaCppEngine]:
    eng = LlamaCppEngine(qwen05b, context_tokens=4096)
    eng.load()
    yield eng
    eng.unload()


def greedy(prompt: str, max_tokens: int = 32, stop: tuple[str, ...] = ()) -> GenerationRequest:
    return GenerationRequest(prompt=prompt, max_tokens=max_tokens, stop=stop, sampling=Sampling.greedy())


def test_context_is_read_back_from_the_engine(engine: LlamaCppEngine) -> None:
    assert engine.context_size() == 4096
    info = engine.info
    assert info.backend == "llama.cpp"
    assert info.context_tokens == 4096
    assert info.details["architecture"] == "qwen2"


def test_render_uses_the_gguf_template_with_tools(engine: LlamaCppEngine) -> None:
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}]
    text = engine.render(messages, tools=TOOLS)
    assert text.startswith("<|im_start|>system\nBe brief.")
    assert '"name": "search"' in text and "<tools>" in text
    assert text.endswith("<|im_start|>assistant\n")
    # The special tokens are tokenized as single special ids, not as text.
    ids = engine.tokenize("<|im_start|>")
    assert len(ids) == 1


def test_stream_events_are_well_formed(engine: LlamaCppEngine) -> None:
    events = list(engine.generate(greedy(COUNTING, max_tokens=24)))
    assert isinstance(events[0], PromptProcessed)
    assert isinstance(events[-1], Finished)
    deltas = [e for e in events if isinstance(e, TextDelta)]
    assert deltas, "no text streamed"
    done = events[-1]
    assert isinstance(done, Finished)
    assert "".join(d.text for d in deltas) == done.text
    assert 0 < done.completion_tokens <= 24
    assert done.prompt_tokens == engine.count_tokens(COUNTING)
    assert done.decode_tps > 0 and done.prefill_tps > 0
    assert done.peak_memory_bytes is not None and done.peak_memory_bytes > 300 * 2**20
    assert "6" in done.text  # the real model continues the count


def test_max_tokens_ends_with_length(engine: LlamaCppEngine) -> None:
    done = collect(engine.generate(greedy(COUNTING, max_tokens=5)))
    assert done.reason == "length"
    assert done.completion_tokens == 5


def test_stop_strings_cut_the_text(engine: LlamaCppEngine) -> None:
    done = collect(engine.generate(greedy(COUNTING, max_tokens=40, stop=(" 9,", "nine"))))
    assert done.reason == "stop"
    assert done.stop_string == " 9,"
    assert "9" not in done.text
    assert "8" in done.text


def test_cancel_from_another_thread_mid_stream(engine: LlamaCppEngine) -> None:
    cancel = CancelToken()
    seen: list[str] = []
    done: Finished | None = None
    for event in engine.generate(greedy(COUNTING, max_tokens=200), cancel):
        if isinstance(event, TextDelta):
            seen.append(event.text)
            if len(seen) == 3:
                threading.Thread(target=cancel.cancel).start()
        elif isinstance(event, Finished):
            done = event
    assert done is not None
    assert done.reason == "cancelled"
    assert 3 <= done.completion_tokens < 100
    # The engine is usable after a cancel.
    assert collect(engine.generate(greedy("Say OK.", max_tokens=4))).completion_tokens > 0


def test_prefix_reuse_across_calls(engine: LlamaCppEngine) -> None:
    import llama_cpp

    shared = "Background notes. " + " ".join(
        f"Fact {i}: the value of item {i} is {i * 7}." for i in range(90)
    )
    first = collect(engine.generate(greedy(shared + "\nQuestion: what is item 3?", max_tokens=8)))
    assert first.prompt_tokens > 900
    prefix_tokens = engine.count_tokens(shared)
    second = collect(engine.generate(greedy(shared + "\nQuestion: what is item 40?", max_tokens=8)))
    assert second.reused_tokens >= 0.9 * prefix_tokens
    # llama.cpp itself evaluated only the new tail (its own counters, not our arithmetic).
    perf = llama_cpp.llama_perf_context(engine.llm.ctx)
    assert perf.n_p_eval <= second.prompt_tokens - second.reused_tokens + 2
    assert perf.n_p_eval < 0.1 * second.prompt_tokens


def test_conversation_turns_reuse_the_previous_turn(engine: LlamaCppEngine) -> None:
    messages = [{"role": "system", "content": "You answer in one short sentence."}]
    messages.append({"role": "user", "content": "Name a colour."})
    first = collect(
        engine.generate(GenerationRequest(messages=messages, max_tokens=16, sampling=Sampling.greedy()))
    )
    messages += [{"role": "assistant", "content": first.text}, {"role": "user", "content": "Another one."}]
    second = collect(
        engine.generate(GenerationRequest(messages=messages, max_tokens=16, sampling=Sampling.greedy()))
    )
    assert second.reused_tokens >= first.prompt_tokens * 0.9


def test_prompt_beyond_the_context_is_refused(engine: LlamaCppEngine) -> None:
    with pytest.raises(ContextOverflow, match="4096"):
        collect(engine.generate(greedy("word " * 5000)))


def test_missing_model_file_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="No model file"):
        LlamaCppEngine(tmp_path / "nope.gguf").load()
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"not a gguf at all" * 100)
    with pytest.raises(ModelError, match="could not load"):
        LlamaCppEngine(bad).load()


def test_presence_penalty_covers_the_whole_turn(engine: LlamaCppEngine) -> None:
    """llama.cpp's penalty window (64 tokens by default) is set to the context, read back from the
    engine; a prohibitive presence penalty then keeps every generated token unique over a turn far
    longer than 64 tokens, which a short window does not (the control)."""
    assert engine.penalty_window == engine.context_size() == engine.llm.last_n_tokens_size == 4096
    prompt = engine.render([{"role": "user", "content": "Write a long story about a lighthouse keeper."}])
    request = GenerationRequest(
        prompt=prompt,
        max_tokens=90,
        sampling=Sampling(temperature=0.0, top_p=1.0, top_k=1, min_p=0.0, presence_penalty=50.0, seed=1),
    )
    done = collect(engine.generate(request))
    ids = done.token_ids
    assert len(ids) > 64, done.text  # longer than llama.cpp's default window
    assert len(set(ids)) == len(ids), "a token repeated within the turn despite the presence penalty"
    engine.llm.last_n_tokens_size = 2
    try:
        short = collect(engine.generate(dataclasses.replace(request, max_tokens=40))).token_ids
    finally:
        engine.llm.last_n_tokens_size = engine.context_size()
    assert len(set(short)) < len(short), "the control: a 2-token window lets tokens repeat"
