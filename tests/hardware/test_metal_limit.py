"""Apple Silicon's GPU memory limit: the default share, the working set Metal reports, a raised
``iogpu.wired_limit_mb`` read by the probe and used by the recommendation, and doctor's advice
(where the limit came from, the command, what it unlocks, the risk) on a recorded 16 GB Mac."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deepresearch_local.hardware.budget import budget_for
from deepresearch_local.hardware.fit import GiB, MiB
from deepresearch_local.hardware.metal import gpu_share, gpu_share_source, local_gpu_share, raised_limit_bytes
from deepresearch_local.hardware.probe import BackendStatus
from deepresearch_local.weights.metal_advice import metal_advice
from deepresearch_local.weights.recommend import recommend
from tests.hardware.test_probe import Recorded

M1_16GB_WORKING_SET = 11_453_251_584
"""What Metal reports on a 16 GB M1/M2 (llama.cpp logs it as 11453.25 MB): 2/3 of RAM, page-rounded."""


def _mac(tmp_path: Path, ram_gb: int, wired_mb: int = 0, working_set: int | None = None) -> Recorded:
    machine = Recorded("mac_m2max")
    machine.spec["commands"]["sysctl -n hw.memsize"] = f"{ram_gb * GiB}\n"
    machine.spec["commands"]["sysctl -n iogpu.wired_limit_mb"] = f"{wired_mb}\n"
    machine.spec["metal_working_set"] = working_set
    return machine


def test_default_share_and_raised_limit_arithmetic(tmp_path: Path) -> None:
    hw = _mac(tmp_path, 16).probe(tmp_path)
    assert hw.metal_wired_limit_bytes is None and gpu_share_source(hw) == "estimate"
    budget = budget_for(hw)
    assert gpu_share(hw) == 16 * GiB * 2 // 3 == budget.vram_bytes  # 10.7 GiB for the GPU
    assert budget.ram_bytes == 12 * GiB and budget.unified  # 4 GiB kept for macOS, the rest usable
    assert raised_limit_bytes(16 * GiB) == 12 * GiB  # 4 GiB kept for macOS
    assert raised_limit_bytes(64 * GiB) == (64 * GiB - 64 * GiB // 5) // MiB * MiB  # a fifth above 20 GB
    raised = _mac(tmp_path, 16, wired_mb=12288).probe(tmp_path)
    assert raised.metal_wired_limit_bytes == 12 * GiB and gpu_share_source(raised) == "raised"
    assert gpu_share(raised) == budget_for(raised).vram_bytes == budget_for(raised).ram_bytes == 12 * GiB
    # Raised past our suggestion (14 of 16 GiB): the user's choice counts, for the pool too.
    reckless = budget_for(_mac(tmp_path, 16, wired_mb=14336).probe(tmp_path))
    assert reckless.vram_bytes == reckless.ram_bytes == 14 * GiB


def test_metals_working_set_beats_the_estimate_and_loses_to_a_raised_limit(tmp_path: Path) -> None:
    reported = _mac(tmp_path, 16, working_set=M1_16GB_WORKING_SET).probe(tmp_path)
    assert gpu_share_source(reported) == "metal" and reported.metal_working_set_bytes == M1_16GB_WORKING_SET
    assert budget_for(reported).vram_bytes == M1_16GB_WORKING_SET != 16 * GiB * 2 // 3
    # A Mac whose Metal reports less than our rule of thumb is planned by what Metal says.
    small = _mac(tmp_path, 16, working_set=8 * GiB).probe(tmp_path)
    assert budget_for(small).vram_bytes == 8 * GiB and budget_for(small).ram_bytes == 12 * GiB
    both = _mac(tmp_path, 16, wired_mb=12288, working_set=M1_16GB_WORKING_SET).probe(tmp_path)
    assert gpu_share_source(both) == "raised" and budget_for(both).vram_bytes == 12 * GiB


def test_a_16gb_mac_splits_layers_and_a_raised_limit_puts_them_all_on_the_gpu(tmp_path: Path) -> None:
    rec = recommend(_mac(tmp_path, 16).probe(tmp_path))
    assert rec.backend == "llama.cpp" and rec.variant == "tongyi-30b-iq2_m" and rec.fit is not None
    assert 0 < rec.fit.gpu_layers < 48 and f"{rec.fit.gpu_layers}/48 layers on the GPU (Metal)" in rec.why
    raised = recommend(_mac(tmp_path, 16, wired_mb=12288).probe(tmp_path))
    assert raised.variant == "tongyi-30b-iq2_m" and raised.fit is not None and raised.fit.gpu_layers == 48


def test_local_gpu_share_without_a_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    from deepresearch_local.hardware import metal_device, sources

    assert local_gpu_share(16 * GiB) == 16 * GiB * 2 // 3  # not a Mac: the estimate
    monkeypatch.setattr(metal_device, "on_apple_silicon", lambda: True)
    monkeypatch.setattr(metal_device, "metal_working_set_bytes", lambda: M1_16GB_WORKING_SET)
    monkeypatch.setattr(sources.SubprocessRunner, "__call__", lambda self, argv: "0\n")
    assert local_gpu_share(16 * GiB) == M1_16GB_WORKING_SET
    monkeypatch.setattr(sources.SubprocessRunner, "__call__", lambda self, argv: "12288\n")
    assert local_gpu_share(16 * GiB) == 12 * GiB
    monkeypatch.setattr(sources.SubprocessRunner, "__call__", lambda self, argv: None)  # no sysctl
    monkeypatch.setattr(metal_device, "metal_working_set_bytes", lambda: None)
    assert local_gpu_share(16 * GiB) == 16 * GiB * 2 // 3


def test_doctor_advice_names_the_source_the_command_the_gain_and_the_risk(tmp_path: Path) -> None:
    advice = metal_advice(_mac(tmp_path, 16, working_set=M1_16GB_WORKING_SET).probe(tmp_path))
    assert advice is not None and advice.command == "sudo sysctl iogpu.wired_limit_mb=12288"
    assert advice.source == "metal" and "(the working set Metal reports)" in advice.text
    assert advice.unlocks == "tongyi-30b-iq2_m" and "entirely on the GPU" in advice.text
    assert "until the next reboot" in advice.text and "never changes it" in advice.text
    assert "4 GiB" in advice.text and "freeze" in advice.text
    estimated = metal_advice(_mac(tmp_path, 16).probe(tmp_path))
    assert estimated is not None and "estimated from the RAM size" in estimated.text
    # 24 GB: raising it lets the MLX build run (MLX cannot split, so it needs the whole share).
    mlx = metal_advice(_mac(tmp_path, 24).probe(tmp_path))
    assert mlx is not None and mlx.unlocks == "tongyi-30b-mlx-4bit"
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
    assert data["metal_limit"]["source"] == "estimate"
    # Already raised: doctor still says how much Metal may use and where that figure came from.
    raised = _mac(tmp_path, 16, wired_mb=12288).probe(tmp_path)
    monkeypatch.setattr(doctor, "probe", lambda models_dir=None, **_: raised)
    assert doctor.run(argparse.Namespace(json=False)) == 0
    out = capsys.readouterr().out
    assert "GPU memory limit: Metal may use 12.0 GiB of this Mac's 16 GiB (raised with" in out
    assert "sudo sysctl" not in out
    assert doctor.run(argparse.Namespace(json=True)) == 0
    limit = json.loads(capsys.readouterr().out)["metal_limit"]
    assert (limit["source"], limit["command"], limit["current_bytes"]) == ("raised", None, 12 * GiB)


def test_engines_plan_with_the_same_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """``engines.factory.machine_budget`` (used to place a model when it opens) reads the limit
    Metal reports, without a full probe, for llama.cpp on Metal and for MLX."""
    import psutil

    from deepresearch_local.engines.factory import machine_budget
    from deepresearch_local.hardware import metal_device, parsers, probe

    metal = BackendStatus("llama.cpp", True, "metal", "0.3.16", "-")
    monkeypatch.setattr(probe, "probe_llama_cpp", lambda: metal)
    monkeypatch.setattr(metal_device, "metal_working_set_bytes", lambda: 5 * GiB)
    monkeypatch.setattr(metal_device, "on_apple_silicon", lambda: False)  # no sysctl, even on a Mac
    total = psutil.virtual_memory().total
    for backend in ("llama.cpp", "mlx"):
        budget = machine_budget(backend)
        assert budget.unified and budget.vram_bytes == 5 * GiB, backend
        assert budget.ram_bytes == max(total - parsers.os_reserve_bytes(total), 5 * GiB), backend
