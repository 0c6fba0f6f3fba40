"""A scripted engine for deterministic tests: replays queued outputs and records every request.

Not a model: it proves nothing about llama.cpp or MLX. It exists so agent-loop tests can feed
exact (also malformed) model outputs and inspect the prompts the loop built.
"""

from __future__ import annotations

import re
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from deepresearch_local.engines.base import (
    CancelToken,
    EngineEvent,
    EngineInfo,
    Finished,
    GenerationRequest,
    Message,
    PromptProcessed,
    StopScanner,
    TextDelta,
    ToolSchema,
    common_prefix_len,
)
from deepresearch_local.engines.templates import builtin_template, render_chat
from deepresearch_local.errors import ContextOverflow, EngineError

_TOKEN = re.compile(r"<\|[^|]+\|>|\w+|[^\w\s]|\s+")

Reply = str | Callable[[str], str]
"""A scripted output, or a function of the rendered prompt that returns one."""


@dataclass
class Recorded:
    prompt: str
    request: GenerationRequest
    prompt_tokens: int


class ScriptedEngine:
    """Replays ``replies`` in order, streaming ``chunk_tokens`` tokens at a time."""

    def __init__(
        self,
        replies: Iterable[Reply] = (),
        *,
        context_tokens: int = 32768,
        chunk_tokens: int = 2,
        delay: float = 0.0,
        name: str = "scripted",
        respond: Callable[[str], str] | None = None,
    ) -> None:
        self.replies: deque[Reply] = deque(replies)
        self.respond = respond
        """When set, answers every prompt (replies are not used): for tests that restart."""
        self.context_tokens = context_tokens
        self.chunk_tokens = chunk_tokens
        self.delay = delay
        self.name = name
        self.requests: list[Recorded] = []
        self._cached: list[str] = []

    def add(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    @property
    def info(self) -> EngineInfo:
        return EngineInfo("scripted", self.name, "cpu", self.context_tokens)

    def load(self) -> None:
        pass

    def unload(self) -> None:
        pass

    def context_size(self) -> int:
        return self.context_tokens

    @staticmethod
    def tokens(text: str) -> list[str]:
        """A deterministic stand-in tokenizer: special tokens, words, punctuation, runs of spaces."""
        return _TOKEN.findall(text)

    def count_tokens(self, text: str) -> int:
        return len(self.tokens(text))

    def render(
        self,
        messages: Sequence[Message],
        *,
        tools: Sequence[ToolSchema] | None = None,
        enable_thinking: bool = True,
        add_generation_prompt: bool = True,
    ) -> str:
        return render_chat(
            builtin_template(),
            messages,
            tools=tools,
            enable_thinking=enable_thinking,
            add_generation_prompt=add_generation_prompt,
        )

    def generate(
        self, request: GenerationRequest, cancel: CancelToken | None = None
    ) -> Iterator[EngineEvent]:
        prompt = request.prompt
        if prompt is None:
            assert request.messages is not None
            prompt = self.render(
                request.messages, tools=request.tools, enable_thinking=request.enable_thinking
            )
        tokens = self.tokens(prompt)
        if len(tokens) >= self.context_tokens:
            raise ContextOverflow(
                f"prompt of {len(tokens)} tokens exceeds the context of {self.context_tokens}"
            )
        self.requests.append(Recorded(prompt, request, len(tokens)))
        if self.respond is not None:
            text = self.respond(prompt)
        else:
            if not self.replies:
                raise EngineError("ScriptedEngine has no reply left for this request")
            reply = self.replies.popleft()
            text = reply(prompt) if callable(reply) else reply
        reused = common_prefix_len(self._cached, tokens)
        start = time.perf_counter()
        yield PromptProcessed(len(tokens), reused, 1e-6)
        scanner = StopScanner(request.stop)
        out: list[str] = []
        reason: str = "stop"
        out_tokens = self.tokens(text)
        produced = 0
        for produced_before in range(0, len(out_tokens), self.chunk_tokens):
            if cancel is not None and cancel.cancelled:
                reason = "cancelled"
                break
            if produced_before >= request.max_tokens:
                reason = "length"
                break
            chunk = out_tokens[produced_before : min(produced_before + self.chunk_tokens, request.max_tokens)]
            produced = produced_before + len(chunk)
            piece = scanner.feed("".join(chunk))
            if piece:
                out.append(piece)
                yield TextDelta(piece, produced, 0.0)
            if scanner.stopped is not None:
                break
            if self.delay:
                time.sleep(self.delay)
        if reason != "cancelled":
            tail = scanner.flush()
            if tail:
                out.append(tail)
                yield TextDelta(tail, produced, 0.0)
        full = "".join(out)
        self._cached = tokens + self.tokens(full)
        yield Finished(
            reason=reason,  # type: ignore[arg-type]
            text=full,
            prompt_tokens=len(tokens),
            reused_tokens=reused,
            completion_tokens=produced,
            prefill_tps=0.0,
            decode_tps=0.0,
            elapsed_seconds=time.perf_counter() - start,
            stop_string=scanner.stopped,
        )
