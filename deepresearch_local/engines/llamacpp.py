"""llama.cpp backend (llama-cpp-python): GGUF weights on CUDA, Metal, Vulkan or the CPU.

Prompts are rendered with the GGUF's own chat template (``templates.render_chat``) and sent as
token ids to ``create_completion``, so the KV cache prefix left by the previous call is reused
automatically; we report how many prompt tokens were reused. One ``Llama`` is one context:
calls are serialised with a lock.
"""

from __future__ import annotations

import atexit
import codecs
import contextlib
import random
import threading
import time
import weakref
from collections.abc import Iterator, Sequence
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
from deepresearch_local.engines.constrained import (
    ConstrainedStream,
    ConstrainSetting,
    Switch,
    constrain_here,
    plan_for,
)
from deepresearch_local.engines.memory import peak_rss_bytes
from deepresearch_local.engines.templates import builtin_template, render_chat
from deepresearch_local.errors import BackendUnavailable, ContextOverflow, ModelError, UsageError

KvType = Literal["f32", "f16", "q8_0", "q4_0"]


def _import_llama_cpp() -> Any:
    try:
        import llama_cpp
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise BackendUnavailable(
            "llama-cpp-python is not installed. Install it with: pip install llama-cpp-python "
            "(see `deepresearch doctor` for GPU builds)."
        ) from exc
    return llama_cpp


_LIVE: weakref.WeakSet[Any] = weakref.WeakSet()
_CLOSE_AT_EXIT = threading.Lock()
_registered = False


def closed_at_exit(llm: Any) -> Any:
    """``llm`` (a ``llama_cpp.Llama``), closed when the interpreter exits if it is still open:
    left to its ``__del__`` during the interpreter's teardown, it finds llama-cpp-python's modules
    already gone and prints a traceback ("Exception ignored in Llama.__del__") as the app quits."""
    global _registered
    with _CLOSE_AT_EXIT:
        if not _registered:
            atexit.register(_close_live)
            _registered = True
        _LIVE.add(llm)
    return llm


def _close_live() -> None:
    for llm in list(_LIVE):  # quitting: one model that will not close must not keep the rest open
        with contextlib.suppress(Exception):
            llm.close()


def default_threads() -> int:
    """Physical cores (llama.cpp's own advice); llama-cpp-python's default of half the logical
    cores leaves small machines at one thread."""
    import os

    try:
        import psutil

        physical = psutil.cpu_count(logical=False)
    except ImportError:  # pragma: no cover
        physical = None
    return max(physical or os.cpu_count() or 1, 1)


