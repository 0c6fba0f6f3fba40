"""Fill a DataTable with columns as wide as their widest cell, measured up front.

DataTable measures its columns when it is next idle; a frame drawn before that (a busy machine)
stays in its render cache with cells cut to the header widths until the cursor passes over them
(Textual 8.2). Giving every column its width when the rows go in avoids that.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.cells import cell_len
from rich.text import Text
from textual.widgets import DataTable


def _width(cell: object) -> int:
    text = cell.plain if isinstance(cell, Text) else str(cell)
    return max((cell_len(line) for line in text.splitlines()), default=0)


def refill(
    table: DataTable[Any],
    columns: Sequence[tuple[str, str]],
    rows: Sequence[tuple[str, Sequence[object]]],
    minimum: Mapping[str, int] | None = None,
) -> None:
    """Replace the columns (``(key, label)``) and the rows (``(key, cells)``) of ``table``."""
    minimum = minimum or {}
    widths = [
        max(_width(label), minimum.get(key, 0), *(_width(cells[i]) for _, cells in rows))
        for i, (key, label) in enumerate(columns)
    ]
    table.clear(columns=True)
    for (key, label), width in zip(columns, widths):
        table.add_column(label, key=key, width=width)
    for key, cells in rows:
        table.add_row(*cells, key=key)
