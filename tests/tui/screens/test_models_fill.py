"""The models screen lists every build at once and fills in the fit when the (slow) hardware
probe answers."""

from __future__ import annotations

import asyncio
import threading

from textual.widgets import Static

from deepresearch_local.hardware.probe import Hardware
from deepresearch_local.tui.screens.models import ModelsScreen
from deepresearch_local.tui.widgets.models.details import MachineSummary
from deepresearch_local.tui.widgets.models.table import ModelTable
from deepresearch_local.weights.catalog import load_catalog
from tests.tui.screens.host import Host, machine, until
from tests.tui.snapshot import SIZE


def test_rows_show_before_the_probe_and_fill_in_after() -> None:
    hw = machine()
    release = threading.Event()

    def slow_probe() -> Hardware:
        release.wait(timeout=60)  # the probe answers only when the test says so
        return hw

    async def scenario() -> None:
        app = Host(lambda: ModelsScreen(hardware=slow_probe, rows_first=True))
        async with app.run_test(size=SIZE) as pilot:
            table = app.screen.query_one(ModelTable)
            await until(pilot, lambda: table.row_count == len(load_catalog()), what="the listed rows")
            assert {str(table.get_row(v.id)[5]) for v in load_catalog()} == {"…"}
            summary = app.screen.query_one(MachineSummary, Static)
            assert "Looking at this machine" in str(summary.render())
            release.set()
            await until(pilot, lambda: "Recommended" in str(summary.render()), what="the probe")
            await until(pilot, lambda: "…" not in {str(table.get_row(v.id)[5]) for v in load_catalog()})
            assert str(table.get_row("tongyi-30b-q4_k_m")[5]) in ("● fits", "● tight", "✗ no")
        assert app.errors == []

    asyncio.run(scenario())
