"""The registry (real JSON file under DEEPRESEARCH_HOME), the default model, verify, rm, and
``resolve_model`` — what the engine factory will call to find the weights to load."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest

from deepresearch_local.errors import ConfigError, ModelError
from deepresearch_local.weights.manage import remove_model, verify_model
from deepresearch_local.weights.pull import pull
from deepresearch_local.weights.registry import RegisteredModel, Registry, resolve_model, slug
from deepresearch_local.weights.scan import import_path
from tests.support.tiny_moe import TinyModel
from tests.weights.fakehub import FakeHub


def _entry(model_id: str, path: Path) -> RegisteredModel:
    path.write_bytes(b"x")
    return RegisteredModel(id=model_id, path=str(path), format="gguf", size=1)


def test_the_first_model_becomes_the_default(isolated_home: Path, tmp_path: Path) -> None:
    reg = Registry()
    assert reg.path == isolated_home / "data" / "models.json"
    a, became = reg.add(_entry("a", tmp_path / "a.gguf"))
    assert became and reg.default_id() == "a" and a.added > 0
    _, became = reg.add(_entry("b", tmp_path / "b.gguf"))
    assert not became and reg.default_id() == "a"
    reg.set_default("b")
    assert reg.default_id() == "b"
    reg.remove("b")
    assert reg.default_id() == "a" and [e.id for e in reg.entries()] == ["a"]
    assert reg.unique_id("a") == "a-2" and reg.unique_id("c") == "c"
    with pytest.raises(ModelError, match="No registered model 'zzz'"):
        reg.set_default("zzz")


def test_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    reg = Registry()
    threads = [
        threading.Thread(target=reg.add, args=(_entry(f"m{i}", tmp_path / f"m{i}.gguf"),)) for i in range(12)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(e.id for e in reg.entries()) == sorted(f"m{i}" for i in range(12))


def test_a_damaged_registry_says_what_to_do(isolated_home: Path) -> None:
    reg = Registry()
    reg.path.parent.mkdir(parents=True)
    reg.path.write_text("{not json")
    with pytest.raises(ConfigError, match="Move it away and run `deepresearch models scan --import`"):
        reg.entries()


def test_slug() -> None:
    assert slug("Tongyi-DeepResearch-30B-A3B.Q4_K_M.gguf") == "tongyi-deepresearch-30b-a3b.q4_k_m"
    assert slug("big-Q8_0-00001-of-00003.gguf") == "big-q8_0"
    assert slug("acme/Tiny 4bit!") == "tiny-4bit"


def test_resolve_model_explains_what_to_do(tmp_path: Path, tiny_moe: TinyModel) -> None:
    with pytest.raises(ModelError) as info:
        resolve_model(None)
    for hint in (
        "deepresearch models pull VARIANT",
        "models scan --import",
        "models import PATH",
        "--model PATH",
    ):
        assert hint in str(info.value)
    with pytest.raises(
        ModelError, match="tongyi-30b-q4_k_m is not downloaded yet: run `deepresearch models pull"
    ):
        resolve_model("tongyi-30b-q4_k_m")
    assert resolve_model(str(tiny_moe.gguf_path)) == tiny_moe.gguf_path  # a path is a path
    copy = tmp_path / "tiny.gguf"
    shutil.copy(tiny_moe.gguf_path, copy)
    entry, _ = import_path(copy)
    assert resolve_model(None) == copy and resolve_model(entry.id) == copy
    with pytest.raises(ModelError, match=r"No model 'nope'.*Registered: tiny\."):
        resolve_model("nope")
    copy.unlink()
    with pytest.raises(ModelError, match="The default model tiny is gone"):
        resolve_model(None)


def test_verify_catches_damage_and_rm_deletes_only_our_downloads(
    hub: FakeHub, tmp_path: Path, tiny_moe: TinyModel
) -> None:
    gguf = tiny_moe.gguf_path.read_bytes()
    hub.add("acme/Tiny-GGUF", "tiny-Q4_K_M.gguf", gguf)
    ours = pull("acme/Tiny-GGUF:tiny-Q4_K_M.gguf")
    result = verify_model(ours)
    assert (result.ok, result.message, result.checked_bytes) == (True, "sha256 matches", len(gguf))
    with open(ours.path, "r+b") as fh:
        fh.seek(len(gguf) - 10)  # inside the tensor data: the header still reads
        fh.write(b"!")
    bad = verify_model(ours)
    assert not bad.ok and bad.message.startswith(
        "sha256 mismatch in tiny-Q4_K_M.gguf: the weights are damaged"
    )
    theirs_path = tmp_path / "theirs.gguf"
    shutil.copy(tiny_moe.gguf_path, theirs_path)
    theirs, _ = import_path(theirs_path)
    first = verify_model(theirs)
    assert first.ok and "is now recorded for later checks" in first.message
    recorded = Registry().get(theirs.id)
    assert recorded is not None and recorded.sha256 is not None
    assert verify_model(recorded).message == "sha256 matches"
    _, deleted = remove_model(theirs.id)
    assert deleted == [] and theirs_path.exists()  # the user's file stays
    _, deleted = remove_model(ours.id)
    assert deleted == [Path(ours.path)] and not Path(ours.path).exists()
    assert not Path(ours.path).parent.exists()  # its now-empty folder too
    assert Registry().entries() == []
