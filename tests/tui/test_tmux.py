"""The real terminal: ``deepresearch`` in tmux with the real 0.5B model over a small folder. A
question is typed, the answer is awaited, and the pane must show the report, its source files,
and the engine's figures; then the app quits cleanly."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from deepresearch_local.config import SamplingSettings, Settings, save_settings
from deepresearch_local.library import Library
from deepresearch_local.store.sessions import SessionStore

QUESTION = "Which shelf holds the blue archive box?"
WAIT_ANSWER_S = float(os.environ.get("DEEPRESEARCH_TMUX_WAIT", "600"))
"""The 0.5B model answers in one to two minutes on two cores; a loaded machine takes longer."""


def _docs(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "archive.md").write_text(
        "# Archive handbook\n\n## Storage\n\n"
        "The blue archive box is kept on shelf 14 in the north storage room.\n"
        "The red archive box moved to shelf 3 in 2024.\n\n## Access\n\n"
        "Visitors need a signed badge from the front desk before entering the storage rooms.\n"
    )
    (docs / "history.txt").write_text(
        "The archive was founded in 1962 by the city council.\n"
        "Its first curator was Maria Lind, who served until 1990.\n"
    )
    return docs


def _command() -> list[str]:
    """``deepresearch``, without the COLUMNS/LINES a test runner may export (they would pin 80x24)."""
    script = Path(sys.executable).parent / "deepresearch"
    app = [str(script)] if script.exists() else [sys.executable, "-m", "deepresearch_local"]
    return ["env", "-u", "COLUMNS", "-u", "LINES", *app]


class Tmux:
    """A private tmux server (its own socket) holding one session."""

    def __init__(self, name: str) -> None:
        self.socket = f"drl-test-{os.getpid()}-{name}"

    def run(self, *args: str) -> str:
        tmux = shutil.which("tmux")
        assert tmux, "tmux is missing: .ci/run installs it (apt-get install tmux)"
        out = subprocess.run([tmux, "-L", self.socket, *args], capture_output=True, text=True, timeout=30)
        assert out.returncode == 0, out.stderr
        return out.stdout

    def pane(self) -> str:
        return self.run("capture-pane", "-p", "-t", "app")

    def wait_for(self, text: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while True:
            screen = self.pane()
            if text in screen:
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} never appeared; the pane shows:\n{screen}")
            time.sleep(1.0)

    def kill(self) -> None:
        """Stop the server and remove its socket file (tmux leaves it behind)."""
        tmux = shutil.which("tmux")
        if not tmux:
            return
        found = subprocess.run(
            [tmux, "-L", self.socket, "display-message", "-p", "#{socket_path}"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        subprocess.run([tmux, "-L", self.socket, "kill-server"], capture_output=True, timeout=30)
        if found.returncode == 0 and found.stdout.strip():
            Path(found.stdout.strip()).unlink(missing_ok=True)


@pytest.mark.slow
@pytest.mark.timeout(int(WAIT_ANSWER_S) + 240)
def test_deepresearch_in_a_real_terminal(qwen05b: Path, tmp_path: Path, isolated_home: Path) -> None:
    docs = _docs(tmp_path)
    with Library() as library:
        library.add(docs)
    save_settings(
        Settings(
            model=str(qwen05b),
            context_tokens=8192,
            offline=True,
            max_steps=4,
            mode="fold",
            sampling=SamplingSettings(temperature=0.0),
        )
    )
    tmux = Tmux(tmp_path.name)
    exit_file = tmp_path / "exit-status"
    try:
        tmux.run(
            "new-session", "-d", "-s", "app", "-x", "200", "-y", "50",
            "-e", f"DEEPRESEARCH_HOME={isolated_home}", "-e", "PYTHONFAULTHANDLER=1",
            "sh", "-c", '"$@"; echo $? > "$0"', str(exit_file), *_command(),
            ";", "set-option", "-t", "app", "remain-on-exit", "on",
        )  # fmt: skip
        tmux.wait_for("Ask a research question", timeout=300)
        tmux.run("send-keys", "-t", "app", "-l", QUESTION)
        tmux.run("send-keys", "-t", "app", "Enter")
        tmux.wait_for("Finished (", timeout=WAIT_ANSWER_S)
        screen = tmux.wait_for("Sources (", timeout=120)  # the report and its sources are drawn

        with SessionStore() as store:
            session = store.list_sessions()[0]
            run = store.runs(session.id)[-1]
        assert run.status == "finished" and run.answer and run.report, (run.termination, screen)
        assert f"Finished ({run.termination})" in screen
        # The report: its title, the answer heading, the first words of the answer, its sources.
        assert "Which shelf holds the blue archive box?" in screen
        assert "Answer" in screen and "Sources (" in screen
        first_words = " ".join(run.answer.split()[:3])
        assert first_words in " ".join(screen.split()), (first_words, screen)
        cited = [name for name in ("archive.md", "history.txt") if name in run.report]
        assert cited and all(name in screen for name in cited), screen
        # The status bar: the engine, and the prompt budget from the context read back from llama.cpp:
        # 8192 minus one fold turn's output (report cap + thinking room, agent/budget.py).
        from deepresearch_local.agent.budget import turn_sizes
        from deepresearch_local.agent.config import AgentConfig

        budget = turn_sizes(8192, AgentConfig(mode="fold")).budget
        assert budget == 4726
        status = next(line for line in screen.splitlines() if "tok/s" in line)
        assert "llama.cpp" in status and f"/{budget:,}" in status, status
        assert session.title == QUESTION

        tmux.run("send-keys", "-t", "app", "C-q")
        # The app's exit status is read from the shell that ran it: tmux 3.3 sometimes marks the pane dead
        # without ever recording the status of the process (seen here: it stays a zombie).
        deadline = time.monotonic() + 120
        while not exit_file.exists() or not exit_file.read_text().strip():
            if time.monotonic() > deadline:
                raise AssertionError(f"the app never ended after ctrl+q; the pane shows:\n{tmux.pane()}")
            time.sleep(0.5)
        history = tmux.run("capture-pane", "-p", "-S", "-200", "-t", "app")
        status = exit_file.read_text().strip()
        assert status == "0", f"the app ended with status {status}; the pane shows:\n{history}"
    finally:
        tmux.kill()
