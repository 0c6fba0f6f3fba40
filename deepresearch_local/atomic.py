"""Replace a file so that a reader (or a crash) never sees half of it.

The bytes go to a temporary file beside the target (same folder, so the rename stays on one
file system), are flushed and fsynced, then ``os.replace`` puts them in place in one step and
the folder is fsynced so the rename itself survives a power cut. On any error the temporary
file is removed and the old target is left as it was.

A ground-floor module (standard library only): settings, the model registry, download
checkpoints, the web archive, reports and exports all write through it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path


def temp_path_for(target: Path) -> Path:
    """A fresh name beside ``target``: hidden, unique per process and call, ending in ``.tmp``."""
    return target.with_name(f".{target.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDWR if os.name == "nt" else os.O_RDONLY)  # Windows flushes writable handles only
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(folder: Path) -> None:
    """Make a rename inside ``folder`` durable (POSIX); a no-op where folders cannot be opened."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path to write ``target``'s new content to (by any means: a library
    that opens the path itself, say); on leaving the block it is fsynced and renamed over
    ``target``. If the block raises, the temporary file is deleted and ``target`` is untouched."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path_for(target)
    try:
        yield tmp
        _fsync_file(tmp)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(target.parent)


def write_bytes(target: Path, data: bytes) -> Path:
    """Replace ``target`` with ``data`` atomically and durably; returns ``target``."""
    with atomic_path(target) as tmp:
        # O_EXCL: never write through a file (or link) someone else placed under that name.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
    return target


def write_text(target: Path, text: str, encoding: str = "utf-8") -> Path:
    """Replace ``target`` with ``text`` atomically and durably; returns ``target``."""
    return write_bytes(target, text.encode(encoding))
