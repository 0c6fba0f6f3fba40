"""What to download: URL, size and checksum of each file, from Hugging Face or ModelScope.

Hugging Face goes through huggingface_hub's own metadata calls (``get_hf_file_metadata`` on
``hf_hub_url``; ``HfApi.get_paths_info`` / ``list_repo_tree`` for the LFS sha256), so
``HF_ENDPOINT`` (a mirror), ``HF_TOKEN`` and ``HF_HUB_OFFLINE`` work as users expect. The
environment is read at call time and the endpoint passed explicitly: huggingface_hub reads
``HF_ENDPOINT`` once, at import. ModelScope has its own file API: a JSON listing
(``/api/v1/models/{repo}/repo/files``, with ``Size`` and ``Sha256`` per file) and a download
URL (``/api/v1/models/{repo}/repo?Revision=…&FilePath=…``) that serves HTTP Range requests.
"""

from __future__ import annotations

import contextlib
import fnmatch
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from deepresearch_local.weights.errors import HubError, OfflineError
from deepresearch_local.weights.schema import FOLDER_PATTERNS

HF_DEFAULT_ENDPOINT = "https://huggingface.co"
MODELSCOPE_DEFAULT_DOMAIN = "www.modelscope.cn"
HUB_NAMES = {"hf": "Hugging Face", "modelscope": "ModelScope"}
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_SHA1 = re.compile(r"^[0-9a-f]{40}$")


@dataclass(frozen=True)
class RemoteFile:
    """One file to fetch, as the hub describes it right now."""

    hub: str
    repo: str
    path: str
    """Path inside the repository (also the path under the destination folder)."""
    url: str
    size: int
    sha256: str | None
    """The LFS sha256 (None for small non-LFS files: then ``git_oid`` is checked)."""
    etag: str | None = None
    revision: str | None = None
    """The commit the URL is pinned to, when the hub says."""
    git_oid: str | None = None
    """Git blob id (sha1 of ``blob <size>\\0`` + content) for non-LFS files."""

    @property
    def hub_name(self) -> str:
        return HUB_NAMES.get(self.hub, self.hub)


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def hf_offline() -> bool:
    """HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE), read now rather than at library import."""
    return _truthy(os.environ.get("HF_HUB_OFFLINE")) or _truthy(os.environ.get("TRANSFORMERS_OFFLINE"))


def hf_endpoint() -> str:
    return (os.environ.get("HF_ENDPOINT") or HF_DEFAULT_ENDPOINT).rstrip("/")


def hf_token() -> str | None:
    """HF_TOKEN, else the token saved by ``hf auth login`` (None when there is neither)."""
    token = os.environ.get("HF_TOKEN")
    if token:
        return token
    from huggingface_hub import get_token

    try:
        return get_token()
    except Exception:  # a broken token file or OIDC setup must not stop public downloads
        return None


def modelscope_endpoint() -> str:
    """MODELSCOPE_ENDPOINT (a full URL), else https:// + MODELSCOPE_DOMAIN (ModelScope's own variable)."""
    explicit = os.environ.get("MODELSCOPE_ENDPOINT")
    if explicit:
        return explicit.rstrip("/")
    return "https://" + (os.environ.get("MODELSCOPE_DOMAIN") or MODELSCOPE_DEFAULT_DOMAIN).strip("/")


def hub_endpoint(hub: str) -> str:
    return modelscope_endpoint() if hub == "modelscope" else hf_endpoint()


def wanted(path: str, patterns: Sequence[str]) -> bool:
    return any(fnmatch.fnmatch(path, p) or fnmatch.fnmatch(path.rsplit("/", 1)[-1], p) for p in patterns)


