"""The app shell: sections (Textual modes), navigation between screens, language and sync status.

Screens live in :mod:`fabriqueterm.tui.screens`; this module only wires them together.
"""

from __future__ import annotations

import os
import random
import sys
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import ClassVar

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.signal import Signal
from textual.timer import Timer

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
from fabriqueterm.i18n import N_, _, set_language
from fabriqueterm.resources import data_path
from fabriqueterm.store.db import Store, StoreError
from fabriqueterm.sync.client import CommonsClient, RetryPolicy
from fabriqueterm.sync.engine import SyncReport, sync_once, sync_status
from fabriqueterm.sync.engine import SyncStatus as StoredSyncStatus
from fabriqueterm.tui.commands import PROVIDERS
from fabriqueterm.tui.messages import DataChanged, SyncPhase, SyncState, SyncStatus
from fabriqueterm.tui.screens.base import FabriqueScreen
from fabriqueterm.tui.screens.cohorts import CohortDetailScreen, CohortsScreen
from fabriqueterm.tui.screens.dashboard import DashboardScreen
from fabriqueterm.tui.screens.help import HelpScreen
from fabriqueterm.tui.screens.learners import LearnerDetailScreen, LearnersScreen
from fabriqueterm.tui.screens.partners import PartnerDetailScreen, PartnersScreen
from fabriqueterm.tui.screens.queue import FollowUpQueueScreen
from fabriqueterm.tui.screens.settings import SettingsScreen
from fabriqueterm.tui.screens.sites import SitesScreen
from fabriqueterm.tui.screens.sync import SyncScreen

#: The sections of the app: mode name, label, key, base screen.
SECTIONS: tuple[tuple[str, str, str, type[Screen]], ...] = (
    ("dashboard", N_("Dashboard"), "1", DashboardScreen),
    ("queue", N_("To call"), "2", FollowUpQueueScreen),
    ("cohorts", N_("Cohorts"), "3", CohortsScreen),
    ("learners", N_("Learners"), "4", LearnersScreen),
    ("partners", N_("Partners"), "5", PartnersScreen),
    ("sites", N_("Sites"), "6", SitesScreen),
    ("sync", N_("Sync"), "7", SyncScreen),
    ("settings", N_("Settings"), "8", SettingsScreen),
)

_SECTIONS_GROUP = Binding.Group(N_("sections"), compact=True)

#: Error kinds after which the app retries on a timer (the commons may come back by itself).
_RETRIED_KINDS = frozenset({"network", "timeout", "server", "malformed", "error", "server_behind"})


class SyncFinished(Message):
    """The sync worker is done: what it did and what the local database now says."""

    def __init__(self, report: SyncReport, status: StoredSyncStatus) -> None:
        super().__init__()
        self.report = report
        self.status = status


