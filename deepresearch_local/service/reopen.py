"""Reopen a stored run exactly as it was started: its engine, mode, limits and sampling, offline
flag, folders and permissions, whatever the settings say now."""

from __future__ import annotations

from pathlib import Path

from deepresearch_local.agent.config import AgentConfig
from deepresearch_local.config import Settings
from deepresearch_local.service.build import PreparedRun
from deepresearch_local.service.engine import EngineChoice, resolved
from deepresearch_local.service.meta import RunMeta
from deepresearch_local.service.request import RunRequest
from deepresearch_local.store.records import RunInfo


def reopen_run(
    run: RunInfo, settings: Settings, request: RunRequest | None = None, *, choice: EngineChoice | None = None
) -> PreparedRun:
    """``run`` as it was started. The request's engine fields (flags given to resume) and report
    path win over what the run stored; ``choice`` replaces the engine (one the caller holds).
    The settings only fill what a run older than the metadata schema did not store."""
    request = request or RunRequest()
    stored = run.config
    raw = stored.get("meta")
    meta = RunMeta.from_dict(raw if isinstance(raw, dict) else None)
    stored_region = isinstance(raw, dict) and "search_region" in raw
    region = meta.search_region if stored_region else settings.search_region
    return PreparedRun(
        engine=choice or resolved(meta.engine.overridden(request)),
        config=AgentConfig.from_dict(stored),
        offline=bool(stored.get("offline")),
        docs=tuple(Path(d) for d in meta.docs),
        permissions=meta.permissions,
        search_region=region,
        report_path=request.output,
    )
