"""Which isolation layers hold the sandbox child on this machine, and whether any is a kernel one.

Kernel layers (enforced by the operating system, so ``ctypes`` calls cannot walk past them):
Linux namespaces, Landlock and seccomp; macOS Seatbelt. Everywhere else (Windows, a Mac without
``sandbox-exec``) only the child process, its resource limits, a timeout and a Python audit hook
remain, and the audit hook is a guard rail, not a boundary. PythonInterpreter refuses to run in
an online run there unless the user allows it (see ``python_sandbox``).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

KERNEL_LAYERS = ("namespaces", "landlock", "seccomp", "seatbelt")


@dataclass(frozen=True)
class Isolation:
    platform: str
    kernel: bool
    """Some kernel layer holds the child."""
    layers: dict[str, str] = field(default_factory=dict)
    """Layer name -> "on: ..." or "off: why"."""
    verified: bool = False
    """True when the layers come from a real run of the child, not from the platform alone."""


def platform_name(platform: str | None = None) -> str:
    platform = platform or sys.platform
    if platform == "darwin":
        return "macOS"
    if platform.startswith("linux"):
        return "Linux"
    if platform == "win32":
        return "Windows"
    return platform


def has_kernel_layer(layers: dict[str, str]) -> bool:
    return any(layers.get(name, "").startswith("on") for name in KERNEL_LAYERS)


_observed: dict[str, str] | None = None
"""The layers the last sandbox run reported (a Linux whose kernel refuses every layer shows here)."""


def observe(layers: dict[str, str]) -> None:
    """Remember what a real run reported (``run_python`` results)."""
    global _observed
    if layers:
        _observed = dict(layers)


def expected(platform: str | None = None) -> Isolation:
    """The isolation this platform offers, without starting anything (the last run's report wins)."""
    platform = platform or sys.platform
    name = platform_name(platform)
    if _observed is not None and platform == sys.platform:
        return Isolation(name, has_kernel_layer(_observed), dict(_observed), verified=True)
    if platform.startswith("linux"):
        layers = {layer: "expected" for layer in ("namespaces", "landlock", "seccomp")}
        return Isolation(name, True, layers)
    if platform == "darwin":
        from deepresearch_local.tools.sandbox import seatbelt

        if seatbelt.available(platform):
            return Isolation(name, True, {"seatbelt": "expected"})
        return Isolation(name, False, {"seatbelt": "off: sandbox-exec not found"})
    return Isolation(name, False, {"kernel": f"off: no operating-system sandbox on {name}"})


def verify() -> Isolation:
    """Start the sandbox once with a trivial program and report the layers that took effect."""
    from deepresearch_local.tools.sandbox import run_python

    result = run_python("print('ok')")
    if result.error:
        return Isolation(platform_name(), False, {"start": f"off: {result.error}"}, verified=True)
    observe(result.layers)
    return Isolation(platform_name(), has_kernel_layer(result.layers), dict(result.layers), verified=True)


def describe(isolation: Isolation) -> str:
    """One line for ``doctor``: the kernel layers in force (or why none), then what always holds."""
    kernel = {k: v for k, v in isolation.layers.items() if k in KERNEL_LAYERS or k in ("kernel", "start")}
    on = [f"{name}{_detail(value)}" for name, value in kernel.items() if value.startswith("on")]
    off = [f"{name} {value}" for name, value in kernel.items() if not value.startswith("on")]
    if isolation.kernel:
        text = f"{isolation.platform} kernel isolation: " + ", ".join(on)
        if off:
            text += " (" + "; ".join(off) + ")"
        return text + "; plus resource limits, a timeout and an audit hook"
    return (
        f"no kernel isolation on {isolation.platform} ({'; '.join(off) or 'none available'}): a separate "
        "process, resource limits, a timeout and an audit hook only; online runs refuse code unless "
        "allow_unisolated_python is set"
    )


def _detail(value: str) -> str:
    rest = value[2:].strip(" :()")
    return f" ({rest})" if rest else ""


def as_dict(isolation: Isolation) -> dict[str, object]:
    return {
        "platform": isolation.platform,
        "kernel": isolation.kernel,
        "verified": isolation.verified,
        "layers": dict(isolation.layers),
        "summary": describe(isolation),
    }
