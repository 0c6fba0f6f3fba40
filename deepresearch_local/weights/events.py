"""What a download reports while it runs, and the handle another thread uses to pause or cancel it.

The downloader calls one callback with :class:`DownloadProgress` (bytes moved, speed, ETA, state) and
:class:`DownloadNotice` (something to tell the user: a resume, a retry, a stall, a fallback…). The CLI
prints them on stderr; the terminal app turns them into a progress bar and messages.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from deepresearch_local.weights.errors import DownloadCancelled

State = Literal[
    "resolving", "checking", "downloading", "stalled", "retrying", "paused", "verifying", "done", "failed"
]
NoticeKind = Literal[
    "resolve",
    "resume",
    "restart",
    "retry",
    "stall",
    "paused",
    "resumed",
    "fallback",
    "mismatch",
    "verified",
    "skip",
    "registered",
    "info",
]


@dataclass(frozen=True)
class DownloadProgress:
    """Where one file (and the whole pull) stands."""

    file: str
    bytes_done: int
    total: int
    speed_bps: float
    """Bytes per second over the last few seconds (falls to 0 while nothing arrives)."""
    eta_s: float | None
    """Seconds left at the current speed; None while the speed is 0."""
    state: State
    file_index: int = 1
    file_count: int = 1
    overall_done: int = 0
    overall_total: int = 0

    @property
    def fraction(self) -> float:
        return self.bytes_done / self.total if self.total else 1.0


@dataclass(frozen=True)
class DownloadNotice:
    """A line for the user: what happened and, where it matters, what happens next."""

    kind: NoticeKind
    message: str
    file: str = ""


DownloadEvent = DownloadProgress | DownloadNotice
Emit = Callable[[DownloadEvent], None]


def ignore(event: DownloadEvent) -> None:
    """An event sink that drops everything."""


class DownloadControl:
    """Pause, resume and cancel a running download from any thread."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._paused = False
        self._cancelled = False

    def pause(self) -> None:
        with self._cond:
            self._paused = True
            self._cond.notify_all()

    def resume(self) -> None:
        with self._cond:
            self._paused = False
            self._cond.notify_all()

    def cancel(self) -> None:
        with self._cond:
            self._cancelled = True
            self._cond.notify_all()

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def wait_while_paused(self) -> None:
        """Block while paused; raise :class:`DownloadCancelled` if cancelled meanwhile."""
        with self._cond:
            while self._paused and not self._cancelled:
                self._cond.wait()
            if self._cancelled:
                raise DownloadCancelled("Cancelled. The partial file is kept: pull again to resume.")

    def sleep(self, seconds: float) -> None:
        """Back off for ``seconds`` unless cancelled first (then raise)."""
        deadline = time.monotonic() + seconds
        with self._cond:
            while not self._cancelled:
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                self._cond.wait(left)
            raise DownloadCancelled("Cancelled. The partial file is kept: pull again to resume.")


class SpeedMeter:
    """Speed over a sliding window, so a stalled transfer shows its speed falling, not frozen."""

    def __init__(self, window_s: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.window_s = window_s
        self.clock = clock
        self._samples: deque[tuple[float, int]] = deque()
        self._moved = 0

    def add(self, nbytes: int) -> None:
        self._moved += nbytes
        now = self.clock()
        self._samples.append((now, self._moved))
        while len(self._samples) > 2 and now - self._samples[0][0] > self.window_s:
            self._samples.popleft()

    def speed(self) -> float:
        if not self._samples:
            return 0.0
        now = self.clock()
        first_t, first_b = self._samples[0]
        span = max(now - first_t, 1e-3)
        if now - self._samples[-1][0] > self.window_s:
            return 0.0
        return (self._moved - first_b) / span

    def eta(self, remaining: int) -> float | None:
        speed = self.speed()
        return remaining / speed if speed > 0 else None
