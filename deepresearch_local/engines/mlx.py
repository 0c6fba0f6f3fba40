"""The MLX backend (Apple Silicon; MLX's CPU build elsewhere): mlx-lm on a local model folder.

The prompt cache outlives a generation: it holds the KV of every token fed so far (the last
prompt plus the tokens generated after it, EOS included), so the next turn of a conversation
only computes its new tokens. A request that diverges trims the cache back to the shared prefix.
"""

from __future__ import annotations

import gc
import json
import warnings
from collections.abc import Callable, Generator, Iterator, Sequence
from pathlib import Path
from typing import Any

from deepresearch_local.engines import mlx_grammar
from deepresearch_local.engines.base import (
    CancelToken,
    EngineEvent,
    EngineInfo,
    Finished,
    FinishReason,
    GenerationRequest,
    Message,
    Meter,
    PromptProcessed,
    Sampling,
    StopScanner,
    TextDelta,
    ToolSchema,
    common_prefix_len,
)
from deepresearch_local.engines.constrained import ConstrainSetting, Switch
from deepresearch_local.engines.tool_grammar import constrain_by_default
from deepresearch_local.errors import BackendUnavailable, ContextOverflow, EngineError, ModelError

REPEAT_LAST_N = 64
"""Tokens (prompt tail + generated) the multiplicative repeat penalty looks at, as in llama.cpp."""

LogitsProcessor = Callable[[Any, Any], Any]


class UnconstrainedWarning(UserWarning):
    """Tool calls were asked to be constrained, but this MLX install cannot (said once per engine)."""


class _PrefillCancelled(Exception):
    """Raised from mlx-lm's prefill progress callback to stop a long prefill."""


def _mlx() -> tuple[Any, Any]:
    try:
        import mlx.core as mx
        import mlx_lm
    except ImportError as err:
        raise BackendUnavailable(
            f"The MLX backend needs mlx-lm ({err}). Install it with: pip install 'deepresearch-local[mlx]'"
        ) from err
    return mx, mlx_lm


def _penalties(sampling: Sampling, prompt: Sequence[int], fed_prompt: int) -> list[LogitsProcessor]:
    """Presence penalty on generated tokens (OpenAI/vLLM style), repeat penalty on the last 64 tokens.

    mlx-lm hands processors only the tokens fed in this call (the uncached prompt remainder
    first), so the window is rebuilt from the full prompt: results do not depend on cache reuse.
    """
    import mlx.core as mx

    procs: list[LogitsProcessor] = []
    presence, repeat = sampling.presence_penalty, sampling.repeat_penalty
    if presence:

        def presence_processor(tokens: Any, logits: Any) -> Any:
            if tokens.size > fed_prompt:
                logits[:, tokens[fed_prompt:]] -= presence
            return logits

        procs.append(presence_processor)
    if repeat and repeat != 1.0:
        tail = mx.array(list(prompt[-REPEAT_LAST_N:]), dtype=mx.int32)

        def repeat_processor(tokens: Any, logits: Any) -> Any:
            window = mx.concatenate([tail, tokens[fed_prompt:].astype(mx.int32)])[-REPEAT_LAST_N:]
            picked = logits[:, window]
            logits[:, window] = mx.where(picked < 0, picked * repeat, picked / repeat)
            return logits

        procs.append(repeat_processor)
    return procs


def _cache_offset(cache: list[Any]) -> int | None:
    offset = getattr(cache[0], "offset", None) if cache else None
    return offset if isinstance(offset, int) else None


