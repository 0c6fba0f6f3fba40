"""The engine protocol: what every inference backend offers, and the typed events it streams.

Backends live in sibling modules (``llamacpp``, ``mlx``, ``openai``, ``scripted``) and are
imported only when chosen (see ``factory``). The agent, the CLI, the TUI and the benchmarks
talk to engines only through this module.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeAlias, runtime_checkable

Message: TypeAlias = Mapping[str, Any]
"""A chat message: ``{"role": "system" | "user" | "assistant", "content": str}``."""

ToolSchema: TypeAlias = Mapping[str, Any]
"""An OpenAI-style function schema: ``{"type": "function", "function": {"name": ..., ...}}``."""

FinishReason: TypeAlias = Literal["stop", "length", "cancelled"]


@dataclass(frozen=True)
class Sampling:
    """Sampling settings. Defaults follow upstream Tongyi DeepResearch."""

    temperature: float = 0.6
    top_p: float = 0.95
    top_k: int = 0
    """0 disables top-k."""
    min_p: float = 0.0
    presence_penalty: float = 1.1
    repeat_penalty: float = 1.0
    seed: int | None = None

    @classmethod
    def greedy(cls) -> Sampling:
        return cls(temperature=0.0, top_p=1.0, top_k=1, min_p=0.0, presence_penalty=0.0)


@dataclass(frozen=True)
class GenerationRequest:
    """One call to the model: either a raw ``prompt`` or ``messages`` rendered by the engine."""

    prompt: str | None = None
    messages: Sequence[Message] | None = None
    tools: Sequence[ToolSchema] | None = None
    enable_thinking: bool = True
    max_tokens: int = 1024
    stop: tuple[str, ...] = ()
    sampling: Sampling = field(default_factory=Sampling)
    constrain_tool_calls: bool | None = None
    """Keep the action well-formed with a grammar built from ``tools`` (engines that can:
    llama.cpp). None: the engine's setting decides (on for 3-bit builds and for models other than
    Tongyi). Needs ``tools``, also when a ``prompt`` is given (they are not rendered then)."""

    def __post_init__(self) -> None:
        if (self.prompt is None) == (self.messages is None):
            raise ValueError("GenerationRequest needs exactly one of prompt or messages")


# ---------------------------------------------------------------- events


@dataclass(frozen=True)
class PromptProcessed:
    """The prompt has been evaluated (prefill done); the first token follows."""

    prompt_tokens: int
    reused_tokens: int
    """Prompt tokens served from the KV/prompt cache instead of being recomputed."""
    prefill_seconds: float

    @property
    def prefill_tps(self) -> float:
        computed = self.prompt_tokens - self.reused_tokens
        return computed / self.prefill_seconds if self.prefill_seconds > 0 else 0.0


@dataclass(frozen=True)
class TextDelta:
    """Newly generated text. ``completion_tokens`` counts tokens generated so far."""

    text: str
    completion_tokens: int
    decode_tps: float


@dataclass(frozen=True)
class Finished:
    """The last event of every generation, with its metrics."""

    reason: FinishReason
    text: str
    """Everything generated, stop string excluded."""
    prompt_tokens: int
    reused_tokens: int
    completion_tokens: int
    prefill_tps: float
    decode_tps: float
    elapsed_seconds: float
    peak_memory_bytes: int | None = None
    stop_string: str | None = None
    token_ids: tuple[int, ...] = ()
    """The generated token ids, where the backend knows them (local engines)."""


EngineEvent: TypeAlias = PromptProcessed | TextDelta | Finished


# ---------------------------------------------------------------- protocol


@dataclass(frozen=True)
class EngineInfo:
    backend: str
    model: str
    """Display name of the model (file or folder name, or the server's model id)."""
    device: str
    """Where the model runs: "cpu", "cuda", "metal", "mlx:gpu", "remote", ..."""
    context_tokens: int | None
    """Context actually allocated, read back from the engine (None: the server does not say)."""
    details: Mapping[str, Any] = field(default_factory=dict)


class CancelToken:
    """Set from any thread to stop a generation at the next token."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()


class LinkedCancel(CancelToken):
    """Cancelled when its parent is (the user pressed Esc) or when cancelled itself (the caller
    stopped this one generation, e.g. a model in a loop)."""

    def __init__(self, parent: CancelToken) -> None:
        super().__init__()
        self.parent = parent

    @property
    def cancelled(self) -> bool:
        return self.parent.cancelled or super().cancelled


@runtime_checkable
class Engine(Protocol):
    """An inference backend. One engine serves one generation at a time."""

    @property
    def info(self) -> EngineInfo: ...

    def load(self) -> None:
        """Load the weights and allocate the context (idempotent)."""

    def unload(self) -> None:
        """Free the weights and the context (idempotent)."""

    def context_size(self) -> int | None:
        """The context the engine really allocated, in tokens."""

    def count_tokens(self, text: str) -> int:
        """Tokens ``text`` takes with this model's tokenizer (no special tokens added)."""

    def render(
        self,
        messages: Sequence[Message],
        *,
        tools: Sequence[ToolSchema] | None = None,
        enable_thinking: bool = True,
        add_generation_prompt: bool = True,
    ) -> str:
        """Render messages with the model's own chat template."""

    def generate(
        self, request: GenerationRequest, cancel: CancelToken | None = None
    ) -> Iterator[EngineEvent]:
        """Stream events; the last one is always ``Finished``."""


# ---------------------------------------------------------------- helpers shared by backends


class StopScanner:
    """Finds stop strings in streamed text and holds back text that may begin one.

    Feed deltas; it returns the text safe to emit. ``stopped`` tells whether a stop string
    was met (everything from it on is dropped).
    """

    def __init__(self, stops: Sequence[str]) -> None:
        self._stops = tuple(s for s in stops if s)
        self._hold = max((len(s) for s in self._stops), default=1) - 1
        self._pending = ""
        self.stopped: str | None = None

    def feed(self, text: str) -> str:
        if self.stopped is not None:
            return ""
        self._pending += text
        if not self._stops:
            out, self._pending = self._pending, ""
            return out
        first: tuple[int, str] | None = None
        for stop in self._stops:
            at = self._pending.find(stop)
            if at >= 0 and (first is None or at < first[0]):
                first = (at, stop)
        if first is not None:
            self.stopped = first[1]
            out = self._pending[: first[0]]
            self._pending = ""
            return out
        safe = len(self._pending) - self._hold
        # Keep back only a tail that is a prefix of some stop string.
        cut = len(self._pending)
        for start in range(max(safe, 0), len(self._pending)):
            tail = self._pending[start:]
            if any(stop.startswith(tail) for stop in self._stops):
                cut = start
                break
        out, self._pending = self._pending[:cut], self._pending[cut:]
        return out

    def flush(self) -> str:
        out, self._pending = ("" if self.stopped is not None else self._pending), ""
        return out


class Meter:
    """Times a generation: prefill until the first token, decode after it."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.first_token_at: float | None = None
        self.tokens = 0

    def token(self) -> None:
        now = time.perf_counter()
        if self.first_token_at is None:
            self.first_token_at = now
        self.tokens += 1

    @property
    def prefill_seconds(self) -> float:
        end = self.first_token_at if self.first_token_at is not None else time.perf_counter()
        return end - self.start

    @property
    def decode_tps(self) -> float:
        """Tokens after the first one, over the time since the first one."""
        if self.first_token_at is None or self.tokens < 2:
            return 0.0
        span = time.perf_counter() - self.first_token_at
        return (self.tokens - 1) / span if span > 0 else 0.0

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.start


def common_prefix_len(a: Sequence[object], b: Sequence[object]) -> int:
    """Length of the longest common prefix of two token sequences."""
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def collect(events: Iterator[EngineEvent]) -> Finished:
    """Drain a stream and return its ``Finished`` event."""
    last: EngineEvent | None = None
    for event in events:
        last = event
    if not isinstance(last, Finished):
        raise RuntimeError("engine stream ended without a Finished event")
    return last
