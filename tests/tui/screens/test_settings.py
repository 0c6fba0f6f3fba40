"""The settings screen over the real settings file: defaults shown with their meaning, invalid
fields refused with the reason, a valid form saved (ctrl+s works inside a field) and read back."""

from __future__ import annotations

import asyncio

from textual.widgets import Input, Select, Static, Switch

from deepresearch_local.config import SamplingSettings, Settings, load_settings, save_settings
from deepresearch_local.paths import get_paths
from deepresearch_local.tui.screens.settings import SettingsScreen
from deepresearch_local.tui.widgets.settings.fields import field_docs
from deepresearch_local.tui.widgets.settings.form import SettingsForm, control_id
from tests.tui.screens.host import Host
from tests.tui.snapshot import SIZE


def _help(form: SettingsForm, key: str) -> str:
    return str(form.query_one(f"#help-{control_id(key)}", Static).render())


def _status(app: Host) -> str:
    return str(app.screen.query_one("#settings-status", Static).render())


def test_edit_validate_save_and_reload() -> None:
    config = get_paths().config_file

    async def scenario() -> None:
        app = Host(SettingsScreen)
        async with app.run_test(size=SIZE) as pilot:
            form = app.screen.query_one(SettingsForm)
            await pilot.pause()
            assert _status(app) == "No settings file yet. ctrl+s saves changes."
            assert form.values() == {
                "backend": "auto",
                "model": "",
                "base_url": "",
                "context_tokens": "0",
                "constrain_tool_calls": "auto",
                "mode": "auto",
                "max_steps": "40",
                "max_output_tokens": "0",
                "fold_keep_fraction": "0.9",
                "offline": False,
                "seed_library_search": True,
                "allow_composed_urls": False,
                "allow_unisolated_python": False,
                "search_region": "auto",
                "search_provider": "ddgs",
                "search_url": "",
                "search_api_key": "",
                "preset": "laptop",
                "embedding_model": "",
                "sampling.temperature": "0.6",
                "sampling.top_p": "0.95",
                "sampling.presence_penalty": "1.1",
            }
            assert _help(form, "mode") == field_docs()["mode"]
            assert _help(form, "mode").startswith('Research mode; "auto" folds the context')

            form.control("backend").value = "openai"  # type: ignore[attr-defined]
            form.control("context_tokens").value = "4096"  # type: ignore[attr-defined]
            temperature = form.control("sampling.temperature")
            assert isinstance(temperature, Input)
            temperature.focus()
            temperature.value = ""
            await pilot.press("9", ".", "5")
            await pilot.pause()
            assert _status(app) == "Unsaved changes: ctrl+s saves them."
            await pilot.press("ctrl+s")  # works while a field has the focus
            assert not config.exists()
            assert _help(form, "base_url").startswith("The openai backend needs the server's URL")
            assert _help(form, "context_tokens") == (
                "The agent needs at least 8192 tokens of context (0 = what fits here)."
            )
            assert _help(form, "sampling.temperature") == "Temperature must be between 0.0 and 2.0."
            assert form.query_one(f"#help-{control_id('sampling.temperature')}").has_class("-error")
            assert not form.query_one(f"#help-{control_id('mode')}").has_class("-error")
            assert _status(app) == "Not saved: fix Server URL, Context budget, Temperature (marked in red)."

            form.control("base_url").value = "http://127.0.0.1:8080/v1"  # type: ignore[attr-defined]
            form.control("context_tokens").value = "16384"  # type: ignore[attr-defined]
            temperature.value = "0.3"
            form.control("mode").value = "react"  # type: ignore[attr-defined]
            form.control("offline").value = True  # type: ignore[attr-defined]
            form.control("model").value = "qwen-test"  # type: ignore[attr-defined]
            form.control("search_region").value = "de-de"  # type: ignore[attr-defined]
            await pilot.press("ctrl+s")
            assert config.exists()
            assert _status(app) == f"Saved to {config}."
            assert not form.query(".-error")

        assert app.errors == []

    asyncio.run(scenario())
    assert load_settings() == Settings(
        backend="openai",
        model="qwen-test",
        base_url="http://127.0.0.1:8080/v1",
        context_tokens=16384,
        mode="react",
        offline=True,
        search_region="de-de",
        max_steps=40,
        sampling=SamplingSettings(temperature=0.3, top_p=0.95, presence_penalty=1.1),
    )

    async def reopen() -> None:
        app = Host(SettingsScreen)
        async with app.run_test(size=SIZE) as pilot:
            form = app.screen.query_one(SettingsForm)
            await pilot.pause()
            assert _status(app) == f"Saved settings from {config}. ctrl+s saves changes."
            values = form.values()
            assert (values["backend"], values["mode"], values["offline"]) == ("openai", "react", True)
            assert values["sampling.temperature"] == "0.3"
            await pilot.click("#defaults")
            assert form.values()["backend"] == "auto" and form.values()["offline"] is False
            assert _status(app) == "The defaults, not saved yet: ctrl+s saves them."
            await pilot.click("#reload")
            assert form.values()["backend"] == "openai"

    asyncio.run(reopen())


def test_an_unreadable_settings_file_is_reported_and_replaced() -> None:
    config = get_paths().config_file
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text("backend = 'auto'\ncolour = 'blue'\n")

    async def scenario() -> None:
        app = Host(SettingsScreen)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            assert _status(app) == (
                f"{config}: unknown setting(s) colour. Remove them or fix the spelling. "
                "Showing the defaults; saving writes a fresh file."
            )
            form = app.screen.query_one(SettingsForm)
            assert isinstance(form.control("offline"), Switch)
            assert isinstance(form.control("backend"), Select)
            await pilot.press("ctrl+s")
        assert app.errors == []

    asyncio.run(scenario())
    assert load_settings() == Settings()
    save_settings(Settings())  # what the screen wrote is what save_settings writes
    assert load_settings() == Settings()


def test_the_tool_call_grammar_setting_round_trips() -> None:
    """The form offers auto/on/off for constrain_tool_calls, saves the choice, and shows a saved one."""
    save_settings(Settings(constrain_tool_calls="off"))

    async def scenario() -> None:
        app = Host(SettingsScreen)
        async with app.run_test(size=SIZE) as pilot:
            form = app.screen.query_one(SettingsForm)
            await pilot.pause()
            grammar = form.control("constrain_tool_calls")
            assert isinstance(grammar, Select)
            assert grammar.value == "off"
            assert _help(form, "constrain_tool_calls") == field_docs()["constrain_tool_calls"]
            grammar.value = "on"
            await pilot.press("ctrl+s")
            assert not form.query(".-error")
        assert app.errors == []

    asyncio.run(scenario())
    assert load_settings() == Settings(constrain_tool_calls="on")
