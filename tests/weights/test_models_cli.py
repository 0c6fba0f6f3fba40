"""``deepresearch models``: fit badges on this machine and on simulated Macs and a 24 GB-GPU PC, and
pull / verify / use / rm / scan / import end to end in fresh processes against a loopback hub."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from deepresearch_local.cli.main import main
from deepresearch_local.hardware.fit import GiB
from deepresearch_local.hardware.probe import Hardware, probe
from deepresearch_local.weights.catalog import load_catalog
from deepresearch_local.weights.listing import model_rows
from deepresearch_local.weights.recommend import recommend
from deepresearch_local.weights.registry import Registry
from tests.hardware.test_probe import Recorded
from tests.support.tiny_moe import TinyModel
from tests.weights.fakehub import FakeHub

REPO = Path(__file__).resolve().parents[2]
IDS = [v.id for v in load_catalog()]


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "deepresearch_local", "models", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        env=env or os.environ.copy(),
    )


def _mac(tmp_path: Path, gb: int) -> Hardware:
    return dataclasses.replace(Recorded("mac_m2max").probe(tmp_path), ram_total_bytes=gb * GiB)


def _badges(hw: Hardware) -> dict[str, tuple[str, int]]:
    return {r.id.removeprefix("tongyi-30b-"): (r.verdict, r.max_context) for r in model_rows(hw)}


def _recommended(hw: Hardware) -> list[str]:
    return [r.id for r in model_rows(hw) if r.recommended]


def test_list_on_this_machine() -> None:
    out = _cli("list", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    rec = recommend(probe())
    assert data["recommended"] == rec.variant and data["context_tokens"] == 16384
    rows = {r["id"]: r for r in data["models"]}
    assert list(rows) == IDS
    assert [i for i, r in rows.items() if r["recommended"]] == ([rec.variant] if rec.variant else [])
    for row in rows.values():
        assert row["verdict"] in ("fits", "tight", "no") and row["status"] == "available"
        assert row["size_is_approx"] is True and row["size_bytes"] > 8 * 10**9
        assert (row["max_context"] >= 8192) == (row["verdict"] != "no")
    if rec.variant:
        assert rows[rec.variant]["verdict"] in ("fits", "tight")
    text = _cli("list")
    assert text.returncode == 0 and "Fit is for 16K tokens of context" in text.stdout
    marked = [line.split()[1] for line in text.stdout.splitlines() if line.startswith("* tongyi")]
    assert marked == ([rec.variant] if rec.variant else [])


def test_list_on_a_16gb_mac_runs_the_2_bit_builds(tmp_path: Path) -> None:
    hw = _mac(tmp_path, 16)
    badges = _badges(hw)
    # 10.7 GiB for the GPU of 12 GiB usable: llama.cpp runs the blocks that do not fit on the CPU
    assert badges.pop("iq2_xxs") == ("fits", 39936) and badges.pop("iq2_m") == ("tight", 21504)
    assert set(badges.values()) == {("no", 0)}
    assert _recommended(hw) == ["tongyi-30b-iq2_m"]


def test_list_on_a_24gb_mac_only_3_bit(tmp_path: Path) -> None:
    hw = _mac(tmp_path, 24)
    badges = _badges(hw)
    # 3-bit builds fit the GPU's 16 GiB at 16K; longer contexts split blocks onto the CPU
    assert badges["iq3_m"] == ("fits", 66560) and badges["q3_k_m"] == ("fits", 54272)
    assert badges["iq4_xs"] == ("tight", 36864)  # split at 16K, 17.3 of 19.2 GiB
    assert badges["q4_k_m"] == ("tight", 14336)  # only 14K: usable (the agent folds from 8K)
    for vid in ("q5_k_m", "q6_k", "q8_0", "mlx-4bit"):
        assert badges[vid] == ("no", 0), vid
    # No MLX build fits, so llama.cpp's best held entirely by the GPU, not IQ4_XS split
    assert _recommended(hw) == ["tongyi-30b-q3_k_m"]


def test_list_on_a_36gb_mac_recommends_mlx(tmp_path: Path) -> None:
    badges = _badges(_mac(tmp_path, 36))
    assert badges["q4_k_m"] == ("fits", 119808) and badges["mlx-4bit"] == ("fits", 81920)  # MLX: GPU only
    assert badges["q5_k_m"][0] == "fits" and badges["q6_k"] == ("tight", 54272)
    assert badges["q8_0"] == ("no", 0)
    assert _recommended(_mac(tmp_path, 36)) == ["tongyi-30b-mlx-4bit"]


def test_list_on_a_64gb_mac_fits_everything(tmp_path: Path) -> None:
    assert set(_badges(_mac(tmp_path, 64)).values()) == {("fits", 131072)}
    assert _recommended(_mac(tmp_path, 64)) == ["tongyi-30b-mlx-4bit"]


def test_list_on_a_pc_with_a_24gb_gpu(tmp_path: Path) -> None:
    hw = Recorded("linux_rtx4090").probe(tmp_path)
    rows = {r.id.removeprefix("tongyi-30b-"): r for r in model_rows(hw)}
    for vid in ("iq3_m", "q3_k_m", "iq4_xs", "q4_k_m", "q5_k_m", "q6_k", "q8_0"):
        assert (rows[vid].verdict, rows[vid].max_context) == ("fits", 131072), vid
    assert "48/48 layers on the GPU" in rows["q5_k_m"].reason  # all on the GPU at 16K
    assert "experts of 15/48 layers in RAM" in rows["q8_0"].reason  # split: experts in RAM first
    assert rows["mlx-4bit"].verdict == "no" and "Apple Silicon" in rows["mlx-4bit"].reason
    assert _recommended(hw) == ["tongyi-30b-q5_k_m"]  # the best build held entirely on the GPU


def test_list_text_marks_the_recommended_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = lambda models_dir=None, **_: _mac(tmp_path, 24)  # noqa: E731
    monkeypatch.setattr("deepresearch_local.hardware.probe.probe", fake)
    assert main(["models", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    row = next(line for line in lines if "tongyi-30b-q3_k_m" in line)
    assert row.split() == [
        "*",
        "tongyi-30b-q3_k_m",
        "gguf",
        "Q3_K_M",
        "~13.7",
        "GiB",
        "fits",
        "53K",
        "available",
    ]
    assert "Download it with: deepresearch models pull tongyi-30b-q3_k_m" in lines


def test_pull_verify_use_rm_end_to_end(hub: FakeHub, tmp_path: Path, tiny_moe: TinyModel) -> None:
    data = tiny_moe.gguf_path.read_bytes()
    f = hub.add("acme/Tiny-GGUF", "tiny-Q8_0.gguf", data)
    env = os.environ.copy()
    target = tmp_path / "elsewhere"
    out = _cli("pull", "acme/Tiny-GGUF:tiny-Q8_0.gguf", "--dir", str(target), "--json", env=env)
    assert out.returncode == 0, out.stderr
    entry = json.loads(out.stdout)
    path = target / "acme--Tiny-GGUF" / "tiny-Q8_0.gguf"
    assert (entry["id"], entry["path"], entry["sha256"]) == ("tiny-q8_0", str(path), f.sha256)
    assert path.read_bytes() == data
    assert "tiny-Q8_0.gguf: " in out.stderr and "sha256 verified." in out.stderr
    listed = json.loads(_cli("list", "--json").stdout)["models"]
    mine = [r for r in listed if r["id"] == "tiny-q8_0"]
    assert len(mine) == 1 and mine[0]["status"] == "downloaded" and mine[0]["default"] is True
    assert mine[0]["quant"] == "F32" and mine[0]["in_catalog"] is False and mine[0]["verdict"] == "fits"
    verify = _cli("verify", "--json")
    assert verify.returncode == 0 and json.loads(verify.stdout)[0]["message"] == "sha256 matches"
    assert _cli("use", "tiny-q8_0").stdout.strip() == f"Default model: tiny-q8_0 ({path})"
    with open(path, "r+b") as fh:
        fh.seek(len(data) - 4)
        fh.write(b"!!!!")
    bad = _cli("verify", "tiny-q8_0")
    assert bad.returncode == 1 and bad.stdout.startswith("BAD  tiny-q8_0: sha256 mismatch")
    rm = _cli("rm", "tiny-q8_0")
    assert rm.returncode == 0 and rm.stdout.strip() == f"Removed tiny-q8_0 and deleted {path}."
    assert not path.exists() and Registry().entries() == []


def test_pull_failure_exit_code_and_message() -> None:
    out = _cli("pull", "acme/Nothing-GGUF:nothing.gguf", "--source", "hf")
    assert out.returncode == 4
    assert out.stderr.splitlines()[-1].startswith("Model hub problem: Cannot reach http://127.0.0.1:9 ")
    out = _cli("pull", "no such thing")
    assert out.returncode == 2 and "Unknown model 'no such thing'" in out.stderr


def test_scan_and_import_commands(tmp_path: Path, tiny_moe: TinyModel) -> None:
    env = {**os.environ, "HOME": str(tmp_path / "home"), "HF_HOME": str(tmp_path / "hf")}
    folder = tmp_path / "weights"
    folder.mkdir()
    shutil.copy(tiny_moe.gguf_path, folder / "tiny.gguf")
    shutil.copytree(tiny_moe.mlx_dir, folder / "tiny-mlx")
    listed = _cli("scan", str(folder), env=env)
    assert listed.returncode == 0 and "2 not registered yet" in listed.stdout
    done = json.loads(_cli("scan", str(folder), "--import", "--json", env=env).stdout)
    assert sorted(done["imported"]) == ["tiny", "tiny-mlx"]
    assert {Path(e.path) for e in Registry().entries()} == {folder / "tiny.gguf", folder / "tiny-mlx"}
    again = _cli("import", str(folder / "tiny.gguf"), env=env)
    assert again.stdout.strip() == f"{folder / 'tiny.gguf'} is already registered as tiny."
    bad = _cli("import", str(tmp_path), env=env)
    assert bad.returncode == 3 and "is not an MLX model folder" in bad.stderr
    rm = _cli("rm", "tiny-mlx", env=env)
    assert "its files stay where they are" in rm.stdout and (folder / "tiny-mlx" / "config.json").exists()


def test_rm_clears_a_partial_download(
    hub: FakeHub, isolated_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.weights.fakehub import Fault, make_bytes

    hub.add("acme/Tiny-GGUF", "tiny-Q4_K_M.gguf", make_bytes(3 << 20))
    hub.fault("tiny-Q4_K_M.gguf", Fault("drop", after=1 << 20))
    hub.always["tiny-Q4_K_M.gguf"] = Fault("status", 404)
    assert main(["models", "pull", "acme/Tiny-GGUF:tiny-Q4_K_M.gguf", "--source", "hf"]) == 4
    assert "Hugging Face no longer has tiny-Q4_K_M.gguf (HTTP 404)." in capsys.readouterr().err
    folder = isolated_home / "models" / "acme--Tiny-GGUF"
    assert sorted(p.name for p in folder.iterdir()) == ["tiny-Q4_K_M.gguf.part", "tiny-Q4_K_M.gguf.part.json"]
    assert main(["models", "rm", "acme/Tiny-GGUF:tiny-Q4_K_M.gguf"]) == 0
    assert (
        capsys.readouterr().out.strip()
        == "Deleted the partial download of acme/Tiny-GGUF:tiny-Q4_K_M.gguf (2 files)."
    )
    assert list(folder.iterdir()) == []


def test_progress_printer_lines() -> None:
    import io

    from deepresearch_local.cli.models_progress import ProgressPrinter, progress_line
    from deepresearch_local.weights.events import DownloadNotice, DownloadProgress

    p = DownloadProgress("m.gguf", 3 << 30, 12 << 30, 45 * (1 << 20), 204.0, "downloading", 2, 3)
    assert progress_line(p) == "m.gguf [2/3]  3.0 GiB / 12.0 GiB (25%)  45.0 MiB/s  ETA 3m24s"
    stalled = DownloadProgress("m.gguf", 1 << 20, 2 << 20, 0.0, None, "stalled")
    assert progress_line(stalled) == "m.gguf  1.0 MiB / 2.0 MiB (50%)  0 B/s  ETA ?  [stalled]"
    log = io.StringIO()
    printer = ProgressPrinter(log, tty=False, every_s=3600)
    for event in (p, p, stalled, DownloadNotice("stall", "Stalled: reconnecting."), p):
        printer(event)
    printer.close()
    assert log.getvalue().splitlines() == [
        progress_line(p),  # the repeat within the interval is skipped
        progress_line(stalled),  # a change of state is always shown
        "Stalled: reconnecting.",
        progress_line(p),
    ]
    screen = io.StringIO()
    live = ProgressPrinter(screen, tty=True)
    live(p)
    live(DownloadNotice("resume", "Resuming."))
    live.close()
    assert screen.getvalue() == "\r\x1b[K" + progress_line(p) + "\r\x1b[KResuming.\n"
