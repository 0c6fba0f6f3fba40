"""One model call for the agent: stream labelled deltas, return the text and its metrics."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from deepresearch_local.agent.events import TokenDelta
from deepresearch_local.agent.protocol import STOP_STRINGS
from deepresearch_local.agent.repetition import RepetitionGuard, without_repeats
from deepresearch_local.agent.stream import DeltaLabeler
from deepresearch_local.engines.base import Finished, GenerationRequest, LinkedCancel, TextDelta, ToolSchema

if TYPE_CHECKING:
    from deepresearch_local.agent.runner import Researcher


TURN_LINE_REPEATS = 4
"""A research turn may restate a line now and then; four times is a loop."""


@dataclass(frozen=True)
class Generated:
    text: str
    reason: str
    completion_tokens: int
    reused_tokens: int
    decode_tps: float
    prefill_tps: float

    @property
    def cancelled(self) -> bool:
        return self.reason == "cancelled"


def generate(
    researcher: Researcher, prompt: str, max_tokens: int, tools: Sequence[ToolSchema] | None = None
) -> Iterator[TokenDelta | Generated]:
    """Stream one turn. The prompt was rendered by the caller (with the tools in the system message).
    ``tools`` (research turns only): the engine may keep the action well-formed with a grammar."""
    engine = researcher.engine
    context = engine.context_size() or 0
    room = context - engine.count_tokens(prompt) if context else max_tokens
    request = GenerationRequest(
        prompt=prompt,
        max_tokens=max(1, min(max_tokens, room)),
        stop=STOP_STRINGS,
        sampling=researcher.config.sampling,
        enable_thinking=researcher.config.enable_thinking,
        tools=tools,
    )
    # Qwen3-style templates open <think> in the generation prompt itself.
    labeler = DeltaLabeler("thinking" if prompt.rstrip().endswith("<think>") else "text")
    guard = RepetitionGuard(line_repeats=TURN_LINE_REPEATS)
    cancel = LinkedCancel(researcher.cancel)
    streamed = ""
    done: Finished | None = None
    with researcher.context.engine_lock:
        for event in engine.generate(request, cancel):
            if isinstance(event, TextDelta):
                streamed += event.text
                for kind, text in labeler.feed(event.text):
                    yield TokenDelta(kind, text, event.decode_tps)
                    # Tool calls and code are left out: code may repeat a line on purpose.
                    if kind != "action" and not guard.tripped and guard.feed(text):
                        cancel.cancel()  # looping: stop here rather than at the token limit
            elif isinstance(event, Finished):
                done = event
    for kind, text in labeler.flush():
        yield TokenDelta(kind, text)
    assert done is not None
    text, reason = done.text, str(done.reason)
    if guard.tripped and not researcher.cancel.cancelled:
        text, reason = _loop_cut(streamed), "repetition"
    if prompt.rstrip().endswith("<think>") and "<think>" not in text:
        text = "<think>" + text
    yield Generated(
        text, reason, done.completion_tokens, done.reused_tokens, done.decode_tps, done.prefill_tps
    )


def _loop_cut(streamed: str) -> str:
    """A looping turn without its repeats. A finished tool call is kept exactly as written (its code
    may repeat lines on purpose) and what follows it is dropped: only the first call is used."""
    end = streamed.find("</tool_call>")
    if end >= 0:
        return streamed[: end + len("</tool_call>")]
    return without_repeats(streamed)