class MLXEngine:
    """An :class:`~deepresearch_local.engines.base.Engine` on mlx-lm.

    MLX allocates the KV cache lazily, as tokens arrive, so ``context_size()`` is a budget this
    engine enforces (``context_tokens``, else the model's ``max_position_embeddings``), not
    memory reserved up front. ``kv_bits`` (4 or 8) stores the KV cache quantized, in groups of
    ``kv_group_size`` (default: 64, or 32 where 64 does not divide the head size). A cache that
    cannot report its length (hybrid/SSM layers) is rebuilt for every request instead of reused.
    """

    def __init__(
        self,
        model_path: str | Path,
        *,
        context_tokens: int | None = None,
        kv_bits: int | None = None,
        kv_group_size: int | None = None,
        constrain_tool_calls: ConstrainSetting = "auto",
    ) -> None:
        if context_tokens is not None and context_tokens < 1:
            raise ValueError("context_tokens must be positive")
        if kv_bits is not None and kv_bits not in (2, 3, 4, 5, 6, 8):
            raise ValueError(f"kv_bits must be one of 2, 3, 4, 5, 6, 8 (got {kv_bits})")
        self._path = Path(model_path).expanduser()
        self._context_tokens, self._kv_bits, self._kv_group_size = context_tokens, kv_bits, kv_group_size
        self._model: Any = None
        self._tokenizer: Any = None
        self._cache: list[Any] | None = None
        self._cache_tokens: list[int] = []
        self._active: Generator[EngineEvent, None, None] | None = None
        self._peak: int | None = None
        self.prefill_step_size = 2048
        """Prompt tokens computed per step; cancellation is checked between steps."""
        self.constrain_tool_calls: ConstrainSetting = constrain_tool_calls
        """"auto" (on for builds of 3 bits and below), "on" or "off"; a request may override."""
        self.unconstrained: str | None = None
        """Why tool calls asked to be constrained were not (set at the first such request)."""
        self._ll_tokenizer: Any = None
        self._action: mlx_grammar.ActionProcessor | None = None

    # ------------------------------------------------------------ lifecycle

    def _check_folder(self) -> None:
        path = self._path
        if not path.is_dir():
            raise ModelError(
                f"MLX model folder not found: {path}. Download the model (an MLX conversion with "
                "config.json, tokenizer.json and *.safetensors) and point the engine at its folder."
            )
        missing = [n for n in ("config.json", "tokenizer.json") if not (path / n).is_file()]
        if not any(path.glob("*.safetensors")):
            missing.append("*.safetensors")
        if missing:
            raise ModelError(
                f"{path} is not a complete MLX model folder: {', '.join(missing)} missing. "
                "Download the whole model folder again (mlx-lm would otherwise load it with a broken "
                "vocabulary)."
            )
        config = self._config()
        config |= config.get("text_config") or {}
        heads = config.get("num_attention_heads") or 1
        head_dim = config.get("head_dim") or config.get("hidden_size", 0) // heads
        if self._kv_group_size is None:  # the largest usual group that divides a head
            fits = [g for g in (64, 32) if isinstance(head_dim, int) and head_dim and head_dim % g == 0]
            self._kv_group_size = fits[0] if fits else 64
        if self._kv_bits is not None and isinstance(head_dim, int) and head_dim % self._kv_group_size:
            raise ModelError(
                f"KV quantization groups of {self._kv_group_size} do not divide the model's head size "
                f"({head_dim}): pick a kv_group_size that divides it, or no KV quantization."
            )

    def load(self) -> None:
        if self._model is not None:
            return
        self._check_folder()
        _, mlx_lm = _mlx()
        try:
            model, tokenizer = mlx_lm.load(str(self._path))
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise ModelError(f"mlx-lm could not load {self._path}: {err}") from err
        self._model, self._tokenizer = model, tokenizer
        self._cache, self._cache_tokens = None, []

    def unload(self) -> None:
        if self._active is not None:
            self._active.close()
            self._active = None
        loaded = self._model is not None
        self._model = self._tokenizer = self._cache = self._ll_tokenizer = None
        self._cache_tokens = []
        if loaded:
            gc.collect()
            mx, _ = _mlx()
            mx.clear_cache()

    @property
    def model(self) -> Any:
        """The loaded mlx-lm model (loads on first use)."""
        self.load()
        return self._model

    @property
    def tokenizer(self) -> Any:
        """The loaded mlx-lm tokenizer wrapper (loads on first use)."""
        self.load()
        return self._tokenizer

    # ------------------------------------------------------------ facts

    def _config(self) -> dict[str, Any]:
        try:
            data = json.loads((self._path / "config.json").read_text("utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def context_size(self) -> int | None:
        """The enforced budget: ``context_tokens`` or the model's trained context."""
        if self._context_tokens is not None:
            return self._context_tokens
        config = self._config()
        for section in (config, config.get("text_config") or {}):
            value = section.get("max_position_embeddings")
            if isinstance(value, int) and value > 0:
                return value
        return None

    @property
    def info(self) -> EngineInfo:
        mx, _ = _mlx()
        details = {"path": str(self._path), "kv_bits": self._kv_bits, "kv_group_size": self._kv_group_size}
        details |= {"cached_tokens": len(self._cache_tokens), "peak_memory": self._peak}
        details |= {"constrain_tool_calls": self.constrain_tool_calls, "unconstrained": self.unconstrained}
        device = f"mlx:{mx.default_device().type.name}"
        return EngineInfo("mlx", self._path.name, device, self.context_size(), details)

    def count_tokens(self, text: str) -> int:
        self.load()
        return len(self._tokenizer.encode(text, add_special_tokens=False))

    def render(
        self,
        messages: Sequence[Message],
        *,
        tools: Sequence[ToolSchema] | None = None,
        enable_thinking: bool = True,
        add_generation_prompt: bool = True,
    ) -> str:
        self.load()
        return str(
            self._tokenizer.apply_chat_template(
                [dict(m) for m in messages],
                tools=[dict(t) for t in tools] if tools else None,
                tokenize=False,
                add_generation_prompt=add_generation_prompt,
                enable_thinking=enable_thinking,
            )
        )

    # ------------------------------------------------------------ generation

    def _encode_prompt(self, text: str) -> list[int]:
        tokenizer = self._tokenizer
        bos = tokenizer.bos_token
        add_special = bos is None or not text.startswith(bos)  # as mlx-lm does for text prompts
        return [int(t) for t in tokenizer.encode(text, add_special_tokens=add_special)]

    def _new_cache(self) -> list[Any]:
        from mlx_lm.models.cache import make_prompt_cache

        cache: list[Any] = make_prompt_cache(self._model)
        if self._kv_bits is None:
            return cache
        try:
            quantize = {"group_size": self._kv_group_size, "bits": self._kv_bits}
            return [c.to_quantized(**quantize) if hasattr(c, "to_quantized") else c for c in cache]
        except NotImplementedError as err:
            raise ModelError(f"KV cache quantization is not supported for this model: {err}") from err

    def _reuse(self, tokens: list[int]) -> int:
        """Bring the cache to the longest usable prefix of ``tokens``; return its length."""
        from mlx_lm.models.cache import can_trim_prompt_cache, trim_prompt_cache

        if self._cache is None:
            self._cache, self._cache_tokens = self._new_cache(), []
        # At least one prompt token must be fed to get the next token's logits.
        keep = min(common_prefix_len(self._cache_tokens, tokens), len(tokens) - 1)
        extra = len(self._cache_tokens) - keep
        if extra > 0 and can_trim_prompt_cache(self._cache):
            trimmed: Any = trim_prompt_cache(self._cache, extra)
            extra -= trimmed
        offset = _cache_offset(self._cache)
        if extra > 0 or (offset is not None and offset != keep):  # untrimmable, or out of step
            self._cache, keep = self._new_cache(), 0
        self._cache_tokens = self._cache_tokens[:keep]
        return keep

    def generate(
        self, request: GenerationRequest, cancel: CancelToken | None = None
    ) -> Iterator[EngineEvent]:
        """Check the request now (ContextOverflow is raised here), then stream lazily."""
        self.load()
        if request.max_tokens < 1:
            raise EngineError("max_tokens must be at least 1")
        if request.prompt is not None:
            text = request.prompt
        else:
            assert request.messages is not None
            text = self.render(request.messages, tools=request.tools, enable_thinking=request.enable_thinking)
        tokens = self._encode_prompt(text)
        if not tokens:
            raise EngineError("The prompt is empty.")
        context, n = self.context_size(), len(tokens)
        if context is not None and n + request.max_tokens > context:
            room = max(context - request.max_tokens, 0)
            raise ContextOverflow(
                f"The prompt takes {n} tokens and up to {request.max_tokens} more may be generated, but the "
                f"context is {context} tokens (room for {room} prompt tokens). Shorten the conversation, "
                "lower max_tokens or raise the context size."
            )
        if self._active is not None:
            try:
                self._active.close()  # an abandoned stream: settle its cache bookkeeping first
            except ValueError as err:
                raise EngineError("The MLX engine is already generating; one generation at a time.") from err
        self._active = self._stream(text, tokens, request, cancel or CancelToken())
        return self._active

    def _stream(
        self, text: str, tokens: list[int], request: GenerationRequest, cancel: CancelToken
    ) -> Generator[EngineEvent, None, None]:
        mx, mlx_lm = _mlx()
        from mlx_lm.sample_utils import make_sampler

        meter = Meter()
        mx.reset_peak_memory()
        if cancel.cancelled:
            yield Finished("cancelled", "", len(tokens), 0, 0, 0.0, 0.0, meter.elapsed)
            return
        reused = self._reuse(tokens)
        s = request.sampling
        if s.seed is not None:
            mx.random.seed(s.seed)
        remainder = tokens[reused:]

        def progress(done: int, total: int) -> None:
            if done < total and cancel.cancelled:
                raise _PrefillCancelled

        stream = mlx_lm.stream_generate(
            self._model,
            self._tokenizer,
            mx.array(remainder),
            max_tokens=request.max_tokens,
            sampler=make_sampler(s.temperature, top_p=s.top_p, min_p=s.min_p, top_k=s.top_k),
            logits_processors=_penalties(s, tokens, len(remainder))
            + self._grammar(text, tokens, remainder, request),
            prompt_cache=self._cache,
            prompt_progress_callback=progress,
            prefill_step_size=self.prefill_step_size,
        )
        scanner = StopScanner(request.stop)
        generated: list[int] = []
        pieces: list[str] = []
        reason: FinishReason = "length"
        try:
            for response in stream:
                generated.append(int(response.token))
                meter.token()
                if len(generated) == 1:
                    yield PromptProcessed(len(tokens), reused, meter.prefill_seconds)
                piece = scanner.feed(response.text)
                if response.finish_reason is not None:
                    piece += scanner.flush()
                if piece:
                    pieces.append(piece)
                    yield TextDelta(piece, len(generated), meter.decode_tps)
                if scanner.stopped is not None or response.finish_reason == "stop":
                    reason = "stop"
                    break
                if cancel.cancelled:
                    reason = "cancelled"
                    break
        except _PrefillCancelled:  # raised between prefill chunks: the cache holds a prompt prefix
            reason = "cancelled"
        except GeneratorExit:  # the consumer stopped at one of our yields: the cache is consistent
            raise
        except BaseException as err:
            self._cache = None  # a failure inside mlx leaves the cache in an unknown state
            if isinstance(err, (ValueError, RuntimeError)):
                raise EngineError(f"MLX generation failed: {err}") from err
            raise
        finally:
            stream.close()
            self._settle(tokens + generated)
        prefill = meter.prefill_seconds
        self._peak = int(mx.get_peak_memory())
        yield Finished(
            reason=reason,
            text="".join(pieces),
            prompt_tokens=len(tokens),
            reused_tokens=reused,
            completion_tokens=len(generated),
            prefill_tps=(len(tokens) - reused) / prefill if prefill > 0 and generated else 0.0,
            decode_tps=meter.decode_tps,
            elapsed_seconds=meter.elapsed,
            peak_memory_bytes=self._peak,
            stop_string=scanner.stopped,
            token_ids=tuple(generated),
        )

    def _settle(self, fed: list[int]) -> None:
        """Record which tokens the cache now holds: a prefix of ``fed``, as long as its offset."""
        self._active = None
        offset = _cache_offset(self._cache) if self._cache is not None else None
        if offset is not None and offset <= len(fed):
            self._cache_tokens = fed[:offset]
        else:  # no cache, or one that cannot say what it holds
            self._cache, self._cache_tokens = None, []

    # ------------------------------------------------------------ constrained tool calls

    def _constrain(self, request: GenerationRequest) -> bool:
        """The request's choice, else the engine's setting; "auto" by the build's bit width."""
        if request.constrain_tool_calls is not None:
            return request.constrain_tool_calls
        if self.constrain_tool_calls != "auto":
            return self.constrain_tool_calls == "on"
        quant = self._config().get("quantization") or self._config().get("quantization_config") or {}
        bits = quant.get("bits") if isinstance(quant, dict) else None
        return constrain_by_default(self._path.name, bits if isinstance(bits, int) else 16)

    def _grammar(
        self, text: str, tokens: list[int], remainder: list[int], request: GenerationRequest
    ) -> list[LogitsProcessor]:
        """The action grammar as a logits processor, when this request is constrained."""
        self._action = None
        if not request.tools or not self._constrain(request):
            return []
        why = mlx_grammar.missing()
        if why is not None:
            if self.unconstrained is None:
                self.unconstrained = why
                warnings.warn(
                    f"MLX: tool calls are not constrained: {why}. Malformed calls are handled by the agent.",
                    UnconstrainedWarning,
                    stacklevel=2,
                )
            return []
        if self._ll_tokenizer is None:
            self._ll_tokenizer = mlx_grammar.ll_tokenizer(self._tokenizer)
        cache = self._cache
        self._action = mlx_grammar.ActionProcessor(
            self._ll_tokenizer,
            mlx_grammar.grammar_plan(text, request.tools),
            fed_prompt=len(remainder),
            prompt_tokens=len(tokens),
            kv_tokens=lambda: _cache_offset(cache) if cache else None,
        )
        return [self._action]

    @property
    def last_switch(self) -> Switch | None:
        """Set when the last generation's grammar took over after ``</think>``."""
        return self._action.switch if self._action is not None else None

    @property
    def last_grammar_problem(self) -> str | None:
        """Why the last generation's grammar gave up part-way (None: it held, or none ran)."""
        return self._action.problem if self._action is not None else None
