"""The weights this app knows about (downloaded or imported in place) and the default model.

Stored as JSON in ``get_paths().registry_file``. Writes are atomic (temp file + rename) and, where
the platform has ``fcntl``, serialised with a lock file so two commands cannot lose an update.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from deepresearch_local import atomic
from deepresearch_local.errors import ConfigError, ModelError
from deepresearch_local.paths import get_paths

REGISTRY_VERSION = 1


@dataclass(frozen=True)
class RegisteredModel:
    id: str
    path: str
    """The .gguf file (the first part of a split GGUF) or the MLX folder."""
    format: str
    """"gguf" or "mlx"."""
    size: int
    """Bytes on disk (all files of a folder or a split GGUF)."""
    sha256: str | None = None
    """sha256 of the file (GGUF); for folders see ``files``. None until known (imports)."""
    files: dict[str, str] = field(default_factory=dict)
    """Relative path → sha256 for every file of a multi-file download."""
    source: str = ""
    """Where it came from: "hf:OWNER/NAME@COMMIT", "modelscope:OWNER/NAME@REV" or "import"."""
    variant: str | None = None
    """The catalog variant these weights are, when known."""
    origin: str = "downloaded"
    """"downloaded" (ours: ``models rm`` deletes the files) or "imported" (the user's: never deleted)."""
    added: float = 0.0
    mtime: float | None = None
    """Modification time when registered (an imported file that changed since is re-verified)."""

    @property
    def exists(self) -> bool:
        return Path(self.path).exists()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RegisteredModel:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


def slug(text: str) -> str:
    """A registry id from a file or repository name: lower case, no extension, safe characters."""
    stem = re.sub(r"\.gguf$", "", text.rsplit("/", 1)[-1], flags=re.IGNORECASE)
    stem = re.sub(r"-00001-of-\d{5}$", "", stem)
    cleaned = re.sub(r"[^a-z0-9._-]+", "-", stem.lower()).strip("-.")
    return cleaned or "model"


class Registry:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path or get_paths().registry_file

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows
            yield
            return
        with open(self.path.with_name(self.path.name + ".lock"), "a+b") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text("utf-8"))
        except FileNotFoundError:
            return {"version": REGISTRY_VERSION, "default": None, "models": []}
        except (OSError, ValueError) as exc:
            raise ConfigError(
                f"The model registry {self.path} is unreadable ({exc}). Move it away and run "
                "`deepresearch models scan --import` to register your weights again."
            ) from exc
        if not isinstance(data, dict) or not isinstance(data.get("models"), list):
            raise ConfigError(
                f"The model registry {self.path} is malformed: move it away and run "
                "`deepresearch models scan --import`."
            )
        return data

    def _write(self, data: dict[str, Any]) -> None:
        atomic.write_text(self.path, json.dumps(data, indent=2))

    def entries(self) -> list[RegisteredModel]:
        return [RegisteredModel.from_dict(m) for m in self._read()["models"]]

    def default_id(self) -> str | None:
        value = self._read().get("default")
        return str(value) if value else None

    def get(self, model_id: str) -> RegisteredModel | None:
        return next((m for m in self.entries() if m.id == model_id), None)

    def find(self, name: str) -> RegisteredModel | None:
        """By id, else by catalog variant."""
        entries = self.entries()
        return next((m for m in entries if m.id == name), None) or next(
            (m for m in entries if m.variant == name), None
        )

    def find_path(self, path: str | Path) -> RegisteredModel | None:
        target = str(Path(path).expanduser().resolve())
        return next((m for m in self.entries() if str(Path(m.path).resolve()) == target), None)

    def find_sha256(self, sha256: str) -> RegisteredModel | None:
        return next((m for m in self.entries() if m.sha256 == sha256 and m.exists), None)

    def unique_id(self, base: str) -> str:
        taken = {m.id for m in self.entries()}
        if base not in taken:
            return base
        n = 2
        while f"{base}-{n}" in taken:
            n += 1
        return f"{base}-{n}"

    def add(self, entry: RegisteredModel) -> tuple[RegisteredModel, bool]:
        """Register (or replace, by id) ``entry``; returns it and whether it became the default."""
        entry = replace(entry, added=entry.added or time.time())
        with self._locked():
            data = self._read()
            models = [m for m in data["models"] if m.get("id") != entry.id]
            models.append(entry.to_dict())
            data["models"] = sorted(models, key=lambda m: str(m.get("id")))
            became_default = not data.get("default") or data["default"] not in {m["id"] for m in models}
            if became_default:
                data["default"] = entry.id
            self._write(data)
        return entry, became_default

    def update(self, entry: RegisteredModel) -> None:
        with self._locked():
            data = self._read()
            data["models"] = [entry.to_dict() if m.get("id") == entry.id else m for m in data["models"]]
            self._write(data)

    def cached_shapes(self) -> dict[str, Any]:
        """The per-file shape cache: path → ``{"size", "mtime", "shape"}`` (see ``weights.shapes``)."""
        shapes = self._read().get("shapes")
        return shapes if isinstance(shapes, dict) else {}

    def cache_shape(self, path: str, record: dict[str, Any]) -> None:
        """Remember one file's shape; entries for files that are gone are dropped on the way."""
        with self._locked():
            data = self._read()
            shapes = data.get("shapes")
            if not isinstance(shapes, dict):
                shapes = {}
            kept = {p: r for p, r in shapes.items() if p != path and Path(p).exists()}
            data["shapes"] = {**kept, path: record}
            self._write(data)

    def remove(self, model_id: str) -> RegisteredModel:
        with self._locked():
            data = self._read()
            found = [m for m in data["models"] if m.get("id") == model_id]
            if not found:
                raise ModelError(f"No registered model {model_id!r}: see `deepresearch models list`.")
            data["models"] = [m for m in data["models"] if m.get("id") != model_id]
            if data.get("default") == model_id:
                data["default"] = data["models"][0]["id"] if data["models"] else None
            self._write(data)
        return RegisteredModel.from_dict(found[0])

    def set_default(self, model_id: str) -> RegisteredModel:
        with self._locked():
            data = self._read()
            entry = next((m for m in data["models"] if m.get("id") == model_id), None)
            if entry is None:
                raise ModelError(
                    f"No registered model {model_id!r}: pull it (`deepresearch models pull "
                    f"{model_id}`) or import it (`deepresearch models import PATH`) first."
                )
            data["default"] = model_id
            self._write(data)
        return RegisteredModel.from_dict(entry)


