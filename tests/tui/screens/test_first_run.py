"""First-run setup on a recorded machine: the recommended build downloaded from the loopback hub,
weights found on disk imported, an OpenAI-compatible server connected, a folder indexed, and
skipping; each path ends with the settings file written and the setup closed."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Button, Input, OptionList, RadioButton, Static

from deepresearch_local.config import Settings, load_settings
from deepresearch_local.library import Library
from deepresearch_local.paths import get_paths
from deepresearch_local.service.sessions import SessionService
from deepresearch_local.tui.screens.first_run import FirstRunScreen
from deepresearch_local.tui.widgets.first_run.finish import DocsStep
from deepresearch_local.tui.widgets.models.transfers import TransferRow
from deepresearch_local.units import human_bytes
from deepresearch_local.weights.catalog import find_variant
from deepresearch_local.weights.recommend import recommend
from deepresearch_local.weights.registry import Registry
from tests.engines.test_openai_discovery import FakeServer
from tests.support.tiny_moe import TinyModel
from tests.tui.screens.host import Host, in_hf_cache, machine, until
from tests.tui.screens.test_library import make_docs
from tests.tui.snapshot import SIZE
from tests.weights.conftest import clean_hub_env, hub  # noqa: F401  (the loopback hub fixtures)
from tests.weights.fakehub import FakeHub, make_bytes

MiB = 1 << 20


def _host() -> Host:
    hw = machine()
    return Host(lambda: FirstRunScreen(hardware=lambda: hw))


def _text(screen: Any, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


async def _looked(pilot: Any, screen: FirstRunScreen) -> None:
    await until(pilot, lambda: screen.rec is not None, what="the hardware summary")
    await pilot.pause()


def _setup_closed(app: Host) -> Callable[[], bool]:
    return lambda: not isinstance(app.screen, FirstRunScreen)


def test_download_the_recommended_build_add_documents_and_start(
    hub: FakeHub,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("DEEPRESEARCH_HOME", str(tmp_path / "home"))  # shown as ~/home/...
    rec = recommend(machine())
    variant = find_variant(rec.variant or "")
    assert variant is not None
    data = make_bytes(6 * MiB, seed=5)
    hub.add(variant.sources[0].repo, variant.sources[0].file or "", data)
    hub.rate = 3 * MiB  # slow enough that the download step is seen before it finishes
    make_docs(tmp_path)
    assert SessionService.needs_first_run()

    async def scenario() -> None:
        app = _host()
        async with app.run_test(size=SIZE) as pilot:
            screen = app.screen
            assert isinstance(screen, FirstRunScreen)
            await _looked(pilot, screen)
            summary = _text(screen, "#welcome-machine")
            assert "NVIDIA GeForce RTX 4090 (24.0 GiB)" in summary
            assert f"★ Recommended: {rec.variant}. {rec.why}" in summary
            assert f"Download size: about {human_bytes(variant.approx_bytes)}." in summary
            assert str(screen.query_one("#download", Button).label) == f"Download {rec.variant} (d)"
            assert not screen.query_one("#keep", Button).display  # nothing set up yet

            await pilot.press("d")
            assert screen.step == "download-step"
            await until(pilot, lambda: screen.query(TransferRow), what="the download")
            row = screen.query_one(TransferRow)
            await until(pilot, lambda: row.bar.progress > 0, what="progress")
            await pilot.press("p")
            await until(pilot, lambda: row.state == "paused", what="the pause")
            await pilot.press("p")
            await until(pilot, lambda: screen.step == "docs-step", what="the documents step")
            assert row.outcome == "done" and row.bar.progress == len(data)

            docs = screen.query_one("#docs-path", Input)
            await until(pilot, lambda: docs.has_focus, what="the folder field's focus")  # focus() is queued
            assert screen.query_one(DocsStep).embedding_choice() == "bge-small-en-v1.5-q8_0"  # default
            screen.query(RadioButton).first().value = True  # keywords only
            docs.value = "~/docs"
            await pilot.press("enter")
            await until(pilot, lambda: screen.step == "ready-step", what="the ready step")
            lines = _text(screen, "#ready-summary").split("\n")
            assert lines == [
                f"• Model: {rec.variant}, downloaded (~/home/models/{rec.variant}/"
                f"{variant.sources[0].file}); the default",
                "• Documents: docs, 2 indexed, 2 skipped, 1 failed (5 files); the Library screen (F4) "
                "shows why files failed",
            ]
            await pilot.press("enter")
            await until(pilot, _setup_closed(app), what="the setup to close")
        assert app.errors == []

    asyncio.run(scenario())
    entry = Registry().find(rec.variant or "")
    assert entry is not None and Registry().default_id() == entry.id
    assert Path(entry.path).read_bytes() == data
    with Library() as lib:
        assert [f.name for f in lib.folders()] == ["docs"]
    assert load_settings() == Settings() and get_paths().config_file.exists()
    assert not SessionService.needs_first_run()


def test_import_weights_found_on_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_moe: TinyModel
) -> None:
    in_hf_cache(tiny_moe.gguf_path, tmp_path, monkeypatch)

    async def scenario() -> None:
        app = _host()
        async with app.run_test(size=SIZE) as pilot:
            screen = app.screen
            assert isinstance(screen, FirstRunScreen)
            await _looked(pilot, screen)
            await pilot.press("i")
            found = screen.query_one("#import-found", OptionList)
            await until(pilot, lambda: found.option_count == 1, what="the scan")
            prompt = str(found.get_option_at_index(0).prompt)
            where = "~/hf/models--acme--Tiny-GGUF/snapshots/0123abcd/tiny-Q4_K_M.gguf"
            assert prompt.startswith(f"{where}  gguf, ")
            assert prompt.endswith(", Hugging Face cache")
            await until(pilot, lambda: found.has_focus, what="the list's focus")
            await pilot.press("enter")
            await until(pilot, lambda: screen.step == "docs-step", what="the import")
            await pilot.press("enter")  # no folder: skip the documents
            await until(pilot, lambda: screen.step == "ready-step", what="the ready step")
            assert _text(screen, "#ready-summary").split("\n") == [
                "• Model: tiny-q4_k_m, imported (~/hf/models--acme--Tiny-GGUF/snapshots/0123abcd/"
                "tiny-Q4_K_M.gguf); the default",
                "• Documents: none yet (the Library screen, F4, adds them)",
            ]
            await pilot.click("#finish")
            await until(pilot, _setup_closed(app), what="the setup to close")
        assert app.errors == []

    asyncio.run(scenario())
    assert Registry().default_id() == "tiny-q4_k_m"
    assert Registry().get("tiny-q4_k_m").origin == "imported"  # type: ignore[union-attr]
    assert get_paths().config_file.exists()


def test_a_bad_path_is_explained_in_the_import_step(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("HOME", str(tmp_path))

    async def scenario() -> None:
        app = _host()
        async with app.run_test(size=SIZE) as pilot:
            screen = app.screen
            assert isinstance(screen, FirstRunScreen)
            await _looked(pilot, screen)
            await pilot.press("i")
            status = screen.query_one("#import-status", Static)
            await until(pilot, lambda: "Found none" in str(status.render()), what="the empty scan")
            path = screen.query_one("#import-path", Input)
            await until(pilot, lambda: path.has_focus, what="the path field's focus")
            path.value = str(tmp_path / "nothing.gguf")
            await pilot.press("enter")
            want = f"Nothing at {tmp_path / 'nothing.gguf'}: give a .gguf file or an MLX model folder."
            await until(pilot, lambda: str(status.render()) == want, what="the problem")
            assert screen.step == "import-step"
            await pilot.press("escape")  # back to the choices
            assert screen.step == "welcome"
        assert app.errors == []
        assert Registry().entries() == []

    asyncio.run(scenario())


def test_connect_to_an_openai_compatible_server() -> None:
    models = {"object": "list", "data": [{"id": "tongyi-dr", "object": "model", "max_model_len": 65536}]}
    server = FakeServer({("GET", "/v1/models"): models})

    async def scenario() -> None:
        app = _host()
        async with app.run_test(size=SIZE) as pilot:
            screen = app.screen
            assert isinstance(screen, FirstRunScreen)
            await _looked(pilot, screen)
            await pilot.press("o")
            url = screen.query_one("#server-url", Input)
            assert url.has_focus and url.value == "http://127.0.0.1:8080/v1"
            url.value = "http://127.0.0.1:9/v1"  # nothing listens there
            await pilot.press("enter")
            status = screen.query_one("#server-status", Static)
            await until(pilot, lambda: "cannot reach the server" in str(status.render()), what="the failure")
            assert "is it running?" in str(status.render()) and screen.step == "server-step"
            url.value = server.url + "/v1"
            await pilot.press("enter")
            await until(pilot, lambda: screen.step == "docs-step", what="the connection")
            await pilot.press("enter")
            await until(pilot, lambda: screen.step == "ready-step", what="the ready step")
            assert _text(screen, "#ready-summary").split("\n")[0] == (
                f"• Model: tongyi-dr on the vllm at {server.url}/v1 (65536 tokens of context)"
            )
            await pilot.press("enter")
            await until(pilot, _setup_closed(app), what="the setup to close")
        assert app.errors == []

    try:
        asyncio.run(scenario())
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()
    settings = load_settings()
    assert (settings.backend, settings.base_url) == ("openai", server.url + "/v1")
    assert settings.model == "tongyi-dr"


def test_skip_writes_the_settings_so_the_setup_does_not_return() -> None:
    async def scenario() -> None:
        app = _host()
        async with app.run_test(size=SIZE) as pilot:
            screen = app.screen
            assert isinstance(screen, FirstRunScreen)
            await _looked(pilot, screen)
            await pilot.press("s")
            await until(pilot, _setup_closed(app), what="the setup to close")
        assert app.errors == []

    assert SessionService.needs_first_run()
    asyncio.run(scenario())
    assert not SessionService.needs_first_run() and load_settings() == Settings()


def test_a_machine_too_small_for_any_build_is_pointed_at_a_server() -> None:
    # 10 GiB of RAM, no GPU: even the 2-bit builds do not fit
    hw = dataclasses.replace(machine("linux_nogpu"), ram_total_bytes=10 << 30)
    rec = recommend(hw)
    assert rec.variant is None

    async def scenario() -> None:
        app = Host(lambda: FirstRunScreen(hardware=lambda: hw))
        async with app.run_test(size=SIZE) as pilot:
            screen = app.screen
            assert isinstance(screen, FirstRunScreen)
            await _looked(pilot, screen)
            download = screen.query_one("#download", Button)
            assert download.disabled and str(download.label) == "No build fits here"
            assert f"Nothing in the catalog runs well here. {rec.why}" in _text(screen, "#welcome-machine")
            assert screen.query_one("#server", Button).has_focus
            await pilot.press("d")
            assert screen.step == "welcome" and not screen.query(TransferRow)
            await pilot.press("enter")  # the focused button: use a server
            assert screen.step == "server-step"
        assert app.errors == []

    asyncio.run(scenario())


@pytest.mark.parametrize("served", [True, False], ids=["embedding-model-served", "hub-without-it"])
def test_documents_step_sets_up_search_by_meaning(
    served: bool,
    hub: FakeHub,  # noqa: F811
    minilm_gguf: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The English embedding model (played by the MiniLM test model, 384-dimensional too) is pulled
    from the loopback hub and the folder's passages embedded; without it, keyword search stays."""
    from deepresearch_local.library.embedding.models import embedding_registry
    from deepresearch_local.weights.catalog import find_embedding_variant

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("DEEPRESEARCH_HOME", str(tmp_path / "home"))
    bge = find_embedding_variant("bge-small-en-v1.5-q8_0")
    assert bge is not None
    if served:
        hub.add(bge.sources[0].repo, bge.sources[0].file or "", minilm_gguf.read_bytes())
    make_docs(tmp_path)

    async def scenario() -> None:
        app = _host()
        async with app.run_test(size=SIZE) as pilot:
            screen = app.screen
            assert isinstance(screen, FirstRunScreen)
            await _looked(pilot, screen)
            screen.show_step("docs-step")
            await pilot.pause()
            screen.query_one("#docs-path", Input).value = "~/docs"
            await pilot.press("enter")
            await until(pilot, lambda: screen.step == "ready-step", what="the ready step", timeout=240)
            lines = _text(screen, "#ready-summary").split("\n")
            assert lines[0].startswith("• Documents: docs, 2 indexed")
            if served:
                assert lines[1] == (
                    "• Search by meaning: bge-small-en-v1.5-q8_0 (2 passages embedded; "
                    "new ones are as you index)"
                )
            else:
                assert lines[1].startswith("• Search by meaning: not set up (")
                assert lines[1].endswith("`deepresearch models pull bge-small-en-v1.5-q8_0` tries again.")
        assert app.errors == []

    asyncio.run(scenario())
    with Library() as lib:
        assert lib.vectors.count("bge-small-en-v1.5") == (2 if served else 0)
        assert [f.name for f in lib.folders()] == ["docs"]
    assert (embedding_registry().default_id() is not None) == served
