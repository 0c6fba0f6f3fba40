"""A scripted engine that counts like a real model: its tokenizer and chat template, no weights.

``bench context`` replays a scripted research through the real agent code. With ``--model`` the
prompts are rendered with that model's chat template and counted with its tokenizer (a GGUF opened
vocabulary-only in llama.cpp, or an MLX folder's ``tokenizer.json``); without it, the scripted
stand-in tokenizer and the built-in template are used. The cache reuse the engine reports mirrors
llama.cpp: the longest common prefix of the new prompt with the previous prompt and its output.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

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
from deepresearch_local.engines.scripted import ScriptedEngine
from deepresearch_local.engines.templates import builtin_template, render_chat
from deepresearch_local.errors import ContextOverflow, ModelError


@contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Silence native code writing to file descriptor 2 (Python's own errors still raise)."""
    try:
        saved = os.dup(2)
    except OSError:  # no usable stderr: nothing to silence
        yield
        return
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


class Tokenizer:
    """The scripted stand-in: words, punctuation and runs of spaces, with the built-in template."""

    name = "scripted"
    template: str | None = None
    bos = ""
    eos = ""

    def ids(self, text: str, bos: bool = True) -> Sequence[object]:
        """Token ids (or tokens) of ``text``; ``bos``: as the model counts a prompt."""
        return ScriptedEngine.tokens(text)

    def render(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolSchema] | None,
        enable_thinking: bool,
        add_generation_prompt: bool,
    ) -> str:
        return render_chat(
            self.template or builtin_template(),
            messages,
            tools=tools,
            enable_thinking=enable_thinking,
            add_generation_prompt=add_generation_prompt,
            bos_token=self.bos,
            eos_token=self.eos,
        )


class GGUFTokenizer(Tokenizer):
    """A GGUF's tokenizer and chat template, loaded by llama.cpp without its weights."""

    def __init__(self, path: Path) -> None:
        from deepresearch_local.engines.llamacpp import _import_llama_cpp, closed_at_exit

        llama_cpp = _import_llama_cpp()
        try:
            with _quiet_stderr():  # llama.cpp warns about the context a vocabulary-only load never uses
                self._llm = closed_at_exit(
                    llama_cpp.Llama(model_path=str(path), vocab_only=True, verbose=False)
                )
        except (ValueError, RuntimeError, OSError) as exc:
            raise ModelError(f"llama.cpp could not read the vocabulary of {path.name}: {exc}") from exc
        self.name = path.name
        self.template = self._llm.metadata.get("tokenizer.chat_template") or None
        self.bos = self._text(self._llm.token_bos())
        self.eos = self._text(self._llm.token_eos())

    def _text(self, token: int) -> str:
        if token < 0:
            return ""
        return bytes(self._llm.detokenize([token], special=True)).decode("utf-8", errors="replace")

    def ids(self, text: str, bos: bool = True) -> Sequence[object]:
        # As LlamaCppEngine counts: special-token text maps to the special ids.
        return list(self._llm.tokenize(text.encode("utf-8"), add_bos=bos, special=True))


class HFTokenizer(Tokenizer):
    """An MLX / Hugging Face folder's ``tokenizer.json`` and the chat template of its config."""

    def __init__(self, folder: Path) -> None:
        file = folder / "tokenizer.json"
        if not file.is_file():
            raise ModelError(f"{folder} has no tokenizer.json: cannot count tokens with this model.")
        try:
            from tokenizers import Tokenizer as HFTok
        except ImportError as exc:
            raise ModelError("Counting with an MLX model's tokenizer needs the tokenizers package.") from exc
        self._tok = HFTok.from_file(str(file))
        self.name = folder.name
        config = folder / "tokenizer_config.json"
        if (folder / "chat_template.jinja").is_file():
            self.template = (folder / "chat_template.jinja").read_text("utf-8")
        elif config.is_file():
            data: dict[str, Any] = json.loads(config.read_text("utf-8"))
            template = data.get("chat_template")
            self.template = template if isinstance(template, str) else None

    def ids(self, text: str, bos: bool = True) -> Sequence[object]:
        return list(self._tok.encode(text, add_special_tokens=False).ids)


