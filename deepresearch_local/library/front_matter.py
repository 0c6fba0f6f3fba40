"""Front matter: the metadata block at the top of a Markdown file (Jekyll, Hugo, Docusaurus,
MkDocs, Obsidian notes), between ``---`` lines (YAML) or ``+++`` lines (TOML).

Many such files have no ``#`` heading of their own: the site generator prints the front matter's
``title`` above the page. Without it the file would be titled by its name (``index.md``, again and
again). Only the top-level ``key: value`` (or ``key = value``) pairs are read; nested values, lists
and comments are allowed in the block but ignored. A block whose lines do not look like metadata
(a horizontal rule above prose) is no front matter.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

MAX_LINES = 200
"""A closing delimiter further down than this is not taken as the end of a front matter block."""

_OPEN = {"---": ("---", "..."), "+++": ("+++",)}
_PAIR = re.compile(r"^([A-Za-z_][\w.-]*)\s*[:=](?:\s+(.*?))?\s*$")
_OTHER = re.compile(r"^(\s+\S|\s*#|\s*-\s|\s*-$|\s*\[|\s*$)")
"""Lines a metadata block may also hold: indented (nested) ones, comments, list items, TOML tables,
blank lines."""


def front_matter(lines: Sequence[str]) -> tuple[int, dict[str, str]]:
    """(how many lines the front matter at the top of ``lines`` spans, its delimiters included;
    its top-level ``key: value`` pairs, keys lower-cased and values unquoted), or ``(0, {})``."""
    if not lines or lines[0].strip() not in _OPEN:
        return 0, {}
    closing = _OPEN[lines[0].strip()]
    fields: dict[str, str] = {}
    for at in range(1, min(len(lines), MAX_LINES)):
        line = lines[at]
        if line.strip() in closing:
            return (at + 1, fields) if at > 1 else (0, {})
        pair = _PAIR.match(line)
        if pair:
            value = pair.group(2) or ""
            if value and value.rstrip("+-") in ("|", ">"):  # a block scalar: the indented lines below
                block = [t.strip() for t in _indented(lines, at + 1)]
                value = " ".join(block) if value.startswith(">") else "\n".join(block)
            fields.setdefault(pair.group(1).lower(), _unquoted(value))
        elif not _OTHER.match(line):
            return 0, {}  # prose: a horizontal rule, not metadata
    return 0, {}


def _indented(lines: Sequence[str], start: int) -> list[str]:
    out: list[str] = []
    for line in lines[start : start + MAX_LINES]:
        if not line[:1].isspace() or not line.strip():
            break
        out.append(line)
    return out


def _unquoted(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1].strip()
    return value
