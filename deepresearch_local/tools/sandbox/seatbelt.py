"""macOS: the sandbox child under Seatbelt (``sandbox-exec -p PROFILE python -I child.py``).

:func:`profile` writes the policy as text (a pure function, unit-tested on every platform):
everything is denied unless allowed, and what is allowed is

- reading the Python runtime the child needs (its prefix, standard library and site-packages),
  the system libraries and frameworks, a few device files, and the working folder; loading
  native code (libSystem, extension modules) only from those folders, not the working one;
- writing only in the working folder (and ``/dev/null``);
- executing only the interpreter itself (the exec that ``sandbox-exec`` performs): no other
  program, no fork;
- signals only to itself; reading system settings (``sysctl``) that Python asks at start-up.

No network rule is written, so no socket can connect or listen anywhere, loopback included.
The kernel enforces all of it, so ``ctypes`` calls are refused too. ``sandbox-exec`` is marked
deprecated by Apple but still ships with macOS and is what other local coding agents use.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable

SANDBOX_EXEC = "/usr/bin/sandbox-exec"

SYSTEM_READ_ROOTS = (
    "/System",
    "/Library/Apple",
    "/usr/lib",
    "/usr/share",
    "/Library/Frameworks",
    "/Library/Developer/CommandLineTools",
    "/Applications/Xcode.app/Contents/Developer",
    "/opt/homebrew",
    "/usr/local/Cellar",
    "/usr/local/opt",
    "/usr/local/lib",
    "/usr/local/Frameworks",
    "/private/var/db/dyld",
    "/private/var/db/timezone",
    "/private/etc/localtime",
    "/private/etc/ssl",
)
"""What every macOS Python needs to start (dyld cache, libSystem, frameworks, time zones)."""

DEVICE_READS = ("/dev/null", "/dev/zero", "/dev/random", "/dev/urandom", "/dev/dtracehelper")
DEVICE_WRITES = ("/dev/null", "/dev/dtracehelper")


def available(platform: str | None = None) -> bool:
    """Whether Seatbelt can be applied here: macOS with ``sandbox-exec`` present."""
    import sys

    if (platform or sys.platform) != "darwin":
        return False
    return os.path.exists(SANDBOX_EXEC) or shutil.which("sandbox-exec") is not None


def quote(path: str) -> str:
    """A path as an SBPL string literal."""
    return '"' + path.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _unique(paths: Iterable[str]) -> list[str]:
    out: list[str] = []
    for path in paths:
        if path and path not in out:
            out.append(path)
    return out


def profile(
    workdir: str, read_roots: Iterable[str], executables: Iterable[str], read_files: Iterable[str] = ()
) -> str:
    """The Seatbelt policy for one run: ``workdir`` (writable), ``read_roots`` (readable, beside
    the system's), ``executables`` (the interpreter's paths, the only thing that may be exec'd),
    ``read_files`` (single files to read: the child script).

    Paths are used as given: pass them through ``os.path.realpath`` first (Seatbelt matches the
    resolved path, and on macOS ``/var`` and ``/tmp`` are links into ``/private``).
    """
    reads = _unique([workdir, *read_roots, *SYSTEM_READ_ROOTS])
    lines = [
        "(version 1)",
        "(deny default)",
        ";; the interpreter, exec'd once by sandbox-exec; nothing else may run, nothing may fork",
        "(allow process-exec " + " ".join(f"(literal {quote(p)})" for p in _unique(executables)) + ")",
        "(allow signal (target self))",
        "(allow process-info* (target self))",
        "(allow sysctl-read)",
        ";; metadata (stat) of any path, so realpath() and imports can walk the tree; no contents",
        "(allow file-read-metadata)",
        "(allow file-read* " + " ".join(f"(subpath {quote(p)})" for p in reads),
        "    " + " ".join(f"(literal {quote(p)})" for p in _unique([*read_files, *DEVICE_READS])) + ")",
        ";; native code (libSystem, Python's extension modules) loads from those folders only",
        "(allow file-map-executable "
        + " ".join(f"(subpath {quote(p)})" for p in reads if p != workdir)
        + ")",
        f"(allow file-write* (subpath {quote(workdir)}) "
        + " ".join(f"(literal {quote(p)})" for p in DEVICE_WRITES)
        + ")",
        '(allow file-ioctl (literal "/dev/dtracehelper"))',
        ";; no network rule: every socket operation stays denied",
    ]
    return "\n".join(lines) + "\n"


def command(python: str, child: str, workdir: str, read_roots: Iterable[str]) -> list[str]:
    """The argv that runs the child under the profile (macOS only)."""
    stubs = [os.path.join(r, "Resources", "Python.app", "Contents", "MacOS", "Python") for r in read_roots]
    # a framework build's bin/python3 re-executes Python.app: that exec is the interpreter too
    executables = _unique([python, os.path.realpath(python), *(s for s in stubs if os.path.exists(s))])
    roots = [os.path.realpath(r) for r in read_roots]
    text = profile(os.path.realpath(workdir), roots, executables, [os.path.realpath(child)])
    return [SANDBOX_EXEC, "-p", text, python, "-I", child]
