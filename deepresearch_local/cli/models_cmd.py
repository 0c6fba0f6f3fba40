"""``deepresearch models``: list, download, import and verify model weights."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(sub: Any) -> None:
    """Register the ``models`` command group (not built yet: issue #5)."""
    from deepresearch_local.cli.main import not_yet

    p: argparse.ArgumentParser = sub.add_parser("models", help="list, download, import and verify model weights")
    p.add_argument("action", nargs="?")
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=not_yet("models", 5))
