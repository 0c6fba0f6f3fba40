"""The README shows only commands and options the CLI has, exactly two set-up commands, and links
that resolve."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from deepresearch_local.cli.main import build_parser
from tests.packaging.readme_commands import problems, shown_commands

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text("utf-8")


def _section(title: str) -> str:
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start : end if end != -1 else None]


def test_every_command_in_the_readme_exists_with_the_options_shown() -> None:
    parser = build_parser()
    shown = shown_commands(README)
    groups = {c.command.split()[1] for c in shown if len(c.command.split()) > 1}
    assert {"ask", "sessions", "docs", "models", "doctor", "paths", "chat", "bench"} <= groups
    assert len(shown) >= 40
    wrong = [f"{c.where}: {c.command}: {issue}" for c in shown for issue in problems(c.command, parser)]
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize(
    ("command", "issue"),
    [
        ("deepresearch sessions show ID --bogus", "`deepresearch sessions show` has no option --bogus"),
        ("deepresearch session list", "`deepresearch` has no command 'session'"),
        ("deepresearch --json doctor", "`deepresearch` has no option --json"),
        ("deepresearch ask Q --mode sideways", "--mode sideways: not one of ['fold', 'react']"),
        ("deepresearch ask Q --context lots", "--context lots: not a valid value"),
        ("deepresearch models pull X [--dir]", "--dir needs a value"),
    ],
)
def test_the_check_catches_what_the_cli_lacks(command: str, issue: str) -> None:
    assert problems(command, build_parser()) == [issue]


def test_commands_are_found_in_blocks_inline_and_after_shell_operators() -> None:
    text = (
        "Run `deepresearch doctor --json` first.\n\n```bash\n"
        'pipx install . && deepresearch\n$ HF_HUB_OFFLINE=1 deepresearch ask "a b" --offline\n'
        "deepresearch docs add DIR [-q]          index a folder\n```\n"
        "Not these: `deepresearch-local`, `pipx runpip deepresearch-local install`.\n"
    )
    assert [c.command for c in shown_commands(text)] == [
        "deepresearch",
        'deepresearch ask "a b" --offline',
        "deepresearch docs add DIR [-q]",
        "deepresearch doctor --json",
    ]


def test_the_model_builds_named_exist_in_the_catalog() -> None:
    from deepresearch_local.weights.catalog import load_catalog

    named = set(re.findall(r"\btongyi-30b-[\w-]+", README))
    assert named and named <= {v.id for v in load_catalog()}


def test_exactly_two_set_up_commands_install_and_test() -> None:
    blocks = re.findall(r"^```\w*\n(.*?)^```", _section("Set up"), re.M | re.S)
    assert [b.strip() for b in blocks] == ["pipx install . && deepresearch", "bash .ci/run"]
    assert os.access(ROOT / ".ci" / "run", os.X_OK)


def test_links_and_images_resolve() -> None:
    headings = {
        re.sub(r"[^\w\- ]", "", h.lower()).replace(" ", "-") for h in re.findall(r"^#+ (.+)$", README, re.M)
    }
    for target in re.findall(r"\]\(([^)\s]+)\)", README):
        if target.startswith("#"):
            assert target[1:] in headings, target
        elif not re.match(r"^https?://", target):
            assert (ROOT / target).is_file(), target
    svg = (ROOT / "packaging" / "assets" / "tui.svg").read_text("utf-8")
    assert svg.startswith("<svg") and "Report" in svg and "Sessions" in svg
