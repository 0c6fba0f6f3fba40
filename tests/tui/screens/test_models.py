"""The models screen over the real catalog and registry: fit badges and sizes for a recorded
machine, a download from the loopback hub with progress, pause and resume, then verify, set the
default, import, and delete."""

from __future__ import annotations

import asyncio
import hashlib
import re
import shutil
from pathlib import Path

import pytest
from textual.widgets import Label, Static

from deepresearch_local.tui.modals.confirm import ConfirmModal
from deepresearch_local.tui.screens.models import ModelsScreen
from deepresearch_local.tui.widgets.models.details import MachineSummary, ModelDetails
from deepresearch_local.tui.widgets.models.table import ModelTable
from deepresearch_local.tui.widgets.models.transfers import TransferRow, Transfers
from deepresearch_local.tui.widgets.path_bar import PathBar
from deepresearch_local.units import human_bytes
from deepresearch_local.weights.catalog import find_variant, load_catalog
from deepresearch_local.weights.listing import model_rows
from deepresearch_local.weights.recommend import recommend
from deepresearch_local.weights.registry import Registry
from deepresearch_local.weights.scan import import_path
from tests.support.tiny_moe import TinyModel
from tests.tui.screens.host import Host, in_hf_cache, machine, until
from tests.tui.snapshot import SIZE
from tests.weights.conftest import clean_hub_env, hub  # noqa: F401  (the loopback hub fixtures)
from tests.weights.fakehub import FakeHub, make_bytes

MiB = 1 << 20
VARIANT = "tongyi-30b-q4_k_m"


def _host() -> Host:
    hw = machine()
    return Host(lambda: ModelsScreen(hardware=lambda: hw))


def _cells(table: ModelTable, model_id: str) -> list[str]:
    return [str(cell) for cell in table.get_row(model_id)]


def test_catalog_rows_show_fit_badges_sizes_and_the_recommendation() -> None:
    hw = machine()
    rec = recommend(hw)
    verdicts = {row.id: row.verdict for row in model_rows(hw, rec=rec)}
    badges = {"fits": "● fits", "tight": "● tight", "no": "✗ no"}

    async def scenario() -> None:
        app = _host()
        async with app.run_test(size=SIZE) as pilot:
            table = app.screen.query_one(ModelTable)
            await until(pilot, lambda: table.row_count > 0, what="the catalog")
            assert table.row_count == len(load_catalog())
            for variant in load_catalog():
                mark, name, fmt, quant, size, fits, _ctx, status = _cells(table, variant.id)
                assert (name, fmt, quant, status) == (variant.id, variant.format, variant.quant, "available")
                assert size == "~" + human_bytes(variant.approx_bytes)
                assert mark == ("★" if variant.id == rec.variant else "")
                assert fits == badges[verdicts[variant.id]]
            assert _cells(table, rec.variant or "")[5] == "● fits"
            assert _cells(table, "tongyi-30b-mlx-4bit")[5] == "✗ no"  # no MLX on this PC
            summary = str(app.screen.query_one(MachineSummary).render())
            assert "NVIDIA GeForce RTX 4090" in summary and f"★ Recommended: {rec.variant}." in summary
            table.select("tongyi-30b-mlx-4bit")
            await pilot.pause()
            details = str(app.screen.query_one(ModelDetails).render())
            assert details.startswith(
                "tongyi-30b-mlx-4bit  MLX 4bit, ~16.0 GiB  ✗ no\n"
                "MLX builds run on Apple Silicon Macs with mlx-lm installed.\n"
            )
            assert find_variant("tongyi-30b-mlx-4bit").notes in details  # type: ignore[union-attr]
        assert app.errors == []

    asyncio.run(scenario())


def _serve_variant(server: FakeHub, size: int) -> bytes:
    """The catalog's first source for VARIANT, served by the loopback hub (throttled)."""
    variant = find_variant(VARIANT)
    assert variant is not None
    source = variant.sources[0]
    data = make_bytes(size, seed=7)
    server.add(source.repo, source.file or "", data)
    server.rate = 4 * MiB
    return data


