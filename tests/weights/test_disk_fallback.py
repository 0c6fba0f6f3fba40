"""Not enough disk → a clear error before any byte; the primary hub down or failing → ModelScope;
offline → nothing is contacted."""

from __future__ import annotations

from pathlib import Path

import pytest

from deepresearch_local.units import human_bytes
from deepresearch_local.weights.download import DownloadOptions
from deepresearch_local.weights.errors import DiskSpaceError, DownloadError, OfflineError
from deepresearch_local.weights.events import DownloadEvent, DownloadNotice
from deepresearch_local.weights.pull import parse_target, pull
from deepresearch_local.weights.registry import Registry
from tests.weights.conftest import FAST
from tests.weights.fakehub import FakeHub, Fault, make_bytes

MiB = 1 << 20
SPEC = "acme/Tiny-GGUF:tiny-Q4_K_M.gguf"
NAME = "tiny-Q4_K_M.gguf"
MARGIN = DownloadOptions().disk_margin_bytes


def _fallbacks(events: list[DownloadEvent]) -> list[str]:
    return [e.message for e in events if isinstance(e, DownloadNotice) and e.kind == "fallback"]


def test_not_enough_disk_fails_before_the_first_byte(hub: FakeHub, isolated_home: Path) -> None:
    size = 5 * MiB
    hub.add("acme/Tiny-GGUF", NAME, make_bytes(size))
    asked: list[Path] = []

    def free(path: Path) -> int:
        asked.append(path)
        return 3 * MiB

    with pytest.raises(DiskSpaceError) as info:
        pull(SPEC, free_space=free)
    root = isolated_home / "models"
    missing = size + MARGIN - 3 * MiB
    assert str(info.value) == (
        f"Not enough disk space in {root}: tiny-q4_k_m needs 5.0 MiB more, plus {human_bytes(MARGIN)} to "
        f"spare, and 3.0 MiB is free — {human_bytes(missing)} missing. Free some space, or pass --dir DIR on "
        "a disk with room."
    )
    assert asked == [root]
    assert hub.body_gets(NAME) == [] and hub.sent[NAME] == 0
    assert not (root / "acme--Tiny-GGUF" / (NAME + ".part")).exists()
    assert Registry().entries() == []
    # Exactly enough room (the file plus the margin) is enough
    entry = pull(SPEC, free_space=lambda p: size + MARGIN)
    assert Path(entry.path).stat().st_size == size


def test_disk_check_counts_bytes_already_on_disk(hub: FakeHub, isolated_home: Path) -> None:
    data = make_bytes(6 * MiB)
    hub.add("acme/Tiny-GGUF", NAME, data)
    hub.fault(NAME, Fault("drop", after=4 * MiB))
    hub.always[NAME] = Fault("status", 500)
    opts = DownloadOptions(chunk_bytes=MiB, backoff_s=0.01, max_attempts=2)
    with pytest.raises(DownloadError):
        pull(SPEC, source="hf", options=opts)
    hub.always.clear()
    with pytest.raises(DiskSpaceError) as info:
        pull(SPEC, source="hf", options=opts, free_space=lambda p: 2 * MiB + MARGIN - 1)
    assert "needs 2.0 MiB more" in str(info.value) and "1 B missing" in str(info.value)
    entry = pull(SPEC, source="hf", options=opts, free_space=lambda p: 2 * MiB + MARGIN)
    assert Path(entry.path).read_bytes() == data
    assert hub.body_gets(NAME)[-1].range == f"bytes={4 * MiB}-"


def test_primary_hub_down_falls_back_to_modelscope(ms_hub: FakeHub, isolated_home: Path) -> None:
    data = make_bytes(3 * MiB, seed=9)
    ms_hub.add("acme/Tiny-GGUF", NAME, data)  # HF_ENDPOINT points at a closed port
    events: list[DownloadEvent] = []
    entry = pull(SPEC, emit=events.append, options=FAST)
    assert Path(entry.path).read_bytes() == data
    assert entry.source == "modelscope:acme/Tiny-GGUF@master"
    [note] = _fallbacks(events)
    assert note.startswith(f"Hugging Face acme/Tiny-GGUF:{NAME} failed (Cannot reach http://127.0.0.1:9 ")
    assert note.endswith(f"Falling back to ModelScope acme/Tiny-GGUF:{NAME}.")
    assert [s.path for s in ms_hub.log] == ["api/v1/models/acme/Tiny-GGUF/repo/files", NAME]
    assert ms_hub.body_gets(NAME)[0].range == "bytes=0-"


def test_a_download_failing_midway_continues_from_modelscope(
    hub: FakeHub, ms_hub: FakeHub, isolated_home: Path
) -> None:
    data = make_bytes(6 * MiB, seed=4)
    hub.add("acme/Tiny-GGUF", NAME, data)
    ms_hub.add("acme/Tiny-GGUF", NAME, data)
    hub.fault(NAME, Fault("drop", after=2 * MiB))
    hub.always[NAME] = Fault("status", 502)
    events: list[DownloadEvent] = []
    opts = DownloadOptions(chunk_bytes=MiB, backoff_s=0.01, max_attempts=3)
    entry = pull(SPEC, emit=events.append, options=opts)
    assert Path(entry.path).read_bytes() == data and entry.source.startswith("modelscope:")
    [note] = _fallbacks(events)
    assert "after 3 attempts (the server answered HTTP 502)" in note
    # Same sha256 on both hubs: ModelScope continued the bytes Hugging Face had sent
    assert ms_hub.body_gets(NAME)[0].range == f"bytes={2 * MiB}-"
    assert hub.sent[NAME] + ms_hub.sent[NAME] == len(data)


def test_source_flag_limits_the_hubs(hub: FakeHub, ms_hub: FakeHub) -> None:
    ms_hub.add("acme/Tiny-GGUF", NAME, make_bytes(MiB))
    entry = pull(SPEC, source="modelscope")
    assert entry.source == "modelscope:acme/Tiny-GGUF@master" and hub.log == []
    assert [s.hub for s in parse_target(SPEC).sources] == ["hf", "modelscope"]
    assert [s.hub for s in parse_target(SPEC, "hf").sources] == ["hf"]


def test_every_source_failing_lists_each_reason(hub: FakeHub, ms_hub: FakeHub) -> None:
    with pytest.raises(DownloadError) as info:
        pull(SPEC)
    message = str(info.value)
    assert message.startswith("Could not download tiny-q4_k_m from any source:\n")
    assert f"  - Hugging Face acme/Tiny-GGUF:{NAME}: {hub.url} has no repository acme/Tiny-GGUF" in message
    assert (
        f"  - ModelScope acme/Tiny-GGUF:{NAME}: ModelScope ({ms_hub.url}) cannot list acme/Tiny-GGUF"
        in message
    )
    assert "`deepresearch models scan`" in message


def test_offline_contacts_nothing(hub: FakeHub, ms_hub: FakeHub, monkeypatch: pytest.MonkeyPatch) -> None:
    hub.add("acme/Tiny-GGUF", NAME, make_bytes(MiB))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(OfflineError) as info:
        pull(SPEC)
    assert "HF_HUB_OFFLINE is set" in str(info.value) and "models scan" in str(info.value)
    assert hub.log == [] and ms_hub.log == []
