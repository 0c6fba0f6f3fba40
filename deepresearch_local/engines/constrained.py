"""Grammar-constrained actions for the llama.cpp engine: free thinking, then a grammar.

When the prompt opens ``<think>`` the model thinks without constraint; the moment it writes
``</think>`` the generation continues under :func:`tool_grammar.after_think_grammar`: same
``Llama``, same prompt plus the text so far, so the KV cache holds everything but the last token
and nothing is prefilled again. When the prompt opens nothing the whole turn runs under
:func:`tool_grammar.turn_grammar` (whose ``<think>`` block is free text).

Engines that cannot constrain (OpenAI-compatible servers) rely on the agent's handling of
malformed calls instead.
"""

from __future__ import annotations

import codecs
from collections.abc import Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from deepresearch_local.engines import tool_grammar
from deepresearch_local.engines.base import common_prefix_len

THINK_CLOSE = "</think>"


@dataclass(frozen=True)
class Plan:
    """How one generation is constrained."""

    grammar: str
    free_until_think_close: bool
    """True: no grammar until the model writes ``</think>``; False: the grammar from the start."""


@dataclass(frozen=True)
class Switch:
    """What happened when the grammar took over mid-generation (for tests and benchmarks)."""

    after_tokens: int
    """Tokens generated freely before the switch."""
    reused_tokens: int
    """Tokens of prompt + free text found in the KV cache when the constrained call started."""
    total_tokens: int
    """Prompt + free text: what the constrained call continues from."""


def thinking_open(prompt: str) -> bool:
    """True when the prompt leaves a ``<think>`` block open (Qwen3 templates open one; a caller
    may also prefill the start of a thought)."""
    return prompt.rfind("<think>") > prompt.rfind(THINK_CLOSE)


def plan_for(
    prompt: str, tools: Sequence[Mapping[str, Any]], arguments: tool_grammar.ArgumentRules | None = None
) -> Plan:
    if prompt.rstrip().endswith("<tool_call>"):
        return Plan(tool_grammar.call_grammar(tools, arguments), False)  # the caller opened the call
    if thinking_open(prompt):
        return Plan(tool_grammar.after_think_grammar(tools, arguments), True)
    return Plan(tool_grammar.turn_grammar(tools, arguments), False)


class ConstrainedStream:
    """Token ids from ``llm.generate``: free, then under the plan's grammar. Iterate it once;
    ``close()`` stops the underlying generator. ``switch`` is set once the grammar took over."""

    def __init__(self, llm: Any, tokens: list[int], plan: Plan, grammar: Any, **sampling: Any) -> None:
        self._llm = llm
        self._tokens = tokens
        self._plan = plan
        self._grammar = grammar
        self._sampling = sampling
        self._inner: Iterator[int] | None = None
        self.switch: Switch | None = None
        self._gen: Generator[int, None, None] = self._run()

    def __iter__(self) -> Iterator[int]:
        return self._gen

    def close(self) -> None:
        self._gen.close()

    def _open(self, tokens: list[int], grammar: Any) -> Iterator[int]:
        self._inner = iter(self._llm.generate(tokens, grammar=grammar, **self._sampling))
        return self._inner

    def _run(self) -> Generator[int, None, None]:
        try:
            if not self._plan.free_until_think_close:
                yield from self._open(self._tokens, self._grammar)
                return
            generated: list[int] = []
            decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
            text = ""
            switched = False
            for token in self._open(self._tokens, None):
                generated.append(int(token))
                yield int(token)
                text = (text + decoder.decode(bytes(self._llm.detokenize([token]))))[-64:]
                if THINK_CLOSE in text:
                    switched = True
                    break
            if not switched:
                return
            self._close_inner()
            continued = self._tokens + generated
            reused = common_prefix_len(list(self._llm._input_ids), continued)
            self.switch = Switch(len(generated), reused, len(continued))
            yield from self._open(continued, self._grammar)
        finally:
            self._close_inner()

    def _close_inner(self) -> None:
        inner, self._inner = self._inner, None
        close = getattr(inner, "close", None)
        if close is not None:
            close()


ConstrainSetting = Literal["auto", "on", "off"]


def constrain_here(engine: Any, request: Any) -> bool:
    """Whether ``request`` runs under a grammar on ``engine`` (a llama.cpp engine): the request's
    own choice, else the engine's setting; "auto" asks :func:`tool_grammar.constrain_by_default`."""
    if request.constrain_tool_calls is not None:
        return bool(request.constrain_tool_calls)
    setting = engine.constrain_tool_calls
    if setting != "auto":
        return bool(setting == "on")
    meta: Mapping[str, str] = engine.llm.metadata
    name = " ".join((meta.get("general.name", ""), meta.get("general.basename", ""), engine.model_path.name))
    return tool_grammar.constrain_by_default(name, file_type_bits(meta.get("general.file_type")))


def file_type_bits(file_type: str | int | None) -> int | None:
    """Bits class of a GGUF ``general.file_type`` number (None when unknown)."""
    from deepresearch_local.hardware.gguf_header import file_type_name

    name = file_type_name(file_type)
    return tool_grammar.quant_bits(name) if name else None
