"""Stand-in programs for launcher tests: a `deepresearch`, a `pipx` and an `open` that record calls."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

SYSTEM_TOOLS = ("bash", "sh", "env", "dirname", "sed", "install", "mkdir", "cat", "chmod", "ls", "cp", "rm")
"""The only real programs the launchers may see, so a real deepresearch or pipx is never run."""


def system_tools(folder: Path) -> Path:
    """A folder of links to :data:`SYSTEM_TOOLS`, to use as the system part of PATH."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in SYSTEM_TOOLS:
        found = shutil.which(name)
        assert found, f"{name} is needed by the launcher tests"
        link = folder / name
        if not link.exists():
            link.symlink_to(found)
    return folder


def write_program(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return path


def fake_deepresearch(folder: Path, log: Path, status: int = 0) -> Path:
    """Appends its arguments (one line per run) to ``log`` and exits with ``status``."""
    return write_program(
        folder / "deepresearch", f'echo "deepresearch $*" >> {shlex.quote(str(log))}\nexit {status}\n'
    )


def fake_pipx(folder: Path, log: Path, bin_dir: Path, installs: bool = True) -> Path:
    """A pipx whose ``install`` records its source and puts a fake deepresearch in ``bin_dir``."""
    app = bin_dir / "deepresearch"
    fail = "" if installs else "exit 1"
    body = f"""log={shlex.quote(str(log))}
case "$1" in
  install)
    echo "pipx $*" >> "$log"
    {fail}
    mkdir -p {shlex.quote(str(bin_dir))}
    printf '#!/bin/sh\\necho "deepresearch $*" >> "%s"\\n' "$log" > {shlex.quote(str(app))}
    chmod 755 {shlex.quote(str(app))}
    ;;
  environment) echo {shlex.quote(str(bin_dir))} ;;
  *) echo "unexpected pipx call: $*" >&2; exit 2 ;;
esac
"""
    return write_program(folder / "pipx", body)


@dataclass
class Run:
    code: int
    out: str
    log: list[str]


def run_launcher(
    command: list[str], home: Path, fake_bin: Path, log: Path, env: dict[str, str] | None = None
) -> Run:
    """Run a launcher with only the fakes and the system tools on PATH, a temporary HOME, Enter on stdin."""
    tools = system_tools(home / ".tools")
    environment = {"HOME": str(home), "PATH": f"{fake_bin}:{tools}", "LANG": "C.UTF-8"}
    environment.update(env or {})
    proc = subprocess.run(
        command, input="\n", capture_output=True, text=True, timeout=60, env=environment, cwd=home
    )
    lines = log.read_text().splitlines() if log.exists() else []
    return Run(proc.returncode, proc.stdout + proc.stderr, lines)


def is_executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)
