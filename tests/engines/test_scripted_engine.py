"""The scripted engine: replays outputs, records prompts, honours stops, limits and cancels."""

from __future__ import annotations

import pytest

from deepresearch_local.engines.base import (
    CancelToken,
    Engine,
    Finished,
    GenerationRequest,
    TextDelta,
    collect,
)
from deepresearch_local.engines.scripted import ScriptedEngine
from deepresearch_local.errors import ContextOverflow, EngineError


def test_replays_in_order_and_records_prompts() -> None:
    eng = ScriptedEngine(["first answer", lambda prompt: f"saw {len(prompt)} chars"])
    assert isinstance(eng, Engine)
    msgs = [{"role": "user", "content": "hello"}]
    a = collect(eng.generate(GenerationRequest(messages=msgs)))
    b = collect(eng.generate(GenerationRequest(prompt="abc")))
    assert a.text == "first answer"
    assert b.text == "saw 3 chars"
    assert "<|im_start|>user\nhello<|im_end|>" in eng.requests[0].prompt
    assert eng.requests[1].prompt == "abc"
    with pytest.raises(EngineError, match="no reply left"):
        collect(eng.generate(GenerationRequest(prompt="x")))


def test_stop_strings_and_max_tokens() -> None:
    eng = ScriptedEngine(
        ["<think>x</think>\n<tool_call>{}</tool_call>\n<tool_response>fake", "a b c d e f g h"]
    )
    done = collect(eng.generate(GenerationRequest(prompt="p", stop=("\n<tool_response>", "<tool_response>"))))
    assert done.text == "<think>x</think>\n<tool_call>{}</tool_call>"
    assert done.stop_string == "\n<tool_response>"
    done = collect(eng.generate(GenerationRequest(prompt="p", max_tokens=3)))
    assert done.reason == "length"
    assert done.completion_tokens <= 3


def test_cancel_and_overflow_and_reuse() -> None:
    eng = ScriptedEngine(["x " * 400, "ok", "ok"], context_tokens=50)
    cancel = CancelToken()
    events = []
    for event in eng.generate(GenerationRequest(prompt="p"), cancel):
        events.append(event)
        if isinstance(event, TextDelta):
            cancel.cancel()
    done = events[-1]
    assert isinstance(done, Finished) and done.reason == "cancelled"
    with pytest.raises(ContextOverflow):
        collect(eng.generate(GenerationRequest(prompt="word " * 60)))
    first = collect(eng.generate(GenerationRequest(prompt="a b c d ")))
    second = collect(eng.generate(GenerationRequest(prompt="a b c d " + first.text + " e")))
    assert second.reused_tokens == first.prompt_tokens + 1
