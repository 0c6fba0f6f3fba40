"""Model shapes for listings, cached per file in the registry.

Reading a 30B GGUF's header still walks ~300,000 tokenizer strings; a listing must not do that
every time. The cache is keyed by the file's path and checked against its size and mtime, so a
replaced or re-downloaded file is read again. MLX folders are cheap to read (one config.json) and
are not cached.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from deepresearch_local.hardware.modelinfo import ModelShape, read_shape, shape_from_dict, shape_to_dict
from deepresearch_local.weights.registry import Registry


def _stamp(path: Path) -> tuple[int, float]:
    st = path.stat()
    return st.st_size, st.st_mtime


def cached_shape(path: str | Path, registry: Registry | None = None) -> ModelShape | None:
    """The cached shape of ``path`` if the file has not changed since it was read; else None."""
    p = Path(path).expanduser().absolute()
    if not p.is_file():
        return None
    record = (registry or Registry()).cached_shapes().get(str(p))
    if not isinstance(record, dict):
        return None
    size, mtime = _stamp(p)
    if record.get("size") != size or record.get("mtime") != mtime:
        return None
    try:
        return shape_from_dict(record["shape"])
    except (KeyError, TypeError, ValueError):
        return None  # written by another version: read the file again


def shape_of(path: str | Path, registry: Registry | None = None) -> ModelShape:
    """The shape of a GGUF file or MLX folder, from the cache when the file is unchanged."""
    p = Path(path).expanduser().absolute()
    if p.is_dir():
        return read_shape(p)
    registry = registry or Registry()
    found = cached_shape(p, registry)
    if found is not None:
        return found
    shape = read_shape(p)
    remember(p, shape, registry)
    return shape


def remember(path: Path, shape: ModelShape, registry: Registry | None = None) -> None:
    """Store ``shape`` as the cached shape of the GGUF file at ``path``."""
    path = path.expanduser().absolute()
    if not path.is_file():
        return
    size, mtime = _stamp(path)
    record = {"size": size, "mtime": mtime, "shape": shape_to_dict(shape)}
    with contextlib.suppress(OSError):  # a read-only registry still lists; it reads the file next time
        (registry or Registry()).cache_shape(str(path), record)
