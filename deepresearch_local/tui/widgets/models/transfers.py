"""Downloads and checksum checks running in thread workers, one progress row each.

The work itself is ``weights.pull.pull`` and ``weights.manage.verify_model``; this widget only
starts them, forwards pause/resume/cancel to their :class:`DownloadControl`, and turns their
events (posted from the worker thread) into progress bars. Errors other than a cancel are
re-raised so the app's central handler shows them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Label, ProgressBar

from deepresearch_local.units import eta_text, human_bytes, human_rate
from deepresearch_local.weights.events import DownloadControl, DownloadEvent, DownloadNotice, DownloadProgress

if TYPE_CHECKING:
    from deepresearch_local.weights.manage import VerifyResult
    from deepresearch_local.weights.registry import RegisteredModel

Kind = Literal["download", "verify"]
Outcome = Literal["done", "cancelled", "failed"]


class _Stop(Exception):
    """Raised inside a checksum pass to stop it."""


def progress_info(p: DownloadProgress) -> str:
    """``3.0 MiB / 12.0 MiB  4.0 MiB/s  ETA 2s``, plus the file (of several) and any state but
    "downloading"."""
    done, total = (p.overall_done, p.overall_total) if p.file_count > 1 else (p.bytes_done, p.total)
    speed = f"{human_rate(p.speed_bps)}  ETA {eta_text(p.eta_s)}"
    text = f"{human_bytes(done)} / {human_bytes(total)}  {speed}"
    if p.file_count > 1:
        text += f"  file {p.file_index} of {p.file_count}"
    return text if p.state == "downloading" else f"{text}  [{p.state}]"


class TransferRow(Vertical):
    """One running (or finished) download or check: a title, a bar, a line of figures, a notice."""

    DEFAULT_CSS = """
    TransferRow { height: auto; padding: 0 1; margin-bottom: 1; }
    TransferRow > .title { text-style: bold; }
    TransferRow > .notice { color: $text-muted; }
    TransferRow ProgressBar Bar { width: 1fr; }
    TransferRow ProgressBar { width: 1fr; }
    """

    def __init__(self, key: str, title: str) -> None:
        super().__init__(id=f"transfer-{key}")
        self.key = key
        self.title = title
        self.state = "starting"
        """The transfer's last reported state ("downloading", "paused", "verifying"…)."""
        self.outcome: Outcome | None = None
        """Set once it has ended: "done", "cancelled" or "failed"."""

    def compose(self) -> ComposeResult:
        yield Label(self.title, classes="title")
        yield ProgressBar(show_eta=False)
        yield Label("starting…", classes="info", markup=False)
        yield Label("", classes="notice", markup=False)

    @property
    def bar(self) -> ProgressBar:
        return self.query_one(ProgressBar)

    def _label(self, name: str) -> Label:
        return self.query_one(f".{name}", Label)

    def show_progress(self, p: DownloadProgress) -> None:
        self.state = p.state
        done, total = (p.overall_done, p.overall_total) if p.file_count > 1 else (p.bytes_done, p.total)
        self.bar.update(total=max(total, 1), progress=done)
        self._label("info").update(progress_info(p))

    def show_notice(self, message: str) -> None:
        self._label("notice").update(message)

    def show_bytes(self, done: int, total: int, speed: float) -> None:
        self.state = "verifying"
        self.bar.update(total=max(total, 1), progress=done)
        self._label("info").update(f"{human_bytes(done)} / {human_bytes(total)}  {human_rate(speed)}")

    def finish(self, outcome: Outcome, message: str) -> None:
        self.outcome = outcome
        self._label("info").update(f"[{outcome}]")
        self.show_notice(message)


@dataclass
class _Job:
    kind: Kind
    control: DownloadControl
    row: TransferRow


