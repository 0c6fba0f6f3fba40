"""A download's partial file (``FILE.part``) and its JSON sidecar (``FILE.part.json``).

The sidecar says which file the part belongs to (URL, size, etag, expected checksums), how many
of its bytes are known to be on disk (``verified_bytes``, written after an fsync) and the sha256
of exactly those bytes (``prefix_sha256``), so a later run can trust them after a crash.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import IO, Any

from deepresearch_local import atomic
from deepresearch_local.weights.errors import DownloadError
from deepresearch_local.weights.hub import RemoteFile

SIDECAR_VERSION = 1


def part_path(dest: Path) -> Path:
    return dest.with_name(dest.name + ".part")


def sidecar_path(dest: Path) -> Path:
    return dest.with_name(dest.name + ".part.json")


def read_sidecar(dest: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(sidecar_path(dest).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("version") == SIDECAR_VERSION else None


def write_sidecar(dest: Path, remote: RemoteFile, verified_bytes: int, prefix_sha256: str) -> None:
    """Record a checkpoint atomically (the part's bytes must already be flushed and fsynced)."""
    data = {
        "version": SIDECAR_VERSION,
        "url": remote.url,
        "hub": remote.hub,
        "repo": remote.repo,
        "path": remote.path,
        "size": remote.size,
        "etag": remote.etag,
        "sha256": remote.sha256,
        "git_oid": remote.git_oid,
        "verified_bytes": verified_bytes,
        "prefix_sha256": prefix_sha256,
        "updated": time.time(),
    }
    atomic.write_text(sidecar_path(dest), json.dumps(data))


def same_file(side: dict[str, Any], remote: RemoteFile) -> bool:
    """Whether a sidecar describes the same bytes as ``remote`` (even from another hub)."""
    if side.get("size") != remote.size:
        return False
    if side.get("sha256") and remote.sha256:
        return bool(side["sha256"] == remote.sha256)
    if side.get("git_oid") and remote.git_oid:
        return bool(side["git_oid"] == remote.git_oid)
    return bool(side.get("url") == remote.url and side.get("etag") == remote.etag)


def kept_bytes(dest: Path, remote: RemoteFile) -> int:
    """Bytes a resume of ``dest`` would keep (for the disk-space check before anything is fetched)."""
    side = read_sidecar(dest)
    part = part_path(dest)
    if not side or not same_file(side, remote) or not part.exists():
        return 0
    verified = int(side.get("verified_bytes", 0))
    return verified if part.stat().st_size >= verified else 0


def lock(fh: IO[bytes], name: str) -> None:
    """One process per part file (the lock goes away with the process, even after kill -9)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no advisory lock
        return
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        raise DownloadError(
            f"{name} is already being downloaded by another process: wait for it, or stop it first."
        ) from exc
