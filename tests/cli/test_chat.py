"""``deepresearch chat`` as a user runs it: the model chosen with ``models use``, a conversation on
standard input, the real 0.5B model answering, and the figures line after each answer."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _cli(home: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DEEPRESEARCH_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "deepresearch_local", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=600,
    )


@pytest.mark.slow
def test_chat_uses_the_default_model_chosen_with_models_use(qwen05b: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    imported = _cli(home, "models", "import", str(qwen05b), "--name", "qwen-small")
    assert imported.returncode == 0, imported.stderr
    chosen = _cli(home, "models", "use", "qwen-small")
    assert chosen.returncode == 0, chosen.stderr

    talk = "What is 2 + 3? Answer with one number.\n/reset\nSay the word 'blue'.\n"
    out = _cli(home, "chat", "--context", "2048", "--temperature", "0", "--max-tokens", "24", stdin=talk)
    assert out.returncode == 0, out.stderr
    assert "No model given" not in out.stderr
    assert f"Ready: {qwen05b.name} on llama.cpp (cpu), context 2048 tokens." in out.stderr
    assert "(conversation cleared)" in out.stderr
    # One figures line per answer, each counting what the model really wrote.
    figures = re.findall(r"\[(\d+) tokens, ([\d.]+) tok/s, .*?; context (\d+)/2048; (\w+)\]", out.stderr)
    assert len(figures) == 2, out.stderr
    assert all(0 < int(tokens) <= 24 and int(used) > int(tokens) for tokens, _, used, _ in figures)
    assert "5" in out.stdout.split("blue")[0] or "five" in out.stdout.lower(), out.stdout
    # After /reset the second prompt holds only the new question: it is no longer than the first.
    assert int(figures[1][2]) - int(figures[1][0]) <= int(figures[0][2]) - int(figures[0][0]) + 8


def test_chat_without_any_model_says_what_to_do(tmp_path: Path) -> None:
    out = _cli(tmp_path / "empty-home", "chat", stdin="hello\n")
    assert out.returncode != 0
    assert "No model given" not in out.stderr  # the old message ignored the saved default
    assert "models" in out.stderr  # it names the `deepresearch models ...` way to get one


@pytest.mark.slow
def test_chat_with_the_model_in_the_settings_and_no_context_opens_what_fits(
    qwen05b: Path, isolated_home: Path
) -> None:
    """``model`` in config.toml, no ``--model`` and no ``--context``: the saved model opens with the
    context ``auto_context`` chooses for this machine (the 0.5B's whole 32K on these machines)."""
    from deepresearch_local.config import Settings, save_settings
    from deepresearch_local.engines.factory import auto_context

    save_settings(Settings(model=str(qwen05b)))
    expected, _ = auto_context(qwen05b, "llama.cpp", "f16", None)
    assert expected >= 8192  # a machine the agent can run on (a smaller one is refused: test_auto_context)

    out = _cli(isolated_home, "chat", "--temperature", "0", "--max-tokens", "8", stdin="Say 'blue'.\n")
    assert out.returncode == 0, out.stderr
    assert "No model given" not in out.stderr
    assert f"Ready: {qwen05b.name} on llama.cpp (cpu), context {expected} tokens." in out.stderr
    figures = re.search(rf"\[\d+ tokens, [\d.]+ tok/s, .*?; context \d+/{expected}; \w+\]", out.stderr)
    assert figures, out.stderr
