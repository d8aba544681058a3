"""Textual's command palette in the UI language: its placeholder, the line saying nothing matched,
and the system commands it lists (Textual writes them in English)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from rich.align import Align
from rich.text import Text
from textual.app import SystemCommand
from textual.command import CommandList, CommandPalette
from textual.widgets.option_list import Option

from fabriqueterm.i18n import N_, _

if TYPE_CHECKING:
    from textual.command import ProviderSource

#: Textual's system commands, by the English title and help it gives them (msgids of the catalogue).
SYSTEM_COMMANDS = {
    "Theme": N_("Theme"),
    "Change the current theme": N_("Change the current theme"),
    "Quit": N_("Quit"),
    "Quit the application as soon as possible": N_("Quit the application as soon as possible"),
    "Maximize": N_("Maximize"),
    "Maximize the focused widget": N_("Maximize the focused widget"),
    "Minimize": N_("Minimize"),
    "Minimize the widget and restore to normal size": N_(
        "Minimize the widget and restore to normal size"
    ),
}
#: Left out: "Keys" opens Textual's own help panel, in English (the app's help is "Help", key ?),
#: and "Screenshot" writes an SVG file into the current folder and tells so in English.
LEFT_OUT = ("Keys", "Screenshot")


def translated_system_commands(commands: Iterable[SystemCommand]) -> Iterable[SystemCommand]:
    """Textual's system commands with their title and help in the UI language."""
    for command in commands:
        if command.title in LEFT_OUT:
            continue
        yield command._replace(
            title=_(SYSTEM_COMMANDS.get(command.title, command.title)),
            help=_(SYSTEM_COMMANDS.get(command.help, command.help)),
        )


class TranslatedPalette(CommandPalette):
    """The command palette, with its own words in the UI language."""

    def __init__(
        self,
        providers: ProviderSource | None = None,
        *,
        placeholder: str | None = None,
        id: str | None = None,  # noqa: A002 - Textual's name
    ) -> None:
        super().__init__(providers, placeholder=placeholder or _("Search for commands…"), id=id)

    def _start_no_matches_countdown(self, search_value: str) -> None:
        # Textual 8.2.8 writes "No matches found" inside this method and offers no setting for it:
        # the same countdown, with the line in the UI language (tests/tui/test_languages.py).
        self._stop_no_matches_countdown()

        def show_no_matches() -> None:
            if search_value:
                self.query_one(CommandList).add_option(
                    Option(
                        Align.center(Text(_("No matches found"), style="not bold")),
                        disabled=True,
                        id=self._NO_MATCHES,
                    )
                )
                self._list_visible = True
            else:  # nothing typed: Textual hides the empty list rather than say so
                self._list_visible = False

        self._no_matches_timer = self.set_timer(self._NO_MATCHES_COUNTDOWN, show_no_matches)


def open_palette(app: Any, **options: Any) -> None:
    """Open the palette on ``app`` unless one is open already."""
    if app.use_command_palette and not CommandPalette.is_open(app):
        app.push_screen(TranslatedPalette(**options))
