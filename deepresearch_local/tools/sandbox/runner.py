"""The parent side of the sandbox: start the child, feed it the code, bound its time and output.

The child runs ``python -I child.py`` in its own session (so its whole process group can be
killed), in a fresh temporary folder that is deleted afterwards, with a minimal environment.
Output is read as it arrives and only the first ``output_chars`` characters per stream are
kept, so a program that prints gigabytes costs no memory here.
"""

from __future__ import annotations

import json
import os
import selectors
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from deepresearch_local.engines.base import CancelToken
from deepresearch_local.tools.sandbox.interpreter import MISSING, find_python
from deepresearch_local.tools.sandbox.process import CappedBuffer, drain, kill_group

_CHILD = Path(__file__).with_name("child.py")


@dataclass(frozen=True)
class SandboxLimits:
    """What one execution may use. ``None`` leaves a limit unset."""

    timeout_s: float = 50.0
    """Wall-clock time; the process group is killed when it runs out."""
    memory_bytes: int | None = 2 * 1024**3
    """Address space (RLIMIT_AS): large allocations fail with MemoryError."""
    cpu_seconds: int | None = None
    """CPU time (RLIMIT_CPU); by default the timeout plus two seconds (SIGKILL two seconds later)."""
    file_size_bytes: int | None = 64 * 1024**2
    """Largest file the code may write (RLIMIT_FSIZE)."""
    max_processes: int | None = 64
    """RLIMIT_NPROC (not enforced for root; seccomp and the process-group kill cover that case)."""
    max_open_files: int | None = 256
    output_chars: int = 20_000
    """Characters kept per stream (stdout, stderr); the rest is counted, not stored."""

    def child_limits(self) -> dict[str, int | None]:
        cpu = self.cpu_seconds if self.cpu_seconds is not None else int(self.timeout_s) + 2
        return {
            "memory_bytes": self.memory_bytes,
            "cpu_seconds": cpu,
            "file_size_bytes": self.file_size_bytes,
            "max_processes": self.max_processes,
            "max_open_files": self.max_open_files,
            "core_bytes": 0,
        }


@dataclass
class ExecutionResult:
    stdout: str
    stderr: str
    exit_code: int | None
    """The child's exit status; negative for a signal (as subprocess reports it)."""
    timed_out: bool
    cancelled: bool
    duration_s: float
    stdout_dropped: int = 0
    """Characters of stdout beyond ``output_chars`` that were discarded."""
    stderr_dropped: int = 0
    layers: dict[str, str] = field(default_factory=dict)
    """Which isolation layers took effect in the child ("on ..." or "off: why")."""
    pid: int = 0
    """The child's pid, which is also its session and process-group id."""
    error: str = ""
    """Set when the child could not be started at all."""

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _minimal_env(workdir: str) -> dict[str, str]:
    env = {
        "PATH": os.defpath,
        "HOME": workdir,
        "TMPDIR": workdir,
        "USER": "sandbox",  # so getpass and friends need no /etc/passwd lookup
        "LOGNAME": "sandbox",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "MPLBACKEND": "Agg",
    }
    for name in ("SYSTEMROOT", "WINDIR"):  # Windows cannot start Python without them
        if name in os.environ:
            env[name] = os.environ[name]
    return env


def run_python(
    code: str,
    limits: SandboxLimits | None = None,
    *,
    cancel: CancelToken | None = None,
    work_root: Path | None = None,
    layers: dict[str, bool] | None = None,
) -> ExecutionResult:
    """Run ``code`` in a sandboxed child process and return what it printed.

    ``layers`` can switch isolation layers off by name (``namespaces``, ``landlock``,
    ``seccomp``, ``audit_hook``); tests use it to prove each layer works on its own.
    """
    limits = limits or SandboxLimits()
    python = find_python()  # a frozen build needs a real Python
    if python is None:
        return ExecutionResult("", "", None, False, False, 0.0, error=MISSING)
    workdir = tempfile.mkdtemp(prefix="deepresearch-python-", dir=work_root)
    started = time.monotonic()
    posix = sys.platform != "win32"
    status_read, status_write = os.pipe() if posix else (-1, -1)
    request: dict[str, object] = {
        "code": code,
        "workdir": workdir,
        "limits": limits.child_limits(),
        "status_fd": status_write if posix else None,
        "layers": layers or {},
    }
    argv = [python, "-I", str(_CHILD)]
    seatbelt_status = ""
    if sys.platform == "darwin" and (layers or {}).get("seatbelt", True):
        argv, seatbelt_status = _under_seatbelt(python, workdir)
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=workdir,
            env=_minimal_env(workdir),
            pass_fds=(status_write,) if posix else (),
            start_new_session=posix,
            close_fds=True,
        )
    except OSError as exc:
        shutil.rmtree(workdir, ignore_errors=True)
        return ExecutionResult("", "", None, False, False, 0.0, error=f"could not start Python: {exc}")
    finally:
        if posix:
            os.close(status_write)
    try:
        if not posix:
            return _supervise_windows(proc, request, limits, started)
        result = _supervise(proc, request, status_read, limits, cancel, started)
        if seatbelt_status and result.layers:  # the child started, so the profile was accepted
            result.layers["seatbelt"] = seatbelt_status
        elif seatbelt_status and not (result.timed_out or result.cancelled):
            result = _seatbelt_refused(result)
        from deepresearch_local.tools.sandbox.isolation import observe

        observe(result.layers)
        return result
    finally:
        if posix:
            os.close(status_read)
        shutil.rmtree(workdir, ignore_errors=True)


