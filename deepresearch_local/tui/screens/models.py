"""The models screen: every build with its fit on this machine; download (pause, resume, cancel),
verify, delete, set the default, import weights from a path or found on disk.

All the work is done by ``deepresearch_local.weights`` (the same functions ``deepresearch
models`` calls) in thread workers; this screen shows their results.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header

from deepresearch_local.tui.commands import register
from deepresearch_local.tui.widgets.models.details import MachineSummary, ModelDetails
from deepresearch_local.tui.widgets.models.table import ModelTable, size_text
from deepresearch_local.tui.widgets.models.transfers import Transfers
from deepresearch_local.tui.widgets.path_bar import PathBar, short_path

if TYPE_CHECKING:
    from deepresearch_local.hardware.probe import Hardware
    from deepresearch_local.weights.listing import ModelRow
    from deepresearch_local.weights.recommend import Recommendation
    from deepresearch_local.weights.registry import RegisteredModel

HardwareSource = Callable[[], "Hardware"]

for _action, _title, _help in (
    ("download", "Models: download the selected build", "Resumable and verified; shows speed and ETA"),
    ("pause", "Models: pause or resume the download", "The bytes downloaded so far are kept"),
    ("cancel_download", "Models: cancel the download", "The partial file is kept for a later resume"),
    ("verify", "Models: verify the selected weights", "Re-check their sha256"),
    ("delete", "Models: delete the selected weights", "Unregister; delete files this app downloaded"),
    ("use", "Models: make the selected model the default", "Research runs use it"),
    ("import_path", "Models: import weights from a path", "A .gguf file or an MLX folder, used in place"),
    ("scan", "Models: find weights already on disk", "Hugging Face cache, LM Studio; imports them"),
    ("refresh", "Models: refresh the list", "Re-read the registry and the downloads folder"),
):
    register("models", _title, _help, _action)


class ModelsScreen(Screen[None]):
    """The catalog, the weights on this machine, and the downloads in progress."""

    DEFAULT_CSS = """
    ModelsScreen #machine { padding: 0 1; height: auto; margin-bottom: 1; }
    ModelsScreen ModelTable { height: 1fr; }
    ModelsScreen #model-details { padding: 1 1 0 1; height: auto; min-height: 4; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("d", "download", "Download"),
        Binding("p", "pause", "Pause/resume"),
        Binding("c", "cancel_download", "Cancel"),
        Binding("v", "verify", "Verify"),
        Binding("u", "use", "Set default"),
        Binding("i", "import_path", "Import"),
        Binding("s", "scan", "Scan disk"),
        Binding("delete,x", "delete", "Delete"),
        Binding("r", "refresh", "Refresh", show=False),
    ]

    class Loaded(Message):
        def __init__(self, hw: Hardware, rec: Recommendation, rows: list[ModelRow]) -> None:
            super().__init__()
            self.hw, self.rec, self.rows = hw, rec, rows

    class Listed(Message):
        """The builds and registered weights, before their fit here is known."""

        def __init__(self, rows: list[ModelRow]) -> None:
            super().__init__()
            self.rows = rows

    def __init__(
        self,
        hardware: HardwareSource | None = None,
        *,
        name: str | None = None,
        rows_first: bool | None = None,
    ) -> None:
        super().__init__(name=name)
        self._hardware = hardware or probe_for_listing
        self._rows_first = hardware is None if rows_first is None else rows_first
        """List the rows before the probe answers (default: with the real probe, which may be slow)."""
        self._hw: Hardware | None = None
        self.rows: list[ModelRow] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield MachineSummary("Looking at this machine…", id="machine")
        yield ModelTable(id="models-table")
        yield ModelDetails(id="model-details")
        yield PathBar("Import", "a .gguf file or an MLX folder (used in place, not copied)", id="import")
        yield Transfers(id="transfers")
        yield Footer()

    @property
    def table(self) -> ModelTable:
        return self.query_one(ModelTable)

    @property
    def transfers(self) -> Transfers:
        return self.query_one(Transfers)

    def on_mount(self) -> None:
        self.table.focus()
        self.action_refresh()

    # -- loading -----------------------------------------------------------------------------
    def action_refresh(self) -> None:
        self.run_worker(self._load, thread=True, group="rows", exclusive=True, name="models list")

    def _load(self) -> None:
        """Rows at once, then the probe (seconds the first time) and the fit of each row."""
        from deepresearch_local.weights.listing import model_rows, pending_rows
        from deepresearch_local.weights.recommend import recommend

        if self._hw is None and self._rows_first:
            self.post_message(self.Listed(pending_rows()))
        hw = self._hw or self._hardware()
        rec = recommend(hw)
        self.post_message(self.Loaded(hw, rec, model_rows(hw, rec=rec)))

    def on_models_screen_listed(self, message: ModelsScreen.Listed) -> None:
        if not self.rows:  # the full rows may have arrived first
            self.table.show(message.rows, self.transfers.activity())
            self.query_one(ModelDetails).show(self.table.selected())

    def on_models_screen_loaded(self, message: ModelsScreen.Loaded) -> None:
        self._hw, self.rows = message.hw, message.rows
        self.query_one(MachineSummary).show(message.hw, message.rec)
        self.table.show(message.rows, self.transfers.activity())
        self.query_one(ModelDetails).show(self.table.selected())

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.query_one(ModelDetails).show(self.table.selected())

    # -- downloads ---------------------------------------------------------------------------
    def _target(self) -> str | None:
        """The selected row's id, else the only running transfer."""
        row = self.table.selected()
        running = self.transfers.running()
        if row is not None and (row.id in running or not running):
            return row.id
        return next(iter(running)) if len(running) == 1 else (row.id if row else None)

    def action_download(self) -> None:
        row = self.table.selected()
        if row is None:
            return
        if row.status in ("downloaded", "imported"):
            self.notify(f"{row.id} is already on this machine.")
        elif not row.in_catalog:
            self.notify(f"{row.id} was imported: there is nothing to download.", severity="warning")
        elif self.transfers.download(row.id):
            self.table.set_activity(row.id, "downloading…")

    def action_pause(self) -> None:
        key = self._target()
        paused = self.transfers.toggle_pause(key) if key else None
        if paused is None:
            self.notify("No download to pause: select one that is running.", severity="warning")
        elif key:
            self.table.set_activity(key, "paused" if paused else "downloading…")

    def action_cancel_download(self) -> None:
        key = self._target()
        if not key or not self.transfers.cancel(key):
            self.notify("Nothing is running for this model.", severity="warning")

    def on_transfers_finished(self, message: Transfers.Finished) -> None:
        severity: SeverityLevel = "information" if message.outcome == "done" else "warning"
        self.notify(message.message, severity=severity, timeout=8)
        self.action_refresh()

    # -- registered weights ------------------------------------------------------------------
    def _entry(self) -> RegisteredModel | None:
        from deepresearch_local.weights.registry import Registry

        row = self.table.selected()
        entry = Registry().find(row.id) if row else None
        if entry is None:
            self.notify("Select weights that are on this machine.", severity="warning")
        return entry

    def action_verify(self) -> None:
        entry = self._entry()
        if entry is not None:
            self.transfers.verify(entry)
            self.table.set_activity(entry.id, "checking…")

    def action_use(self) -> None:
        from deepresearch_local.config import load_settings, save_settings
        from deepresearch_local.weights.registry import Registry

        entry = self._entry()
        if entry is None:
            return
        Registry().set_default(entry.id)
        settings = load_settings()
        if settings.model and settings.model != entry.id and settings.backend != "openai":
            settings.model = entry.id  # the saved setting would otherwise still win
            save_settings(settings)
        self.notify(f"Default model: {entry.id}")
        self.action_refresh()

    def action_delete(self) -> None:
        row = self.table.selected()
        if row is None:
            return
        if row.id in self.transfers.running():
            self.notify("Cancel the download or check first (c).", severity="warning")
            return
        if row.status == "available":
            self.notify(f"{row.id} is not on this machine.", severity="warning")
            return
        if row.status == "partial":
            question = f"Delete the partial download of {row.id}?"
        elif row.status == "imported":
            question = f"Unregister {row.id}? Its files stay where they are ({row.path})."
        else:
            question = f"Delete {row.id} and its files ({size_text(row)})?"

        def done(yes: bool | None) -> None:
            if yes:
                self.notify(remove(row))
                self.action_refresh()

        self.app.push_screen(confirm_modal("Delete weights", question, "Delete"), done)

    # -- imports -----------------------------------------------------------------------------
    def action_import_path(self) -> None:
        self.query_one("#import", PathBar).open()

    def on_path_bar_submitted(self, message: PathBar.Submitted) -> None:
        self.table.focus()
        self.run_worker(lambda: self._import(message.value), thread=True, name="import weights")

    def on_path_bar_closed(self, message: PathBar.Closed) -> None:
        self.table.focus()

    def _import(self, path: str) -> None:
        from deepresearch_local.weights.scan import import_path

        entry, new = import_path(path)
        said = f"Imported {entry.id} from {entry.path}" if new else f"Already registered as {entry.id}"
        self.app.call_from_thread(self.notify, said)
        self.app.call_from_thread(self.action_refresh)

    def action_scan(self) -> None:
        self.notify("Looking for GGUF files and MLX folders (Hugging Face cache, LM Studio)…")
        self.run_worker(self._scan, thread=True, name="scan for weights")

    def _scan(self) -> None:
        from deepresearch_local.weights.scan import scan

        new = [found.path for found in scan() if found.registered_as is None]
        self.app.call_from_thread(self._offer_import, new)

    def _offer_import(self, paths: list[str]) -> None:
        if not paths:
            self.notify("No weights found that are not registered yet.")
            return
        listed = "\n".join(short_path(p) for p in paths[:8]) + ("\n…" if len(paths) > 8 else "")
        them = "it" if len(paths) == 1 else f"these {len(paths)}"
        question = f"Import {them} (registered where they are, nothing copied)?\n\n{listed}"

        def done(yes: bool | None) -> None:
            if yes:
                self.run_worker(lambda: self._import_all(paths), thread=True, name="import weights")

        self.app.push_screen(confirm_modal("Import weights", question, "Import"), done)

    def _import_all(self, paths: list[str]) -> None:
        from deepresearch_local.weights.scan import import_path

        imported, skipped = [], []
        for path in paths:
            try:
                imported.append(import_path(path)[0].id)
            except Exception as exc:  # one unreadable file must not stop the others
                skipped.append(f"{path}: {exc}")
        said = f"Imported: {', '.join(imported)}." if imported else "Nothing imported."
        if skipped:
            said += f" Skipped {len(skipped)}: {skipped[0]}"
        self.app.call_from_thread(self.notify, said, timeout=10)
        self.app.call_from_thread(self.action_refresh)


