"""Downloads from a Hugging Face-shaped hub on loopback, through HF_ENDPOINT and huggingface_hub's
metadata calls: verified bytes, monotone progress, multi-file builds, pause/cancel/resume, no twice."""

from __future__ import annotations

import hashlib
import threading
import time
from pathlib import Path

import pytest

from deepresearch_local.weights.download import DownloadOptions
from deepresearch_local.weights.errors import DownloadCancelled, DownloadError, HubError
from deepresearch_local.weights.events import DownloadControl, DownloadEvent, DownloadNotice, DownloadProgress
from deepresearch_local.weights.hub import resolve_hf
from deepresearch_local.weights.partfile import read_sidecar
from deepresearch_local.weights.pull import pull
from deepresearch_local.weights.registry import Registry
from tests.support.tiny_moe import TinyModel
from tests.support.waiting import wait_until
from tests.weights.conftest import FAST
from tests.weights.fakehub import COMMIT, FakeHub, make_bytes

MiB = 1 << 20


def _notices(events: list[DownloadEvent], kind: str) -> list[str]:
    return [e.message for e in events if isinstance(e, DownloadNotice) and e.kind == kind]


def _progress(events: list[DownloadEvent]) -> list[DownloadProgress]:
    return [e for e in events if isinstance(e, DownloadProgress)]


def test_metadata_comes_from_the_hub_api(hub: FakeHub) -> None:
    big = hub.add("acme/Tiny-GGUF", "tiny-Q4_K_M.gguf", make_bytes(3 * MiB))
    small = hub.add("acme/Tiny-GGUF", "config.json", b'{"a": 1}', lfs=False)
    remotes = resolve_hf("acme/Tiny-GGUF", ["tiny-Q4_K_M.gguf", "config.json"])
    lfs, plain = remotes
    assert (lfs.size, lfs.sha256, lfs.git_oid, lfs.revision) == (big.size, big.sha256, None, COMMIT)
    assert lfs.url == f"{hub.url}/acme/Tiny-GGUF/resolve/{COMMIT}/tiny-Q4_K_M.gguf"
    assert (plain.size, plain.sha256, plain.git_oid) == (small.size, None, small.git_oid)
    asked = [(s.method, s.path) for s in hub.log]
    assert ("POST", "api/models/acme/Tiny-GGUF/paths-info/main") in asked  # HfApi.get_paths_info
    assert ("HEAD", "tiny-Q4_K_M.gguf") in asked  # get_hf_file_metadata
    assert not hub.body_gets("tiny-Q4_K_M.gguf")  # nothing downloaded yet
    with pytest.raises(HubError, match=f"acme/Tiny-GGUF on {hub.url} has no file nope.gguf. See "):
        resolve_hf("acme/Tiny-GGUF", ["nope.gguf"])
    with pytest.raises(HubError, match=f"{hub.url} has no repository acme/Other"):
        resolve_hf("acme/Other", ["x.gguf"])


def test_full_download_is_verified_with_monotone_progress(hub: FakeHub, isolated_home: Path) -> None:
    data = make_bytes(20 * MiB + 123, seed=1)
    f = hub.add("acme/Tiny-GGUF", "tiny-Q4_K_M.gguf", data)
    events: list[DownloadEvent] = []
    entry = pull(
        "acme/Tiny-GGUF:tiny-Q4_K_M.gguf", emit=events.append, options=DownloadOptions(chunk_bytes=4 * MiB)
    )
    path = isolated_home / "models" / "acme--Tiny-GGUF" / "tiny-Q4_K_M.gguf"
    assert Path(entry.path) == path and path.read_bytes() == data
    assert (entry.id, entry.sha256, entry.size, entry.origin) == (
        "tiny-q4_k_m",
        f.sha256,
        len(data),
        "downloaded",
    )
    assert entry.source == f"hf:acme/Tiny-GGUF@{COMMIT}"
    assert Registry().default_id() == "tiny-q4_k_m"
    assert sorted(p.name for p in path.parent.iterdir()) == ["tiny-Q4_K_M.gguf"]
    progress = _progress(events)
    done = [p.bytes_done for p in progress]
    assert done == sorted(done) and done[-1] == len(data)
    assert [p.overall_done for p in progress] == done
    assert progress[-1].state == "done" and progress[-2].state == "verifying"
    assert all(p.total == len(data) and p.speed_bps >= 0 for p in progress)
    assert _notices(events, "verified") == ["tiny-Q4_K_M.gguf: 20.0 MiB, sha256 verified."]
    # The hub redirected the bytes to its CDN origin, which got one plain GET for all of them
    gets = hub.body_gets("tiny-Q4_K_M.gguf")
    assert [g.range for g in gets] == ["bytes=0-"] and hub.sent["tiny-Q4_K_M.gguf"] == len(data)


