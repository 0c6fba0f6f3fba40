"""``deepresearch sessions resume ID``: continue a killed or interrupted run from its last step."""

from __future__ import annotations

import argparse
import sys

from deepresearch_local.cli.research import Interrupts, consume, request_from_args, start_run
from deepresearch_local.config import load_settings
from deepresearch_local.service.guard import offline_guard
from deepresearch_local.service.reopen import reopen_run
from deepresearch_local.store.sessions import SessionStore


def resume_command(args: argparse.Namespace) -> int:
    """Resume the newest unfinished run of session ``args.id`` as it was started (engine flags
    given now win over the engine it stored)."""
    with SessionStore() as store:
        runs = store.unfinished_runs(args.id)
    if not runs:
        print(f"Nothing to resume: every run in session {args.id} has finished.", file=sys.stderr)
        return 0
    run = reopen_run(runs[-1], load_settings(), request_from_args(args))
    researcher = start_run(run, quiet=args.json)
    with Interrupts(researcher), offline_guard(researcher, run.engine.base_url):
        return consume(researcher.resume(runs[-1].id), json_lines=args.json, output=args.output)
