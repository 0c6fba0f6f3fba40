"""Faults on the wire: dropped connections, 500s, a stall, a short body, wrong bytes. Each is retried
(and said), a fault that does not go away ends in a clear error, and a bad file is never registered."""

from __future__ import annotations

from pathlib import Path

import pytest

from deepresearch_local.weights.download import DownloadOptions
from deepresearch_local.weights.errors import ChecksumError, DownloadError
from deepresearch_local.weights.events import DownloadEvent, DownloadNotice
from deepresearch_local.weights.pull import pull
from deepresearch_local.weights.registry import Registry
from tests.weights.conftest import FAST
from tests.weights.fakehub import FakeHub, Fault, make_bytes

MiB = 1 << 20
SPEC = "acme/Tiny-GGUF:tiny-Q4_K_M.gguf"
NAME = "tiny-Q4_K_M.gguf"


def _setup(hub: FakeHub, size: int = 6 * MiB) -> bytes:
    data = make_bytes(size, seed=5)
    hub.add("acme/Tiny-GGUF", NAME, data)
    return data


def _pull(events: list[DownloadEvent], options: DownloadOptions = FAST) -> Path:
    return Path(pull(SPEC, source="hf", emit=events.append, options=options).path)


def _kinds(events: list[DownloadEvent]) -> list[str]:
    return [e.kind for e in events if isinstance(e, DownloadNotice)]


def _messages(events: list[DownloadEvent], kind: str) -> list[str]:
    return [e.message for e in events if isinstance(e, DownloadNotice) and e.kind == kind]


def _ranges(hub: FakeHub) -> list[str | None]:
    return [g.range for g in hub.body_gets(NAME)]


def _dest(home: Path) -> Path:
    return home / "models" / "acme--Tiny-GGUF" / NAME


def test_dropped_connections_resume_where_they_broke(hub: FakeHub) -> None:
    data = _setup(hub)
    hub.fault(NAME, Fault("drop", after=MiB), Fault("drop", after=2 * MiB))
    events: list[DownloadEvent] = []
    assert _pull(events).read_bytes() == data
    assert _ranges(hub) == ["bytes=0-", f"bytes={MiB}-", f"bytes={3 * MiB}-"]
    assert _messages(events, "retry") == [
        f"{NAME}: the connection was cut mid-transfer; retrying in 0.01 s (attempt 2 of 4).",
        f"{NAME}: the connection was cut mid-transfer; retrying in 0.01 s (attempt 2 of 4).",
    ]  # progress was made each time, so the attempt count starts over
    assert hub.sent[NAME] == len(data)


def test_server_errors_are_retried_with_backoff(hub: FakeHub) -> None:
    data = _setup(hub)
    hub.fault(NAME, Fault("status", 500), Fault("status", 503))
    events: list[DownloadEvent] = []
    assert _pull(events).read_bytes() == data
    assert _messages(events, "retry") == [
        f"{NAME}: the server answered HTTP 500; retrying in 0.01 s (attempt 2 of 4).",
        f"{NAME}: the server answered HTTP 503; retrying in 0.02 s (attempt 3 of 4).",
    ]
    assert _ranges(hub) == ["bytes=0-"] * 3


def test_persistent_server_errors_end_in_a_clear_error(hub: FakeHub, isolated_home: Path) -> None:
    _setup(hub)
    hub.fault(NAME, Fault("drop", after=MiB))
    hub.always[NAME] = Fault("status", 500)
    with pytest.raises(DownloadError) as info:
        _pull([])
    message = str(info.value)
    assert (
        f"Could not download {NAME} from Hugging Face after 4 attempts (the server answered HTTP 500)"
        in message
    )
    assert "The 1.0 MiB downloaded so far are kept: run the same command again to resume." in message
    assert len(_ranges(hub)) == 4  # the cut one (it made progress), then three more
    assert Registry().entries() == []
    assert not _dest(isolated_home).exists()
    assert _dest(isolated_home).with_name(NAME + ".part").stat().st_size == MiB  # kept for a resume


