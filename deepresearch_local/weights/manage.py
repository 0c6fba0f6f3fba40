"""Verify and remove registered weights."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from deepresearch_local.errors import ModelError
from deepresearch_local.weights.integrity import file_sha256
from deepresearch_local.weights.registry import RegisteredModel, Registry
from deepresearch_local.weights.scan import split_parts, validate


@dataclass(frozen=True)
class VerifyResult:
    id: str
    ok: bool
    message: str
    checked_bytes: int = 0

    def to_dict(self) -> dict[str, object]:
        return {"id": self.id, "ok": self.ok, "message": self.message, "checked_bytes": self.checked_bytes}


def entry_files(entry: RegisteredModel) -> list[tuple[Path, str | None]]:
    """Every file of a registration with the sha256 it should have (None when unknown)."""
    path = Path(entry.path)
    if entry.files:
        base = path if entry.format == "mlx" else path.parent
        return [(base / rel, sha or None) for rel, sha in sorted(entry.files.items())]
    if entry.format == "mlx":
        return [(f, None) for f in sorted(path.rglob("*")) if f.is_file()]
    return [(p, entry.sha256 if p == path else None) for p in split_parts(path)]


def verify_model(
    entry: RegisteredModel,
    registry: Registry | None = None,
    on_bytes: Callable[[int], None] | None = None,
) -> VerifyResult:
    """Re-hash the files and compare with the recorded sha256; imports get theirs recorded."""
    registry = registry or Registry()
    if not entry.exists:
        return VerifyResult(
            entry.id,
            False,
            f"{entry.path} is gone: re-import it where it now lives, or `deepresearch models rm {entry.id}`.",
        )
    try:
        validate(Path(entry.path))
    except ModelError as exc:
        return VerifyResult(entry.id, False, str(exc))
    checked, bad, recorded = 0, [], {}
    for path, want in entry_files(entry):
        if not path.is_file():
            return VerifyResult(entry.id, False, f"{path} is missing: pull {entry.id} again.")
        got = file_sha256(path, on_bytes)
        checked += path.stat().st_size
        recorded[path] = got
        if want and got != want:
            bad.append(path.name)
    if bad:
        what = "re-download it" if entry.origin == "downloaded" else "replace it with a good copy"
        return VerifyResult(
            entry.id,
            False,
            f"sha256 mismatch in {', '.join(bad)}: the weights are damaged; "
            f"{what} (`deepresearch models rm {entry.id}`, then pull or import again).",
            checked,
        )
    main = Path(entry.path)
    if entry.sha256 is None and main in recorded:
        registry.update(replace(entry, sha256=recorded[main], mtime=main.stat().st_mtime))
        return VerifyResult(
            entry.id,
            True,
            f"readable; no reference checksum was known, so sha256 "
            f"{recorded[main][:16]}… is now recorded for later checks.",
            checked,
        )
    return VerifyResult(
        entry.id, True, "sha256 matches" if entry.sha256 or entry.files else "readable", checked
    )


def remove_model(name: str, registry: Registry | None = None) -> tuple[RegisteredModel, list[Path]]:
    """Unregister; delete the files only when this app downloaded them. Returns what was deleted."""
    registry = registry or Registry()
    entry = registry.find(name)
    if entry is None:
        raise ModelError(f"No registered model {name!r}: see `deepresearch models list`.")
    registry.remove(entry.id)
    deleted: list[Path] = []
    if entry.origin != "downloaded" or not entry.exists:
        return entry, deleted
    path = Path(entry.path)
    if path.is_dir():
        shutil.rmtree(path)
        deleted.append(path)
    else:
        for file, _sha in entry_files(entry):
            for leftover in (
                file,
                file.with_name(file.name + ".part"),
                file.with_name(file.name + ".part.json"),
            ):
                if leftover.exists():
                    leftover.unlink()
                    deleted.append(leftover)
        folder = path.parent
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
    return entry, deleted


def remove_partials(paths: list[Path]) -> list[Path]:
    for p in paths:
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()
    return paths