def _hf_problem(exc: Exception, repo: str, endpoint: str) -> HubError:
    """Turn a huggingface_hub / HTTP exception into a message that says what to do."""
    from huggingface_hub import errors

    if isinstance(exc, errors.OfflineModeIsEnabled):
        return OfflineError(
            "HF_HUB_OFFLINE is set, so nothing is downloaded. Unset it, or use weights "
            "already on disk: `deepresearch models scan` / `models import PATH`."
        )
    if isinstance(exc, errors.GatedRepoError):
        return HubError(
            f"{repo} is gated on {endpoint}: accept its terms at {endpoint}/{repo} and set "
            "HF_TOKEN (or run `hf auth login`)."
        )
    if isinstance(exc, errors.RepositoryNotFoundError):
        return HubError(f"{endpoint} has no repository {repo} (or it is private: set HF_TOKEN).")
    if isinstance(exc, errors.RevisionNotFoundError):
        return HubError(f"{repo} on {endpoint} has no such revision.")
    missing = tuple(
        getattr(errors, n) for n in ("EntryNotFoundError", "RemoteEntryNotFoundError") if hasattr(errors, n)
    )
    if isinstance(exc, missing):  # (RemoteEntryNotFoundError is new in huggingface_hub 1.x)
        return HubError(f"{repo} on {endpoint} has no such file ({exc}).".replace("\n", " "))
    if isinstance(exc, errors.HfHubHTTPError):
        status = getattr(getattr(exc, "response", None), "status_code", None)
        if status in (401, 403):
            return HubError(
                f"{endpoint} refused access to {repo} (HTTP {status}): set HF_TOKEN to a token "
                "that can read it."
            )
        return HubError(
            f"{endpoint} answered HTTP {status} for {repo}: try again later, or use "
            "another source (--source modelscope, or HF_ENDPOINT=a mirror)."
        )
    first_line = str(exc).splitlines()[0] if str(exc) else ""
    return HubError(
        f"Cannot reach {endpoint} ({type(exc).__name__}: {first_line}). Check the network, or "
        "use a mirror (HF_ENDPOINT=…) or --source modelscope."
    )


def _pick_sha256(*candidates: str | None) -> str | None:
    for value in candidates:
        if value and _SHA256.match(value.lower()):
            return value.lower()
    return None


def resolve_hf(
    repo: str,
    files: Sequence[str] = (),
    *,
    include: Sequence[str] = (),
    revision: str | None = None,
    endpoint: str | None = None,
    token: str | None = None,
    timeout: float = 20.0,
) -> list[RemoteFile]:
    """Describe ``files`` of ``repo`` (or, with no files, the folder's files matching ``include``)."""
    endpoint = (endpoint or hf_endpoint()).rstrip("/")
    if hf_offline():
        raise _hf_problem(_offline_error(), repo, endpoint)
    from huggingface_hub import HfApi, get_hf_file_metadata, hf_hub_url
    from huggingface_hub.hf_api import RepoFile

    api = HfApi(endpoint=endpoint, token=token)
    try:
        entries: list[RepoFile]
        if files:
            infos = {i.path: i for i in api.get_paths_info(repo, list(files), revision=revision)}
            missing = [f for f in files if not isinstance(infos.get(f), RepoFile)]
            if missing:
                raise HubError(
                    f"{repo} on {endpoint} has no file {missing[0]}. "
                    f"See {endpoint}/{repo}/tree/main for the files it has."
                )
            entries = [e for e in (infos[f] for f in files) if isinstance(e, RepoFile)]
        else:
            patterns = tuple(include) or FOLDER_PATTERNS
            tree = api.list_repo_tree(repo, recursive=True, revision=revision)
            entries = sorted(
                (e for e in tree if isinstance(e, RepoFile) and wanted(e.path, patterns)),
                key=lambda e: e.path,
            )
            if not entries:
                raise HubError(f"{repo} on {endpoint} has no model files ({', '.join(patterns)}).")
        out: list[RemoteFile] = []
        pinned = revision
        for entry in entries:
            meta = get_hf_file_metadata(
                hf_hub_url(repo, entry.path, revision=pinned, endpoint=endpoint),
                token=token,
                timeout=timeout,
                endpoint=endpoint,
            )
            pinned = pinned or meta.commit_hash
            lfs = entry.lfs
            size = int(lfs.size if lfs else entry.size)
            if meta.size is not None and int(meta.size) != size:
                raise HubError(
                    f"{endpoint} gives two sizes for {repo}/{entry.path} ({meta.size} and {size}): "
                    "the repository may be changing; try again in a minute."
                )
            etag = (meta.etag or "").strip('"').lower() or None
            out.append(
                RemoteFile(
                    hub="hf",
                    repo=repo,
                    path=entry.path,
                    url=hf_hub_url(repo, entry.path, revision=pinned, endpoint=endpoint),
                    size=size,
                    sha256=_pick_sha256(lfs.sha256 if lfs else None, etag),
                    etag=etag,
                    revision=meta.commit_hash or pinned,
                    git_oid=None if lfs else (entry.blob_id if _SHA1.match(entry.blob_id or "") else None),
                )
            )
        return out
    except HubError:
        raise
    except Exception as exc:
        raise _hf_problem(exc, repo, endpoint) from exc


