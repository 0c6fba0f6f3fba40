"""The shape cache in the registry: an import reads the header once, listings reuse it until the
file changes; remembered backend checks skip the MLX subprocess and the llama.cpp import."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from deepresearch_local.bench.fake_gguf import write_fake_30b
from deepresearch_local.hardware import backend_cache
from deepresearch_local.hardware.probe import BackendStatus
from deepresearch_local.weights.listing import model_rows, pending_rows
from deepresearch_local.weights.registry import Registry
from deepresearch_local.weights.scan import import_path
from deepresearch_local.weights.shapes import cached_shape
from tests.tui.screens.host import machine


def _refuse(path: object) -> object:
    raise AssertionError(f"the header of {path} was read again")


def test_import_caches_the_shape_and_listing_reuses_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "my-30b.gguf"
    write_fake_30b(path)
    registry = Registry()
    entry, _ = import_path(path, registry=registry)
    assert cached_shape(path, registry) is not None
    monkeypatch.setattr("deepresearch_local.weights.shapes.read_shape", _refuse)
    row = next(r for r in model_rows(machine(), registry) if r.id == entry.id)
    assert (row.quant, row.in_catalog) == ("Q4_K_M", False)
    assert row.verdict in ("fits", "tight") and row.max_context > 0

    # A changed file is read again (here: refused, so the row says it cannot be read).
    stat = path.stat()
    os.utime(path, (stat.st_atime, stat.st_mtime + 10))
    assert cached_shape(path, registry) is None
    row = next(r for r in model_rows(machine(), registry) if r.id == entry.id)
    assert row.verdict == "no" and "cannot read it" in row.reason


def test_pending_rows_list_everything_without_a_fit(tmp_path: Path) -> None:
    path = tmp_path / "my-30b.gguf"
    write_fake_30b(path)
    entry, _ = import_path(path)
    rows = pending_rows()
    full = model_rows(machine())
    assert [r.id for r in rows] == [r.id for r in full]
    assert {r.verdict for r in rows} == {"…"} and not any(r.recommended for r in rows)
    assert next(r for r in rows if r.id == entry.id).status == "imported"


def test_backend_checks_are_remembered_until_the_package_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    missing = BackendStatus("llama.cpp", False, "none", None, "not installed")

    def check() -> BackendStatus:
        calls.append("checked")
        return BackendStatus("llama.cpp", True, "cpu", "9.9", "runs on the CPU")

    first = backend_cache.cached_check("llama.cpp", check, missing)
    again = backend_cache.cached_check("llama.cpp", check, missing)
    assert first == again and again.device == "cpu" and calls == ["checked"]
    # A reinstall (another version or metadata time) makes a new key: checked again.
    monkeypatch.setattr(backend_cache, "_stamp", lambda package: "10.0@1")
    assert backend_cache.cached_check("llama.cpp", check, missing).available and calls == ["checked"] * 2
    # Nothing installed: the answer is known without any check.
    monkeypatch.setattr(backend_cache, "_stamp", lambda package: None)
    assert backend_cache.cached_check("llama.cpp", check, missing) == missing and len(calls) == 2
