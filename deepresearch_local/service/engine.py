"""Which engine a run uses: ``EngineChoice`` from the settings and the request, and opening it."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deepresearch_local.config import Settings
from deepresearch_local.service.presets import LAPTOP_CONTEXT_CAP, check_preset, context_cap
from deepresearch_local.service.request import RunRequest
from deepresearch_local.service.run_policy import uses_server

if TYPE_CHECKING:
    from deepresearch_local.engines.base import Engine
    from deepresearch_local.engines.factory import EngineSpec


CONSTRAIN_CHOICES = ("auto", "on", "off")

_ENGINE_FIELDS = (
    "model",
    "backend",
    "base_url",
    "context",
    "gpu_layers",
    "cpu_moe_layers",
    "kv_type",
    "constrain_tool_calls",
    "scripted",
)


def _integer(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@dataclass(frozen=True)
class EngineChoice:
    """The engine of one run, as stored with it (``meta["engine"]``) and compared to reuse a loaded one.

    ``model`` is resolved to a path for local engines, so a run reopens the same weights even after
    the default model changed; for a server it is the server's model id (or None)."""

    model: str | None = None
    backend: str | None = None
    base_url: str | None = None
    context: int | None = None
    """Context tokens asked for; None: the most that fits, up to ``context_cap``."""
    gpu_layers: int | None = None
    cpu_moe_layers: int | None = None
    kv_type: str = "auto"
    """"f16", "q8_0", "q4_0", or "auto": planned for the model here when the engine opens (runs
    stored before "auto" existed ran with f16, and ``from_dict`` reads them so)."""
    constrain_tool_calls: str = "auto"
    """Grammar-constrained tool calls: "auto" (builds of 3 bits and below), "on" or "off"."""
    scripted: str | None = None
    context_cap: int = LAPTOP_CONTEXT_CAP

    @property
    def is_server(self) -> bool:
        return not self.scripted and uses_server(self.backend, self.base_url)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EngineChoice:
        """Read what any version stored (missing or null fields take their defaults)."""

        def text(name: str) -> str | None:
            value = data.get(name)
            return str(value) if value else None

        def number(name: str) -> int | None:
            value = data.get(name)
            return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None

        return cls(
            model=text("model"),
            backend=text("backend"),
            base_url=text("base_url"),
            context=number("context"),
            gpu_layers=data.get("gpu_layers") if isinstance(data.get("gpu_layers"), int) else None,
            cpu_moe_layers=_integer(data.get("cpu_moe_layers")),
            kv_type=text("kv_type") or "f16",
            constrain_tool_calls=text("constrain_tool_calls") or "auto",
            scripted=text("scripted"),
            context_cap=number("context_cap") or LAPTOP_CONTEXT_CAP,
        )

    def overridden(self, request: RunRequest) -> EngineChoice:
        """This choice with the engine fields ``request`` gives (resuming with other flags); not
        resolved (see ``resolved``)."""
        changes = {
            name: getattr(request, name) for name in _ENGINE_FIELDS if getattr(request, name) is not None
        }
        return dataclasses.replace(self, **changes)


def choose_engine(settings: Settings, request: RunRequest, *, resolve: bool = True) -> EngineChoice:
    """The engine the request names, with what it leaves open taken from the settings (the saved
    server URL only with the openai backend; the upstream preset ignores the saved context and
    takes the most that fits). ``resolve``: find the local model's path (raises ``ModelError``)."""
    preset = check_preset(request.preset or settings.preset)
    backend = request.backend or (settings.backend if settings.backend != "auto" else None)
    base_url = request.base_url or (settings.base_url if backend == "openai" else None) or None
    context = request.context or (settings.context_tokens if preset != "upstream" else None) or None
    choice = EngineChoice(
        model=request.model or settings.model or None,
        backend=backend,
        base_url=base_url,
        context=context,
        gpu_layers=request.gpu_layers,
        cpu_moe_layers=request.cpu_moe_layers,
        kv_type=request.kv_type or "auto",
        constrain_tool_calls=_constrain(request.constrain_tool_calls or settings.constrain_tool_calls),
        scripted=request.scripted,
        context_cap=context_cap(preset),
    )
    return resolved(choice) if resolve else choice


def _constrain(value: str) -> str:
    if value not in CONSTRAIN_CHOICES:
        from deepresearch_local.errors import UsageError

        raise UsageError(
            f"constrain_tool_calls is {value!r}: use auto (a grammar for builds of 3 bits and below), "
            "on or off (in the settings file or with --constrain-tool-calls)."
        )
    return value


def resolved(choice: EngineChoice) -> EngineChoice:
    """``choice`` with a local model resolved to its path (registry id, catalog variant, default)."""
    if choice.scripted or choice.is_server:
        return choice
    return dataclasses.replace(choice, model=str(resolve_model_arg(choice.model)))


def resolve_model_arg(model: str | None) -> Path:
    """A path as given, or a registered or downloaded model (None: the default model)."""
    if model and Path(model).expanduser().exists():
        return Path(model).expanduser()
    from deepresearch_local.weights.registry import resolve_model

    return resolve_model(model)


def engine_spec(choice: EngineChoice, *, plan_kv: bool = True) -> EngineSpec:
    """The engine spec of ``choice``; ``plan_kv``: a KV type left to "auto" is planned for the model
    on this machine (reads its shape and the machine's memory; off where only the backend matters)."""
    from deepresearch_local.engines.factory import EngineSpec
    from deepresearch_local.service.kv_plan import planned_kv

    spec = EngineSpec(
        model=choice.model,
        backend=choice.backend,
        context_tokens=choice.context,
        base_url=choice.base_url,
        gpu_layers=choice.gpu_layers,
        kv_type=choice.kv_type,
        context_cap=choice.context_cap,
        constrain_tool_calls=choice.constrain_tool_calls,
        cpu_moe_layers=choice.cpu_moe_layers,
    )
    return dataclasses.replace(spec, kv_type=planned_kv(spec)) if plan_kv else spec


def open_engine_for(choice: EngineChoice) -> Engine:
    """Build (not yet load) the engine ``choice`` names: a scripted one, a server or local weights."""
    if choice.scripted:
        from deepresearch_local.engines.scripted_file import scripted_from_file

        return scripted_from_file(Path(choice.scripted))
    from deepresearch_local.engines.factory import open_engine

    return open_engine(engine_spec(choice))
