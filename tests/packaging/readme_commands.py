"""Find the `deepresearch ...` commands a Markdown text shows, and check them against the argparse tree."""

from __future__ import annotations

import argparse
import re
import shlex
from dataclasses import dataclass

FENCE = re.compile(r"^```[\w-]*\n(.*?)^```", re.M | re.S)
INLINE = re.compile(r"`(deepresearch(?: [^`]*)?)`")
PLACEHOLDER = re.compile(r"^[A-Z][A-Z0-9_|.-]*$")
"""ID, QUESTION, VARIANT, FILE.jsonl's stem...: stands for any value the user types."""


@dataclass(frozen=True)
class Shown:
    command: str
    where: str


def _commands_in_line(line: str) -> list[str]:
    """The deepresearch invocations in one shell line (after `&&`, `;`, `|`; env assignments skipped)."""
    line = re.split(r"\s{2,}", line.strip().removeprefix("$ "))[0]  # drop a trailing description
    found = []
    for part in re.split(r"&&|\|\||;|\|", line):
        words = part.strip().split(" ")
        while words and re.match(r"^[A-Z_][A-Z0-9_]*=", words[0]):
            words = words[1:]
        if words and words[0] == "deepresearch":
            found.append(" ".join(words))
    return found


def shown_commands(markdown: str) -> list[Shown]:
    """Every command in fenced code blocks (line by line) and in inline code spans."""
    out: list[Shown] = []
    for block in FENCE.finditer(markdown):
        line_no = markdown[: block.start()].count("\n") + 2
        for offset, line in enumerate(block.group(1).splitlines()):
            out += [Shown(c, f"line {line_no + offset}") for c in _commands_in_line(line)]
    for span in INLINE.finditer(markdown):
        line_no = markdown[: span.start()].count("\n") + 1
        out += [Shown(c, f"line {line_no}") for c in _commands_in_line(span.group(1))]
    return out


def _tokens(command: str) -> list[str]:
    """Shell words without the usage-notation brackets and ellipses."""
    words = shlex.split(command.replace("[", " ").replace("]", " "))
    return [w for w in words if w not in ("...", "…")]


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser] | None:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return None


def problems(command: str, root: argparse.ArgumentParser) -> list[str]:
    """What in ``command`` the CLI does not have: unknown commands, options or values."""
    tokens = _tokens(command)[1:]
    parser, path, issues = root, ["deepresearch"], []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        index += 1
        if token.startswith("-") and token != "-":
            flag, _, inline_value = token.partition("=")
            action = parser._option_string_actions.get(flag)
            if action is None:
                issues.append(f"`{' '.join(path)}` has no option {flag}")
                continue
            if action.nargs == 0 or not action.option_strings or isinstance(action, argparse._VersionAction):
                continue
            value = inline_value or (tokens[index] if index < len(tokens) else None)
            if not inline_value:
                index += 1
            if value is None:
                issues.append(f"{flag} needs a value")
            elif not PLACEHOLDER.match(value):
                issues += _check_value(flag, value, action)
            continue
        commands = _subcommands(parser)
        if commands is None:
            continue  # a positional argument
        if PLACEHOLDER.match(token):
            break  # `deepresearch COMMAND --help`: any command
        if token not in commands:
            issues.append(f"`{' '.join(path)}` has no command {token!r}")
            break
        parser = commands[token]
        path.append(token)
    return issues


def _check_value(flag: str, value: str, action: argparse.Action) -> list[str]:
    if action.choices is not None and value not in action.choices:
        return [f"{flag} {value}: not one of {sorted(action.choices)}"]
    if callable(action.type):
        try:
            action.type(value)
        except (TypeError, ValueError):
            return [f"{flag} {value}: not a valid value"]
    return []
