"""``deepresearch sessions resume ID``: continue a killed or interrupted run from its last step."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from deepresearch_local.agent.config import AgentConfig
from deepresearch_local.cli.research import ENGINE_ARGS, _Interrupts, build_researcher, consume, offline_guard
from deepresearch_local.store.sessions import SessionStore


def resume_command(args: argparse.Namespace) -> int:
    """Resume the newest unfinished run of session ``args.id`` with the engine it was started with."""
    with SessionStore() as store:
        runs = store.unfinished_runs(args.id)
    if not runs:
        print(f"Nothing to resume: every run in session {args.id} has finished.", file=sys.stderr)
        return 0
    run = runs[-1]
    meta = run.config.get("meta") or {}
    saved = dict(meta.get("engine") or {})
    for name in ENGINE_ARGS:  # what the user passes now wins over what the run was started with
        value = getattr(args, name, None)
        if value is not None:
            saved[name] = value
    ns = argparse.Namespace(
        **{name: saved.get(name) for name in ENGINE_ARGS},
        offline=bool(run.config.get("offline")),
        docs=[Path(d) for d in meta.get("docs") or []],
        output=getattr(args, "output", None),
        json=getattr(args, "json", False),
    )
    if ns.kv_type is None:
        ns.kv_type = "f16"
    researcher = build_researcher(ns, AgentConfig.from_dict(run.config))
    researcher.meta = meta
    with _Interrupts(researcher), offline_guard(researcher, ns):
        return consume(researcher.resume(run.id), ns)