def _runtime_roots(python: str) -> list[str]:
    """The installation folders of ``python`` (this process's own, or asked of the other one)."""
    if python == sys.executable:
        from deepresearch_local.tools.sandbox.child import runtime_roots

        return runtime_roots()
    try:
        out = subprocess.run(
            [python, "-I", str(_CHILD), "--roots"], capture_output=True, text=True, timeout=30, check=True
        )
        return [str(p) for p in json.loads(out.stdout)]
    except (OSError, subprocess.SubprocessError, ValueError):
        return []


def _under_seatbelt(python: str, workdir: str) -> tuple[list[str], str]:
    """macOS: the argv that runs the child under a generated Seatbelt profile, and its status
    ("" and the plain argv where ``sandbox-exec`` is missing)."""
    from deepresearch_local.tools.sandbox import seatbelt

    plain = [python, "-I", str(_CHILD)]
    if not seatbelt.available():
        return plain, ""
    roots = [p for p in _runtime_roots(python) if os.path.exists(p)]
    argv = seatbelt.command(python, str(_CHILD), workdir, roots)
    return argv, "on: sandbox-exec, a generated profile (no network, writes only in the working folder)"


def _seatbelt_refused(result: ExecutionResult) -> ExecutionResult:
    """The child never reported its layers under ``sandbox-exec``: Seatbelt refused to start it
    (a profile this macOS does not accept), so no code ran. Say so, and record the layer as off,
    so that later runs follow the policy for machines without a kernel sandbox."""
    said = next((line.strip() for line in result.stderr.splitlines() if line.strip()), "")
    why = f"sandbox-exec said: {said}" if said else f"exit status {result.exit_code}, no message"
    result.layers = {"seatbelt": f"off: the profile was refused ({why[:200]})"}
    result.error = (
        f"macOS's sandbox did not start Python ({why}). The code was not run. "
        "`deepresearch doctor` shows the sandbox on this Mac; please report this message."
    )
    return result


def _supervise(
    proc: subprocess.Popen[bytes],
    request: dict[str, object],
    status_read: int,
    limits: SandboxLimits,
    cancel: CancelToken | None,
    started: float,
) -> ExecutionResult:
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    byte_cap = limits.output_chars * 4 + 4
    out, err, status = CappedBuffer(byte_cap), CappedBuffer(byte_cap), CappedBuffer(64 * 1024)
    streams = {proc.stdout.fileno(): out, proc.stderr.fileno(): err, status_read: status}
    selector = selectors.DefaultSelector()
    for fd in streams:
        os.set_blocking(fd, False)
        selector.register(fd, selectors.EVENT_READ)
    try:
        proc.stdin.write(json.dumps(request).encode("utf-8"))
        proc.stdin.close()
    except (BrokenPipeError, OSError):
        pass  # the child died at start-up; its stderr says why
    deadline = started + limits.timeout_s
    timed_out = cancelled = False
    exited_at: float | None = None
    while selector.get_map():
        now = time.monotonic()
        if exited_at is None and proc.poll() is not None:
            exited_at = now
            kill_group(proc, attempts=1)  # anything it left behind
        if exited_at is not None and now - exited_at > 1.0:
            break  # stragglers holding the pipes open: stop waiting for them
        if exited_at is None and now >= deadline:
            timed_out = True
            break
        if exited_at is None and cancel is not None and cancel.cancelled:
            cancelled = True
            break
        for key, _ in selector.select(timeout=0.05):
            fd = int(key.fd)
            try:
                chunk = os.read(fd, 65536)
            except BlockingIOError:
                continue
            if chunk:
                streams[fd].add(chunk)
            else:
                selector.unregister(fd)
    selector.close()
    kill_group(proc)
    proc.wait()
    for fd in (proc.stdout.fileno(), proc.stderr.fileno(), status_read):
        drain(fd, streams[fd])
    proc.stdout.close()
    proc.stderr.close()
    stdout, stdout_dropped = out.text(limits.output_chars)
    stderr, stderr_dropped = err.text(limits.output_chars)
    layer_text = status.data.decode("utf-8", errors="replace").strip()
    try:
        layer_map = {str(k): str(v) for k, v in json.loads(layer_text).items()} if layer_text else {}
    except (ValueError, AttributeError):
        layer_map = {"status": f"unreadable: {layer_text[:200]}"}
    return ExecutionResult(
        stdout=stdout,
        stderr=stderr,
        exit_code=proc.returncode,
        timed_out=timed_out,
        cancelled=cancelled,
        duration_s=time.monotonic() - started,
        stdout_dropped=stdout_dropped,
        stderr_dropped=stderr_dropped,
        layers=layer_map,
        pid=proc.pid,
    )


def _supervise_windows(
    proc: subprocess.Popen[bytes], request: dict[str, object], limits: SandboxLimits, started: float
) -> ExecutionResult:
    """Windows has no selectable pipes: a plain communicate() (output is capped only afterwards)."""
    timed_out = False
    try:
        raw_out, raw_err = proc.communicate(json.dumps(request).encode("utf-8"), timeout=limits.timeout_s)
    except subprocess.TimeoutExpired:
        timed_out = True
        proc.kill()
        raw_out, raw_err = proc.communicate()
    out, err = CappedBuffer(len(raw_out) + 1), CappedBuffer(len(raw_err) + 1)
    out.add(raw_out)
    err.add(raw_err)
    stdout, stdout_dropped = out.text(limits.output_chars)
    stderr, stderr_dropped = err.text(limits.output_chars)
    return ExecutionResult(
        stdout=stdout,
        stderr=stderr,
        exit_code=proc.returncode,
        timed_out=timed_out,
        cancelled=False,
        duration_s=time.monotonic() - started,
        stdout_dropped=stdout_dropped,
        stderr_dropped=stderr_dropped,
        layers={"windows": "a separate process, a timeout and the audit hook only"},
        pid=proc.pid,
    )
