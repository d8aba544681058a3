"""The app shell: its sections (Textual modes), navigation between screens, and the language.

Screens live in :mod:`fabriqueterm.tui.screens` and the sections in :mod:`fabriqueterm.tui.sections`;
the store is opened after the first frame (:mod:`fabriqueterm.tui.startup`) and the app syncs in the
background (:mod:`fabriqueterm.tui.background_sync`). This module only wires them together.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from fabriqueterm.config import (
    HOME_ENV,
    Config,
    ConfigError,
    Paths,
    load_config,
    load_token,
    save_config,
)
from fabriqueterm.domain.dates import Clock
from fabriqueterm.domain.followups import FollowUpRules
from fabriqueterm.i18n import N_, _, set_language
from fabriqueterm.resources import data_path
from fabriqueterm.tui.background_sync import BackgroundSync
from fabriqueterm.tui.commands import PROVIDERS
from fabriqueterm.tui.messages import DataChanged
from fabriqueterm.tui.palette import open_palette, translated_system_commands
from fabriqueterm.tui.screens.base import FabriqueScreen
from fabriqueterm.tui.screens.help import HelpScreen
from fabriqueterm.tui.sections import SECTIONS, Section, screen_class
from fabriqueterm.tui.startup import StoreStartup

if TYPE_CHECKING:
    from fabriqueterm.store.db import Store
    from fabriqueterm.sync.client import RetryPolicy


class FabriqueApp(StoreStartup, BackgroundSync, App[int]):
    """The coordinators' app, on one local store."""

    TITLE = "fabriqueterm"
    SECTIONS: ClassVar[tuple[Section, ...]] = SECTIONS
    MODES: ClassVar = {section.mode: section.screen for section in SECTIONS}
    DEFAULT_MODE = "dashboard"
    COMMANDS: ClassVar = App.COMMANDS | set(PROVIDERS)

    BINDINGS: ClassVar = [
        *(section.binding() for section in SECTIONS),
        Binding("f1,question_mark", "help", N_("help"), key_display="?", id="app.help"),
        Binding("ctrl+t", "toggle_dark", N_("dark/light"), show=False, id="app.theme"),
    ]

    def __init__(
        self,
        store: Store | Callable[[], Store],
        config: Config,
        clock: Clock,
        *,
        paths: Paths | None = None,
        demo: bool = False,
        token: str | None = None,
        sync_retry: RetryPolicy | None = None,
    ) -> None:
        super().__init__(css_path=sorted(data_path("styles").glob("*.tcss")))
        set_language(config.language)
        self.clock = clock  # before the store: its cohorts' statuses follow today's date
        self._init_store(store)
        self.config = config
        self.paths = paths
        self.demo = demo
        #: Bumped after every local write; screens reload when they see a newer one.
        self.data_version = 0
        self._init_background_sync(token, sync_retry)
        self.theme = "textual-dark"

    # --- sections and navigation ---------------------------------------------------------

    def switch_section(self, mode: str) -> None:
        self.switch_mode(mode)

    def action_switch_section(self, mode: str) -> None:
        self.switch_mode(mode)

    def open_learner(self, learner_id: str) -> None:
        self.push_screen(screen_class("learners", "LearnerDetailScreen")(learner_id))

    def open_cohort(self, cohort_id: str) -> None:
        self.push_screen(screen_class("cohorts", "CohortDetailScreen")(cohort_id))

    def open_partner(self, partner_id: str) -> None:
        self.push_screen(screen_class("partners", "PartnerDetailScreen")(partner_id))

    def show_cohorts(self, site_id: str | None = None) -> None:
        """The cohorts section, filtered on ``site_id``."""

        async def go() -> None:
            await self.switch_mode("cohorts")
            while len(self.screen_stack) > 1:
                await self.pop_screen()
            screen = self.screen
            if isinstance(screen, screen_class("cohorts", "CohortsScreen")):
                screen.set_site(site_id)

        self.call_later(go)

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def get_system_commands(self, screen: Screen):  # type: ignore[no-untyped-def]
        yield from translated_system_commands(super().get_system_commands(screen))
        yield SystemCommand(
            _("Help"), _("The keys of this screen and of the app"), self.action_help
        )

    # --- the palette in the UI language ------------------------------------------------------

    def action_command_palette(self) -> None:
        open_palette(self, id="--command-palette")

    def search_themes(self) -> None:
        from textual.theme import ThemeProvider

        open_palette(self, providers=[ThemeProvider], placeholder=_("Search for themes…"))

    # --- data and settings ---------------------------------------------------------------

    def data_changed(self) -> None:
        """A local write happened: screens reload when shown, the pending count is refreshed."""
        self.data_version += 1
        self.post_message(DataChanged())

    @property
    def follow_up_rules(self) -> FollowUpRules:
        """The follow-up rules as config.toml sets them (docs/domain.md)."""
        return FollowUpRules(
            callback_working_days=self.config.callback_working_days,
            unreachable_attempts=self.config.unreachable_after_attempts,
            unreachable_days=self.config.unreachable_after_days,
        )

    @property
    def config_file_shown(self) -> str:
        """The config file's path as a person would type it ($FABRIQUETERM_HOME/…, ~/…)."""
        if self.paths is None:
            return "config.toml"
        path = self.paths.config_file
        for base, shown in ((os.environ.get(HOME_ENV), f"${HOME_ENV}"), (str(Path.home()), "~")):
            if base and path.is_relative_to(base):
                return f"{shown}/{path.relative_to(base)}"
        return str(path)

    def set_language(self, language: str) -> None:
        """Switch the UI language, save it in config.toml and redraw every screen."""
        set_language(language)
        self.config = replace(self.config, language=language)
        if self.paths is not None:
            save_config(self.paths.config_file, self.config)
        self.call_later(self._redraw_all)

    def mode_is_started(self, mode: str) -> bool:
        """Whether the section ``mode`` was shown once (its screens exist)."""
        try:
            self.get_screen_stack(mode)
        except KeyError:
            return False
        return True

    async def _redraw_all(self) -> None:
        current = self.current_mode
        for section in SECTIONS:
            if section.mode != current and self.mode_is_started(section.mode):
                await self.remove_mode(section.mode)
                self.add_mode(section.mode, section.screen)
        for screen in list(self.screen_stack):
            if isinstance(screen, FabriqueScreen):
                await screen.redraw()
        self.sync_signal.publish(self.sync_state)
        self.refresh_bindings()


def run_app(paths: Paths, *, today: date | None = None, demo: bool = False) -> int:
    """Open the app on the database of ``paths`` (created and migrated if needed)."""
    config = load_config(paths.config_file)
    set_language(config.language)
    clock = Clock(today)
    paths.ensure()
    try:
        secret = load_token(paths.secrets_file) if config.server_url else None
    except ConfigError as error:
        print(error, file=sys.stderr)
        secret = None
    token = secret.reveal() if secret is not None else None

    def open_store() -> Store:
        from fabriqueterm.store.db import Store

        return Store.open(paths.database, clock=clock)

    app = FabriqueApp(open_store, config, clock, paths=paths, demo=demo, token=token)
    try:
        app.run()
        return app.return_code or 0
    finally:
        app.close_store()
