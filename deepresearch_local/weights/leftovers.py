"""What an unfinished pull leaves in a model's folder (light: a listing checks every catalog build)."""

from __future__ import annotations

from pathlib import Path


def leftovers_in(base: Path) -> list[Path]:
    """Part files and their sidecars under ``base``, and its staging folder (``NAME.partial``)."""
    found = sorted(p for p in base.rglob("*.part*") if p.is_file()) if base.is_dir() else []
    staging = base.with_name(base.name + ".partial")
    return found + ([staging] if staging.exists() else [])
