"""What the models screen says about this machine and about the selected build."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.widgets import Static

from deepresearch_local.tui.widgets.models.machine import machine_line, recommendation_text
from deepresearch_local.tui.widgets.models.table import fit_badge, size_text
from deepresearch_local.tui.widgets.path_bar import short_path

if TYPE_CHECKING:
    from deepresearch_local.hardware.probe import Hardware
    from deepresearch_local.weights.listing import ModelRow
    from deepresearch_local.weights.recommend import Recommendation


class MachineSummary(Static):
    """This machine and the recommended build (fit is for 16K tokens of context)."""

    def show(self, hw: Hardware, rec: Recommendation) -> None:
        text = Text("This machine: ", style="bold")
        text.append(machine_line(hw))
        text.append("\n")
        text.append_text(recommendation_text(rec))
        self.update(text)


class ModelDetails(Static):
    """The selected build: fit and why, the longest context that fits, notes, where it is."""

    def show(self, row: ModelRow | None) -> None:
        if row is None:
            self.update("")
            return
        text = Text(row.id, style="bold")
        text.append(f"  {row.format.upper()} {row.quant}, {size_text(row)}  ")
        text.append_text(fit_badge(row.verdict))
        text.append(f"\n{row.reason[:1].upper()}{row.reason[1:]}.")
        if row.max_context:
            text.append(f" Up to {row.max_context // 1024}K tokens of context fit here.")
        if row.notes:
            text.append(f"\n{row.notes}", style="italic")
        if row.path:
            text.append(f"\n{row.status.capitalize()} at {short_path(row.path)}")
        elif row.status == "partial":
            text.append("\nPartly downloaded: Download (d) resumes where it stopped.")
        self.update(text)