class FabriqueApp(App[int]):
    """The coordinators' app, on one local store."""

    TITLE = "fabriqueterm"
    MODES: ClassVar = {mode: screen for mode, _label, _key, screen in SECTIONS}
    DEFAULT_MODE = "dashboard"
    COMMANDS: ClassVar = App.COMMANDS | set(PROVIDERS)

    BINDINGS: ClassVar = [
        *(
            Binding(key, f"switch_section('{mode}')", label, id=f"section.{mode}", group=_SECTIONS_GROUP)
            for mode, label, key, _screen in SECTIONS
        ),
        Binding("f1,question_mark", "help", N_("help"), key_display="?", id="app.help"),
        Binding("ctrl+t", "toggle_dark", N_("dark/light"), show=False, id="app.theme"),
    ]

    def __init__(
        self,
        store: Store,
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
        self.store = store
        self.config = config
        self.clock = clock
        self.paths = paths
        self.demo = demo
        #: Bumped after every local write; screens reload when they see a newer one.
        self.data_version = 0
        #: Published with each new :class:`SyncState` (status bars, sync screen).
        self.sync_signal: Signal[SyncState] = Signal(self, "sync-status")
        phase = SyncPhase.NOT_STARTED if config.server_url else SyncPhase.NOT_CONFIGURED
        self.sync_state = SyncState(phase, pending=store.outbox.count())
        #: The token of ``fabriqueterm login`` (never shown); no background sync without it.
        self._token = token
        self._sync_retry = sync_retry
        self._sync_running = False
        self._sync_again = False
        self._debounce_timer: Timer | None = None
        self._retry_timer: Timer | None = None
        self._retry_attempt = 0
        if config.server_url and not token:
            self.sync_state = replace(
                self.sync_state,
                detail=_("Not logged in: run “fabriqueterm login {url}” to sync with the commons.").format(
                    url=config.server_url
                ),
            )
        self.theme = "textual-dark"

    # --- sections and navigation ---------------------------------------------------------

    @staticmethod
    def section_labels() -> list[tuple[str, str]]:
        return [(mode, label) for mode, label, _key, _screen in SECTIONS]

    def switch_section(self, mode: str) -> None:
        self.switch_mode(mode)

    def action_switch_section(self, mode: str) -> None:
        self.switch_mode(mode)

    def open_learner(self, learner_id: str) -> None:
        self.push_screen(LearnerDetailScreen(learner_id))

    def open_cohort(self, cohort_id: str) -> None:
        self.push_screen(CohortDetailScreen(cohort_id))

    def open_partner(self, partner_id: str) -> None:
        self.push_screen(PartnerDetailScreen(partner_id))

    def show_cohorts(self, site_id: str | None = None) -> None:
        """The cohorts section, filtered on ``site_id``."""

        async def go() -> None:
            await self.switch_mode("cohorts")
            while len(self.screen_stack) > 1:
                await self.pop_screen()
            screen = self.screen
            if isinstance(screen, CohortsScreen):
                screen.set_site(site_id)

        self.call_later(go)

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def get_system_commands(self, screen: Screen):  # type: ignore[no-untyped-def]
        yield from super().get_system_commands(screen)
        yield SystemCommand(_("Help"), _("The keys of this screen and of the app"), self.action_help)

    # --- data and sync -------------------------------------------------------------------

    def data_changed(self) -> None:
        """A local write happened: screens reload when shown, the pending count is refreshed."""
        self.data_version += 1
        self.post_message(DataChanged())

    def on_data_changed(self, message: DataChanged) -> None:
        self.sync_state = replace(self.sync_state, pending=self.store.outbox.count())
        self.sync_signal.publish(self.sync_state)
        if message.local and self.background_sync:
            # Debounced: a burst of edits is sent in one sync, a few seconds after the last one.
            if self._debounce_timer is not None:
                self._debounce_timer.stop()
            self._debounce_timer = self.set_timer(self.SYNC_DEBOUNCE, self.request_sync)

    #: Seconds between the last local write and the sync that sends it.
    SYNC_DEBOUNCE: ClassVar[float] = 3.0
    #: Retry delays after a failed sync: first one, then doubled up to the cap (with jitter).
    SYNC_RETRY_FIRST: ClassVar[float] = 5.0
    SYNC_RETRY_CAP: ClassVar[float] = 300.0

    @property
    def sync_configured(self) -> bool:
        """A commons server and a token: the app syncs in the background."""
        return bool(self.config.server_url and self._token)

    @property
    def background_sync(self) -> bool:
        """Sync by itself (at start, after writes, every few minutes, retries); with
        ``auto_sync = false`` only when asked (``s`` on the sync screen, a conflict decided)."""
        return self.sync_configured and self.config.auto_sync

    def on_mount(self) -> None:
        if not self.background_sync:
            return
        self.request_sync()
        self.set_interval(self.config.sync_interval_minutes * 60, self.request_sync, name="sync-interval")

    def request_sync(self) -> None:
        """Sync now in a thread worker (or right after the one running): never blocks the UI."""
        if not self.sync_configured:
            return
        if self._sync_running:
            self._sync_again = True
            return
        for timer in (self._debounce_timer, self._retry_timer):
            if timer is not None:
                timer.stop()
        self._debounce_timer = self._retry_timer = None
        self._sync_running = True
        self._sync_again = False
        self.sync_state = replace(self.sync_state, phase=SyncPhase.SYNCING)
        self.sync_signal.publish(self.sync_state)
        self.run_worker(self._sync_job, thread=True, group="sync", exit_on_error=False, name="sync")

    def _sync_job(self) -> None:
        """In a thread: one full sync; the outcome goes back to the UI thread as a message."""
        url = self.config.server_url
        token = self._token or ""
        try:
            client = CommonsClient(url, token, retry=self._sync_retry)
            with client:
                report = sync_once(self.store, url, token, client=client)
        except Exception as error:  # noqa: BLE001 - a bug must not kill the app: shown, retried
            report = SyncReport(errors=[str(error) or type(error).__name__], error_kind="error")
        self.post_message(SyncFinished(report, sync_status(self.store)))

    def on_sync_finished(self, message: SyncFinished) -> None:
        self._sync_running = False
        report, status = message.report, message.status
        kind = report.error_kind or status.last_error_kind
        if not report.errors:
            phase = SyncPhase.SYNCED
        elif kind in ("network", "timeout"):
            phase = SyncPhase.OFFLINE
        else:
            phase = SyncPhase.ERROR
        detail = report.summary() if not report.errors else (report.errors[-1] or "")
        if phase == SyncPhase.OFFLINE:
            detail = _("The commons cannot be reached; your changes wait on this device and are sent as soon as it answers.")
        elif kind == "auth":
            detail = _("The commons refused the token: run “fabriqueterm login {url}” again. Your changes wait on this device.").format(
                url=self.config.server_url
            )
        self.sync_state = SyncState(
            phase,
            pending=status.pending,
            last_synced=status.last_success,
            detail=detail,
            conflicts=status.conflicts_open,
            rejected=status.rejected,
            error_kind=None if phase == SyncPhase.SYNCED else kind,
        )
        self.sync_signal.publish(self.sync_state)
        if report.pulled or report.removed or report.erased:
            self._refresh_after_sync()
        elif report.pushed or report.rejected:
            # Only the outbox changed (sent rows merely adopted their version): screens reload when
            # shown again; the current one is left alone, unless it lists the outbox.
            self.data_version += 1
            if isinstance(self.screen, SyncScreen):
                self.screen.on_screen_resume()
        if self._sync_again:
            self.request_sync()
        elif report.errors and kind in _RETRIED_KINDS and self.background_sync:
            delay = min(self.SYNC_RETRY_CAP, self.SYNC_RETRY_FIRST * 2**self._retry_attempt)
            self._retry_attempt += 1
            self._retry_timer = self.set_timer(random.uniform(delay / 2, delay), self.request_sync)
        else:
            self._retry_attempt = 0

    def _refresh_after_sync(self) -> None:
        """Rows came from the commons: the shown screen reloads now, the others when shown."""
        self.data_version += 1
        self.post_message(DataChanged(local=False))
        screen = self.screen
        if isinstance(screen, FabriqueScreen):
            screen.on_screen_resume()

    def report_sync_status(self, state: SyncState) -> None:
        """Where the sync engine reports its state; safe to call from any thread."""
        self.post_message(SyncStatus(state))

    def on_sync_status(self, message: SyncStatus) -> None:
        self.sync_state = message.state
        self.sync_signal.publish(message.state)

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

    # --- language ------------------------------------------------------------------------

    def set_language(self, language: str) -> None:
        """Switch the UI language, save it in config.toml and redraw every screen."""
        set_language(language)
        self.config = replace(self.config, language=language)
        if self.paths is not None:
            save_config(self.paths.config_file, self.config)
        self.call_later(self._redraw_all)

    async def _redraw_all(self) -> None:
        current = self.current_mode
        for mode, _label, _key, screen in SECTIONS:
            if mode != current and mode in self._screen_stacks:
                await self.remove_mode(mode)
                self.add_mode(mode, screen)
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
    try:
        store = Store.open(paths.database, clock=clock)
    except StoreError as error:
        print(error, file=sys.stderr)
        return 2
    try:
        app = FabriqueApp(store, config, clock, paths=paths, demo=demo, token=token)
        app.run()
        return app.return_code or 0
    finally:
        store.close()
