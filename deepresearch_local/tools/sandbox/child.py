"""The sandbox child: started as ``python -I child.py``, it locks itself down, then runs the code.

Stdlib only, run by path (not imported from the package). It reads one JSON object from stdin
(``code``, ``workdir``, ``limits``, ``status_fd``, ``layers``), applies the layers in order,
reports which ones took effect as one JSON line on ``status_fd``, then executes the code with
its own frames hidden from tracebacks. Layers: rlimits; on Linux a user + network namespace,
Landlock and a seccomp filter; everywhere a Python audit hook (a guard rail, not a boundary).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import Any

_AF_UNIX = 1
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
_PROCESS_EVENTS = frozenset(
    {"subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty",
     "os.kill", "os.killpg", "pty.spawn", "os.startfile", "os.add_dll_directory"}
)  # fmt: skip
_NETWORK_EVENTS = frozenset(
    {"socket.connect", "socket.bind", "socket.sendto", "socket.sendmsg", "socket.getaddrinfo",
     "socket.gethostbyname", "socket.gethostbyaddr", "socket.getnameinfo", "socket.sethostname"}
)  # fmt: skip
_SYSTEM_READ_ROOTS = [
    "/usr", "/lib", "/lib32", "/lib64", "/bin", "/sbin", "/opt/homebrew", "/System", "/Library/Frameworks",
    "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime", "/etc/timezone",
    "/etc/mime.types", "/etc/os-release", "/etc/ssl", "/etc/pki", "/private/etc/localtime",
    "/dev/null", "/dev/zero", "/dev/urandom", "/dev/random", "/proc/self", "/proc/cpuinfo",
    "/proc/meminfo", "/sys/devices/system/cpu", "/sys/fs/cgroup",
]  # fmt: skip
_PATH_EVENTS = {
    "os.remove": (0,), "os.rmdir": (0,), "os.mkdir": (0,), "os.rename": (0, 1), "os.replace": (0, 1),
    "os.link": (0, 1), "os.symlink": (1,), "os.truncate": (0,), "os.chmod": (0,), "os.chown": (0,),
    "os.utime": (0,), "os.chflags": (0,), "os.lchmod": (0,), "os.lchown": (0,), "os.mkfifo": (0,),
    "os.mknod": (0,), "shutil.rmtree": (0,),
}  # fmt: skip


def _set_limits(limits: dict[str, int]) -> str:
    try:
        import resource
    except ImportError:
        return "off: no resource module on this platform"
    names = {
        "memory_bytes": "RLIMIT_AS", "cpu_seconds": "RLIMIT_CPU", "file_size_bytes": "RLIMIT_FSIZE",
        "max_processes": "RLIMIT_NPROC", "max_open_files": "RLIMIT_NOFILE", "core_bytes": "RLIMIT_CORE",
    }  # fmt: skip
    applied, failed = [], []
    for key, rlimit_name in names.items():
        value = limits.get(key)
        number = getattr(resource, rlimit_name, None)
        if value is None or number is None:
            continue
        hard = value + 2 if key == "cpu_seconds" else value  # SIGXCPU first, SIGKILL two seconds later
        try:
            resource.setrlimit(number, (value, hard))
            applied.append(rlimit_name)
        except (ValueError, OSError) as exc:
            failed.append(f"{rlimit_name} ({exc})")
    return "on: " + ", ".join(applied) + (f"; refused: {', '.join(failed)}" if failed else "")


def runtime_roots() -> list[str]:
    """The folders of this Python's installation: its prefixes, standard library and
    site-packages. Not ``sys.path`` as a whole: an editable install (a ``.pth`` file naming a
    checkout) or ``PYTHONPATH`` would open the app's own source folder to the code."""
    import site
    import sysconfig

    paths = sysconfig.get_paths()
    roots = [sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix]
    roots += [paths[k] for k in ("stdlib", "platstdlib", "purelib", "platlib") if paths.get(k)]
    roots += site.getsitepackages() if hasattr(site, "getsitepackages") else []
    return roots


def read_roots(workdir: str) -> list[str]:
    """Where the code may read: its folder, Python's installation, system libraries."""
    roots = [workdir, *runtime_roots(), *_SYSTEM_READ_ROOTS]
    real: list[str] = []
    for root in roots:
        resolved = os.path.realpath(root)
        if resolved not in real and os.path.exists(resolved):
            real.append(resolved)
    return real


def _within(path: Any, roots: list[str]) -> bool:
    if isinstance(path, int):
        return True  # a descriptor that is already open: its opening was checked
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if not isinstance(path, str):
        path = os.fspath(path)
    real = os.path.realpath(path)
    return any(real == root or real.startswith(root.rstrip(os.sep) + os.sep) for root in roots)


