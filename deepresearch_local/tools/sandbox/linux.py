"""Kernel isolation for the sandbox child on Linux, through ctypes (stdlib only).

Runs inside the child before any user code. Each function applies one layer to the calling
process and returns a short status ("on", or why it is off); none raises. Order matters:
namespaces first (they need fork/clone-free code paths only), then Landlock, then seccomp.
"""

from __future__ import annotations

import ctypes
import os
import platform
import stat
import struct

CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
CLONE_THREAD = 0x00010000

_LANDLOCK_CREATE_RULESET, _LANDLOCK_ADD_RULE, _LANDLOCK_RESTRICT_SELF = 444, 445, 446
_LANDLOCK_RULE_PATH_BENEATH = 1

# Syscall numbers per architecture: (audit arch, {name: number}). fork/vfork exist only on x86-64.
_ARCHES: dict[str, tuple[int, dict[str, int]]] = {
    "x86_64": (
        0xC000003E,
        {
            "socket": 41, "fork": 57, "vfork": 58, "execve": 59, "execveat": 322, "clone": 56,
            "clone3": 435, "kill": 62, "tkill": 200, "tgkill": 234, "ptrace": 101,
            "process_vm_writev": 311, "pidfd_send_signal": 424, "io_uring_setup": 425,
        },
    ),
    "aarch64": (
        0xC00000B7,
        {
            "socket": 198, "execve": 221, "execveat": 281, "clone": 220, "clone3": 435, "kill": 129,
            "tkill": 130, "tgkill": 131, "ptrace": 117, "process_vm_writev": 271,
            "pidfd_send_signal": 424, "io_uring_setup": 425,
        },
    ),
}  # fmt: skip


def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    return libc


def _syscall(number: int, *args: int | ctypes.Array[ctypes.c_char] | None) -> int:
    """A raw syscall with every argument passed as a full machine word."""
    words = [ctypes.c_ulong(a) if isinstance(a, int) else a for a in args]
    return int(_libc().syscall(ctypes.c_long(number), *words))


def _prctl(option: int, arg: int | ctypes.Array[ctypes.c_char] = 0) -> int:
    value = ctypes.c_ulong(arg) if isinstance(arg, int) else arg
    zero = ctypes.c_ulong(0)
    return int(_libc().prctl(ctypes.c_int(option), value, zero, zero, zero))


def _errno_text() -> str:
    err = ctypes.get_errno()
    return f"{os.strerror(err)} (errno {err})"


def new_network_namespace() -> str:
    """Enter a new user + network namespace: only a loopback device that is down, so no route anywhere."""
    libc = _libc()
    if libc.unshare(ctypes.c_int(CLONE_NEWUSER | CLONE_NEWNET)) == 0:
        return "on"
    first = _errno_text()
    if libc.unshare(ctypes.c_int(CLONE_NEWNET)) == 0:  # root without user namespaces
        return "on"
    return f"off: unshare refused ({first})"


def no_new_privs() -> bool:
    return _prctl(PR_SET_NO_NEW_PRIVS, 1) == 0


def landlock(workdir: str, read_roots: list[str]) -> str:
    """Landlock: read only ``read_roots``, write only beneath ``workdir``; no TCP; no signals out.

    Files and folders not covered by a rule cannot be read or changed, even by native code.
    """
    abi = _syscall(_LANDLOCK_CREATE_RULESET, None, 0, 1)
    if abi < 1:
        return f"off: Landlock not available ({_errno_text()})"
    write_file, read_file, read_dir, truncate = 1 << 1, 1 << 2, 1 << 3, 1 << 14
    make_and_remove = sum(1 << bit for bit in (4, 5, 6, 7, 8, 9, 10, 11, 12))
    file_rights = write_file | read_file | (truncate if abi >= 3 else 0)
    handled_fs = file_rights | read_dir | make_and_remove | (1 << 13 if abi >= 2 else 0)
    handled_net = 0b11 if abi >= 4 else 0  # bind and connect TCP, with no rule allowing any port
    scoped = 0b11 if abi >= 6 else 0  # abstract unix sockets and signals outside the domain
    size = 24 if abi >= 6 else 16 if abi >= 4 else 8
    attr = ctypes.create_string_buffer(struct.pack("<QQQ", handled_fs, handled_net, scoped)[:size], size)
    ruleset = _syscall(_LANDLOCK_CREATE_RULESET, attr, size, 0)
    if ruleset < 0:
        return f"off: Landlock ruleset refused ({_errno_text()})"
    try:
        rules = [(root, read_file | read_dir, read_file) for root in read_roots]
        rules += [(workdir, handled_fs, file_rights), (os.devnull, 0, file_rights)]
        for path, dir_rights, plain_file_rights in rules:
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue  # a root that does not exist on this system
            try:
                is_dir = stat.S_ISDIR(os.fstat(fd).st_mode)
                allowed = dir_rights if is_dir else plain_file_rights
                rule = ctypes.create_string_buffer(struct.pack("<Qi", allowed, fd), 12)
                if _syscall(_LANDLOCK_ADD_RULE, ruleset, _LANDLOCK_RULE_PATH_BENEATH, rule, 0) != 0:
                    return f"off: Landlock rule for {path} refused ({_errno_text()})"
            finally:
                os.close(fd)
        if not no_new_privs():
            return f"off: no_new_privs refused ({_errno_text()})"
        if _syscall(_LANDLOCK_RESTRICT_SELF, ruleset, 0) != 0:
            return f"off: Landlock restrict_self refused ({_errno_text()})"
    finally:
        os.close(ruleset)
    return f"on (ABI {abi})"


