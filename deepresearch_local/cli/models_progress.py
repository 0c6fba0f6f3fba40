"""Download events on stderr: one live line on a terminal, a line every few seconds in a log."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from deepresearch_local.units import eta_text, human_bytes, human_rate
from deepresearch_local.weights.events import DownloadEvent, DownloadNotice, DownloadProgress


def progress_line(p: DownloadProgress) -> str:
    pct = 100 * p.fraction
    files = f" [{p.file_index}/{p.file_count}]" if p.file_count > 1 else ""
    line = (
        f"{p.file}{files}  {human_bytes(p.bytes_done)} / {human_bytes(p.total)} ({pct:.0f}%)  "
        f"{human_rate(p.speed_bps)}  ETA {eta_text(p.eta_s)}"
    )
    return line if p.state == "downloading" else f"{line}  [{p.state}]"


class ProgressPrinter:
    """An event sink for the downloader that writes to ``stream`` (stderr by default)."""

    def __init__(self, stream: TextIO | None = None, tty: bool | None = None, every_s: float = 5.0) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.every_s = every_s
        self._live = False
        self._last_line = 0.0
        self._last_state = ""

    def _clear(self) -> None:
        if self._live:
            self.stream.write("\r\033[K")
            self._live = False

    def __call__(self, event: DownloadEvent) -> None:
        if isinstance(event, DownloadNotice):
            self._clear()
            self.stream.write(event.message + "\n")
        elif self.tty:
            self.stream.write("\r\033[K" + progress_line(event))
            self._live = True
        else:
            now = time.monotonic()
            changed = event.state != self._last_state
            if changed or now - self._last_line >= self.every_s:
                self.stream.write(progress_line(event) + "\n")
                self._last_line, self._last_state = now, event.state
        self.stream.flush()

    def close(self) -> None:
        if self._live:
            self.stream.write("\n")
            self._live = False
        self.stream.flush()