def _audit_hook(workdir: str, readable: list[str]) -> Callable[[str, tuple[Any, ...]], None]:
    """Refuse, with a clear message, what the kernel layers would refuse (and more, off Linux)."""
    writable = [os.path.realpath(workdir), os.devnull]
    check_reads = sys.platform != "win32"

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event == "open":
            path, mode, flags = args
            if path is None:
                return
            writing = (mode is not None and any(c in str(mode) for c in "wax+")) or (
                mode is None and isinstance(flags, int) and flags & _WRITE_FLAGS
            )
            if writing and not _within(path, writable):
                raise PermissionError(f"Sandbox: writing outside the working folder is not allowed: {path!r}")
            if check_reads and not _within(path, readable):
                raise PermissionError(f"Sandbox: reading this file is not allowed: {path!r}")
        elif event in _PATH_EVENTS:
            for index in _PATH_EVENTS[event]:
                target = args[index] if index < len(args) else None
                if target is not None and not _within(target, writable):
                    raise PermissionError(
                        f"Sandbox: changing files outside the working folder is not allowed: {target!r}"
                    )
        elif event == "socket.__new__":
            family = args[1] if len(args) > 1 else None
            if family not in (_AF_UNIX, -1):  # socketpair() wraps AF_UNIX pairs (asyncio needs them)
                raise PermissionError("Sandbox: network access is disabled (no sockets can be opened)")
        elif event in _NETWORK_EVENTS:
            raise PermissionError(f"Sandbox: network access is disabled ({event} refused)")
        elif event in _PROCESS_EVENTS:
            raise PermissionError(
                f"Sandbox: starting or signalling processes is not allowed ({event} refused)"
            )

    return hook


def _kernel_layers(workdir: str, read_roots: list[str], wanted: dict[str, bool]) -> dict[str, str]:
    if not sys.platform.startswith("linux"):
        return {"namespaces": "off: not Linux", "landlock": "off: not Linux", "seccomp": "off: not Linux"}
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "_sandbox_linux", os.path.join(os.path.dirname(__file__), "linux.py")
    )
    if spec is None or spec.loader is None:
        return {"namespaces": "off: linux.py missing"}
    linux = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(linux)
    out: dict[str, str] = {}
    steps = (
        ("namespaces", linux.new_network_namespace),
        ("landlock", lambda: linux.landlock(workdir, read_roots)),
        ("seccomp", linux.seccomp_filter),
    )
    for name, step in steps:
        try:
            out[name] = step() if wanted.get(name, True) else "off: disabled by the caller"
        except Exception as exc:
            out[name] = f"off: {type(exc).__name__}: {exc}"
    return out


def _hide_own_frames(report: Any) -> None:
    """Drop this file's frames (the exec call, the audit hook) from a traceback and its chain."""
    import traceback

    seen: set[int] = set()
    while report is not None and id(report) not in seen:
        seen.add(id(report))
        frames = [frame for frame in report.stack if frame.filename != __file__]
        report.stack = traceback.StackSummary.from_list(frames)
        report = report.__cause__ or report.__context__


def _run(code: str) -> int:
    import linecache
    import traceback

    filename = "<code>"
    lines = code.splitlines(keepends=True)
    linecache.cache[filename] = (len(code), None, lines, filename)
    namespace = {"__name__": "__main__", "__builtins__": __builtins__}
    try:
        exec(compile(code, filename, "exec"), namespace)
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        sys.stderr.write(f"{exc.code}\n")
        return 1
    except BaseException as exc:
        report = traceback.TracebackException(type(exc), exc, exc.__traceback__)
        _hide_own_frames(report)
        sys.stderr.write("".join(report.format()))
        return 1
    return 0


def main() -> int:
    if sys.argv[1:] == ["--roots"]:  # the parent asks a Python other than its own (macOS profile)
        print(json.dumps(runtime_roots()))
        return 0
    request = json.loads(sys.stdin.buffer.read())
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    sys.dont_write_bytecode = True
    for stream in (sys.stdout, sys.stderr):
        stream.reconfigure(encoding="utf-8", errors="backslashreplace")  # type: ignore[union-attr]
    workdir = request["workdir"]
    os.chdir(workdir)
    os.umask(0o077)
    wanted: dict[str, bool] = request.get("layers", {})
    readable = read_roots(workdir)
    layers = {"rlimits": _set_limits(request["limits"])}
    layers.update(_kernel_layers(workdir, readable, wanted))
    if wanted.get("audit_hook", True):
        sys.addaudithook(_audit_hook(workdir, readable))
        layers["audit_hook"] = "on"
    else:
        layers["audit_hook"] = "off: disabled by the caller"
    status_fd = request.get("status_fd")
    if isinstance(status_fd, int):
        with os.fdopen(status_fd, "w", encoding="utf-8") as status:
            status.write(json.dumps(layers) + "\n")
    sys.argv = ["<code>"]
    status_code = _run(request["code"])
    sys.stdout.flush()
    sys.stderr.flush()
    return status_code


if __name__ == "__main__":
    sys.exit(main())
