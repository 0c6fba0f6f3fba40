"""The sandbox against code that tries to get out: other programs, other processes, ptrace, the
file-size and open-file limits, symlinks out of the folder, the checkout and the app's database.

Each attack runs twice where it matters: with every layer, and with the audit hook switched off,
so the kernel layers (Linux: namespaces, Landlock, seccomp; macOS: Seatbelt) must hold alone.
Calls go through ``ctypes`` straight to libc, which the audit hook never sees.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import deepresearch_local
from deepresearch_local.tools.sandbox import SandboxLimits, run_python, seatbelt
from deepresearch_local.tools.sandbox.child import _SYSTEM_READ_ROOTS, read_roots, runtime_roots

KERNEL = sys.platform.startswith("linux") or seatbelt.available()
pytestmark = pytest.mark.skipif(not KERNEL, reason="no kernel sandbox on this platform (see SANDBOX.md)")
BOTH = pytest.mark.parametrize("layers", [{}, {"audit_hook": False}], ids=["all-layers", "kernel-only"])
CHECKOUT = Path(deepresearch_local.__file__).resolve().parents[1]
LIBC = "import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\n"


@pytest.fixture
def victim() -> Iterator[subprocess.Popen[bytes]]:
    """A process outside the sandbox that the code will try to signal or trace."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()


@BOTH
def test_running_another_program_is_refused(layers: dict[str, bool], tmp_path: Path) -> None:
    marker = tmp_path / f"ran-{uuid.uuid4().hex}"
    code = LIBC + (
        f"argv = (ctypes.c_char_p * 4)(b'/bin/sh', b'-c', b'touch {marker}', None)\n"
        "libc.execv(b'/bin/sh', argv)\n"
        "print('execv refused, errno', ctypes.get_errno())\n"
        "r = libc.system(b'touch " + str(marker) + "')\n"
        "print('system returned', r)\n"
    )
    result = run_python(code, layers=layers)
    assert "execv refused, errno" in result.stdout, result.stdout + result.stderr
    assert not marker.exists()


@BOTH
def test_signalling_another_process_is_refused(
    layers: dict[str, bool], victim: subprocess.Popen[bytes]
) -> None:
    code = LIBC + (
        f"r = libc.kill({victim.pid}, {int(signal.SIGKILL)})\n"
        "print('kill', r, ctypes.get_errno())\n"
        f"r = libc.kill({os.getpid()}, {int(signal.SIGTERM)})\n"
        "print('kill parent', r, ctypes.get_errno())\n"
    )
    result = run_python(code, layers=layers)
    lines = result.stdout.splitlines()
    assert lines[0].startswith("kill -1 ") and lines[1].startswith("kill parent -1 "), (
        result.stdout + result.stderr
    )
    assert victim.poll() is None  # still alive


@BOTH
def test_ptrace_is_refused(layers: dict[str, bool], victim: subprocess.Popen[bytes]) -> None:
    code = LIBC + (
        "libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]\n"
        f"r = libc.ptrace(16, {victim.pid}, None, None)\n"  # PTRACE_ATTACH
        "print('ptrace', r, ctypes.get_errno())\n"
    )
    if sys.platform == "darwin":
        code = LIBC + f"r = libc.ptrace(10, {victim.pid}, None, 0)\nprint('ptrace', r, ctypes.get_errno())\n"
    result = run_python(code, layers=layers)
    assert result.stdout.startswith("ptrace -1 "), result.stdout + result.stderr
    assert victim.poll() is None


def test_file_size_limit_stops_a_large_write() -> None:
    limit = 1024 * 1024
    code = (
        "import os\nfd = os.open('big.bin', os.O_WRONLY | os.O_CREAT)\nwritten = 0\n"
        "try:\n    while written < 4 * 1024 * 1024:\n        written += os.write(fd, b'x' * 65536)\n"
        "    print('wrote everything')\nexcept OSError as exc:\n    print('stopped', exc.errno, written)\n"
        "print('size', os.path.getsize('big.bin'))\n"
    )
    result = run_python(code, SandboxLimits(file_size_bytes=limit))
    stopped, size = result.stdout.splitlines()
    assert stopped.startswith("stopped 27 "), result.stdout + result.stderr  # EFBIG
    assert int(size.split()[1]) <= limit


def test_open_file_limit() -> None:
    code = (
        "handles = []\ntry:\n    for i in range(200):\n        handles.append(open(f'f{i}', 'w'))\n"
        "    print('opened all')\nexcept OSError as exc:\n    print('stopped', exc.errno, len(handles))\n"
    )
    result = run_python(code, SandboxLimits(max_open_files=64))
    words = result.stdout.split()
    assert words[:2] == ["stopped", "24"], result.stdout + result.stderr  # EMFILE
    assert int(words[2]) < 64


@BOTH
def test_symlinks_out_of_the_folder_lead_nowhere(layers: dict[str, bool], tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("private words")
    outside = tmp_path / "outside"
    outside.mkdir()
    code = (
        "import os\n"
        f"os.symlink({str(secret)!r}, 'link.txt')\n"
        f"os.symlink({str(outside)!r}, 'outdir')\n"
        "for attempt in ('read', 'write'):\n"
        "    try:\n"
        "        if attempt == 'read':\n"
        "            print(open('link.txt').read())\n"
        "        else:\n"
        "            open('outdir/dropped.txt', 'w').write('x')\n"
        "            print('wrote')\n"
        "    except OSError as exc:\n"
        "        print(attempt, 'refused', type(exc).__name__)\n"
    )
    result = run_python(code, layers=layers)
    assert result.stdout.splitlines() == ["read refused PermissionError", "write refused PermissionError"], (
        result.stdout + result.stderr
    )
    assert not (outside / "dropped.txt").exists()


@BOTH
def test_the_checkout_and_the_apps_database_cannot_be_read(layers: dict[str, bool]) -> None:
    from deepresearch_local.paths import get_paths
    from deepresearch_local.store.sessions import SessionStore

    SessionStore().create_session("private research")
    database = get_paths().sessions_db
    assert database.is_file()
    targets = [CHECKOUT / "pyproject.toml", Path(deepresearch_local.__file__), database]
    code = "import os\nfor path in %r:\n" % [str(t) for t in targets]
    code += "    try:\n        open(path, 'rb').read(1)\n        print('READ', path)\n"
    code += "    except OSError as exc:\n        print('refused', type(exc).__name__)\n"
    result = run_python(code, layers=layers)
    assert result.stdout.splitlines() == ["refused PermissionError"] * 3, result.stdout + result.stderr


def test_readable_paths_are_pinned_to_the_runtime_and_system() -> None:
    """An editable install puts the checkout on ``sys.path``; it must not become readable."""
    workdir = "/nonexistent-workdir"
    roots = read_roots(workdir)
    prefixes = {
        os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix)
    }
    system = {os.path.realpath(p) for p in _SYSTEM_READ_ROOTS}
    for root in roots:
        inside_prefix = any(root == p or root.startswith(p.rstrip("/") + "/") for p in prefixes)
        assert inside_prefix or root in system, f"{root} widens what the code may read"
    checkout = str(CHECKOUT)
    assert not any(checkout == r or checkout.startswith(r.rstrip("/") + "/") for r in roots)
    if checkout in sys.path:  # this environment is an editable install: the case being pinned
        assert checkout not in runtime_roots()
