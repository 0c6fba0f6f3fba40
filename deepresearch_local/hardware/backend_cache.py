"""Remembered backend checks, so listings need not import llama.cpp or start a Python for MLX.

Checking MLX means importing mlx-lm in a fresh interpreter (seconds: it pulls in transformers)
and checking llama.cpp means loading its library. What they answer changes only when the
packages change, so the answer is kept in the cache folder under a key made of the interpreter,
each package's installed version and the modification time of its metadata (a reinstall changes
it). A package that is not installed at all is known at once from its missing metadata, with no
import and no subprocess. ``doctor`` does not use this: it always checks afresh.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

from deepresearch_local import atomic

if TYPE_CHECKING:
    from deepresearch_local.hardware.probe import BackendStatus

PACKAGES: dict[str, tuple[str, ...]] = {
    "llama.cpp": ("llama-cpp-python",),
    "mlx": ("mlx", "mlx-lm"),
}


def _stamp(package: str) -> str | None:
    """``version@mtime`` of an installed distribution; None when it is not installed."""
    try:
        dist = metadata.distribution(package)
    except metadata.PackageNotFoundError:
        return None
    where = getattr(dist, "_path", None)
    mtime = 0.0
    if isinstance(where, Path | str):
        with contextlib.suppress(OSError):
            mtime = Path(where).stat().st_mtime
    return f"{dist.version}@{mtime:.0f}"


def backend_key(name: str) -> str | None:
    """The cache key for one backend's check; None when none of its packages is installed."""
    stamps = [_stamp(p) for p in PACKAGES[name]]
    if all(s is None for s in stamps):
        return None
    return json.dumps([sys.executable, name, stamps])


def _backend_of(key: str) -> str | None:
    try:
        parts = json.loads(key)
    except ValueError:
        return None
    return str(parts[1]) if isinstance(parts, list) and len(parts) > 1 else None


def _cache_file() -> Path:
    from deepresearch_local.paths import get_paths

    return get_paths().cache_dir / "backend-checks.json"


def _load(path: Path) -> dict[str, dict[str, object]]:
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def cached_check(name: str, check: Callable[[], BackendStatus], missing: BackendStatus) -> BackendStatus:
    """``check()``'s answer for backend ``name``, remembered until its packages change.
    ``missing`` is the answer when none of its packages is installed (no check runs)."""
    from deepresearch_local.hardware.probe import BackendStatus

    key = backend_key(name)
    if key is None:
        return missing
    path = _cache_file()
    stored = _load(path).get(key)
    if isinstance(stored, dict):
        with contextlib.suppress(TypeError):
            return BackendStatus(**stored)  # type: ignore[arg-type]
    status = check()
    data = {k: v for k, v in _load(path).items() if _backend_of(k) != name}
    data[key] = {
        "name": status.name,
        "available": status.available,
        "device": status.device,
        "version": status.version,
        "reason": status.reason,
    }
    with contextlib.suppress(OSError):
        atomic.write_text(path, json.dumps(data, indent=1))
    return status
