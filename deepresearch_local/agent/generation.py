"""One model call for the agent: stream labelled deltas, stop a loop, return the text and its metrics.

The research turns, the ReSum summaries and the report pass all stream through :func:`stream`;
a :class:`Style` says how each labels its deltas, when the repetition guard trips and what of a
looping text is kept.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from deepresearch_local.agent.events import DeltaKind, TokenDelta
from deepresearch_local.agent.protocol import STOP_STRINGS
from deepresearch_local.agent.repetition import LINE_REPEATS, RepetitionGuard, without_repeats
from deepresearch_local.agent.stream import DeltaLabeler, FixedLabel
from deepresearch_local.engines.base import (
    CancelToken,
    Engine,
    Finished,
    GenerationRequest,
    LinkedCancel,
    Sampling,
    TextDelta,
    ToolSchema,
)

TURN_LINE_REPEATS = 4
"""A research turn may restate a line now and then; four times is a loop."""


@dataclass(frozen=True)
class ModelCall:
    """The parts a model call needs: the engine, how to sample, the run's cancel token and the lock
    that keeps tools (which may use the engine too) from generating at the same time."""

    engine: Engine
    sampling: Sampling
    enable_thinking: bool
    cancel: CancelToken
    lock: threading.Lock


def _loop_cut(streamed: str) -> str:
    """A looping turn without its repeats. A finished tool call is kept exactly as written (its code
    may repeat lines on purpose) and what follows it is dropped: only the first call is used."""
    end = streamed.find("</tool_call>")
    if end >= 0:
        return streamed[: end + len("</tool_call>")]
    return without_repeats(streamed)


@dataclass(frozen=True)
class Style:
    """How one kind of call streams."""

    label: DeltaKind | None
    """Every delta labelled so; None: labelled by the tags the model writes."""
    line_repeats: int
    """The repetition guard's limit (tool calls and code are never counted)."""
    stop: tuple[str, ...]
    cut: Callable[[str], str]
    """What of a looping text is kept."""


TURN = Style(None, TURN_LINE_REPEATS, STOP_STRINGS, _loop_cut)
REPORT = Style("report", LINE_REPEATS, (), without_repeats)


@dataclass(frozen=True)
class Generated:
    text: str
    reason: str
    """The engine's finish reason, or "repetition" when the guard stopped a loop."""
    completion_tokens: int
    reused_tokens: int
    decode_tps: float
    prefill_tps: float

    @property
    def cancelled(self) -> bool:
        return self.reason == "cancelled"


def stream(
    call: ModelCall,
    prompt: str,
    max_tokens: int,
    style: Style = TURN,
    tools: Sequence[ToolSchema] | None = None,
) -> Iterator[TokenDelta | Generated]:
    """Stream one call; the last item is its :class:`Generated`. The prompt was rendered by the
    caller. ``tools``: the engine may keep the action well-formed with a grammar built from them."""
    engine = call.engine
    context = engine.context_size() or 0
    room = context - engine.count_tokens(prompt) if context else max_tokens
    request = GenerationRequest(
        prompt=prompt,
        max_tokens=max(1, min(max_tokens, room)),
        stop=style.stop,
        sampling=call.sampling,
        enable_thinking=call.enable_thinking,
        tools=tools,
    )
    opens_think = style.label is None and prompt.rstrip().endswith("<think>")  # Qwen3-style templates
    labeler = FixedLabel(style.label) if style.label else DeltaLabeler("thinking" if opens_think else "text")
    guard = RepetitionGuard(line_repeats=style.line_repeats)
    cancel = LinkedCancel(call.cancel)
    streamed = ""
    done: Finished | None = None
    with call.lock:
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
    if guard.tripped and not call.cancel.cancelled:
        text, reason = style.cut(streamed), "repetition"
    if opens_think and "<think>" not in text:
        text = "<think>" + text
    yield Generated(
        text, reason, done.completion_tokens, done.reused_tokens, done.decode_tps, done.prefill_tps
    )
