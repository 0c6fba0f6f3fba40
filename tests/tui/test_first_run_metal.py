"""First-run setup on a Mac whose GPU memory limit could be raised shows the exact command, what
it would unlock and the risk (as ``doctor`` does); elsewhere it shows nothing of the kind."""

from __future__ import annotations

import asyncio

from rich.text import Text
from textual.app import App, ComposeResult
from textual.widgets import Static

from deepresearch_local.hardware.probe import Hardware
from deepresearch_local.tui.widgets.first_run.welcome import WelcomeStep
from deepresearch_local.weights.metal_advice import metal_advice
from deepresearch_local.weights.recommend import recommend
from tests.hardware.fit_table import cpu_pc, mac


class _Host(App[None]):
    def compose(self) -> ComposeResult:
        yield WelcomeStep()


def _shown(hw: Hardware) -> str:
    async def go() -> str:
        app = _Host()
        async with app.run_test(size=(140, 50)) as pilot:
            app.query_one(WelcomeStep).show(hw, recommend(hw), None, [])
            await pilot.pause()
            content = app.query_one("#welcome-machine", Static).content
            return content.plain if isinstance(content, Text) else str(content)

    return asyncio.run(go())


def test_a_16_gb_mac_is_told_how_to_raise_the_gpu_limit_and_what_it_risks() -> None:
    hw = mac(16)
    advice = metal_advice(hw)
    assert advice is not None
    shown = _shown(hw)
    assert f"`{advice.command}`" in shown and advice.command.startswith("sudo sysctl iogpu.wired_limit_mb=")
    assert advice.unlocks == "tongyi-30b-iq2_m"  # today 45 of its 48 layers fit the GPU's share
    assert "entirely on the GPU" in shown and "until the next reboot; this app never changes it" in shown


def test_a_pc_gets_no_metal_advice() -> None:
    assert "sysctl" not in _shown(cpu_pc(16))
