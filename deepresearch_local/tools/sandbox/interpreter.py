"""Which Python runs the sandbox child.

Normally the interpreter that runs the app. A frozen build (PyInstaller) has no usable one:
its ``sys.executable`` is the app itself, so ``sys.executable -I child.py`` would start the app
again. There the child runs under a real Python found on this machine instead:
``DEEPRESEARCH_PYTHON`` when set, else ``python3`` or ``python`` on PATH (``py -3`` is not
tried), accepted only if it is Python 3.10 or newer. Without one, the tool answers with
:data:`MISSING`, which says how to enable it; the other tools are unaffected.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

PYTHON_ENV = "DEEPRESEARCH_PYTHON"
"""Names the Python a frozen build runs sandboxed code with."""

MISSING = (
    "this standalone build has no Python of its own to run code with, and found no Python 3.10 or "
    f"newer ({PYTHON_ENV}, or python3 or python on PATH). Install one, or set {PYTHON_ENV} to one, "
    "to enable PythonInterpreter; until then answer without running code (the other tools still work)."
)

_CHECK = "import sys; print(sys.executable if sys.version_info >= (3, 10) else '')"


def is_frozen() -> bool:
    """True inside a PyInstaller (or similar) bundle."""
    return bool(getattr(sys, "frozen", False))


def _resolve(candidate: str) -> str | None:
    """The real executable behind ``candidate`` if it is Python 3.10 or newer, else None.

    Asking the interpreter for its own ``sys.executable`` sees through launchers such as pyenv
    shims, which would not start in the child's minimal environment.
    """
    try:
        out = subprocess.run(
            [candidate, "-I", "-c", _CHECK], capture_output=True, text=True, timeout=15, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    found = out.stdout.strip() if out.returncode == 0 else ""
    return found if found and os.path.isfile(found) else None


def find_python() -> str | None:
    """The interpreter for the sandbox child, or None when a frozen build finds no usable one."""
    if not is_frozen():
        return sys.executable
    named = os.environ.get(PYTHON_ENV)
    candidates = [named] if named else [shutil.which(n) for n in ("python3", "python")]
    own = os.path.realpath(sys.executable)
    for candidate in candidates:
        if candidate and os.path.realpath(candidate) != own:
            found = _resolve(candidate)
            if found:
                return found
    return None
