"""The command palette's provider: every action the screens registered in ``tui.commands``."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from deepresearch_local.tui.commands import PaletteCommand, all_commands

SCREEN_LABELS = {
    "app": "App",
    "research": "Research",
    "models": "Models",
    "library": "Library",
    "settings": "Settings",
    "first_run": "Setup",
}


def command_text(command: PaletteCommand) -> str:
    label = SCREEN_LABELS.get(command.screen, command.screen.replace("_", " ").title())
    return f"{label}: {command.title}"


class ScreenCommands(Provider):
    """Choosing a command shows its screen and runs the action there (see ``DeepResearchApp.run_command``)."""

    def _run(self, command: PaletteCommand) -> partial[object]:
        return partial(self.app.run_command, command)  # type: ignore[attr-defined]

    async def discover(self) -> Hits:
        for command in all_commands():
            yield DiscoveryHit(command_text(command), self._run(command), help=command.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for command in all_commands():
            text = command_text(command)
            score = max(matcher.match(text), matcher.match(command.help) * 0.5)
            if score > 0:
                yield Hit(score, matcher.highlight(text), self._run(command), text=text, help=command.help)
