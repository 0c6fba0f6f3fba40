"""The one place sizes, rates and durations are written for people."""

from __future__ import annotations

from deepresearch_local.units import eta_text, human_bytes, human_rate


def test_human_bytes_picks_the_largest_unit_under_1024() -> None:
    assert [human_bytes(n) for n in (None, 0, 1023, 1024, 1536, 5 << 20, 3 << 30)] == [
        "?", "0 B", "1023 B", "1.0 KiB", "1.5 KiB", "5.0 MiB", "3.0 GiB",
    ]  # fmt: skip
    assert human_bytes(2048 << 40) == "2048.0 TiB"  # TiB is the last unit: no PiB
    assert human_bytes(-2048) == "-2.0 KiB"


def test_human_rate_is_bytes_per_second() -> None:
    assert human_rate(45 * (1 << 20)) == "45.0 MiB/s"
    assert human_rate(None) == "?/s"


def test_eta_text_is_compact() -> None:
    assert [eta_text(x) for x in (None, 0, 42.9, 372, 3725)] == ["?", "0s", "42s", "6m12s", "1h02m"]
