"""The command registry behind the palette: every screen lists the actions it offers.

A screen module registers its commands once, at import time::

    from deepresearch_local.tui.commands import register

    register("models", "Download model", "Download the selected variant", "download")

`screen` is the app mode that shows the screen ("research", "models", "library", "settings")
or "first_run" for the first-run setup; `action` is the name of an action on that screen
(``action_download`` above). Choosing the command in the palette switches to that screen and
runs ``screen.run_action(action)``. Commands with screen "app" run an action on the App.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PaletteCommand:
    """One entry in the command palette."""

    screen: str
    title: str
    help: str
    action: str


_COMMANDS: dict[tuple[str, str], PaletteCommand] = {}


def register(screen: str, title: str, help: str, action: str) -> PaletteCommand:
    """Add (or replace, keyed by screen and action) a palette command."""
    command = PaletteCommand(screen=screen, title=title, help=help, action=action)
    _COMMANDS[(screen, action)] = command
    return command


def commands_for(screen: str) -> list[PaletteCommand]:
    """The commands a screen registered, in registration order."""
    return [command for command in _COMMANDS.values() if command.screen == screen]


def all_commands() -> list[PaletteCommand]:
    """Every registered command, in registration order."""
    return list(_COMMANDS.values())