def probe_for_listing() -> Hardware:
    """The hardware facts with remembered backend checks (``hardware.backend_cache``): no MLX
    subprocess or llama.cpp import while the packages are unchanged."""
    from deepresearch_local.paths import get_paths

    return _listing_probe(str(get_paths().models_dir))


@lru_cache(maxsize=4)
def _listing_probe(models_dir: str) -> Hardware:
    from pathlib import Path

    from deepresearch_local.hardware.probe import probe

    return probe(Path(models_dir), cached_backends=True)


def remove(row: ModelRow) -> str:
    """Delete a partial download, or unregister weights (deleting them if this app downloaded them)."""
    from deepresearch_local.weights.manage import remove_model, remove_partials
    from deepresearch_local.weights.pull import parse_target, partial_files

    if row.status == "partial":
        removed = remove_partials(partial_files(parse_target(row.id)))
        return f"Deleted the partial download of {row.id} ({len(removed)} files)."
    entry, deleted = remove_model(row.id)
    if deleted:
        return f"Removed {entry.id} and deleted its files."
    return f"Unregistered {entry.id}; its files stay where they are."


def confirm_modal(title: str, question: str, confirm: str) -> Screen[bool]:
    from deepresearch_local.tui.modals.confirm import ConfirmModal

    return ConfirmModal(title, question, confirm)
