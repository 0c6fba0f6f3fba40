"""The settings form: one row per field (label, control, what it means or what is wrong)."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.suggester import SuggestFromList
from textual.widget import Widget
from textual.widgets import Input, Label, Select, Static, Switch

from deepresearch_local.tui.widgets.settings.fields import FIELDS, REGIONS, Field, field_docs

SECTIONS = {"backend": "Model and engine", "mode": "Research", "sampling.temperature": "Sampling"}


def control_id(key: str) -> str:
    return "field-" + key.replace(".", "-").replace("_", "-")


class SettingsForm(VerticalScroll):
    """Shows a ``dict`` of field values (see ``fields.form_values``) and reads it back."""

    DEFAULT_CSS = """
    SettingsForm { height: 1fr; padding: 0 1; }
    SettingsForm .section { text-style: bold; margin-top: 1; }
    SettingsForm .field { height: auto; }
    SettingsForm .field-label { width: 18; padding: 1 1 0 0; }
    SettingsForm Input, SettingsForm Select { width: 36; }
    SettingsForm Switch { width: 10; }
    SettingsForm .field-help { width: 1fr; padding: 1 0 0 2; color: $text-muted; }
    SettingsForm .field-help.-error { color: $text-error; text-style: bold; }
    """

    class Changed(Message):
        """A field's value changed (also when :meth:`load` set it)."""

    def compose(self) -> ComposeResult:
        docs = field_docs()
        for f in FIELDS:
            if f.key in SECTIONS:
                yield Label(SECTIONS[f.key], classes="section")
            with Horizontal(classes="field"):
                yield Label(f.label, classes="field-label")
                yield self._control(f)
                yield Static(docs.get(f.key, ""), classes="field-help", id=f"help-{control_id(f.key)}")

    @staticmethod
    def _control(f: Field) -> Widget:
        if f.kind == "choice":
            return Select([(c, c) for c in f.choices], allow_blank=False, id=control_id(f.key))
        if f.kind == "bool":
            return Switch(id=control_id(f.key))
        kind = {"int": "integer", "float": "number"}.get(f.kind, "text")
        suggester = SuggestFromList(REGIONS) if f.key == "search_region" else None
        return Input(type=kind, id=control_id(f.key), suggester=suggester)  # type: ignore[arg-type]

    def control(self, key: str) -> Widget:
        return self.query_one(f"#{control_id(key)}")

    def set_models(self, ids: list[str]) -> None:
        """Offer the registered models as completions of the model field."""
        self.query_one(f"#{control_id('model')}", Input).suggester = SuggestFromList(ids)

    def load(self, values: dict[str, Any]) -> None:
        for f in FIELDS:
            widget = self.control(f.key)
            if isinstance(widget, (Select, Switch, Input)):
                widget.value = values[f.key]
        self.show_errors({})

    def values(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in FIELDS:
            widget = self.control(f.key)
            out[f.key] = widget.value if isinstance(widget, (Select, Switch, Input)) else None
        return out

    def show_errors(self, errors: dict[str, str]) -> None:
        docs = field_docs()
        for f in FIELDS:
            help_text = self.query_one(f"#help-{control_id(f.key)}", Static)
            help_text.update(errors.get(f.key) or docs.get(f.key, ""))
            help_text.set_class(f.key in errors, "-error")

    def _changed(self) -> None:
        self.post_message(self.Changed())

    def on_input_changed(self, event: Input.Changed) -> None:
        self._changed()

    def on_select_changed(self, event: Select.Changed) -> None:
        self._changed()

    def on_switch_changed(self, event: Switch.Changed) -> None:
        self._changed()