def test_download_shows_progress_pauses_resumes_and_registers(hub: FakeHub, isolated_home: Path) -> None:  # noqa: F811
    data = _serve_variant(hub, 10 * MiB)
    file_name = find_variant(VARIANT).sources[0].file  # type: ignore[union-attr]

    async def scenario() -> None:
        app = _host()
        async with app.run_test(size=SIZE) as pilot:
            screen = app.screen
            table = screen.query_one(ModelTable)
            await until(pilot, lambda: table.row_count > 0, what="the catalog")
            table.select(VARIANT)
            await pilot.press("d")
            await until(pilot, lambda: screen.query(TransferRow), what="a transfer row")
            row = screen.query_one(TransferRow)
            assert _cells(table, VARIANT)[7] == "downloading…"
            await until(pilot, lambda: row.bar.progress >= 1 * MiB, what="progress")
            info = str(row.query_one(".info", Label).render())
            assert re.fullmatch(r"\d+\.\d MiB / 10\.0 MiB  \d+\.\d (KiB|MiB)/s  ETA (\d+s|\?)", info), info
            assert row.bar.total == len(data)

            await pilot.press("p")  # pause
            await until(pilot, lambda: row.state == "paused", what="the paused state")
            assert _cells(table, VARIANT)[7] == "paused"
            assert "[paused]" in str(row.query_one(".info", Label).render())
            # The paused download hung up: once its request's body is over, no byte of it can move.
            await until(pilot, lambda: all(g.ended for g in hub.body_gets(file_name)), what="the body to end")
            sent = hub.sent[file_name]
            assert len(hub.body_gets(file_name)) == 1  # and no new request while paused
            await pilot.pause(0.5)  # the app keeps running: a broken pause would ask again here
            assert hub.sent[file_name] == sent < len(data) and len(hub.body_gets(file_name)) == 1
            progress_when_paused = row.bar.progress

            await pilot.press("p")  # resume
            await until(pilot, lambda: row.outcome == "done", what="the download to finish")
            assert row.bar.progress == row.bar.total == len(data) > progress_when_paused
            assert "Ready: " in str(row.query_one(".notice", Label).render())
            assert screen.query_one(Transfers).running() == {}
            await until(pilot, lambda: _cells(table, VARIANT)[7] == "downloaded (default)", what="refresh")
        assert app.errors == []

    asyncio.run(scenario())
    entry = Registry().find(VARIANT)
    assert entry is not None and entry.variant == VARIANT and Registry().default_id() == entry.id
    assert Path(entry.path).read_bytes() == data
    assert Path(entry.path).parent == isolated_home / "models" / VARIANT
    ranges = [g.range for g in hub.body_gets(file_name or "")]
    assert ranges[0] == "bytes=0-" and len(ranges) == 2 and ranges[1] != "bytes=0-"  # resumed, not restarted


def test_cancel_keeps_the_partial_and_delete_removes_it(hub: FakeHub, isolated_home: Path) -> None:  # noqa: F811
    _serve_variant(hub, 16 * MiB)
    file_name = find_variant(VARIANT).sources[0].file or ""  # type: ignore[union-attr]
    folder = isolated_home / "models" / VARIANT

    async def scenario() -> None:
        app = _host()
        async with app.run_test(size=SIZE) as pilot:
            screen = app.screen
            table = screen.query_one(ModelTable)
            await until(pilot, lambda: table.row_count > 0, what="the catalog")
            table.select(VARIANT)
            await pilot.press("d")
            await until(pilot, lambda: hub.sent[file_name] >= MiB, what="bytes")
            await pilot.press("c")
            row = screen.query_one(TransferRow)
            await until(pilot, lambda: row.outcome == "cancelled", what="the cancel")
            assert "partial file is kept" in str(row.query_one(".notice", Label).render())
            await until(pilot, lambda: _cells(table, VARIANT)[7] == "partial", what="refresh")
            assert (folder / (file_name + ".part")).exists()
            await pilot.press("x")
            await until(pilot, lambda: app.screen is not screen, what="the confirmation")
            await pilot.press("y")
            await until(pilot, lambda: _cells(table, VARIANT)[7] == "available", what="refresh")
        assert app.errors == []

    asyncio.run(scenario())
    assert not any(folder.rglob("*.part*"))
    assert Registry().entries() == []