def test_a_stall_reconnects_and_says_so(hub: FakeHub) -> None:
    data = _setup(hub)
    # The server stays silent for a minute: only the client's 0.5 s stall check, however late a busy
    # machine runs it, can end the wait (not the server hanging up).
    hub.fault(NAME, Fault("stall", after=2 * MiB, seconds=60))
    events: list[DownloadEvent] = []
    opts = DownloadOptions(backoff_s=0.01, stall_seconds=0.5, max_attempts=4)
    assert _pull(events, opts).read_bytes() == data
    assert _messages(events, "stall") == [
        f"Stalled: no data for 0.5 s on {NAME}; reconnecting (attempt 2 of 4)."
    ]
    assert _ranges(hub) == ["bytes=0-", f"bytes={2 * MiB}-"]


def test_a_trickle_counts_as_a_stall(hub: FakeHub) -> None:
    data = _setup(hub, 2 * MiB)
    hub.rate, hub.block = 5_000, 1_000  # a byte stream that never stops but never gets anywhere
    events: list[DownloadEvent] = []
    opts = DownloadOptions(backoff_s=0.01, stall_seconds=1.0, stall_min_bytes=64 << 10, max_attempts=2)
    with pytest.raises(DownloadError) as info:
        _pull(events, opts)
    assert _messages(events, "stall") == [
        f"Stalled: under 64.0 KiB in 1 s on {NAME}; reconnecting (attempt 2 of 2)."
    ]
    assert "after 2 attempts (under 64.0 KiB in 1 s)" in str(info.value)
    hub.rate, hub.block = None, 64 << 10
    assert _pull([], opts).read_bytes() == data


def test_a_short_body_is_completed_by_a_range_request(hub: FakeHub) -> None:
    data = _setup(hub)
    hub.fault(NAME, Fault("short", after=3 * MiB))
    events: list[DownloadEvent] = []
    assert _pull(events).read_bytes() == data
    assert _messages(events, "retry") == [
        f"{NAME}: the connection ended at 3.0 MiB of 6.0 MiB; retrying in 0.01 s (attempt 2 of 4)."
    ]
    assert _ranges(hub) == ["bytes=0-", f"bytes={3 * MiB}-"]


def test_a_server_that_ignores_range_restarts_cleanly(hub: FakeHub) -> None:
    data = _setup(hub)
    hub.fault(NAME, Fault("drop", after=MiB), Fault("ignore_range"))
    events: list[DownloadEvent] = []
    assert _pull(events).read_bytes() == data
    assert _messages(events, "restart") == [
        f"The server ignored the resume request: downloading {NAME} from the start."
    ]


def test_wrong_bytes_once_are_deleted_and_fetched_again(hub: FakeHub, isolated_home: Path) -> None:
    data = _setup(hub)
    hub.fault(NAME, Fault("wrong", after=4 * MiB))
    events: list[DownloadEvent] = []
    assert _pull(events).read_bytes() == data
    [mismatch] = _messages(events, "mismatch")
    assert mismatch.startswith(f"{NAME} from Hugging Face failed its checksum (expected ")
    assert mismatch.endswith("the file was deleted and is not registered. Downloading it again.")
    assert _ranges(hub) == ["bytes=0-", "bytes=0-"]


def test_wrong_bytes_every_time_are_never_registered(hub: FakeHub, isolated_home: Path) -> None:
    data = _setup(hub)
    hub.always[NAME] = Fault("wrong", after=len(data) - 1)
    events: list[DownloadEvent] = []
    with pytest.raises(ChecksumError) as info:
        _pull(events)
    assert str(info.value).startswith(f"{NAME} from Hugging Face failed its checksum (expected ")
    assert "the file was deleted and is not registered. Run the command again" in str(info.value)
    assert len(_messages(events, "mismatch")) == 1  # one fresh attempt, then the error
    assert Registry().entries() == []
    folder = _dest(isolated_home).parent
    assert sorted(p.name for p in folder.iterdir()) == []  # no file, no part, no sidecar
