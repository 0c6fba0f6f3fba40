"""Weights already on disk: the Hugging Face cache, LM Studio's folders and user folders are scanned;
imports validate real GGUF/MLX weights and register them in place (no copy, never twice)."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from deepresearch_local.errors import ModelError
from deepresearch_local.weights.events import DownloadEvent, DownloadNotice
from deepresearch_local.weights.pull import pull
from deepresearch_local.weights.registry import Registry
from deepresearch_local.weights.scan import hf_cache_dir, import_path, scan
from tests.support.tiny_moe import TinyModel

Q4_FILE = "Alibaba-NLP_Tongyi-DeepResearch-30B-A3B-Q4_K_M.gguf"


@pytest.fixture
def machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_moe: TinyModel) -> dict[str, Path]:
    """A home folder with weights where LM Studio and huggingface_hub put them, plus a user folder."""
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("HF_HOME", str(home / "hf"))
    for name in ("HF_HUB_CACHE", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)
    lms = home / ".lmstudio" / "models" / "bartowski" / "Alibaba-NLP_Tongyi-DeepResearch-30B-A3B-GGUF"
    lms.mkdir(parents=True)
    shutil.copy(tiny_moe.gguf_path, lms / Q4_FILE)
    (lms / "mmproj-model-f16.gguf").write_bytes(b"vision projector, not a model")
    old_lms = home / ".cache" / "lm-studio" / "models" / "acme" / "Tiny-GGUF"
    old_lms.mkdir(parents=True)
    shutil.copy(tiny_moe.gguf_path, old_lms / "tiny-q8.gguf")
    # huggingface_hub's cache: snapshot entries are symlinks into blobs/
    repo = home / "hf" / "hub" / "models--acme--tiny-mlx"
    snapshot = repo / "snapshots" / "0123abcd"
    (repo / "blobs").mkdir(parents=True)
    snapshot.mkdir(parents=True)
    for f in tiny_moe.mlx_dir.iterdir():
        blob = repo / "blobs" / f"blob-{f.name}"
        shutil.copy(f, blob)
        os.symlink(os.path.relpath(blob, snapshot), snapshot / f.name)
    user = tmp_path / "mine"
    (user / "split").mkdir(parents=True)
    for i in (1, 2, 3):  # parts 2 and 3 belong to part 1
        shutil.copy(tiny_moe.gguf_path, user / "split" / f"big-{i:05d}-of-00003.gguf")
    (user / "broken.gguf").write_bytes(b"GGUF but not really")
    half = user / "half-mlx"
    half.mkdir()
    shutil.copy(tiny_moe.mlx_dir / "config.json", half / "config.json")
    for f in tiny_moe.mlx_dir.glob("*.safetensors"):
        shutil.copy(f, half / f.name)
    return {"home": home, "lms": lms, "old_lms": old_lms, "snapshot": snapshot, "user": user}


def test_scan_finds_weights_in_the_usual_places(machine: dict[str, Path], tiny_moe: TinyModel) -> None:
    assert hf_cache_dir() == machine["home"] / "hf" / "hub"
    found = scan([machine["user"]])
    by_path = {Path(f.path): f for f in found}
    lms_file = machine["lms"] / Q4_FILE
    assert set(by_path) == {
        lms_file,
        machine["old_lms"] / "tiny-q8.gguf",
        machine["snapshot"],
        machine["user"] / "split" / "big-00001-of-00003.gguf",
        machine["user"] / "broken.gguf",
    }  # no mmproj, no split parts 2-3, no folder without tokenizer.json, nothing from blobs/
    assert by_path[lms_file].where == "LM Studio" and by_path[lms_file].variant == "tongyi-30b-q4_k_m"
    assert by_path[machine["snapshot"]].format == "mlx"
    assert by_path[machine["snapshot"]].where == "Hugging Face cache"
    size = tiny_moe.gguf_path.stat().st_size
    assert by_path[machine["user"] / "split" / "big-00001-of-00003.gguf"].size == 3 * size
    mlx_size = sum(f.stat().st_size for f in tiny_moe.mlx_dir.iterdir())
    assert by_path[machine["snapshot"]].size == mlx_size
    assert all(f.registered_as is None for f in found)
    assert scan([], defaults=False) == []


def test_import_registers_in_place_and_once(machine: dict[str, Path], isolated_home: Path) -> None:
    path = machine["snapshot"]
    entry, new = import_path(path)
    assert new and entry.path == str(path) and entry.format == "mlx" and entry.origin == "imported"
    assert entry.id == "tiny-mlx"  # the repository's name, not the snapshot's commit hash
    again, new_again = import_path(path)
    assert (again, new_again) == (entry, False)
    assert not (isolated_home / "models").exists() or not any((isolated_home / "models").iterdir())  # no copy
    assert [f.registered_as for f in scan([]) if Path(f.path) == path] == [entry.id]


def test_a_catalog_file_found_on_disk_is_never_downloaded_again(machine: dict[str, Path]) -> None:
    entry, _ = import_path(machine["lms"] / Q4_FILE)
    assert (entry.id, entry.variant) == ("tongyi-30b-q4_k_m", "tongyi-30b-q4_k_m")
    events: list[DownloadEvent] = []
    again = pull("tongyi-30b-q4_k_m", emit=events.append)  # HF_ENDPOINT is a closed port: not contacted
    assert again == entry
    assert [e.kind for e in events if isinstance(e, DownloadNotice)] == ["skip"]


def test_import_refuses_what_is_not_a_model(machine: dict[str, Path]) -> None:
    user = machine["user"]
    cases = {
        user / "broken.gguf": "broken.gguf is not a readable GGUF file",
        user / "half-mlx": "is not an MLX model folder: it has no tokenizer.json",
        user / "split" / "big-00002-of-00003.gguf": "is part 2 of a split GGUF: import the first part",
        user / "nothing-here": "Nothing at",
    }
    for path, message in cases.items():
        with pytest.raises(ModelError) as info:
            import_path(path)
        assert message in str(info.value), path
    (user / "split" / "big-00003-of-00003.gguf").unlink()
    with pytest.raises(ModelError, match=re.escape("big-00003-of-00003.gguf is missing")):
        import_path(user / "split" / "big-00001-of-00003.gguf")
    assert Registry().entries() == []


def test_split_gguf_imports_by_its_first_part(machine: dict[str, Path], tiny_moe: TinyModel) -> None:
    entry, _ = import_path(machine["user"] / "split" / "big-00001-of-00003.gguf")
    assert entry.id == "big" and entry.size == 3 * tiny_moe.gguf_path.stat().st_size