def test_import_verify_set_default_and_delete(tmp_path: Path, tiny_moe: TinyModel) -> None:
    first = tmp_path / "first.gguf"
    shutil.copyfile(tiny_moe.gguf_path, first)
    other, _ = import_path(first)  # becomes the default
    second = tmp_path / "Tiny-Moe-Q4_K_M.gguf"
    shutil.copyfile(tiny_moe.gguf_path, second)
    sha = hashlib.sha256(second.read_bytes()).hexdigest()

    async def scenario() -> None:
        app = _host()
        async with app.run_test(size=SIZE) as pilot:
            screen = app.screen
            table = screen.query_one(ModelTable)
            await until(pilot, lambda: other.id in table.rows_by_id, what="the registered model")
            await pilot.press("i")
            bar = screen.query_one(PathBar)
            assert bar.display and bar.input.has_focus
            bar.input.value = str(second)
            await pilot.press("enter")
            await until(pilot, lambda: "tiny-moe-q4_k_m" in table.rows_by_id, what="the import")
            assert _cells(table, "tiny-moe-q4_k_m")[7] == "imported"
            assert table.has_focus
            table.select("tiny-moe-q4_k_m")
            await pilot.press("v")
            await until(pilot, lambda: screen.query(TransferRow), what="the check")
            row = screen.query_one(TransferRow)
            await until(pilot, lambda: row.outcome == "done", what="the check")
            assert row.bar.progress == row.bar.total == second.stat().st_size
            notice = str(row.query_one(".notice", Label).render())
            assert notice.startswith(f"OK: readable; no reference checksum was known, so sha256 {sha[:16]}…")
            await pilot.press("u")
            await until(pilot, lambda: _cells(table, "tiny-moe-q4_k_m")[7] == "imported (default)")
            assert _cells(table, other.id)[7] == "imported"
            await pilot.press("delete")
            await until(pilot, lambda: app.screen is not screen, what="the confirmation")
            await pilot.press("y")
            await until(pilot, lambda: "tiny-moe-q4_k_m" not in table.rows_by_id, what="the removal")
        assert app.errors == []

    asyncio.run(scenario())
    assert [e.id for e in Registry().entries()] == [other.id]
    assert second.exists()  # an import is never deleted, only unregistered
    assert Registry().default_id() == other.id


def test_scan_finds_weights_on_disk_and_imports_them_after_asking(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_moe: TinyModel
) -> None:
    weights = in_hf_cache(tiny_moe.gguf_path, tmp_path, monkeypatch)

    async def scenario() -> None:
        app = _host()
        async with app.run_test(size=SIZE) as pilot:
            screen = app.screen
            table = screen.query_one(ModelTable)
            await until(pilot, lambda: table.row_count > 0, what="the catalog")
            await pilot.press("s")
            await until(pilot, lambda: isinstance(app.screen, ConfirmModal), what="the question")
            question = str(app.screen.query_one("#confirm-question", Static).render())
            assert question == (
                "Import it (registered where they are, nothing copied)?\n\n"
                "~/hf/models--acme--Tiny-GGUF/snapshots/0123abcd/tiny-Q4_K_M.gguf"
            )
            await pilot.press("y")
            await until(pilot, lambda: "tiny-q4_k_m" in table.rows_by_id, what="the import")
            assert _cells(table, "tiny-q4_k_m")[7] == "imported (default)"
        assert app.errors == []

    asyncio.run(scenario())
    entry = Registry().get("tiny-q4_k_m")
    assert entry is not None and entry.path == str(weights)
