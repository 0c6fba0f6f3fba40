"""``deepresearch docs``: manage the local document library."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(sub: Any) -> None:
    """Register the ``docs`` command group (not built yet: issue #4)."""
    from deepresearch_local.cli.main import not_yet

    p: argparse.ArgumentParser = sub.add_parser("docs", help="manage the local document library")
    p.add_argument("action", nargs="?")
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=not_yet("docs", 4))
