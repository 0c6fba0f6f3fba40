"""``--kv-type`` left out ("auto"): the KV cache the recommendation plans for the model on this
machine, so a run of the recommended build gets the q8_0 cache its fit was planned with."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from deepresearch_local.errors import DeepResearchError

if TYPE_CHECKING:
    from deepresearch_local.engines.factory import EngineSpec

AUTO = "auto"


def planned_kv(spec: EngineSpec) -> str:
    """``spec.kv_type``, or for "auto" the plan's: f16 unless q8_0 buys a better build or the
    context asked for (llama.cpp and MLX; other backends and unreadable files get f16, and the engine
    reports what is wrong with the file itself)."""
    if spec.kv_type != AUTO:
        return spec.kv_type
    from deepresearch_local.engines.factory import guess_backend, machine_budget

    try:
        backend = guess_backend(spec) if spec.model is not None else ""
        if backend not in ("llama.cpp", "mlx"):
            return "f16"
        from deepresearch_local.weights.recommend import planned_kv_type
        from deepresearch_local.weights.shapes import shape_of

        shape = shape_of(Path(str(spec.model)).expanduser())
    except (OSError, ValueError, DeepResearchError):
        return "f16"
    return planned_kv_type(shape, machine_budget(backend), backend, spec.context_tokens)
