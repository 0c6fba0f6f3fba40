"""What ``models list`` shows: every catalog variant and every registered model, with its fit here.

The verdict is for :data:`LIST_CONTEXT` tokens of context (what the agent works with comfortably);
``max_context`` is the most this machine allows. A build that only runs with a short context
(between the agent's 8K minimum and 16K) is called "tight".
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from deepresearch_local.hardware.budget import budget_for
from deepresearch_local.hardware.fit import MIN_AGENT_CONTEXT, Verdict, fit
from deepresearch_local.hardware.gpu_builds import gpu_fixes
from deepresearch_local.hardware.modelinfo import ModelShape
from deepresearch_local.hardware.probe import Hardware
from deepresearch_local.weights.catalog import Variant, load_catalog
from deepresearch_local.weights.recommend import Recommendation, kv_types, recommend
from deepresearch_local.weights.registry import RegisteredModel, Registry
from deepresearch_local.weights.shapes import shape_of

LIST_CONTEXT = 16384
_RANK = {"no": 0, "tight": 1, "fits": 2}
PENDING: Literal["…"] = "…"
"""The verdict of a row shown before this machine has been looked at (see :func:`pending_rows`)."""


@dataclass(frozen=True)
class ModelRow:
    id: str
    format: str
    quant: str
    size_bytes: int
    size_is_approx: bool
    """True for the catalog's display figure; False for bytes on disk."""
    verdict: Verdict | Literal["…"]
    max_context: int
    reason: str
    recommended: bool
    status: str
    """"available" (in the catalog, not here), "partial", "downloaded", "imported" or "missing"."""
    path: str | None = None
    default: bool = False
    in_catalog: bool = True
    notes: str = ""

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def machine_fit(shape: ModelShape, fmt: str, hw: Hardware) -> tuple[Verdict, int, str]:
    """(verdict at LIST_CONTEXT, the largest context that fits, why) for a build on ``hw``."""
    mlx = hw.backend("mlx")
    apple = hw.os == "macos" and hw.arch == "arm64"
    if fmt == "mlx" and not (mlx is not None and mlx.available):
        return "no", 0, "MLX builds run on Apple Silicon Macs with mlx-lm installed"
    budget = budget_for(hw, use_gpu=not gpu_fixes(hw) and (fmt == "gguf" or apple))
    backend = "mlx" if fmt == "mlx" else "llama.cpp"
    best: tuple[Verdict, int, str] | None = None
    for kv in kv_types(backend):  # f16, then q8_0 where the engine takes it and it does better
        result = fit(shape, budget, context_tokens=LIST_CONTEXT, kv_type=kv, backend=backend)
        verdict, reason = result.verdict, result.reason
        if verdict == "no" and result.max_context_tokens >= MIN_AGENT_CONTEXT:
            verdict = "tight"
            reason = f"only {result.max_context_tokens} tokens of context fit ({reason})"
        if kv != "f16":
            reason = f"with the KV cache in {kv}: {reason}"
        if best is None or _RANK[verdict] > _RANK[best[0]]:
            best = verdict, result.max_context_tokens, reason
        if verdict == "fits":
            break
    assert best is not None
    return best


def quant_name(shape: ModelShape) -> str:
    """ "Q4_K_M" from a GGUF's file type, "4bit" from an MLX config ("" when unknown)."""
    if shape.format == "mlx":
        bits = shape.details.get("quantization_bits")
        return f"{bits}bit" if bits else "bf16"
    from deepresearch_local.hardware.gguf_header import file_type_name

    file_type = shape.details.get("file_type")
    if file_type is None:
        return ""
    return file_type_name(file_type) or str(file_type)


def _status(entry: RegisteredModel | None, partial: bool) -> str:
    if entry is None:
        return "partial" if partial else "available"
    if not entry.exists:
        return "missing"
    return "imported" if entry.origin == "imported" else "downloaded"


def _has_partial(variant: Variant) -> bool:
    """Leftovers of a pull in the variant's folder (a catalog build is pulled into ``models_dir/ID``,
    as ``pull.parse_target`` names it), found without importing the downloader."""
    from deepresearch_local.paths import get_paths
    from deepresearch_local.weights.leftovers import leftovers_in

    return bool(leftovers_in(get_paths().models_dir / variant.id))


def model_rows(
    hw: Hardware, registry: Registry | None = None, rec: Recommendation | None = None
) -> list[ModelRow]:
    registry = registry or Registry()
    rec = rec or recommend(hw)
    entries = registry.entries()
    default = registry.default_id()
    by_variant = {e.variant: e for e in entries if e.variant}
    rows: list[ModelRow] = []
    for v in load_catalog():
        entry = by_variant.get(v.id)
        verdict, max_ctx, reason = machine_fit(v.shape, v.format, hw)
        here = entry is not None and entry.exists
        rows.append(
            ModelRow(
                id=entry.id if entry else v.id,
                format=v.format,
                quant=v.quant,
                size_bytes=entry.size if entry and here else v.approx_bytes,
                size_is_approx=not here,
                verdict=verdict,
                max_context=max_ctx,
                reason=reason,
                recommended=v.id == rec.variant,
                status=_status(entry, entry is None and _has_partial(v)),
                path=entry.path if entry else None,
                default=entry is not None and entry.id == default,
                notes=v.notes,
            )
        )
    for entry in entries:
        if entry.variant and entry.variant in {v.id for v in load_catalog()}:
            continue
        try:
            shape = shape_of(Path(entry.path), registry)
            verdict, max_ctx, reason = machine_fit(shape, entry.format, hw)
            quant = quant_name(shape)
        except Exception as exc:  # a moved or damaged file still gets listed, with the reason
            verdict, max_ctx, reason, quant = "no", 0, f"cannot read it: {exc}", ""
        rows.append(
            ModelRow(
                id=entry.id,
                format=entry.format,
                quant=quant,
                size_bytes=entry.size,
                size_is_approx=False,
                verdict=verdict,
                max_context=max_ctx,
                reason=reason,
                recommended=False,
                status=_status(entry, False),
                path=entry.path,
                default=entry.id == default,
                in_catalog=False,
            )
        )
    return rows


def pending_rows(registry: Registry | None = None) -> list[ModelRow]:
    """Every catalog build and registered model without its fit: what a screen shows at once,
    before the hardware probe (which may take seconds the first time) has answered."""
    registry = registry or Registry()
    entries = registry.entries()
    default = registry.default_id()
    by_variant = {e.variant: e for e in entries if e.variant}
    catalog = load_catalog()
    rows: list[ModelRow] = []
    for v in catalog:
        entry = by_variant.get(v.id)
        here = entry is not None and entry.exists
        rows.append(
            ModelRow(
                id=entry.id if entry else v.id,
                format=v.format,
                quant=v.quant,
                size_bytes=entry.size if entry and here else v.approx_bytes,
                size_is_approx=not here,
                verdict=PENDING,
                max_context=0,
                reason="checking the fit on this machine",
                recommended=False,
                status=_status(entry, False),
                path=entry.path if entry else None,
                default=entry is not None and entry.id == default,
                notes=v.notes,
            )
        )
    ids = {v.id for v in catalog}
    for entry in entries:
        if entry.variant in ids:
            continue
        rows.append(
            ModelRow(
                id=entry.id,
                format=entry.format,
                quant="",
                size_bytes=entry.size,
                size_is_approx=False,
                verdict=PENDING,
                max_context=0,
                reason="checking the fit on this machine",
                recommended=False,
                status=_status(entry, False),
                path=entry.path,
                default=entry.id == default,
                in_catalog=False,
            )
        )
    return rows
