"""Process-group control and bounded output capture for the sandbox's parent side."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time


class CappedBuffer:
    """Keeps the first ``limit`` bytes of a stream and counts the rest."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.data = bytearray()
        self.dropped_bytes = 0

    def add(self, chunk: bytes) -> None:
        room = self.limit - len(self.data)
        self.data += chunk[: max(room, 0)]
        self.dropped_bytes += max(len(chunk) - max(room, 0), 0)

    def text(self, chars: int) -> tuple[str, int]:
        decoded = self.data.decode("utf-8", errors="replace")
        extra = len(decoded) - chars if len(decoded) > chars else 0
        # Dropped bytes are counted as characters: exact for ASCII, an estimate otherwise.
        return decoded[:chars], extra + self.dropped_bytes


def group_members(pgid: int) -> list[int] | None:
    """Live (non-zombie) processes in process group ``pgid``; None where /proc cannot tell."""
    if not os.path.isdir("/proc/self"):
        return None
    members = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                raw = handle.read()
        except OSError:
            continue  # it exited while we looked
        fields = raw[raw.rindex(b")") + 2 :].split()  # state, ppid, pgrp, session, ...
        if int(fields[2]) == pgid and fields[0] != b"Z":
            members.append(int(entry.name))
    return members


def kill_group(proc: subprocess.Popen[bytes], attempts: int = 100) -> bool:
    """SIGKILL the child's whole process group until no live member is left.

    The child is reaped between attempts; orphaned zombies are left to init, which reaps them.
    """
    if sys.platform == "win32":
        proc.kill()
        return True
    for _ in range(attempts):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        proc.poll()
        if group_members(proc.pid) == []:
            return True
        time.sleep(0.01)
    return False


def drain(fd: int, sink: CappedBuffer) -> None:
    """Read what is left in a pipe whose writers are gone (never blocks)."""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except (BlockingIOError, OSError):
            return
        if not chunk:
            return
        sink.add(chunk)
