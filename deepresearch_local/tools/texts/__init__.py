"""Fixed texts the model sees from the tools, kept as package data (one TOML table per file)."""

from __future__ import annotations

import sys
from functools import cache
from importlib import resources

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib


@cache
def load(name: str) -> dict[str, str]:
    """The texts in ``<name>.toml`` next to this module, as ``{key: text}``."""
    raw = resources.files(__package__).joinpath(f"{name}.toml").read_text(encoding="utf-8")
    return {str(key): str(value) for key, value in tomllib.loads(raw).items()}