def test_a_second_pull_downloads_nothing(hub: FakeHub) -> None:
    hub.add("acme/Tiny-GGUF", "tiny-Q4_K_M.gguf", make_bytes(2 * MiB))
    first = pull("acme/Tiny-GGUF:tiny-Q4_K_M.gguf")
    hub.log.clear()
    events: list[DownloadEvent] = []
    again = pull("acme/Tiny-GGUF:tiny-Q4_K_M.gguf", emit=events.append, dest_root=Path("/elsewhere"))
    assert again == first and hub.log == []
    assert _notices(events, "skip") == [f"tiny-q4_k_m is already at {first.path}: nothing to download."]


def test_a_file_left_without_its_registration_is_checked_not_refetched(hub: FakeHub) -> None:
    hub.add("acme/Tiny-GGUF", "tiny-Q4_K_M.gguf", make_bytes(2 * MiB))
    first = pull("acme/Tiny-GGUF:tiny-Q4_K_M.gguf")
    Registry().remove(first.id)
    hub.log.clear()
    events: list[DownloadEvent] = []
    again = pull("acme/Tiny-GGUF:tiny-Q4_K_M.gguf", emit=events.append)
    assert again.path == first.path and again.sha256 == first.sha256
    assert hub.body_gets("tiny-Q4_K_M.gguf") == []
    assert _notices(events, "skip") == [
        "tiny-Q4_K_M.gguf is already here and intact: not downloading it again."
    ]


def test_split_gguf_downloads_every_part(hub: FakeHub, isolated_home: Path) -> None:
    parts = [
        hub.add("acme/Big-GGUF", f"big-Q8_0-{i:05d}-of-00003.gguf", make_bytes(MiB + i, seed=i))
        for i in (1, 2, 3)
    ]
    events: list[DownloadEvent] = []
    entry = pull("acme/Big-GGUF:big-Q8_0-00001-of-00003.gguf", emit=events.append)
    folder = isolated_home / "models" / "acme--Big-GGUF"
    assert entry.path == str(folder / "big-Q8_0-00001-of-00003.gguf") and entry.id == "big-q8_0"
    assert entry.size == sum(p.size for p in parts)
    assert entry.files == {f"big-Q8_0-{i:05d}-of-00003.gguf": p.sha256 for i, p in zip((1, 2, 3), parts)}
    for i, p in zip((1, 2, 3), parts):
        assert (folder / f"big-Q8_0-{i:05d}-of-00003.gguf").read_bytes() == p.data
    indexes = sorted({(e.file_index, e.file_count) for e in _progress(events)})
    assert indexes == [(1, 3), (2, 3), (3, 3)]
    overall = [e.overall_done for e in _progress(events)]
    assert overall == sorted(overall) and overall[-1] == entry.size


def test_mlx_folder_downloads_into_a_staging_folder(
    hub: FakeHub, tiny_moe: TinyModel, isolated_home: Path
) -> None:
    files = sorted(p for p in tiny_moe.mlx_dir.iterdir() if p.is_file())
    for p in files:
        hub.add("acme/tiny-mlx-4bit", p.name, p.read_bytes(), lfs=p.suffix == ".safetensors")
    hub.add("acme/tiny-mlx-4bit", "README.md", b"# not a weight file")
    seen: list[bool] = []

    def emit(event: DownloadEvent) -> None:
        if isinstance(event, DownloadProgress) and event.state == "downloading":
            seen.append((isolated_home / "models" / "acme--tiny-mlx-4bit").exists())

    entry = pull("acme/tiny-mlx-4bit", emit=emit)
    folder = isolated_home / "models" / "acme--tiny-mlx-4bit"
    assert (entry.path, entry.format, entry.id) == (str(folder), "mlx", "tiny-mlx-4bit")
    assert seen and not any(seen)  # the final folder appears only once complete
    assert sorted(p.name for p in folder.iterdir()) == [p.name for p in files]  # README.md not included
    for p in files:
        assert (folder / p.name).read_bytes() == p.read_bytes()
    assert not (isolated_home / "models" / "acme--tiny-mlx-4bit.partial").exists()
    assert set(entry.files) == {p.name for p in files}
    from deepresearch_local.hardware.modelinfo import read_shape

    assert read_shape(folder).architecture == "qwen3_moe"


def _throttled(hub: FakeHub, size: int) -> bytes:
    hub.rate = 8 * MiB
    data = make_bytes(size, seed=3)
    hub.add("acme/Tiny-GGUF", "tiny-Q4_K_M.gguf", data)
    return data