class _Program:
    """A tiny classic-BPF assembler with labels (forward jumps only, as BPF requires)."""

    def __init__(self) -> None:
        self.code: list[tuple[int, int | str, int | str, int]] = []
        self.labels: dict[str, int] = {}

    def load(self, offset: int) -> None:
        self.code.append((0x20, 0, 0, offset))  # BPF_LD | BPF_W | BPF_ABS

    def jump(self, op: int, k: int, true: int | str, false: int | str = 0) -> None:
        self.code.append((op, true, false, k))

    def ret(self, value: int) -> None:
        self.code.append((0x06, 0, 0, value))  # BPF_RET | BPF_K

    def label(self, name: str) -> None:
        self.labels[name] = len(self.code)

    def assemble(self) -> bytes:
        out = b""
        for index, (op, jt, jf, k) in enumerate(self.code):

            def rel(target: int | str, here: int = index) -> int:
                return target if isinstance(target, int) else self.labels[target] - here - 1

            out += struct.pack("<HBBI", op, rel(jt), rel(jf), k & 0xFFFFFFFF)
        return out


def seccomp_filter() -> str:
    """Seccomp: no new processes, no exec, no sockets (socketpair stays), signals only to itself."""
    machine = platform.machine().lower()
    if machine in ("amd64",):
        machine = "x86_64"
    if machine in ("arm64",):
        machine = "aarch64"
    if machine not in _ARCHES:
        return f"off: no syscall table for {machine}"
    arch, nr = _ARCHES[machine]
    jeq, jge, jset = 0x15, 0x35, 0x45
    allow, eperm, enosys, kill = 0x7FFF0000, 0x00050000 | 1, 0x00050000 | 38, 0x80000000
    me = os.getpid()
    p = _Program()
    p.load(4)
    p.jump(jeq, arch, 1, 0)
    p.ret(kill)
    p.load(0)
    if machine == "x86_64":
        p.jump(jge, 0x40000000, "deny")  # the x32 ABI would be a second door
    for name in ("socket", "fork", "vfork", "execve", "execveat", "tkill", "ptrace", "process_vm_writev"):
        if name in nr:
            p.jump(jeq, nr[name], "deny")
    for name in ("pidfd_send_signal", "io_uring_setup"):
        p.jump(jeq, nr[name], "deny")
    p.jump(jeq, nr["clone3"], "nosys")  # the C library then falls back to clone() for threads
    p.jump(jeq, nr["clone"], "clone")
    p.jump(jeq, nr["kill"], "signal")
    p.jump(jeq, nr["tgkill"], "signal")
    p.ret(allow)
    p.label("clone")
    p.load(16)
    p.jump(jset, CLONE_THREAD, "allow", "deny")
    p.label("signal")
    p.load(16)
    p.jump(jeq, me, "allow")
    p.jump(jeq, 0, "allow", "deny")  # 0: its own process group (the sandbox's own session)
    p.label("allow")
    p.ret(allow)
    p.label("deny")
    p.ret(eperm)
    p.label("nosys")
    p.ret(enosys)
    code = p.assemble()
    filters = ctypes.create_string_buffer(code, len(code))
    prog = struct.pack("<HxxxxxxQ", len(code) // 8, ctypes.addressof(filters))
    if not no_new_privs():
        return f"off: no_new_privs refused ({_errno_text()})"
    zero = ctypes.c_ulong(0)
    fprog = ctypes.create_string_buffer(prog, len(prog))
    if (
        _libc().prctl(ctypes.c_int(PR_SET_SECCOMP), ctypes.c_ulong(SECCOMP_MODE_FILTER), fprog, zero, zero)
        != 0
    ):
        return f"off: seccomp refused ({_errno_text()})"
    return "on"
