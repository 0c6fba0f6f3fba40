"""Apple Silicon's GPU memory limit: the default share, a raised ``iogpu.wired_limit_mb`` read
by the probe and used by the recommendation, and doctor's advice (command, what it unlocks,
the risk) on a recorded 16 GB Mac."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deepresearch_local.hardware.budget import budget_for
from deepresearch_local.hardware.fit import GiB, MiB
from deepresearch_local.hardware.metal import gpu_share, raised_limit_bytes
from deepresearch_local.weights.metal_advice import metal_advice
from deepresearch_local.weights.recommend import recommend
from tests.hardware.test_probe import Recorded


def _mac(tmp_path: Path, ram_gb: int, wired_mb: int = 0) -> Recorded:
    machine = Recorded("mac_m2max")
    machine.spec["commands"]["sysctl -n hw.memsize"] = f"{ram_gb * GiB}\n"
    machine.spec["commands"]["sysctl -n iogpu.wired_limit_mb"] = f"{wired_mb}\n"
    return machine


def test_default_share_and_raised_limit_arithmetic(tmp_path: Path) -> None:
    hw = _mac(tmp_path, 16).probe(tmp_path)
    assert hw.metal_wired_limit_bytes is None
    assert gpu_share(hw) == 16 * GiB * 2 // 3 == budget_for(hw).ram_bytes  # 10.7 GiB
    assert raised_limit_bytes(16 * GiB) == 12 * GiB  # 4 GiB kept for macOS
    assert raised_limit_bytes(64 * GiB) == (64 * GiB - 64 * GiB // 5) // MiB * MiB  # a fifth above 20 GB
    raised = _mac(tmp_path, 16, wired_mb=12288).probe(tmp_path)
    assert raised.metal_wired_limit_bytes == 12 * GiB
    assert gpu_share(raised) == budget_for(raised).ram_bytes == 12 * GiB
    # The raised limit buys a bigger build: IQ2_XXS -> IQ2_M.
    assert recommend(hw).variant == "tongyi-30b-iq2_xxs"
    assert recommend(raised).variant == "tongyi-30b-iq2_m"


def test_doctor_advice_names_the_command_the_gain_and_the_risk(tmp_path: Path) -> None:
    advice = metal_advice(_mac(tmp_path, 16).probe(tmp_path))
    assert advice is not None and advice.command == "sudo sysctl iogpu.wired_limit_mb=12288"
    assert advice.unlocks == "tongyi-30b-iq2_m"
    assert "until the next reboot" in advice.text and "never changes it" in advice.text
    assert "4 GiB" in advice.text and "freeze" in advice.text
    # Already raised as far as we would suggest: nothing more to say.
    assert metal_advice(_mac(tmp_path, 16, wired_mb=12288).probe(tmp_path)) is None
    # 8 GB: raising would leave macOS too little, so no advice.
    assert metal_advice(_mac(tmp_path, 8).probe(tmp_path)) is None


def test_doctor_prints_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from deepresearch_local.cli import doctor

    hw = _mac(tmp_path, 16).probe(tmp_path)
    monkeypatch.setattr(doctor, "probe", lambda models_dir=None, **_: hw)
    monkeypatch.setattr(doctor, "sandbox_status", lambda: {"summary": "-"})
    monkeypatch.setattr(doctor, "search_status", lambda: {"summary": "-"})
    import argparse

    assert doctor.run(argparse.Namespace(json=False)) == 0
    out = capsys.readouterr().out
    assert "GPU memory limit:" in out and "`sudo sysctl iogpu.wired_limit_mb=12288`" in out
    assert doctor.run(argparse.Namespace(json=True)) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["metal_limit"]["unlocks"] == "tongyi-30b-iq2_m"
