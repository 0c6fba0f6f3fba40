"""Keep chosen weight tensors in system RAM while the rest goes to the GPU (llama.cpp's tensor
buffer overrides, the ``--override-tensor`` / ``--n-cpu-moe`` of llama.cpp's own tools).

For a mixture-of-experts model such as Tongyi-DeepResearch-30B-A3B the expert tensors are most of
the weights but only a few experts run per token, so keeping them in RAM and everything else
(attention, shared weights, the KV cache) on an 8-12 GB GPU is usually much faster than
offloading whole layers. llama-cpp-python's ``Llama`` does not take overrides, so they are set on
the low-level ``llama_model_params`` it builds, while that ``Llama`` loads.
"""

from __future__ import annotations

import contextlib
import ctypes
import re
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deepresearch_local.errors import UsageError

EXPERT_TENSORS = r"ffn_(up|down|gate)_exps"
"""The per-expert feed-forward weights of a llama.cpp MoE block (``blk.N.ffn_up_exps.weight``...)."""

_PATCH_LOCK = threading.Lock()


def expert_patterns(cpu_moe_layers: int | None, n_layers: int | None = None) -> tuple[str, ...]:
    """Patterns for the experts of the first ``cpu_moe_layers`` blocks (-1: of every block), the
    plan of llama.cpp's ``--n-cpu-moe N`` / ``--cpu-moe``. None or 0: no override."""
    if not cpu_moe_layers:
        return ()
    if cpu_moe_layers < 0 or (n_layers is not None and cpu_moe_layers >= n_layers):
        return (rf"\.{EXPERT_TENSORS}",)
    return tuple(rf"^blk\.{i}\.{EXPERT_TENSORS}" for i in range(cpu_moe_layers))


def check_patterns(patterns: Sequence[str]) -> None:
    """Refuse a pattern llama.cpp's regex engine would choke on, before the model loads."""
    for pattern in patterns:
        if not pattern.strip():
            raise UsageError("An empty tensor pattern would match every tensor: give a regular expression.")
        try:
            re.compile(pattern)
        except re.error as exc:
            raise UsageError(
                f"The tensor pattern {pattern!r} is not a valid regular expression ({exc}). "
                r"Example: '\.ffn_(up|down|gate)_exps' keeps every expert in RAM."
            ) from None


class _Override(ctypes.Structure):
    """``struct llama_model_tensor_buft_override``: a pattern and the buffer type its tensors get."""

    _fields_ = [("pattern", ctypes.c_char_p), ("buft", ctypes.c_void_p)]


def _cpu_buffer_type(llama_cpp: Any) -> int:
    """The CPU backend's buffer type (``ggml_backend_cpu_buffer_type()`` from the bundled ggml)."""
    lib_dir = Path(llama_cpp.__file__).parent / "lib"
    candidates = sorted(lib_dir.glob("libggml-cpu.*")) + sorted(lib_dir.glob("ggml-cpu.*"))
    for path in candidates:
        try:
            lib = ctypes.CDLL(str(path))
        except OSError:
            continue
        function = getattr(lib, "ggml_backend_cpu_buffer_type", None)
        if function is not None:
            function.restype = ctypes.c_void_p
            function.argtypes = []
            pointer = function()
            if pointer:
                return int(pointer)
    raise UsageError(
        "This llama-cpp-python build does not expose the CPU buffer type, so tensors cannot be kept "
        "in RAM by pattern: run without expert offload (plain --gpu-layers), or reinstall llama-cpp-python."
    )


@dataclass
class OverrideTable:
    """A NULL-terminated C array of overrides; keep it alive while the model loads."""

    patterns: tuple[str, ...]
    array: Any
    encoded: list[bytes]

    @classmethod
    def cpu(cls, llama_cpp: Any, patterns: Sequence[str]) -> OverrideTable:
        check_patterns(patterns)
        buft = _cpu_buffer_type(llama_cpp)
        encoded = [p.encode("utf-8") for p in patterns]
        array = (_Override * (len(encoded) + 1))()
        for slot, pattern in zip(array, encoded):
            slot.pattern = pattern
            slot.buft = buft
        array[len(encoded)].pattern = None  # the terminator llama.cpp stops at
        array[len(encoded)].buft = None
        return cls(tuple(patterns), array, encoded)

    @property
    def address(self) -> int:
        return ctypes.addressof(self.array)


@contextlib.contextmanager
def overrides_while_loading(llama_cpp: Any, table: OverrideTable | None) -> Iterator[None]:
    """While a ``Llama`` is built in this block, its model loads with ``table``'s overrides.

    ``Llama.__init__`` fills ``llama_model_params`` itself and hands them to ``_internals.LlamaModel``;
    the wrapper sets the one field it leaves empty. A lock keeps two loads from sharing the patch.
    """
    if table is None or not table.patterns:
        yield
        return
    internals = llama_cpp._internals
    original = internals.LlamaModel
    address = table.address

    class _WithOverrides(original):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            params = kwargs.get("params")
            if params is not None:
                params.tensor_buft_overrides = address
            super().__init__(*args, **kwargs)

    with _PATCH_LOCK:
        internals.LlamaModel = _WithOverrides
        try:
            yield
        finally:
            internals.LlamaModel = original


_CAPTURING: list[LoadLog] = []
"""Logs capturing now, innermost last: every line goes to each of them."""


class LoadLog:
    """Collects llama.cpp's log lines while a model loads (to read back which tensors moved)."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    @contextlib.contextmanager
    def capturing(self, llama_cpp: Any) -> Iterator[None]:
        def collect(level: int, text: bytes, user_data: Any) -> None:
            line = text.decode("utf-8", errors="replace")
            for log in _CAPTURING:
                log.lines.append(line)

        _CAPTURING.append(self)
        callback = llama_cpp.llama_log_callback(collect)  # kept alive until restored below
        if len(_CAPTURING) == 1:
            llama_cpp.llama_log_set(callback, ctypes.c_void_p(0))
        try:
            yield
        finally:
            _CAPTURING.remove(self)
            if not _CAPTURING:
                from llama_cpp import _logger

                llama_cpp.llama_log_set(_logger.llama_log_callback, ctypes.c_void_p(0))

    def overridden(self) -> list[str]:
        """Names of the tensors llama.cpp placed by an override."""
        found = re.findall(r"tensor (\S+) \([^)]*\) buffer type overridden to (\S+)", "".join(self.lines))
        return [name for name, _ in found]
