"""The coverage report in groups: why files were skipped, counted, for the CLI and the TUI."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from deepresearch_local.library.model import FileRecord

# (group, reason prefixes); the first group whose prefix starts the reason wins.
GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("duplicates", ("duplicate of ", "combined copy of ")),
    ("excluded by the folder's rules", ("excluded by the folder's rule",)),
    (
        "generated files",
        ("generated ", "minified or bundled code", "encoded binary data"),
    ),
    ("unsupported or binary", ("unsupported type", "binary content")),
    ("hidden or tool files", ("hidden ",)),
    ("links", ("symlink", "broken symlink")),
    ("too large", ("too large",)),
    (
        "empty or no text",
        ("empty", "no text", "no extractable text", "a redirect page", "markup with next to no text"),
    ),
    ("not regular files", ("not a regular file",)),
    ("encrypted", ("encrypted",)),
)


def reason_group(record: FileRecord) -> str:
    """The group a skipped file falls in ("" for one that is not skipped)."""
    if record.status != "skipped":
        return ""
    for group, prefixes in GROUPS:
        if record.reason.startswith(prefixes):
            return group
    return "other"


def breakdown(records: Iterable[FileRecord]) -> list[tuple[str, int]]:
    """Skipped files per group, largest first."""
    counts = Counter(g for g in map(reason_group, records) if g)
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def breakdown_line(records: Iterable[FileRecord]) -> str:
    """``Skipped: 451 duplicates, 11 unsupported or binary, 2 generated files`` (or "")."""
    parts = [f"{n} {group}" for group, n in breakdown(records)]
    return f"Skipped: {', '.join(parts)}" if parts else ""
