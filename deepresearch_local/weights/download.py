"""The resumable, verified download of one file.

Bytes stream into ``FILE.part`` with HTTP Range requests. Every ``chunk_bytes`` (8 MiB) the part
is flushed to disk (fsync) and a small JSON sidecar ``FILE.part.json`` records the URL, size,
etag, expected checksums, how many bytes are on disk for sure (``verified_bytes``) and the sha256
of exactly those bytes. After a crash, a ``kill -9`` or a reboot the next run keeps those bytes:
it re-hashes them once (hashlib cannot save its state, so the running sha256 is rebuilt from the
disk, ~1 GB/s) and checks them against the recorded digest, drops anything written after the
last checkpoint (at most one chunk), and asks the server for the rest. The sha256 is computed as
bytes arrive, so the final check is instant; a mismatch deletes the file and says so. Success is
an atomic rename of the part onto the final name.

Failures are retried with exponential backoff; "no data for ``stall_seconds``" counts as a stall
and reconnects; the attempt counter resets whenever bytes arrive. A :class:`DownloadControl`
pauses or cancels from another thread (the part is kept for a later resume).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

from deepresearch_local.units import human_bytes
from deepresearch_local.weights.errors import ChecksumError, DownloadError
from deepresearch_local.weights.events import (
    DownloadControl,
    DownloadNotice,
    DownloadProgress,
    Emit,
    NoticeKind,
    SpeedMeter,
    State,
)
from deepresearch_local.weights.hub import RemoteFile
from deepresearch_local.weights.integrity import Hasher, hash_file
from deepresearch_local.weights.partfile import (
    lock,
    part_path,
    read_sidecar,
    same_file,
    sidecar_path,
    write_sidecar,
)
from deepresearch_local.weights.responses import Retry, Stalled, check_response, transport_reason

if TYPE_CHECKING:
    import httpx


@dataclass(frozen=True)
class DownloadOptions:
    chunk_bytes: int = 8 << 20
    """Checkpoint interval: a crash loses at most this much."""
    stall_seconds: float = 30.0
    """No data (or under ``stall_min_bytes``) for this long is a stall: reconnect."""
    stall_min_bytes: int = 64 << 10
    connect_timeout: float = 20.0
    max_attempts: int = 6
    """Consecutive failed attempts (without new bytes) before giving up on a source."""
    backoff_s: float = 1.0
    backoff_max_s: float = 30.0
    checksum_retries: int = 1
    """Fresh downloads after a checksum mismatch before giving up on a source."""
    progress_interval_s: float = 0.25
    disk_margin_bytes: int = 256 << 20
    """Free space to leave beyond the download itself."""


@dataclass(frozen=True)
class FileResult:
    path: Path
    size: int
    sha256: str
    resumed_from: int
    checked: str
    """What the bytes were checked against: "sha256", "git-oid" or "size" (the hub gave no checksum)."""


class FileDownload:
    """Fetch one :class:`RemoteFile` to ``dest``; :meth:`run` returns when it is verified and renamed."""

    def __init__(
        self,
        remote: RemoteFile,
        dest: Path,
        client: httpx.Client,
        *,
        emit: Emit,
        control: DownloadControl | None = None,
        options: DownloadOptions | None = None,
        token: str | None = None,
        index: int = 1,
        count: int = 1,
        overall_base: int = 0,
        overall_total: int = 0,
    ) -> None:
        self.remote, self.dest, self.client, self.emit = remote, dest, client, emit
        self.control = control or DownloadControl()
        self.opts = options or DownloadOptions()
        self.token = token if remote.hub == "hf" else None
        self.index, self.count = index, count
        self.overall_base, self.overall_total = overall_base, overall_total or remote.size
        self.name = remote.path.rsplit("/", 1)[-1]
        self.part = part_path(dest)
        self.meter = SpeedMeter()
        self.hasher = Hasher()
        self.pos = self.ckpt = 0
        self.resumed_from: int | None = None
        self._last_emit = 0.0

    # -- bookkeeping -------------------------------------------------------------------------
    def _progress(self, state: State, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_emit < self.opts.progress_interval_s:
            return
        self._last_emit = now
        size = self.remote.size
        self.emit(
            DownloadProgress(
                self.name,
                self.pos,
                size,
                self.meter.speed(),
                self.meter.eta(size - self.pos),
                state,
                self.index,
                self.count,
                self.overall_base + self.pos,
                self.overall_total,
            )
        )

    def _say(self, kind: NoticeKind, message: str) -> None:
        self.emit(DownloadNotice(kind, message, self.name))

    def _checkpoint(self, fh: IO[bytes]) -> None:
        fh.flush()
        os.fsync(fh.fileno())
        write_sidecar(self.dest, self.remote, self.pos, self.hasher.sha256())
        self.ckpt = self.pos

    def _new_hasher(self) -> Hasher:
        return Hasher(self.remote.size, git=self.remote.git_oid is not None)

    def _prepare(self, fh: IO[bytes]) -> None:
        """Decide where to start: the verified bytes of an earlier run, or zero."""
        side, on_disk, start = read_sidecar(self.dest), os.fstat(fh.fileno()).st_size, 0
        self.hasher = self._new_hasher()
        if side and same_file(side, self.remote) and on_disk >= int(side.get("verified_bytes", 0)) > 0:
            start = int(side["verified_bytes"])
            began = time.monotonic()
            hash_file(self.part, limit=start, hasher=self.hasher)
            if self.hasher.sha256() != side.get("prefix_sha256"):
                self._say(
                    "restart",
                    f"The {human_bytes(start)} of {self.name} on disk do not match "
                    "what was recorded: starting it over.",
                )
                start, self.hasher = 0, self._new_hasher()
            else:
                self._say(
                    "resume",
                    f"Resuming {self.name} at {human_bytes(start)} of "
                    f"{human_bytes(self.remote.size)} (re-checked the bytes on disk in "
                    f"{time.monotonic() - began:.1f} s).",
                )
        elif on_disk:
            why = "it belongs to another version of the file" if side else "it has no record of what it holds"
            self._say("restart", f"Discarding a partial {self.name} ({human_bytes(on_disk)}): {why}.")
        fh.truncate(start)
        fh.seek(start)
        self.pos = self.ckpt = start
        if self.resumed_from is None:
            self.resumed_from = start

    # -- transfer ----------------------------------------------------------------------------
    def _request(self, fh: IO[bytes]) -> None:
        headers = {"Range": f"bytes={self.pos}-", "Accept-Encoding": "identity"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        with self.client.stream("GET", self.remote.url, headers=headers) as response:
            if check_response(response, self.remote, self.pos):
                self._say(
                    "restart",
                    f"The server ignored the resume request: downloading {self.name} from the start.",
                )
                fh.truncate(0)
                fh.seek(0)
                self.pos = self.ckpt = 0
                self.hasher = self._new_hasher()
            mark_t, mark_b = time.monotonic(), 0
            self.meter.add(0)  # the speed counts from the moment the answer came
            for data in response.iter_raw():
                if self.control.cancelled or self.control.paused:
                    return
                room = self.remote.size - self.pos
                fh.write(data[:room])
                self.hasher.update(data[:room])
                self.pos += min(len(data), room)
                self.meter.add(len(data))
                if self.pos - self.ckpt >= self.opts.chunk_bytes:
                    self._checkpoint(fh)
                self._progress("downloading")
                if len(data) > room:
                    return  # more bytes than announced: the checksum will judge them
                mark_b += len(data)
                now = time.monotonic()
                if mark_b >= self.opts.stall_min_bytes:
                    mark_t, mark_b = now, 0
                elif now - mark_t > self.opts.stall_seconds:
                    raise Stalled(
                        f"under {human_bytes(self.opts.stall_min_bytes)} in {self.opts.stall_seconds:g} s"
                    )

    def _fetch(self, fh: IO[bytes]) -> None:
        import httpx

        failures = 0
        while self.pos < self.remote.size:
            if self.control.paused or self.control.cancelled:
                self._checkpoint(fh)
                if self.control.paused and not self.control.cancelled:
                    self._say("paused", f"Paused {self.name} at {human_bytes(self.pos)}.")
                    self._progress("paused", force=True)
                self.control.wait_while_paused()
                self._say("resumed", f"Resumed {self.name}.")
            before = self.pos
            try:
                self._request(fh)
                if self.pos < self.remote.size and not (self.control.paused or self.control.cancelled):
                    raise Retry(
                        f"the connection ended at {human_bytes(self.pos)} of {human_bytes(self.remote.size)}"
                    )
                continue
            except (Retry, httpx.TransportError) as exc:
                stalled = isinstance(exc, Stalled | httpx.ReadTimeout)
                timeout = isinstance(exc, httpx.ReadTimeout)
                reason = f"no data for {self.opts.stall_seconds:g} s" if timeout else transport_reason(exc)
            # An attempt that moved a useful amount starts the count over; a trickle does not.
            failures = 1 if self.pos - before >= self.opts.stall_min_bytes else failures + 1
            if failures >= self.opts.max_attempts:
                self._checkpoint(fh)
                raise DownloadError(
                    f"Could not download {self.name} from {self.remote.hub_name} after {failures} attempts "
                    f"({reason}). The {human_bytes(self.pos)} downloaded so far are kept: run the same "
                    "command again to resume."
                )
            wait = min(self.opts.backoff_s * 2 ** (failures - 1), self.opts.backoff_max_s)
            attempt = f"attempt {failures + 1} of {self.opts.max_attempts}"
            if stalled:
                self._say(
                    "stall",
                    f"Stalled: {reason} on {self.name}; reconnecting ({attempt}).",
                )
                self._progress("stalled", force=True)
            else:
                self._say("retry", f"{self.name}: {reason}; retrying in {wait:.3g} s ({attempt}).")
                self._progress("retrying", force=True)
            self._checkpoint(fh)
            self.control.sleep(wait)

    def _verify(self) -> str | None:
        """The check that passed ("sha256", "git-oid", "size"); None on a mismatch."""
        self._progress("verifying", force=True)
        r = self.remote
        if r.sha256:
            return "sha256" if self.hasher.sha256() == r.sha256 else None
        if r.git_oid:
            return "git-oid" if self.hasher.git_oid() == r.git_oid else None
        return "size"

    def run(self) -> FileResult:
        self.dest.parent.mkdir(parents=True, exist_ok=True)
        self.part.touch(exist_ok=True)
        retries_left = self.opts.checksum_retries
        with open(self.part, "r+b") as fh:
            lock(fh, self.name)
            while True:
                self._prepare(fh)
                try:
                    self._fetch(fh)
                except Exception:
                    if self.pos > self.ckpt:
                        self._checkpoint(fh)  # errors keep what arrived (Ctrl+C keeps the last checkpoint)
                    raise
                checked = self._verify()
                if checked:
                    break
                got, want = self.hasher.sha256(), self.remote.sha256 or self.remote.git_oid or ""
                fh.truncate(0)
                sidecar_path(self.dest).unlink(missing_ok=True)
                message = (
                    f"{self.name} from {self.remote.hub_name} failed its checksum (expected "
                    f"{want[:16]}…, got {got[:16]}…): the file was deleted and is not registered."
                )
                if retries_left <= 0:
                    self.part.unlink(missing_ok=True)
                    raise ChecksumError(
                        message + " Run the command again; if it happens again, this source "
                        "serves a different file than it announces: try --source modelscope "
                        "or --source hf."
                    )
                retries_left -= 1
                self._say("mismatch", message + " Downloading it again.")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(self.part, self.dest)
        sidecar_path(self.dest).unlink(missing_ok=True)
        self._progress("done", force=True)
        what = {
            "sha256": "sha256 verified",
            "git-oid": "git checksum verified",
            "size": "size checked (the hub gave no checksum)",
        }[checked]
        self._say("verified", f"{self.name}: {human_bytes(self.remote.size)}, {what}.")
        return FileResult(self.dest, self.remote.size, self.hasher.sha256(), self.resumed_from or 0, checked)