def open_tokenizer(model: str | Path | None) -> Tokenizer:
    """The tokenizer of ``model`` (a .gguf file or an MLX folder), or the scripted one."""
    if model is None:
        return Tokenizer()
    path = Path(model).expanduser()
    if path.is_dir():
        return HFTokenizer(path)
    if path.is_file():
        return GGUFTokenizer(path)
    raise ModelError(f"No model at {path}: give a .gguf file or an MLX model folder.")


@dataclass(frozen=True)
class Call:
    """What the engine reported for one model call."""

    prompt_tokens: int
    reused_tokens: int
    completion_tokens: int

    @property
    def prefilled_tokens(self) -> int:
        return self.prompt_tokens - self.reused_tokens


class CountingEngine(ScriptedEngine):
    """A ``ScriptedEngine`` whose counts, template and cache reuse follow ``tokenizer``."""

    def __init__(self, respond: Callable[[str], str], tokenizer: Tokenizer, context_tokens: int) -> None:
        super().__init__(context_tokens=context_tokens, respond=respond, name=tokenizer.name)
        self.tokenizer = tokenizer
        self.calls: list[Call] = []
        self._cache: list[object] = []

    @property
    def info(self) -> EngineInfo:
        return EngineInfo(
            "scripted", self.name, "cpu", self.context_tokens, {"tokenizer": self.tokenizer.name}
        )

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer.ids(text))

    def render(
        self,
        messages: Sequence[Message],
        *,
        tools: Sequence[ToolSchema] | None = None,
        enable_thinking: bool = True,
        add_generation_prompt: bool = True,
    ) -> str:
        return self.tokenizer.render(messages, tools, enable_thinking, add_generation_prompt)

    def generate(
        self, request: GenerationRequest, cancel: CancelToken | None = None
    ) -> Iterator[EngineEvent]:
        prompt = request.prompt
        if prompt is None:
            assert request.messages is not None
            prompt = self.render(
                request.messages, tools=request.tools, enable_thinking=request.enable_thinking
            )
        ids = list(self.tokenizer.ids(prompt))
        if len(ids) >= self.context_tokens:
            raise ContextOverflow(f"prompt of {len(ids)} tokens exceeds the context of {self.context_tokens}")
        assert self.respond is not None
        start = time.perf_counter()
        reused = common_prefix_len(self._cache, ids)
        if reused == len(ids):  # llama.cpp replays the last token to get fresh logits
            reused = max(reused - 1, 0)
        yield PromptProcessed(len(ids), reused, 1e-6)
        scanner = StopScanner(request.stop)
        text = scanner.feed(self.respond(prompt))
        text += scanner.flush()
        out = list(self.tokenizer.ids(text, bos=False))
        reason: Literal["stop", "length"] = "stop"
        if len(out) > request.max_tokens:  # a real model is cut off here
            text, reason = self._head(text, request.max_tokens), "length"
            out = list(self.tokenizer.ids(text, bos=False))
        if text:
            yield TextDelta(text, len(out), 0.0)
        self._cache = ids + out
        self.calls.append(Call(len(ids), reused, len(out)))
        yield Finished(
            reason=reason,
            text=text,
            prompt_tokens=len(ids),
            reused_tokens=reused,
            completion_tokens=len(out),
            prefill_tps=0.0,
            decode_tps=0.0,
            elapsed_seconds=time.perf_counter() - start,
            stop_string=scanner.stopped,
        )

    def _head(self, text: str, tokens: int) -> str:
        """The longest head of ``text`` within ``tokens`` tokens."""
        lo, hi = 0, len(text)
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if len(self.tokenizer.ids(text[:mid], bos=False)) <= tokens:
                lo = mid
            else:
                hi = mid
        return text[:lo]
