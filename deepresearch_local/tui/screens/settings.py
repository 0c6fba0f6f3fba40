"""The settings screen: backend, model, context budget, mode, offline, search region, sampling;
saved to the config file with ``config.save_settings`` (what ``ask`` and the app read)."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, Static

from deepresearch_local.config import Settings, load_settings, save_settings
from deepresearch_local.errors import ConfigError
from deepresearch_local.paths import get_paths
from deepresearch_local.tui.commands import register
from deepresearch_local.tui.widgets.path_bar import short_path
from deepresearch_local.tui.widgets.settings.fields import FIELDS, form_values, parse_form
from deepresearch_local.tui.widgets.settings.form import SettingsForm

register("settings", "Settings: save", "Write the settings file (ctrl+s)", "save")
register("settings", "Settings: discard changes", "Show the saved settings again", "reload")
register("settings", "Settings: reset to defaults", "Fill in the defaults (saved when you save)", "defaults")


class SettingsScreen(Screen[None]):
    """Every setting with what it means; ctrl+s saves (invalid fields say what is wrong)."""

    DEFAULT_CSS = """
    SettingsScreen #settings-status { padding: 0 1; height: auto; }
    SettingsScreen #settings-status.-dirty { color: $text-warning; }
    SettingsScreen #settings-buttons { height: auto; padding: 0 1; }
    SettingsScreen #settings-buttons Button { margin-right: 2; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save", priority=True),
    ]

    def __init__(self, *, name: str | None = None) -> None:
        super().__init__(name=name)
        self.dirty = False
        self.saved: dict[str, Any] = {}
        """The form values of the settings on disk (edits are compared with them)."""
        self._said = ""
        self._base = Settings()
        """The settings as loaded: what the form does not show is saved unchanged."""

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="settings-status", markup=False)
        yield SettingsForm(id="settings-form")
        with Horizontal(id="settings-buttons"):
            yield Button("Save (ctrl+s)", id="save", variant="primary")
            yield Button("Discard changes", id="reload")
            yield Button("Defaults", id="defaults")
        yield Footer()

    @property
    def form(self) -> SettingsForm:
        return self.query_one(SettingsForm)

    def on_mount(self) -> None:
        try:
            from deepresearch_local.weights.registry import Registry

            self.form.set_models([e.id for e in Registry().entries()])
        except ConfigError:
            pass  # an unreadable registry only loses the completions; the models screen says why
        self.action_reload()

    def _status(self, text: str, dirty: bool = False) -> None:
        self.dirty = dirty
        status = self.query_one("#settings-status", Static)
        status.update(text)
        status.set_class(dirty, "-dirty")

    def _load(self, values: dict[str, Any], said: str, saved: bool) -> None:
        if saved:
            self.saved, self._said = values, said
        self.form.load(values)
        self._status(said, dirty=not saved)

    def action_reload(self) -> None:
        path = get_paths().config_file
        try:
            settings = load_settings()
            said = f"Saved settings from {short_path(path)}" if path.exists() else "No settings file yet"
            said += ". ctrl+s saves changes."
        except ConfigError as exc:
            settings = Settings()
            said = f"{exc} Showing the defaults; saving writes a fresh file."
        self._base = settings
        self._load(form_values(settings), said, saved=True)

    def action_defaults(self) -> None:
        self._base = Settings()
        self._load(form_values(Settings()), "The defaults, not saved yet: ctrl+s saves them.", saved=False)

    def action_save(self) -> None:
        settings, errors = parse_form(self.form.values(), self._base)
        self.form.show_errors(errors)
        if settings is None:
            listed = ", ".join(f.label for f in FIELDS if f.key in errors)
            self._status(f"Not saved: fix {listed} (marked in red).", dirty=True)
            self.notify("Not saved: fix the fields marked in red.", severity="error")
            return
        path = save_settings(settings)
        self.saved, self._said = self.form.values(), f"Saved to {short_path(path)}."
        self._status(self._said)
        self.notify("Settings saved.")

    def on_settings_form_changed(self, message: SettingsForm.Changed) -> None:
        changed = self.form.values() != self.saved
        if changed and not self.dirty:
            self._status("Unsaved changes: ctrl+s saves them.", dirty=True)
        elif not changed and self.dirty:
            self._status(self._said)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        actions = {"save": self.action_save, "reload": self.action_reload, "defaults": self.action_defaults}
        actions[event.button.id or "save"]()
