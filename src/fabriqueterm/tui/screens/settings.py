"""Settings: the language (saved in config.toml) and the theme."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Label, RadioButton, RadioSet, Static

from fabriqueterm.i18n import N_, _, current_language
from fabriqueterm.tui.screens.base import FabriqueScreen

LANGUAGE_NAMES = {"fr": "Français", "en": "English"}
THEMES = {"textual-dark": N_("dark"), "textual-light": N_("light")}


class SettingsScreen(FabriqueScreen):
    """Language and theme."""

    HELP = N_("Language (saved in your config file) and theme.")

    BINDINGS: ClassVar = []

    def screen_title(self) -> str:
        return _("Settings")

    def compose_body(self) -> ComposeResult:
        with Vertical(id="settings"):
            yield Label(_("Language"), classes="section-title")
            with RadioSet(id="language"):
                for code, name in LANGUAGE_NAMES.items():
                    yield RadioButton(name, value=code == current_language(), id=f"language-{code}")
            yield Label(_("Theme"), classes="section-title")
            with RadioSet(id="theme"):
                for theme, name in THEMES.items():
                    yield RadioButton(_(name), value=self.app.theme == theme, id=f"theme-{theme}")
            yield Static(
                _(
                    "The language is saved in {file}. Other themes are in the command palette (ctrl+p)."
                ).format(file=self.fabrique.config_file_shown),
                classes="dialog-help",
            )

    @on(RadioSet.Changed, "#language")
    def _language(self, event: RadioSet.Changed) -> None:
        code = (event.pressed.id or "").removeprefix("language-")
        if code and code != current_language():
            self.fabrique.set_language(code)

    @on(RadioSet.Changed, "#theme")
    def _theme(self, event: RadioSet.Changed) -> None:
        theme = (event.pressed.id or "").removeprefix("theme-")
        if theme in THEMES:
            self.app.theme = theme
