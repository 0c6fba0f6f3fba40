"""``deepresearch sessions``: list, show, export, resume and remove research sessions."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(sub: Any) -> None:
    """Register the ``sessions`` command group (not built yet: issue #3)."""
    from deepresearch_local.cli.main import not_yet

    p: argparse.ArgumentParser = sub.add_parser("sessions", help="list, show, export, resume and remove research sessions")
    p.add_argument("action", nargs="?")
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=not_yet("sessions", 3))