def resolve_model(name_or_path: str | None, registry: Registry | None = None) -> Path:
    """The weights to load: a registered id, a downloaded catalog variant, or a path; None: the default."""
    registry = registry or Registry()
    if name_or_path is None:
        default = registry.default_id()
        entry = registry.get(default) if default else None
        if entry is None:
            raise ModelError(_nothing_available(registry))
        if not entry.exists:
            raise ModelError(
                f"The default model {entry.id} is gone from {entry.path}: pull or import it "
                "again, or choose another with `deepresearch models use ID`."
            )
        return Path(entry.path)
    entry = registry.find(name_or_path)
    if entry is not None:
        if not entry.exists:
            raise ModelError(
                f"{entry.id} is registered at {entry.path}, which is gone: pull or import it again "
                f"(or `deepresearch models rm {entry.id}`)."
            )
        return Path(entry.path)
    path = Path(name_or_path).expanduser()
    if path.exists():
        return path
    from deepresearch_local.weights.catalog import find_variant

    if find_variant(name_or_path) is not None:
        raise ModelError(
            f"{name_or_path} is not downloaded yet: run `deepresearch models pull {name_or_path}` "
            "(or import a copy you have with `deepresearch models import PATH`)."
        )
    raise ModelError(
        f"No model {name_or_path!r}: it is neither registered, in the catalog, nor a path. "
        + _nothing_available(registry, short=True)
    )


def _nothing_available(registry: Registry, short: bool = False) -> str:
    ids = [e.id for e in registry.entries()]
    if ids and short:
        return f"Registered: {', '.join(ids)}."
    if ids:
        return (
            f"No default model is set. Choose one of {', '.join(ids)} with "
            "`deepresearch models use ID`, or pass --model."
        )
    return (
        "No model is set up yet. Do one of: `deepresearch models list` to see what fits this machine, "
        "then `deepresearch models pull VARIANT`; `deepresearch models scan --import` to use GGUF/MLX "
        "weights you already have (LM Studio, the Hugging Face cache); `deepresearch models import PATH`; "
        "or pass --model PATH."
    )


EMBEDDING_REGISTRY_NAME = "embedding-models.json"
"""Embedding models are registered apart (beside ``models.json``), so none becomes the agent's model."""


def embedding_registry() -> Registry:
    """The registry of the embedding models for library search (``library.embedding.models``)."""
    return Registry(get_paths().registry_file.with_name(EMBEDDING_REGISTRY_NAME))
