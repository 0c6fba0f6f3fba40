"""The counting engine behind ``bench context``: cut-offs and KV-cache reuse as llama.cpp reports them."""

from __future__ import annotations

from deepresearch_local.bench.tokens import CountingEngine, Tokenizer
from deepresearch_local.engines.base import GenerationRequest, collect


def _engine(reply: str) -> CountingEngine:
    return CountingEngine(lambda prompt: reply, Tokenizer(), context_tokens=4096)


def test_a_reply_longer_than_max_tokens_is_cut_there() -> None:
    engine = _engine("one two three four five six seven eight")
    done = collect(engine.generate(GenerationRequest(prompt="Count:", max_tokens=5)))
    assert (done.reason, done.text, done.completion_tokens) == ("length", "one two three", 5)
    whole = collect(engine.generate(GenerationRequest(prompt="Count:", max_tokens=100)))
    assert (whole.reason, whole.completion_tokens) == ("stop", 15)  # 8 words and 7 spaces


def test_reuse_is_the_prefix_shared_with_the_previous_prompt_and_output() -> None:
    engine = _engine(" B")  # scripted tokens: words, punctuation and runs of spaces
    first = collect(engine.generate(GenerationRequest(prompt="A A A")))
    assert (first.prompt_tokens, first.reused_tokens) == (5, 0)
    # The cache now holds "A A A" + " B": a prompt that continues it reuses all 7 of those tokens.
    second = collect(engine.generate(GenerationRequest(prompt="A A A B C")))
    assert (second.prompt_tokens, second.reused_tokens) == (9, 7)
    third = collect(engine.generate(GenerationRequest(prompt="X A A")))  # differs at the first token
    assert (third.prompt_tokens, third.reused_tokens) == (5, 0)
    # Wholly cached ("X A A B" is in the cache): llama.cpp replays the last prompt token for its logits.
    again = collect(engine.generate(GenerationRequest(prompt="X A A")))
    assert (again.prompt_tokens, again.reused_tokens) == (5, 4)
    assert [c.prefilled_tokens for c in engine.calls] == [5, 2, 5, 1]
