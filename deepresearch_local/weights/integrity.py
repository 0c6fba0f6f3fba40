"""Checksums: sha256 (what the hubs publish for LFS files) and the git blob id (for small files)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

BLOCK = 4 << 20


class Hasher:
    """sha256 of a stream, plus its git blob id when the total size is known up front."""

    def __init__(self, size: int | None = None, git: bool = False) -> None:
        self._sha256 = hashlib.sha256()
        self._git = None
        if git and size is not None:
            self._git = hashlib.sha1(usedforsecurity=False)
            self._git.update(f"blob {size}\0".encode())

    def update(self, data: bytes | memoryview) -> None:
        self._sha256.update(data)
        if self._git is not None:
            self._git.update(data)

    def sha256(self) -> str:
        return self._sha256.hexdigest()

    def git_oid(self) -> str | None:
        return self._git.hexdigest() if self._git is not None else None


def hash_file(
    path: Path,
    *,
    limit: int | None = None,
    hasher: Hasher | None = None,
    on_bytes: Callable[[int], None] | None = None,
) -> Hasher:
    """Feed the first ``limit`` bytes of ``path`` (all of it when None) into a hasher."""
    hasher = hasher or Hasher()
    left = limit
    with open(path, "rb") as fh:
        while left is None or left > 0:
            block = fh.read(BLOCK if left is None else min(BLOCK, left))
            if not block:
                break
            hasher.update(block)
            if left is not None:
                left -= len(block)
            if on_bytes is not None:
                on_bytes(len(block))
    return hasher


def file_sha256(path: Path, on_bytes: Callable[[int], None] | None = None) -> str:
    return hash_file(path, on_bytes=on_bytes).sha256()
