"""Fixtures for library tests: the corpus on disk, and a library that has indexed it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from deepresearch_local.library import IndexReport, Library
from tests.library.corpus import Corpus, build, deny_reading


@pytest.fixture
def corpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Corpus:
    built = build(tmp_path)
    deny_reading(monkeypatch, "locked.txt")
    return built


@pytest.fixture
def library() -> Iterator[Library]:
    with Library() as lib:  # in the test's own DEEPRESEARCH_HOME
        yield lib


@pytest.fixture
def indexed(corpus: Corpus, library: Library) -> tuple[Library, Corpus, IndexReport]:
    report = library.add(corpus.root, "lib")
    return library, corpus, report
