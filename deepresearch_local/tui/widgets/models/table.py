"""The catalog and the registered weights as a table: size, a fit badge, context and status."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.coordinate import Coordinate
from textual.widgets import DataTable

from deepresearch_local.tui.widgets.table_fill import refill
from deepresearch_local.units import human_bytes

if TYPE_CHECKING:
    from deepresearch_local.weights.listing import ModelRow

BADGES = {"fits": ("● fits", "bold green"), "tight": ("● tight", "bold yellow"), "no": ("✗ no", "bold red")}
COLUMNS = (
    ("mark", ""),
    ("model", "model"),
    ("format", "format"),
    ("quant", "quant"),
    ("size", "size"),
    ("fits", "fits here"),
    ("context", "max context"),
    ("status", "status"),
)


def fit_badge(verdict: str) -> Text:
    label, style = BADGES.get(verdict, (verdict, ""))
    return Text(label, style=style)


def size_text(row: ModelRow) -> str:
    return ("~" if row.size_is_approx else "") + human_bytes(row.size_bytes)


def status_text(row: ModelRow, activity: str | None = None) -> Text:
    """The row's state; a running download or check shows instead of the stored state."""
    if activity:
        return Text(activity, style="bold cyan")
    styles = {"downloaded": "green", "imported": "green", "partial": "yellow", "missing": "red"}
    text = Text(row.status, style=styles.get(row.status, "dim"))
    if row.default:
        text.append(" (default)", style="bold")
    return text


class ModelTable(DataTable[str | Text]):
    """One row per build: ``★`` marks the one recommended for this machine."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.rows_by_id: dict[str, ModelRow] = {}

    def show(self, rows: list[ModelRow], activity: dict[str, str] | None = None) -> None:
        """Replace the rows, keeping the cursor on the same model."""
        activity = activity or {}
        keep = self.selected_id()
        self.rows_by_id = {row.id: row for row in rows}
        cells = [
            (
                row.id,
                (
                    "★" if row.recommended else "",
                    row.id,
                    row.format,
                    row.quant,
                    size_text(row),
                    fit_badge(row.verdict),
                    f"{row.max_context // 1024}K" if row.max_context else "-",
                    status_text(row, activity.get(row.id)),
                ),
            )
            for row in rows
        ]
        refill(self, COLUMNS, cells, minimum={"status": len("downloaded (default)")})
        if keep in self.rows_by_id:
            self.move_cursor(row=self.get_row_index(keep))

    def set_activity(self, model_id: str, activity: str | None) -> None:
        row = self.rows_by_id.get(model_id)
        if row is not None:
            self.update_cell(model_id, "status", status_text(row, activity))

    def selected_id(self) -> str | None:
        if not self.rows_by_id or self.cursor_row < 0 or self.cursor_row >= self.row_count:
            return None
        key = self.coordinate_to_cell_key(Coordinate(self.cursor_row, 0)).row_key.value
        return str(key) if key is not None else None

    def selected(self) -> ModelRow | None:
        found = self.selected_id()
        return self.rows_by_id.get(found) if found else None

    def select(self, model_id: str) -> None:
        if model_id in self.rows_by_id:
            self.move_cursor(row=self.get_row_index(model_id))
