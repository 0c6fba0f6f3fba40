"""Metal's own answer to "how much memory may the GPU use": ``recommendedMaxWorkingSetSize`` of the
default Metal device, read through the Objective-C runtime with ctypes (no PyObjC, no MLX import).

Only an Apple Silicon Mac can answer; everywhere else, and on any failure, the reader returns None
and the probe falls back to its estimate.
"""

from __future__ import annotations

import functools
import platform

_CORE_GRAPHICS = "/System/Library/Frameworks/CoreGraphics.framework/CoreGraphics"
_METAL = "/System/Library/Frameworks/Metal.framework/Metal"
_OBJC = "/usr/lib/libobjc.A.dylib"


def on_apple_silicon() -> bool:
    """A runtime check (not ``sys.platform``), so the reader below is type-checked everywhere."""
    return platform.system() == "Darwin" and platform.machine() == "arm64"


@functools.cache
def metal_working_set_bytes() -> int | None:
    """The default Metal device's recommended working set in bytes; None off a Mac or on any failure.

    Loading CoreGraphics first makes ``MTLCreateSystemDefaultDevice`` return a device in a
    command-line process (without it, it can return nil outside an app bundle). The value only
    changes with a reboot or a raised ``iogpu.wired_limit_mb`` (which the probe reads itself), so
    one reading per process is enough.
    """
    if not on_apple_silicon():
        return None
    try:
        return _read()
    except Exception:  # a missing framework, a renamed symbol: the estimate stands in
        return None


def _read() -> int | None:
    import ctypes

    ctypes.CDLL(_CORE_GRAPHICS)
    metal = ctypes.CDLL(_METAL)
    objc = ctypes.CDLL(_OBJC)
    create = metal.MTLCreateSystemDefaultDevice
    create.restype, create.argtypes = ctypes.c_void_p, []
    selector = objc.sel_registerName
    selector.restype, selector.argtypes = ctypes.c_void_p, [ctypes.c_char_p]
    device = create()
    if not device:
        return None
    send = ctypes.cast(objc.objc_msgSend, ctypes.c_void_p).value
    if not send:
        return None
    ask = ctypes.CFUNCTYPE(ctypes.c_uint64, ctypes.c_void_p, ctypes.c_void_p)(send)
    release = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p)(send)
    try:
        size = int(ask(device, selector(b"recommendedMaxWorkingSetSize")))
    finally:
        release(device, selector(b"release"))  # MTLCreateSystemDefaultDevice hands over a reference
    return size or None
