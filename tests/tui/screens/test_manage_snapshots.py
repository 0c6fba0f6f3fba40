"""Snapshots of the models, library, settings and first-run screens at 120x40 on a recorded
machine (``UPDATE_SNAPSHOTS=1`` rewrites them; review the SVGs before committing)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from deepresearch_local.tui.screens.first_run import FirstRunScreen
from deepresearch_local.tui.screens.library import LibraryScreen
from deepresearch_local.tui.screens.models import ModelsScreen
from deepresearch_local.tui.screens.settings import SettingsScreen
from deepresearch_local.tui.widgets.library.folders import FolderTable
from deepresearch_local.tui.widgets.models.table import ModelTable
from deepresearch_local.tui.widgets.path_bar import PathBar
from tests.tui.screens.host import Host, machine, shows, until
from tests.tui.screens.test_library import make_docs
from tests.tui.snapshot import SIZE, assert_snapshot


def test_models_catalog_snapshot() -> None:
    hw = machine()

    async def scenario() -> None:
        app = Host(lambda: ModelsScreen(hardware=lambda: hw))
        async with app.run_test(size=SIZE) as pilot:
            table = app.screen.query_one(ModelTable)
            await until(pilot, lambda: table.row_count > 0, what="the catalog")
            table.select("tongyi-30b-q4_k_m")
            await until(pilot, lambda: shows(app, " tongyi-30b-mlx-4bit ", " ~30.3 GiB "), what="whole cells")
            await assert_snapshot(pilot, "models_catalog")

    asyncio.run(scenario())


def test_library_coverage_snapshot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    make_docs(tmp_path)

    async def scenario() -> None:
        app = Host(LibraryScreen)
        async with app.run_test(size=SIZE) as pilot:
            screen = app.screen
            await pilot.press("a")
            screen.query_one(PathBar).input.value = "~/docs"
            await pilot.press("enter")
            folders = screen.query_one(FolderTable)
            await until(pilot, lambda: folders.row_count == 1 and not screen.indexing, what="indexing")
            await until(pilot, lambda: screen.query_one("#coverage-table").row_count == 5, what="coverage")
            whole = (" guide/install.md ", " unsupported type .png (binary format) ")
            await until(pilot, lambda: shows(app, *whole), what="whole cells")
            await assert_snapshot(pilot, "library_coverage")

    asyncio.run(scenario())


def test_settings_snapshot() -> None:
    async def scenario() -> None:
        app = Host(SettingsScreen)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await assert_snapshot(pilot, "settings_defaults")

    asyncio.run(scenario())


def test_first_run_welcome_snapshot() -> None:
    hw = machine()

    async def scenario() -> None:
        app = Host(lambda: FirstRunScreen(hardware=lambda: hw))
        async with app.run_test(size=SIZE) as pilot:
            screen = app.screen
            assert isinstance(screen, FirstRunScreen)
            await until(pilot, lambda: screen.rec is not None, what="the hardware summary")
            await assert_snapshot(pilot, "first_run_welcome")

    asyncio.run(scenario())


def test_every_key_of_these_screens_is_also_in_the_palette() -> None:
    from textual.binding import Binding

    from deepresearch_local.tui.commands import commands_for

    for mode, screen in (
        ("models", ModelsScreen),
        ("library", LibraryScreen),
        ("settings", SettingsScreen),
        ("first_run", FirstRunScreen),
    ):
        actions = {c.action for c in commands_for(mode)}
        keys = {b.action for b in screen.BINDINGS if isinstance(b, Binding)} - {"back"}  # Esc is Esc
        assert keys and keys <= actions, (mode, keys - actions)
        assert all(callable(getattr(screen, f"action_{a}", None)) for a in actions)
