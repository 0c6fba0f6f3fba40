"""The tools one run gets: web tools unless offline, the local library, and the Python sandbox."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from deepresearch_local.tools.base import ToolRegistry


def build_tools(
    offline: bool, docs: Sequence[Path] = (), args: argparse.Namespace | None = None
) -> ToolRegistry:
    """Wired to the real tools as they land (web, library, sandbox)."""
    return ToolRegistry()
