"""Fixtures for the weights tests: loopback hubs reached through HF_ENDPOINT / MODELSCOPE_ENDPOINT."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from deepresearch_local.weights.download import DownloadOptions
from tests.weights.fakehub import FakeHub

FAST = DownloadOptions(backoff_s=0.01, backoff_max_s=0.05, stall_seconds=30.0, max_attempts=4)
"""Quick retries for fault tests (the CLI's defaults wait seconds between attempts). The stall
check stays long: a busy machine can starve a healthy transfer for seconds, and a reconnect
it did not ask for would change the requests a test counts (the stall tests set their own)."""


@pytest.fixture(autouse=True)
def clean_hub_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No token, offline flag or real endpoint from the outer environment leaks into a test."""
    for name in ("HF_TOKEN", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "MODELSCOPE_DOMAIN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # discard port: tests must set their own
    monkeypatch.setenv("MODELSCOPE_ENDPOINT", "http://127.0.0.1:9")


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    """A Hugging Face-shaped hub with a CDN origin; HF_ENDPOINT points at it."""
    with FakeHub() as server:
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        yield server


@pytest.fixture
def ms_hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    """A ModelScope-shaped hub; MODELSCOPE_ENDPOINT points at it."""
    with FakeHub(style="modelscope") as server:
        monkeypatch.setenv("MODELSCOPE_ENDPOINT", server.url)
        yield server