class Transfers(VerticalScroll):
    """The list of downloads and checks; posts :class:`Transfers.Finished` when one ends."""

    DEFAULT_CSS = """
    Transfers { height: auto; max-height: 14; }
    """

    class Finished(Message):
        def __init__(
            self,
            key: str,
            kind: Kind,
            outcome: Outcome,
            message: str,
            entry: RegisteredModel | None = None,
            result: VerifyResult | None = None,
        ) -> None:
            super().__init__()
            self.key, self.kind, self.outcome, self.message = key, kind, outcome, message
            self.entry, self.result = entry, result

    class _Event(Message):
        def __init__(self, key: str, event: DownloadEvent) -> None:
            super().__init__()
            self.key, self.event = key, event

    class _Bytes(Message):
        def __init__(self, key: str, done: int, total: int, speed: float) -> None:
            super().__init__()
            self.key, self.done, self.total, self.speed = key, done, total, speed

    class _Ended(Message):
        def __init__(self, finished: Transfers.Finished) -> None:
            super().__init__()
            self.finished = finished

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.jobs: dict[str, _Job] = {}

    # -- what the screens call ---------------------------------------------------------------
    def running(self) -> dict[str, Kind]:
        return {key: job.kind for key, job in self.jobs.items()}

    def activity(self) -> dict[str, str]:
        """What each running transfer is doing, in a word or two (for the models table)."""
        words = {"download": "downloading…", "verify": "checking…"}
        return {key: "paused" if job.control.paused else words[job.kind] for key, job in self.jobs.items()}

    def row(self, key: str) -> TransferRow | None:
        found = self.query(f"#transfer-{key}")
        return found.first(TransferRow) if found else None

    def _add(self, key: str, kind: Kind, title: str) -> _Job:
        old = self.row(key)
        if old is not None:
            old.remove()
        row = TransferRow(key, title)
        self.mount(row, before=0)
        job = self.jobs[key] = _Job(kind, DownloadControl(), row)
        return job

    def download(self, spec: str) -> bool:
        """Start downloading ``spec`` (a catalog variant or REPO_ID:FILE); False if it already runs."""
        if spec in self.jobs:
            return False
        job = self._add(spec, "download", f"Downloading {spec}")
        self.run_worker(lambda: self._pull(spec, job.control), thread=True, name=f"download {spec}")
        return True

    def verify(self, entry: RegisteredModel) -> bool:
        if entry.id in self.jobs:
            return False
        job = self._add(entry.id, "verify", f"Checking {entry.id}")
        self.run_worker(lambda: self._verify(entry, job.control), thread=True, name=f"verify {entry.id}")
        return True

    def toggle_pause(self, key: str) -> bool | None:
        """Pause or resume a download: True when now paused, None when there is none."""
        job = self.jobs.get(key)
        if job is None or job.kind != "download":
            return None
        if job.control.paused:
            job.control.resume()
            job.row.show_notice("resuming…")
            return False
        job.control.pause()
        job.row.show_notice("pausing…")
        return True

    def cancel(self, key: str) -> bool:
        job = self.jobs.get(key)
        if job is None:
            return False
        job.control.cancel()
        job.row.show_notice("cancelling…")
        return True

    def cancel_all(self) -> None:
        for job in self.jobs.values():
            job.control.cancel()

    def on_unmount(self) -> None:
        """Leaving the app stops every transfer (a paused thread would otherwise wait forever);
        downloads keep their partial files and resume next time."""
        self.cancel_all()

    # -- worker threads ----------------------------------------------------------------------
    def _pull(self, spec: str, control: DownloadControl) -> None:
        from deepresearch_local.weights.errors import DownloadCancelled
        from deepresearch_local.weights.pull import pull

        def emit(event: DownloadEvent) -> None:
            self.post_message(self._Event(spec, event))

        try:
            entry = pull(spec, emit=emit, control=control)
        except DownloadCancelled as exc:
            self.post_message(self._Ended(self.Finished(spec, "download", "cancelled", str(exc))))
            return
        except Exception as exc:
            self.post_message(self._Ended(self.Finished(spec, "download", "failed", str(exc))))
            raise
        done = f"Ready: {entry.id} ({human_bytes(entry.size)}) at {entry.path}"
        self.post_message(self._Ended(self.Finished(spec, "download", "done", done, entry=entry)))

    def _verify(self, entry: RegisteredModel, control: DownloadControl) -> None:
        from deepresearch_local.weights.manage import verify_model

        began = last = time.monotonic()
        done = 0

        def on_bytes(n: int) -> None:
            nonlocal done, last
            if control.cancelled:
                raise _Stop
            done += n
            now = time.monotonic()
            if now - last >= 0.2 or done >= entry.size:
                last = now
                speed = done / max(now - began, 1e-3)
                self.post_message(self._Bytes(entry.id, done, entry.size, speed))

        try:
            result = verify_model(entry, on_bytes=on_bytes)
        except _Stop:
            self.post_message(self._Ended(self.Finished(entry.id, "verify", "cancelled", "Check stopped.")))
            return
        except Exception as exc:
            self.post_message(self._Ended(self.Finished(entry.id, "verify", "failed", str(exc))))
            raise
        outcome: Outcome = "done" if result.ok else "failed"
        message = f"{'OK' if result.ok else 'BAD'}: {result.message}"
        self.post_message(self._Ended(self.Finished(entry.id, "verify", outcome, message, result=result)))

    # -- events back on the UI thread --------------------------------------------------------
    def on_transfers__event(self, message: Transfers._Event) -> None:
        message.stop()
        job = self.jobs.get(message.key)
        if job is None:
            return
        if isinstance(message.event, DownloadNotice):
            job.row.show_notice(message.event.message)
        else:
            job.row.show_progress(message.event)

    def on_transfers__bytes(self, message: Transfers._Bytes) -> None:
        message.stop()
        job = self.jobs.get(message.key)
        if job is not None:
            job.row.show_bytes(message.done, message.total, message.speed)

    def on_transfers__ended(self, message: Transfers._Ended) -> None:
        message.stop()
        finished = message.finished
        job = self.jobs.pop(finished.key, None)
        if job is not None:
            job.row.finish(finished.outcome, finished.message)
        self.post_message(finished)