class LlamaCppEngine:
    """A GGUF model in llama.cpp with a fixed, really allocated context."""

    def __init__(
        self,
        model_path: str | Path,
        *,
        context_tokens: int = 8192,
        gpu_layers: int = 0,
        flash_attn: bool | None = None,
        kv_type: KvType = "f16",
        n_threads: int | None = None,
        n_batch: int = 512,
        constrain_tool_calls: ConstrainSetting = "auto",
        cpu_tensors: Sequence[str] = (),
    ) -> None:
        self.model_path = Path(model_path)
        self.cpu_tensors = tuple(cpu_tensors)
        """Patterns of weight tensors kept in RAM whatever ``gpu_layers`` says (MoE expert offload)."""
        self.overridden_tensors: list[str] = []
        """The tensors llama.cpp placed by ``cpu_tensors``, read back from its load log."""
        self.requested_context = context_tokens
        self.gpu_layers = gpu_layers
        self.kv_type = kv_type
        # Flash attention keeps the compute buffer flat in the context and is required for a
        # quantized V cache; llama.cpp falls back where a device lacks it.
        self.flash_attn = flash_attn if flash_attn is not None else True
        self.n_threads = n_threads or default_threads()
        self.n_batch = n_batch
        self._llm: Any = None
        self._lock = threading.Lock()
        self._template: str | None = None
        self.constrain_tool_calls: ConstrainSetting = constrain_tool_calls
        """"auto" (on for builds of 3 bits and below), "on" or "off"; a request may override."""
        self._grammars: dict[str, Any] = {}
        self._last_stream: ConstrainedStream | None = None

    # ------------------------------------------------------------ lifecycle

    def load(self) -> None:
        if self._llm is not None:
            return
        if not self.model_path.is_file():
            raise ModelError(
                f"No model file at {self.model_path}. Check the path, or run `deepresearch models list`."
            )
        llama_cpp = _import_llama_cpp()
        from deepresearch_local.engines.tensor_overrides import (
            LoadLog,
            OverrideTable,
            overrides_while_loading,
        )

        table = OverrideTable.cpu(llama_cpp, self.cpu_tensors) if self.cpu_tensors else None
        log = LoadLog()
        capture = log.capturing(llama_cpp) if table else contextlib.nullcontext()
        try:
            with capture, overrides_while_loading(llama_cpp, table):
                self._llm = self._new_llama(llama_cpp)
        except (ValueError, RuntimeError, OSError) as exc:
            raise ModelError(
                f"llama.cpp could not load {self.model_path.name}: {exc}. The file may be incomplete "
                "or not a GGUF (try `deepresearch models verify`), or there is not enough memory for a "
                f"{self.requested_context}-token context (try a smaller --context)."
            ) from exc
        if table is not None:
            self.overridden_tensors = log.overridden()
            if not self.overridden_tensors:
                self._llm.close()
                self._llm = None
                raise UsageError(
                    f"No tensor of {self.model_path.name} matches {', '.join(table.patterns)}: expert "
                    "offload needs a mixture-of-experts model (such as Tongyi-DeepResearch-30B-A3B). "
                    "Run without it, or use --gpu-layers to offload whole layers."
                )
        self._template = self._llm.metadata.get("tokenizer.chat_template") or builtin_template()
        # The penalties look at the last ``last_n_tokens_size`` tokens the sampler accepted, and
        # llama-cpp-python makes a new sampler for every generate() call that accepts only the
        # generated tokens: a window as long as the context makes the presence penalty cover the
        # whole turn, as vLLM's (which Tongyi was tuned with) and our MLX backend's do. The default
        # is 64 tokens. (The repeat penalty shares this window; it is off by default.)
        self._llm.last_n_tokens_size = int(self._llm.n_ctx())

    def _new_llama(self, llama_cpp: Any) -> Any:
        kv = {
            "f32": llama_cpp.GGML_TYPE_F32,
            "f16": llama_cpp.GGML_TYPE_F16,
            "q8_0": llama_cpp.GGML_TYPE_Q8_0,
            "q4_0": llama_cpp.GGML_TYPE_Q4_0,
        }
        return closed_at_exit(
            llama_cpp.Llama(
                model_path=str(self.model_path),
                n_ctx=self.requested_context,
                n_gpu_layers=self.gpu_layers,
                n_batch=self.n_batch,
                n_ubatch=self.n_batch,
                n_threads=self.n_threads,
                flash_attn=self.flash_attn,
                type_k=kv[self.kv_type],
                type_v=kv[self.kv_type],
                verbose=False,
            )
        )

    def unload(self) -> None:
        with self._lock:
            if self._llm is not None:
                self._llm.close()
                self._llm = None

    @property
    def llm(self) -> Any:
        """The underlying ``llama_cpp.Llama`` (loads on first use)."""
        self.load()
        return self._llm

    # ------------------------------------------------------------ facts

    def context_size(self) -> int:
        return int(self.llm.n_ctx())

    @property
    def info(self) -> EngineInfo:
        llama_cpp = _import_llama_cpp()
        gpu = bool(llama_cpp.llama_supports_gpu_offload()) and self.gpu_layers != 0
        return EngineInfo(
            backend="llama.cpp",
            model=self.model_path.name,
            device="gpu" if gpu else "cpu",
            context_tokens=self.context_size() if self._llm is not None else None,
            details={
                "gpu_layers": self.gpu_layers,
                "cpu_tensors": list(self.cpu_tensors),
                "overridden_tensors": len(self.overridden_tensors),
                "kv_type": self.kv_type,
                "flash_attn": self.flash_attn,
                "llama_cpp_version": llama_cpp.__version__,
                "architecture": self._llm.metadata.get("general.architecture") if self._llm else None,
            },
        )

    @property
    def penalty_window(self) -> int:
        """Generated tokens the presence penalty looks back over (llama.cpp's ``penalty_last_n``)."""
        return int(self.llm.last_n_tokens_size)

    def tokenize(self, text: str) -> list[int]:
        """Token ids for ``text``; special-token text (``<|im_start|>``) maps to the special ids."""
        return list(self.llm.tokenize(text.encode("utf-8"), add_bos=True, special=True))

    def count_tokens(self, text: str) -> int:
        return len(self.tokenize(text))

    def render(
        self,
        messages: Sequence[Message],
        *,
        tools: Sequence[ToolSchema] | None = None,
        enable_thinking: bool = True,
        add_generation_prompt: bool = True,
    ) -> str:
        llm = self.llm
        assert self._template is not None
        return render_chat(
            self._template,
            messages,
            tools=tools,
            enable_thinking=enable_thinking,
            add_generation_prompt=add_generation_prompt,
            bos_token=self._token_text(llm.token_bos()),
            eos_token=self._token_text(llm.token_eos()),
        )

    def _token_text(self, token: int) -> str:
        if token < 0:
            return ""
        return bytes(self.llm.detokenize([token], special=True)).decode("utf-8", errors="replace")

    # ------------------------------------------------------------ generation

    def generate(
        self, request: GenerationRequest, cancel: CancelToken | None = None
    ) -> Iterator[EngineEvent]:
        prompt = request.prompt
        if prompt is None:
            assert request.messages is not None
            prompt = self.render(
                request.messages, tools=request.tools, enable_thinking=request.enable_thinking
            )
        with self._lock:
            yield from self._generate_locked(prompt, request, cancel)

    def _generate_locked(
        self, prompt: str, request: GenerationRequest, cancel: CancelToken | None
    ) -> Iterator[EngineEvent]:
        """Token by token over ``Llama.generate``: exact token ids and counts, text decoded
        incrementally (``create_completion`` re-detokenizes the whole output at every token)."""
        llm = self.llm
        llama_cpp = _import_llama_cpp()
        tokens = self.tokenize(prompt)
        n_ctx = self.context_size()
        if len(tokens) >= n_ctx:
            raise ContextOverflow(
                f"The prompt has {len(tokens)} tokens but the model's context holds {n_ctx}. "
                "Shorten the input or load the model with a larger context."
            )
        reused = self._reusable_prefix(tokens)
        max_tokens = max(1, min(request.max_tokens, n_ctx - len(tokens)))
        s = request.sampling
        llm.set_seed(s.seed if s.seed is not None else random.randrange(2**31))
        llama_cpp.llama_perf_context_reset(llm.ctx)
        vocab = llm._model.vocab
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        scanner = StopScanner(request.stop)
        parts: list[str] = []
        generated: list[int] = []
        reason: Literal["stop", "length", "cancelled"] = "length"
        start = time.perf_counter()
        first_at: float | None = None
        stream = self._token_stream(
            tokens,
            prompt,
            request,
            top_k=s.top_k,
            top_p=s.top_p,
            min_p=s.min_p,
            temp=s.temperature,
            repeat_penalty=s.repeat_penalty,
            presence_penalty=s.presence_penalty,
        )
        try:
            for token in stream:
                generated.append(int(token))
                if first_at is None:
                    first_at = time.perf_counter()
                    yield PromptProcessed(len(tokens), reused, first_at - start)
                if llama_cpp.llama_vocab_is_eog(vocab, token):
                    reason = "stop"
                    break
                text = scanner.feed(decoder.decode(bytes(llm.detokenize([token]))))
                if text:
                    parts.append(text)
                    span = time.perf_counter() - first_at
                    yield TextDelta(text, len(generated), (len(generated) - 1) / span if span > 0 else 0.0)
                if scanner.stopped is not None:
                    reason = "stop"
                    break
                if cancel is not None and cancel.cancelled:
                    reason = "cancelled"
                    break
                if len(generated) >= max_tokens:
                    break
        finally:
            stream.close()
        if reason != "cancelled":
            tail = scanner.feed(decoder.decode(b"", final=True)) + scanner.flush()
            if tail:
                parts.append(tail)
                yield TextDelta(tail, len(generated), 0.0)
        if first_at is None:
            yield PromptProcessed(len(tokens), reused, time.perf_counter() - start)
        perf = llama_cpp.llama_perf_context(llm.ctx)
        prefill_tps = perf.n_p_eval * 1000.0 / perf.t_p_eval_ms if perf.t_p_eval_ms > 0 else 0.0
        decode_tps = perf.n_eval * 1000.0 / perf.t_eval_ms if perf.t_eval_ms > 0 else 0.0
        yield Finished(
            reason=reason,
            text="".join(parts),
            prompt_tokens=len(tokens),
            reused_tokens=reused,
            completion_tokens=len(generated),
            prefill_tps=prefill_tps,
            decode_tps=decode_tps,
            elapsed_seconds=time.perf_counter() - start,
            peak_memory_bytes=peak_rss_bytes(),
            stop_string=scanner.stopped,
            token_ids=tuple(generated),
        )

    def _token_stream(
        self, tokens: list[int], prompt: str, request: GenerationRequest, **sampling: Any
    ) -> Any:
        """``Llama.generate``, or the same under a tool-call grammar (``engines.constrained``)."""
        self._last_stream = None
        if not request.tools or not constrain_here(self, request):
            return self.llm.generate(tokens, **sampling)
        plan = plan_for(prompt, request.tools)
        grammar = self._grammars.get(plan.grammar)
        if grammar is None:
            grammar = _import_llama_cpp().LlamaGrammar.from_string(plan.grammar, verbose=False)
            self._grammars[plan.grammar] = grammar
        stream = ConstrainedStream(self.llm, tokens, plan, grammar, **sampling)
        self._last_stream = stream
        return stream

    @property
    def last_switch(self) -> Switch | None:
        """Set when the last generation switched to a grammar after ``</think>``."""
        return self._last_stream.switch if self._last_stream is not None else None

    def _reusable_prefix(self, tokens: list[int]) -> int:
        """Prompt tokens llama-cpp-python will keep from the KV cache (mirrors ``Llama.generate``)."""
        llm = self._llm
        if llm is None or llm.n_tokens == 0:
            return 0
        prefix = common_prefix_len(list(llm._input_ids), tokens)
        if prefix == len(tokens):
            # The whole prompt is cached: one token is replayed to refresh the logits.
            return max(prefix - 1, 0)
        return prefix
