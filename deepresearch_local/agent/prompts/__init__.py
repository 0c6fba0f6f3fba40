"""Prompt texts, kept as package data files in ``agent/prompts/``."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources


@lru_cache(maxsize=32)
def load(name: str) -> str:
    """The text of ``prompts/{name}.md`` without its final newline."""
    return resources.files(__name__).joinpath(f"{name}.md").read_text("utf-8").rstrip("\n")


def render(name: str, **values: object) -> str:
    return load(name).format(**values)