def _offline_error() -> Exception:
    from huggingface_hub import errors

    return errors.OfflineModeIsEnabled("HF_HUB_OFFLINE is set")


def resolve_modelscope(
    repo: str,
    files: Sequence[str] = (),
    *,
    include: Sequence[str] = (),
    revision: str | None = None,
    endpoint: str | None = None,
    timeout: float = 20.0,
) -> list[RemoteFile]:
    """Describe files of a ModelScope repository through its JSON file listing."""
    import httpx

    endpoint = (endpoint or modelscope_endpoint()).rstrip("/")
    if hf_offline():
        raise OfflineError(
            "HF_HUB_OFFLINE is set, so nothing is downloaded (from any hub). Unset it, or use "
            "weights already on disk: `deepresearch models scan` / `models import PATH`."
        )
    rev = revision or "master"
    url = f"{endpoint}/api/v1/models/{repo}/repo/files"
    try:
        response = httpx.get(url, params={"Revision": rev, "Recursive": "true"}, timeout=timeout)
    except httpx.HTTPError as exc:
        raise HubError(
            f"Cannot reach ModelScope at {endpoint} ({type(exc).__name__}). Check the network, "
            "or set MODELSCOPE_ENDPOINT / MODELSCOPE_DOMAIN."
        ) from exc
    data: dict[str, Any] = {}
    with contextlib.suppress(ValueError):
        data = response.json() if response.content else {}
    if response.status_code != 200 or data.get("Code", 200) != 200 or data.get("Success") is False:
        message = data.get("Message") or f"HTTP {response.status_code}"
        raise HubError(f"ModelScope ({endpoint}) cannot list {repo}: {message}.")
    listed = [f for f in (data.get("Data") or {}).get("Files") or [] if f.get("Type", "blob") == "blob"]
    by_path = {str(f.get("Path") or f.get("Name")): f for f in listed}
    if files:
        missing = [f for f in files if f not in by_path]
        if missing:
            raise HubError(f"ModelScope's {repo} has no file {missing[0]}.")
        chosen = [by_path[f] for f in files]
    else:
        patterns = tuple(include) or FOLDER_PATTERNS
        chosen = [by_path[p] for p in sorted(by_path) if wanted(p, patterns)]
        if not chosen:
            raise HubError(f"ModelScope's {repo} has no model files ({', '.join(patterns)}).")
    out = []
    for f in chosen:
        path = str(f.get("Path") or f.get("Name"))
        file_rev = str(f.get("Revision") or rev)
        out.append(
            RemoteFile(
                hub="modelscope",
                repo=repo,
                path=path,
                url=f"{endpoint}/api/v1/models/{repo}/repo?Revision={quote(file_rev, safe='')}"
                f"&FilePath={quote(path, safe='')}",
                size=int(f.get("Size") or 0),
                sha256=_pick_sha256(str(f.get("Sha256") or "")),
                revision=file_rev,
            )
        )
    return out