def test_pause_and_resume_from_another_thread(hub: FakeHub) -> None:
    data = _throttled(hub, 12 * MiB)
    control = DownloadControl()
    events: list[DownloadEvent] = []
    result: list[object] = []

    def run() -> None:
        result.append(
            pull("acme/Tiny-GGUF:tiny-Q4_K_M.gguf", emit=events.append, control=control, options=FAST)
        )

    worker = threading.Thread(target=run)
    worker.start()
    wait_until(lambda: hub.sent["tiny-Q4_K_M.gguf"] >= 2 * MiB, "2 MiB to be served")
    control.pause()
    wait_until(lambda: _notices(events, "paused"), "the paused notice")
    # The paused download hung up: its request's body is over, so no byte of it can still move.
    wait_until(lambda: all(g.ended for g in hub.body_gets("tiny-Q4_K_M.gguf")), "the body to end")
    sent = hub.sent["tiny-Q4_K_M.gguf"]
    assert len(hub.body_gets("tiny-Q4_K_M.gguf")) == 1  # and no new request while paused
    time.sleep(0.5)  # a moment in which a broken pause would have asked again
    assert hub.sent["tiny-Q4_K_M.gguf"] == sent and len(hub.body_gets("tiny-Q4_K_M.gguf")) == 1
    assert any(isinstance(e, DownloadProgress) and e.state == "paused" for e in events)
    control.resume()
    worker.join(300)
    entry = result[0]
    assert Path(entry.path).read_bytes() == data  # type: ignore[attr-defined]
    assert _notices(events, "resumed") == ["Resumed tiny-Q4_K_M.gguf."]
    starts = [g.range for g in hub.body_gets("tiny-Q4_K_M.gguf")]
    assert starts[0] == "bytes=0-" and len(starts) == 2 and starts[1] != "bytes=0-"


def _cancel_after(hub: FakeHub, nbytes: int, options: DownloadOptions) -> BaseException:
    """Start a pull in a thread, cancel it once ``nbytes`` were served; return what it raised."""
    control = DownloadControl()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            pull("acme/Tiny-GGUF:tiny-Q4_K_M.gguf", control=control, options=options)
        except BaseException as exc:
            errors.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    wait_until(lambda: hub.sent["tiny-Q4_K_M.gguf"] >= nbytes or not worker.is_alive(), f"{nbytes} bytes")
    control.cancel()
    worker.join(300)
    assert len(errors) == 1
    return errors[0]


def test_cancel_keeps_the_part_and_the_next_pull_resumes(hub: FakeHub, isolated_home: Path) -> None:
    data = _throttled(hub, 12 * MiB)
    opts = DownloadOptions(chunk_bytes=MiB)
    error = _cancel_after(hub, 3 * MiB, opts)
    assert isinstance(error, DownloadCancelled) and "kept" in str(error)
    dest = isolated_home / "models" / "acme--Tiny-GGUF" / "tiny-Q4_K_M.gguf"
    side = read_sidecar(dest)
    assert side is not None and side["verified_bytes"] >= 2 * MiB  # what had arrived, not what was sent
    assert side["prefix_sha256"] == hashlib.sha256(data[: side["verified_bytes"]]).hexdigest()
    assert Registry().entries() == []
    # Junk written after the last checkpoint (a crash mid-chunk) is dropped, the rest is reused
    with open(dest.with_name(dest.name + ".part"), "ab") as fh:
        fh.write(b"\0" * 1000)
    events: list[DownloadEvent] = []
    entry = pull("acme/Tiny-GGUF:tiny-Q4_K_M.gguf", emit=events.append, options=opts)
    assert Path(entry.path).read_bytes() == data
    assert hub.body_gets("tiny-Q4_K_M.gguf")[-1].range == f"bytes={side['verified_bytes']}-"
    assert _notices(events, "resume")[0].startswith("Resuming tiny-Q4_K_M.gguf at ")


def test_a_damaged_part_is_detected_and_fetched_again(hub: FakeHub, isolated_home: Path) -> None:
    data = _throttled(hub, 6 * MiB)
    assert isinstance(_cancel_after(hub, 2 * MiB, DownloadOptions(chunk_bytes=MiB)), DownloadCancelled)
    part = isolated_home / "models" / "acme--Tiny-GGUF" / "tiny-Q4_K_M.gguf.part"
    with open(part, "r+b") as fh:  # flip a byte inside the checkpointed prefix
        fh.seek(100)
        fh.write(bytes([data[100] ^ 1]))
    hub.rate = None
    events: list[DownloadEvent] = []
    entry = pull("acme/Tiny-GGUF:tiny-Q4_K_M.gguf", emit=events.append)
    assert Path(entry.path).read_bytes() == data
    assert "do not match what was recorded: starting it over." in _notices(events, "restart")[0]
    assert hub.body_gets("tiny-Q4_K_M.gguf")[-1].range == "bytes=0-"


def test_gated_repo_sends_the_token_to_the_hub_not_the_cdn(
    hub: FakeHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub.token = "hf_secret"
    hub.gated.add("acme/Gated-GGUF")
    hub.add("acme/Gated-GGUF", "g-Q4_K_M.gguf", make_bytes(MiB))
    with pytest.raises(DownloadError) as info:
        pull("acme/Gated-GGUF:g-Q4_K_M.gguf", source="hf")
    assert "HF_TOKEN" in str(info.value) and "gated" in str(info.value)
    monkeypatch.setenv("HF_TOKEN", "hf_secret")
    hub.log.clear()
    entry = pull("acme/Gated-GGUF:g-Q4_K_M.gguf", source="hf")
    assert Path(entry.path).stat().st_size == MiB
    meta = [s for s in hub.log if s.host == "meta"]
    assert meta and all(s.auth == "Bearer hf_secret" for s in meta)
    body = hub.body_gets("g-Q4_K_M.gguf")
    assert body and all(s.auth is None for s in body)  # the signed CDN URL never sees the token
