"""``models pull``: from a catalog variant or ``REPO_ID:FILE`` to verified, registered weights.

Sources are tried in order (the catalog's, then the same repositories on ModelScope); when one
fails — unreachable, an error that retries do not cure, a checksum mismatch — the next one is
used and the user is told. Free disk space is checked before the first byte, for all files at once.
Weights go under ``get_paths().models_dir`` (or ``--dir``) and are never downloaded twice.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from deepresearch_local.errors import UsageError
from deepresearch_local.paths import get_paths
from deepresearch_local.units import human_bytes
from deepresearch_local.weights.catalog import HubSource, Variant, find_variant, variant_for_file
from deepresearch_local.weights.download import DownloadOptions, FileDownload
from deepresearch_local.weights.errors import (
    DiskSpaceError,
    DownloadCancelled,
    DownloadError,
    HubError,
    OfflineError,
)
from deepresearch_local.weights.events import DownloadControl, DownloadNotice, Emit, ignore
from deepresearch_local.weights.hub import RemoteFile, hf_token, resolve_hf, resolve_modelscope
from deepresearch_local.weights.integrity import Hasher, hash_file
from deepresearch_local.weights.partfile import kept_bytes
from deepresearch_local.weights.registry import RegisteredModel, Registry, slug
from deepresearch_local.weights.schema import REPO_ID, SPLIT_PART

FreeSpace = Callable[[Path], int]


@dataclass(frozen=True)
class PullTarget:
    name: str
    """The registry id the weights get."""
    format: str
    sources: tuple[HubSource, ...]
    folder: str
    """Folder under the models root that holds the file(s)."""
    variant: Variant | None = None


def _with_mirrors(sources: tuple[HubSource, ...]) -> tuple[HubSource, ...]:
    """Add the same repositories on ModelScope (many GGUF repos are mirrored under the same id)."""
    listed = {(s.repo, s.file_names) for s in sources if s.hub == "modelscope"}
    extra = tuple(
        HubSource("modelscope", s.repo, s.file, s.files, s.include)
        for s in sources
        if s.hub == "hf" and (s.repo, s.file_names) not in listed
    )
    return sources + extra


def parse_target(spec: str, source: str | None = None) -> PullTarget:
    """A catalog variant id, ``REPO_ID:FILE.gguf`` (a split GGUF by its first part) or ``REPO_ID``."""
    variant = find_variant(spec)
    if variant is not None:
        target = PullTarget(variant.id, variant.format, variant.sources, variant.id, variant)
    elif ":" in spec and REPO_ID.match(spec.split(":", 1)[0]):
        repo, file = spec.split(":", 1)
        if not file.lower().endswith(".gguf"):
            raise UsageError(
                f"{file} is not a .gguf file: pull one GGUF file as REPO_ID:FILE.gguf, or a "
                "whole MLX repository as REPO_ID."
            )
        split = SPLIT_PART.match(file.rsplit("/", 1)[-1])
        files: tuple[str, ...] = ()
        if split and int(split["index"]) == 1:
            count = int(split["count"])
            files = tuple(file.replace("-00001-of-", f"-{i:05d}-of-") for i in range(1, count + 1))
        known = variant_for_file(file.rsplit("/", 1)[-1])
        name, folder = (known.id, known.id) if known else (slug(file), repo.replace("/", "--"))
        one = HubSource("hf", repo, file, files if len(files) > 1 else ())
        target = PullTarget(name, "gguf", (one,), folder, known)
    elif REPO_ID.match(spec):
        target = PullTarget(slug(spec), "mlx", (HubSource("hf", spec),), spec.replace("/", "--"))
    else:
        raise UsageError(
            f"Unknown model {spec!r}: give a catalog variant (see `deepresearch models list`), "
            "REPO_ID:FILE.gguf, or REPO_ID for a whole MLX repository."
        )
    sources = _with_mirrors(target.sources)
    if source:
        sources = tuple(s for s in sources if s.hub == source)
    return PullTarget(target.name, target.format, sources, target.folder, target.variant)


def disk_free(path: Path) -> int:
    """Free bytes on the disk that holds ``path`` (its nearest existing parent)."""
    probe = path
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    return shutil.disk_usage(probe).free


def _resolve(source: HubSource, token: str | None) -> list[RemoteFile]:
    if source.hub == "modelscope":
        return resolve_modelscope(
            source.repo, source.file_names, include=source.include, revision=source.revision
        )
    return resolve_hf(
        source.repo, source.file_names, include=source.include, revision=source.revision, token=token
    )


class Puller:
    """One pull: resolve, check the disk, download every file, register."""

    def __init__(
        self,
        target: PullTarget,
        *,
        dest_root: Path | None = None,
        emit: Emit = ignore,
        control: DownloadControl | None = None,
        options: DownloadOptions | None = None,
        free_space: FreeSpace = disk_free,
        registry: Registry | None = None,
    ) -> None:
        self.target, self.emit = target, emit
        self.root = (dest_root or get_paths().models_dir).expanduser().resolve()
        self.control = control or DownloadControl()
        self.opts = options or DownloadOptions()
        self.free_space = free_space
        self.registry = registry or Registry()

    def _existing(self) -> RegisteredModel | None:
        entry = self.registry.find(self.target.name)
        return entry if entry is not None and entry.exists else None

    def _plan(self, remotes: list[RemoteFile]) -> tuple[Path, Path, list[tuple[RemoteFile, Path]]]:
        """(the registered path, the folder written into, [(file, where it is written)]).

        A folder (MLX) build is written into ``NAME.partial`` and renamed when complete, so a
        half-downloaded folder never looks like a model; GGUF files get their own ``.part``.
        """
        final = self.root / self.target.folder
        if self.target.format == "gguf":
            return final / remotes[0].path, final, [(r, final / r.path) for r in remotes]
        base = final if final.exists() else self.root / (self.target.folder + ".partial")
        return final, base, [(r, base / r.path) for r in remotes]

    def _check_disk(self, plan: list[tuple[RemoteFile, Path]]) -> None:
        need = sum(
            r.size - kept_bytes(d, r) for r, d in plan if not (d.exists() and d.stat().st_size == r.size)
        )
        free = self.free_space(self.root)
        margin = self.opts.disk_margin_bytes
        if need + margin > free:
            raise DiskSpaceError(
                f"Not enough disk space in {self.root}: {self.target.name} needs {human_bytes(need)} more, "
                f"plus {human_bytes(margin)} to spare, and {human_bytes(free)} is free — "
                f"{human_bytes(need + margin - free)} missing. Free some space, or pass --dir DIR on a disk "
                "with room."
            )

    def _complete(self, remote: RemoteFile, dest: Path) -> bool:
        """A finished file already at ``dest`` (e.g. the registry was lost): check it, keep it."""
        if not dest.exists() or dest.stat().st_size != remote.size:
            return False
        if remote.sha256 or remote.git_oid:
            self.emit(
                DownloadNotice("info", f"Checking the {dest.name} already in {dest.parent}…", dest.name)
            )
            hasher = hash_file(dest, hasher=Hasher(remote.size, git=remote.git_oid is not None))
            if (hasher.sha256() if remote.sha256 else hasher.git_oid()) != (remote.sha256 or remote.git_oid):
                self.emit(
                    DownloadNotice(
                        "mismatch", f"{dest} does not match the hub's sha256: replacing it.", dest.name
                    )
                )
                dest.unlink()
                return False
        self.emit(
            DownloadNotice(
                "skip", f"{dest.name} is already here and intact: not downloading it again.", dest.name
            )
        )
        return True

    def _download(self, source: HubSource, remotes: list[RemoteFile]) -> RegisteredModel:
        import httpx

        final, base, plan = self._plan(remotes)
        self._check_disk(plan)
        token = hf_token() if source.hub == "hf" else None
        total = sum(r.size for r in remotes)
        timeout = httpx.Timeout(self.opts.stall_seconds, connect=self.opts.connect_timeout)
        done, shas = 0, {}
        with httpx.Client(follow_redirects=True, timeout=timeout, headers={"User-Agent": _agent()}) as client:
            for index, (remote, dest) in enumerate(plan, start=1):
                if not self._complete(remote, dest):
                    FileDownload(
                        remote,
                        dest,
                        client,
                        emit=self.emit,
                        control=self.control,
                        options=self.opts,
                        token=token,
                        index=index,
                        count=len(plan),
                        overall_base=done,
                        overall_total=total,
                    ).run()
                key = Path(remote.path).name if self.target.format == "gguf" else remote.path
                shas[key] = remote.sha256 or ""
                done += remote.size
        if self.target.format == "mlx" and base != final:
            os.replace(base, final)  # the staging folder becomes the model, complete
        first = remotes[0]
        entry = RegisteredModel(
            id=self.target.name,
            path=str(final),
            format=self.target.format,
            size=total,
            sha256=first.sha256 if self.target.format == "gguf" else None,
            files=shas if len(remotes) > 1 else {},
            source=f"{source.hub}:{source.repo}@{first.revision or ''}",
            variant=self.target.variant.id if self.target.variant else None,
            origin="downloaded",
            mtime=final.stat().st_mtime,
        )
        entry, became_default = self.registry.add(entry)
        note = " It is now the default model." if became_default else ""
        self.emit(DownloadNotice("registered", f"Registered {entry.id} at {entry.path}.{note}"))
        return entry

    def run(self) -> RegisteredModel:
        existing = self._existing()
        if existing is not None:
            self.emit(
                DownloadNotice(
                    "skip", f"{self.target.name} is already at {existing.path}: nothing to download."
                )
            )
            return existing
        if not self.target.sources:
            raise UsageError(f"{self.target.name} has no source on that hub.")
        failures: list[str] = []
        for i, source in enumerate(self.target.sources):
            try:
                self.emit(DownloadNotice("resolve", f"Asking {source.label} for sizes and checksums…"))
                remotes = _resolve(source, hf_token() if source.hub == "hf" else None)
                same = next((self.registry.find_sha256(r.sha256) for r in remotes[:1] if r.sha256), None)
                if same is not None and self.target.format == "gguf":
                    self.emit(
                        DownloadNotice(
                            "skip",
                            f"These weights are already registered as {same.id} at "
                            f"{same.path}: not downloading them twice.",
                        )
                    )
                    return same
                return self._download(source, remotes)
            except (DiskSpaceError, DownloadCancelled, OfflineError):
                raise
            except DownloadError as exc:
                if (isinstance(exc, HubError) and not exc.fallback) or len(self.target.sources) == 1:
                    raise
                failures.append(f"{source.label}: {exc}")
                if i + 1 < len(self.target.sources):
                    nxt = self.target.sources[i + 1]
                    self.emit(
                        DownloadNotice(
                            "fallback", f"{source.label} failed ({exc}). Falling back to {nxt.label}."
                        )
                    )
        listed = "\n".join(f"  - {f}" for f in failures)
        raise DownloadError(
            f"Could not download {self.target.name} from any source:\n{listed}\nCheck the network and run "
            "the command again (finished bytes are kept), set HF_ENDPOINT to a mirror, or use weights you "
            "already have: `deepresearch models scan` / `models import PATH`."
        )


def _agent() -> str:
    from deepresearch_local import __version__

    return f"deepresearch-local/{__version__}"


def pull(
    spec: str,
    *,
    source: str | None = None,
    dest_root: Path | None = None,
    emit: Emit = ignore,
    control: DownloadControl | None = None,
    options: DownloadOptions | None = None,
    free_space: FreeSpace = disk_free,
) -> RegisteredModel:
    """Download (or find already downloaded) the weights ``spec`` names; returns their registration."""
    return Puller(
        parse_target(spec, source),
        dest_root=dest_root,
        emit=emit,
        control=control,
        options=options,
        free_space=free_space,
    ).run()


def partial_files(target: PullTarget, root: Path | None = None) -> list[Path]:
    """Leftovers of unfinished pulls of ``target``: part files, their sidecars, a staging folder."""
    from deepresearch_local.weights.leftovers import leftovers_in

    return leftovers_in((root or get_paths().models_dir) / target.folder)
