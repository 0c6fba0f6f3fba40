"""Run metadata: one schema, stored with every run (``run.config["meta"]``) by every front end.

::

    {"version": 2,
     "engine": {model, backend, base_url, context, gpu_layers, cpu_moe_layers, kv_type,
                constrain_tool_calls, scripted, context_cap},
     "display": {"model": ..., "backend": ...},          # the names a replay shows
     "docs": ["/abs/folder", ...],                        # folders the run indexed
     "permissions": {"allow_composed_urls": ..., "allow_unisolated_python": ...},
     "search_region": "auto"}

Older rows are read too: ``deepresearch ask`` stored ``engine`` and ``docs`` only, the app
``engine``, ``display`` and ``docs``; what they lack takes the value those runs ran with.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deepresearch_local.service.engine import EngineChoice

META_VERSION = 2


@dataclass(frozen=True)
class Permissions:
    """What the user allowed for one run beyond the defaults (re-applied when it resumes)."""

    allow_composed_urls: bool = False
    allow_unisolated_python: bool = False


@dataclass(frozen=True)
class RunMeta:
    engine: EngineChoice = field(default_factory=EngineChoice)
    display_model: str = ""
    display_backend: str = ""
    docs: tuple[str, ...] = ()
    permissions: Permissions = field(default_factory=Permissions)
    search_region: str = "auto"

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": META_VERSION,
            "engine": self.engine.to_dict(),
            "display": {"model": self.display_model, "backend": self.display_backend},
            "docs": list(self.docs),
            "permissions": {
                "allow_composed_urls": self.permissions.allow_composed_urls,
                "allow_unisolated_python": self.permissions.allow_unisolated_python,
            },
            "search_region": self.search_region,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> RunMeta:
        """Read any version's metadata (None or {}: a run that stored none)."""
        data = data or {}
        engine = EngineChoice.from_dict(dict(data.get("engine") or {}))
        display = dict(data.get("display") or {})
        allowed = dict(data.get("permissions") or {})
        return cls(
            engine=engine,
            display_model=str(display.get("model") or Path(engine.model or "").name),
            display_backend=str(display.get("backend") or engine.backend or ""),
            docs=tuple(str(d) for d in data.get("docs") or []),
            permissions=Permissions(
                allow_composed_urls=bool(allowed.get("allow_composed_urls")),
                allow_unisolated_python=bool(allowed.get("allow_unisolated_python")),
            ),
            search_region=str(data.get("search_region") or "auto"),
        )
