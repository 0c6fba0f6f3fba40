"""What a download row says: bytes, speed, ETA, the file of several, and any state but downloading."""

from __future__ import annotations

from deepresearch_local.tui.widgets.models.transfers import progress_info
from deepresearch_local.weights.events import DownloadProgress

MiB = 1 << 20


def test_one_file() -> None:
    p = DownloadProgress("m.gguf", 3 * MiB, 12 * MiB, 4 * MiB, 2.25, "downloading")
    assert progress_info(p) == "3.0 MiB / 12.0 MiB  4.0 MiB/s  ETA 2s"
    stalled = DownloadProgress("m.gguf", 3 * MiB, 12 * MiB, 0.0, None, "stalled")
    assert progress_info(stalled) == "3.0 MiB / 12.0 MiB  0 B/s  ETA ?  [stalled]"


def test_several_files_count_the_whole_build() -> None:
    p = DownloadProgress(
        "b-00002-of-00003.gguf", MiB, 2 * MiB, MiB, 61.0, "downloading", 2, 3, 5 * MiB, 6 * MiB
    )
    assert progress_info(p) == "5.0 MiB / 6.0 MiB  1.0 MiB/s  ETA 1m01s  file 2 of 3"
