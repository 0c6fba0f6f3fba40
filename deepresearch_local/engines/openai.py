"""An engine over an OpenAI-compatible HTTP server: llama-server, vLLM, LM Studio, Ollama, llama-cpp-python.

Tools are folded into the system message as Qwen/Hermes text, so the model's raw ``<tool_call>``
text comes back untouched (OpenAI ``tools=`` would make servers parse it into structured fields).
The context the server really serves is discovered at ``load()`` (see ``openai_server``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from typing import Any

from deepresearch_local.engines.base import (
    CancelToken,
    EngineEvent,
    EngineInfo,
    GenerationRequest,
    Message,
    ToolSchema,
)
from deepresearch_local.engines.openai_server import Server, ServerFacts
from deepresearch_local.engines.openai_stream import stream_events
from deepresearch_local.engines.templates import builtin_template, render_chat
from deepresearch_local.errors import ContextOverflow, EngineError

UNKNOWN_CONTEXT = "unknown: pass --context"


def tools_system_text(tools: Sequence[ToolSchema]) -> str:
    """The Qwen/Hermes tool declaration, worded exactly as the built-in template words it."""
    shown = render_chat(
        builtin_template(), [{"role": "user", "content": ""}], tools=tools, add_generation_prompt=False
    )
    return shown.split("<|im_start|>system\n", 1)[1].split("<|im_end|>", 1)[0]


def fold_tools(messages: Sequence[Message], tools: Sequence[ToolSchema] | None) -> list[dict[str, str]]:
    """Plain role/content messages, with the tool declaration appended to the system message."""
    out = [{"role": str(m["role"]), "content": str(m.get("content") or "")} for m in messages]
    if tools:
        text = tools_system_text(tools)
        if out and out[0]["role"] == "system":
            out[0]["content"] += "\n\n" + text
        else:
            out.insert(0, {"role": "system", "content": text})
    return out


class OpenAIEngine:
    """An ``Engine`` backed by an OpenAI-compatible server at ``base_url`` (with or without ``/v1``)."""

    def __init__(
        self,
        base_url: str,
        model: str | None = None,
        api_key: str | None = None,
        *,
        context_tokens: int | None = None,
        timeout: float = 600.0,
    ) -> None:
        root = base_url.strip().rstrip("/")
        self._root = root[:-3] if root.endswith("/v1") else root
        self.base_url = self._root + "/v1"
        self._requested = model
        self._api_key = api_key or os.environ.get("DEEPRESEARCH_API_KEY") or os.environ.get("OPENAI_API_KEY")
        self._user_ctx = context_tokens
        self._timeout = timeout
        self._server: Server | None = None
        self._facts = ServerFacts(model=model or "", listed=[])
        self._ctx: int | None = None
        self._details: dict[str, Any] = {"base_url": self.base_url, "context_source": "not loaded"}

    # ------------------------------------------------------------ protocol

    @property
    def info(self) -> EngineInfo:
        return EngineInfo(
            backend="openai",
            model=self._facts.model or "?",
            device="remote",
            context_tokens=self._ctx,
            details=dict(self._details),
        )

    def load(self) -> None:
        if self._server is not None:
            return
        server = Server(self._root, self._api_key, self._timeout)
        try:
            facts = server.discover(self._requested)
        except BaseException:
            server.close()
            raise
        self._server, self._facts = server, facts
        ctx, source = facts.context, facts.context_source
        if ctx is None:
            ctx, source = self._user_ctx, (UNKNOWN_CONTEXT if self._user_ctx is None else "user: --context")
        elif self._user_ctx is not None:
            self._details["context_requested"] = self._user_ctx
            if facts.context_is_upper_bound and self._user_ctx < ctx:
                ctx, source = self._user_ctx, f"user: --context (the server allows up to {ctx}: {source})"
        self._ctx = ctx
        self._details.update(
            context_source=source,
            server=facts.kind,
            model_listed=facts.model in facts.listed,
            token_count="exact" if facts.tokenize_endpoint else "approximate",
            tokenize_endpoint=facts.tokenize_endpoint,
            chat_template="server" if facts.chat_template else "built-in",
        )
        if facts.kind == "llama-cpp-python" and facts.context is None:
            self._details["note"] = "llama-cpp-python's server does not expose its n_ctx; pass --context"

    def unload(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None

    def context_size(self) -> int | None:
        self.load()
        return self._ctx

    def count_tokens(self, text: str) -> int:
        server = self._connected()
        endpoint = self._facts.tokenize_endpoint
        if not text:
            return 0
        if endpoint is None:
            return math.ceil(len(text) / 3.5)
        body: dict[str, Any] = {"input": text, "model": self._facts.model}  # llama-cpp-python
        if endpoint == "/tokenize":  # llama-server reads "content", vLLM "prompt"
            body = {"content": text, "prompt": text, "model": self._facts.model}
            body.update(add_special=False, add_special_tokens=False)
        tokens = server.request("POST", endpoint, body).get("tokens")
        if not isinstance(tokens, list):
            raise EngineError(f"{server.root}{endpoint} answered without a token list.")
        return len(tokens)

    def render(
        self,
        messages: Sequence[Message],
        *,
        tools: Sequence[ToolSchema] | None = None,
        enable_thinking: bool = True,
        add_generation_prompt: bool = True,
    ) -> str:
        self.load()
        return render_chat(
            self._facts.chat_template or builtin_template(),
            messages,
            tools=tools,
            enable_thinking=enable_thinking,
            add_generation_prompt=add_generation_prompt,
            bos_token=self._facts.special_tokens.get("bos_token", ""),
            eos_token=self._facts.special_tokens.get("eos_token", ""),
        )

    def generate(
        self, request: GenerationRequest, cancel: CancelToken | None = None
    ) -> Iterator[EngineEvent]:
        server = self._connected()
        body: dict[str, Any]
        if request.messages is not None:
            messages = fold_tools(request.messages, request.tools)
            shown = self.render(messages, enable_thinking=request.enable_thinking)
            path, body = "/v1/chat/completions", {"messages": messages}
            if not request.enable_thinking:
                body["chat_template_kwargs"] = {"enable_thinking": False}
        else:
            shown = request.prompt or ""
            path, body = "/v1/completions", {"prompt": shown}
        n_prompt = self.count_tokens(shown)
        max_tokens = request.max_tokens
        if self._ctx is not None and self._facts.tokenize_endpoint is not None:  # exact counts only
            if n_prompt >= self._ctx:
                raise ContextOverflow(
                    f"The prompt has {n_prompt} tokens but the server at {self.base_url} serves a context "
                    f"of {self._ctx} ({self._details['context_source']}). Shorten the input or restart "
                    "the server with a larger context."
                )
            max_tokens = max(1, min(max_tokens, self._ctx - n_prompt))
        body.update(self._sampling_body(request, max_tokens))
        try:
            yield from stream_events(server, path, body, request, n_prompt, cancel or CancelToken())
        except ContextOverflow:
            if server.learned_context is not None:  # the server's error named its real context
                self._ctx, self._details["context_source"] = server.learned_context, "server error message"
            raise

    # ------------------------------------------------------------ internals

    def _connected(self) -> Server:
        self.load()
        assert self._server is not None
        return self._server

    def _sampling_body(self, request: GenerationRequest, max_tokens: int) -> dict[str, Any]:
        s = request.sampling
        body: dict[str, Any] = {
            "model": self._facts.model,
            "stream": True,
            "stream_options": {"include_usage": True},
            "max_tokens": max_tokens,
            "temperature": s.temperature,
            "top_p": s.top_p,
            "presence_penalty": s.presence_penalty,
            "top_k": s.top_k,
            "min_p": s.min_p,
            "repeat_penalty": s.repeat_penalty,
        }
        if request.stop:
            body["stop"] = list(request.stop)
        if s.seed is not None:
            body["seed"] = s.seed
        if self._facts.kind == "llama-server":  # raw <think> text, and timings on every chunk
            body.update(timings_per_token=True, reasoning_format="none", cache_prompt=True)
        elif self._facts.kind == "vllm":
            body.update(top_k=s.top_k or -1, repetition_penalty=s.repeat_penalty)
        return body
