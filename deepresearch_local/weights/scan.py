"""Weights already on disk: find them (HF cache, LM Studio, folders the user names) and import them.

Importing validates the weights (a readable GGUF header; an MLX folder with ``config.json``,
``tokenizer.json`` and ``*.safetensors``) and registers them where they are: nothing is copied.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from deepresearch_local.errors import ModelError
from deepresearch_local.hardware.modelinfo import ModelShape, read_gguf_shape, read_mlx_shape
from deepresearch_local.weights.catalog import variant_for_file
from deepresearch_local.weights.registry import RegisteredModel, Registry, slug
from deepresearch_local.weights.schema import SPLIT_PART

MAX_DEPTH = 8


@dataclass(frozen=True)
class Found:
    path: str
    format: str
    size: int
    where: str
    """"Hugging Face cache", "LM Studio" or "folder"."""
    variant: str | None = None
    registered_as: str | None = None

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def hf_cache_dir() -> Path:
    """HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub (read now, not at import)."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache).expanduser() / "huggingface" / "hub"


def default_roots() -> list[tuple[Path, str]]:
    home = Path.home()
    return [
        (hf_cache_dir(), "Hugging Face cache"),
        (home / ".lmstudio" / "models", "LM Studio"),
        (home / ".cache" / "lm-studio" / "models", "LM Studio"),
    ]


def is_mlx_folder(path: Path) -> bool:
    return (
        (path / "config.json").is_file()
        and (path / "tokenizer.json").is_file()
        and any(path.glob("*.safetensors"))
    )


def split_parts(path: Path) -> list[Path]:
    """All parts of a split GGUF given its first part (just ``[path]`` for one file)."""
    m = SPLIT_PART.match(path.name)
    if not m:
        return [path]
    count = int(m["count"])
    return [path.with_name(f"{m['stem']}-{i:05d}-of-{count:05d}.gguf") for i in range(1, count + 1)]


def weights_size(path: Path) -> int:
    if path.is_dir():
        return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    return sum(p.stat().st_size for p in split_parts(path) if p.exists())


def _walk(root: Path) -> Iterator[tuple[Path, str]]:
    """(path, format) of candidate weights under ``root`` (no symlinked folders, no hidden ones)."""
    base_depth = len(root.parts)
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        if here != root and is_mlx_folder(here):
            dirs.clear()
            yield here, "mlx"
            continue
        depth = len(here.parts) - base_depth
        dirs[:] = sorted(
            d for d in dirs if not d.startswith(".") and d != "blobs" and not d.endswith(".partial")
        )
        if depth >= MAX_DEPTH:
            dirs.clear()
        for name in sorted(files):
            if not name.lower().endswith(".gguf") or "mmproj" in name.lower():
                continue
            m = SPLIT_PART.match(name)
            if m and int(m["index"]) != 1:
                continue
            yield here / name, "gguf"


def scan(
    dirs: Sequence[Path] = (), *, defaults: bool = True, registry: Registry | None = None
) -> list[Found]:
    """GGUF files and MLX folders under the default places (when ``defaults``) and ``dirs``."""
    registry = registry or Registry()
    known = {str(Path(e.path).resolve()): e.id for e in registry.entries()}
    roots = (default_roots() if defaults else []) + [(Path(d).expanduser(), "folder") for d in dirs]
    found: list[Found] = []
    seen: set[str] = set()
    for root, where in roots:
        if not root.is_dir():
            continue
        for path, fmt in _walk(root):
            real = str(path.resolve())
            if real in seen:
                continue
            seen.add(real)
            variant = variant_for_file(path.name) if fmt == "gguf" else None
            found.append(
                Found(
                    path=str(path.absolute()),
                    format=fmt,
                    size=weights_size(path),
                    where=where,
                    variant=variant.id if variant else None,
                    registered_as=known.get(real),
                )
            )
    return found


def validate(path: Path) -> tuple[str, ModelShape]:
    """(format, shape) of usable weights at ``path``, or a ModelError that says what is wrong."""
    if path.is_dir():
        missing = [n for n in ("config.json", "tokenizer.json") if not (path / n).is_file()]
        if not any(path.glob("*.safetensors")):
            missing.append("*.safetensors")
        if missing:
            raise ModelError(
                f"{path} is not an MLX model folder: it has no {', '.join(missing)}. Give the folder that "
                "holds config.json, tokenizer.json and the .safetensors weights."
            )
        return "mlx", read_mlx_shape(path)
    if not path.is_file():
        raise ModelError(f"Nothing at {path}: give a .gguf file or an MLX model folder.")
    m = SPLIT_PART.match(path.name)
    if m and int(m["index"]) != 1:
        raise ModelError(
            f"{path.name} is part {int(m['index'])} of a split GGUF: import the first part (-00001-)."
        )
    missing_parts = [p.name for p in split_parts(path) if not p.exists()]
    if missing_parts:
        raise ModelError(f"{path.name} is split and {missing_parts[0]} is missing next to it.")
    return "gguf", read_gguf_shape(path)


def _display_name(path: Path) -> str:
    """The repository name for a Hugging Face cache snapshot folder (its own name is a commit hash)."""
    if path.is_dir() and path.parent.name == "snapshots" and path.parent.parent.name.startswith("models--"):
        return path.parent.parent.name.split("--")[-1]
    return path.name


def import_path(
    path: str | Path, *, registry: Registry | None = None, name: str | None = None
) -> tuple[RegisteredModel, bool]:
    """Validate and register weights in place; returns (entry, whether it is new)."""
    registry = registry or Registry()
    p = Path(path).expanduser().absolute()
    existing = registry.find_path(p)
    if existing is not None:
        return existing, False
    fmt, shape = validate(p)
    variant = variant_for_file(p.name) if fmt == "gguf" else None
    base = name or (variant.id if variant and registry.get(variant.id) is None else slug(_display_name(p)))
    entry = RegisteredModel(
        id=name or registry.unique_id(base),
        path=str(p),
        format=fmt,
        size=weights_size(p),
        source="import",
        variant=variant.id if variant else None,
        origin="imported",
        mtime=p.stat().st_mtime,
    )
    entry, _ = registry.add(entry)
    if fmt == "gguf":
        from deepresearch_local.weights.shapes import remember

        remember(p, shape, registry)  # listings need not read the header again
    return entry, True
