"""List the files of a library folder without ever leaving it.

Symbolic links are never followed: a link whose target lies inside the folder is skipped
because the target is listed on its own, a link pointing out is skipped as outside the folder,
and loops or dangling links are reported as such. So the walk always ends and never reads a file
outside the folder, and every entry it passes over is still listed with its reason.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from deepresearch_local.library.detect import kind_for, unsupported_reason

SKIP_DIRS = frozenset({"node_modules", "__pycache__", "venv", "site-packages"})


@dataclass(frozen=True)
class Entry:
    """A file (or something in the folder's tree we report on)."""

    path: Path
    rel: str
    kind: str
    """A reader's kind, "sniff" (decide from the content), or "other" for skipped entries."""
    size: int | None = None
    mtime_ns: int | None = None
    skip: str = ""
    """Why the entry is skipped without being read ("" when it is to be read)."""
    failed: bool = False
    """The skip is a failure (a folder or file we could not even list or stat)."""


def inside(path: Path, root: Path) -> bool:
    """Whether ``path`` (already resolved) is ``root`` or lies under it."""
    return path == root or root in path.parents


def _link_reason(path: Path, root: Path) -> str:
    try:
        os.stat(path)  # follows the link
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "symlink loop"
        return "broken symlink (its target does not exist)"
    target = Path(os.path.realpath(path))
    if not inside(target, root):
        where = target if target.is_dir() else target.parent
        return f"symlink pointing outside the folder (to {target}); add {where} as a folder to index it"
    rel = target.relative_to(root).as_posix() or "."
    if target.is_dir() and inside(path.parent, target):
        return f"symlink loop (points back to its enclosing folder {rel})"
    return f"symlink to {rel} (inside this folder, so indexed under its own path)"


def walk(root: Path) -> Iterator[Entry]:
    """Every entry under ``root`` (resolved), in a stable order, files before sub-folders."""
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            rel = folder.relative_to(root).as_posix() + "/"
            yield Entry(folder, rel, "other", skip=f"cannot list this folder ({exc.strerror})", failed=True)
            continue
        subfolders: list[Path] = []
        for item in entries:
            path = Path(item.path)
            rel = path.relative_to(root).as_posix()
            try:
                info = item.stat(follow_symlinks=False)
            except OSError as exc:
                yield Entry(
                    path, rel, "other", skip=f"cannot read file information ({exc.strerror})", failed=True
                )
                continue
            size, mtime = info.st_size, info.st_mtime_ns
            if stat.S_ISLNK(info.st_mode):
                yield Entry(path, rel, "other", size, mtime, skip=_link_reason(path, root))
            elif stat.S_ISDIR(info.st_mode):
                if item.name.startswith(".") or item.name in SKIP_DIRS:
                    yield Entry(path, rel + "/", "other", skip="hidden or tool folder, not indexed")
                else:
                    subfolders.append(path)
            elif not stat.S_ISREG(info.st_mode):
                what = "FIFO" if stat.S_ISFIFO(info.st_mode) else "device or socket"
                yield Entry(path, rel, "other", skip=f"not a regular file ({what})")
            elif item.name.startswith("."):
                yield Entry(path, rel, "other", size, mtime, skip="hidden file, not indexed")
            else:
                kind = kind_for(item.name) or "sniff"
                skip = unsupported_reason(item.name) if kind in ("binary", "unsupported") else ""
                yield Entry(path, rel, kind, size, mtime, skip=skip)
        stack.extend(reversed(subfolders))
