"""The app shell: sections (Textual modes), navigation between screens, language and sync status.

Screens live in :mod:`fabriqueterm.tui.screens`; this module only wires them together. When to sync
and what to say about it is :mod:`fabriqueterm.sync.scheduler`'s call: the shell runs its timers
and the sync worker, and shows what it reports.

Start-up paints the first screen before the data layer is loaded: SQLAlchemy, the models and the
sync client take longer to import than Textual itself, so the store is opened in a thread once the
first frame is shown, and the dashboard fills in when its figures are counted.
"""

from __future__ import annotations

import importlib
import os
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual.app import App, SystemCommand
from textual.binding import Binding
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
from fabriqueterm.store.errors import StoreError
from fabriqueterm.sync.errors import SyncErrorKind
from fabriqueterm.sync.scheduler import SyncScheduler, starting_outcome, sync_outcome
from fabriqueterm.tui.commands import PROVIDERS
from fabriqueterm.tui.messages import (
    DataChanged,
    StoreOpened,
    SyncFinished,
    SyncPhase,
    SyncState,
    SyncStateChanged,
)
from fabriqueterm.tui.screens.base import FabriqueScreen
from fabriqueterm.tui.screens.dashboard import DashboardScreen
from fabriqueterm.tui.screens.help import HelpScreen
from fabriqueterm.tui.screens.settings import SettingsScreen

if TYPE_CHECKING:
    from fabriqueterm.store.db import Store
    from fabriqueterm.sync.client import RetryPolicy

#: Set once the data layer and every screen module are imported (see FabriqueApp._open_store).
_MODULES_READY = threading.Event()
#: How long anything waits for the store to open before giving up with a message.
STORE_WAIT_SECONDS = 120.0


def screen_class(module: str, name: str) -> type[Screen]:
    """A screen class of :mod:`fabriqueterm.tui.screens`, once the background imports are done (no
    two threads import the same modules at once)."""
    _MODULES_READY.wait(STORE_WAIT_SECONDS)
    return getattr(importlib.import_module(f"fabriqueterm.tui.screens.{module}"), name)


@dataclass(frozen=True)
class LazyScreen:
    """A section's screen, made from its module once imported (Textual's MODES accept callables)."""

    module: str
    name: str

    def __call__(self) -> Screen:
        return screen_class(self.module, self.name)()


_SECTIONS_GROUP = Binding.Group(N_("sections"), compact=True)


@dataclass(frozen=True)
class Section:
    """A section of the app: a Textual mode, reached by its key, in the palette and the help."""

    mode: str
    #: An English msgid (marked with ``N_``), translated where it is shown.
    label: str
    key: str
    #: A screen class, or a :class:`LazyScreen`.
    screen: Callable[[], Screen]

    def binding(self) -> Binding:
        return Binding(
            self.key,
            f"switch_section('{self.mode}')",
            self.label,
            id=f"section.{self.mode}",
            group=_SECTIONS_GROUP,
        )


#: The sections of the app, in the order of their keys.
SECTIONS = (
    Section("dashboard", N_("Dashboard"), "1", DashboardScreen),
    Section("queue", N_("To call"), "2", LazyScreen("queue", "FollowUpQueueScreen")),
    Section("cohorts", N_("Cohorts"), "3", LazyScreen("cohorts", "CohortsScreen")),
    Section("learners", N_("Learners"), "4", LazyScreen("learners", "LearnersScreen")),
    Section("partners", N_("Partners"), "5", LazyScreen("partners", "PartnersScreen")),
    Section("sites", N_("Sites"), "6", LazyScreen("sites", "SitesScreen")),
    Section("sync", N_("Sync"), "7", LazyScreen("sync", "SyncScreen")),
    Section("settings", N_("Settings"), "8", SettingsScreen),
    Section("summary", N_("Summary"), "9", LazyScreen("summary", "SummaryScreen")),
    Section("import", N_("Import"), "0", LazyScreen("importing", "ImportScreen")),
)

#: The screen modules imported in the background after the store is open: the sections' and
#: those of screens opened from them.
_SCREEN_MODULES = (
    *(s.screen.module for s in SECTIONS if isinstance(s.screen, LazyScreen)),
    "forms",
    "personal_data",
)


class FabriqueApp(App[int]):
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
        #: The store, or None until the opener given instead has run (in a thread, after the first frame).
        self._store: Store | None = None
        self._store_opener: Callable[[], Store] | None = None
        self._store_ready = threading.Event()
        self._store_error: str | None = None
        if callable(store):
            self._store_opener = store
        else:
            self._store = store  # type: ignore[assignment]
            self._store_ready.set()
            _MODULES_READY.set()  # whoever opened it imported the data layer already
        self.config = config
        self.clock = clock
        self.paths = paths
        self.demo = demo
        #: Bumped after every local write; screens reload when they see a newer one.
        self.data_version = 0
        #: Published with each new :class:`SyncState` (status bars, sync screen).
        self.sync_signal: Signal[SyncState] = Signal(self, "sync-status")
        pending = self._store.outbox.count() if self._store is not None else 0
        start = starting_outcome(config.server_url, logged_in=bool(token))
        self.sync_state = SyncState(start.phase, pending=pending, detail=start.detail)
        #: Says how long to wait before syncing again; the timers below are its hands.
        self.sync_scheduler = SyncScheduler()
        #: The token of ``fabriqueterm login`` (never shown); no background sync without it.
        self._token = token
        self._sync_retry = sync_retry
        self._sync_running = False
        self._sync_again = False
        self._debounce_timer: Timer | None = None
        self._retry_timer: Timer | None = None
        self.theme = "textual-dark"

    # --- the store ------------------------------------------------------------------------

    @property
    def store(self) -> Store:
        """The local store; waits (in a worker: briefly, on the UI thread) while it is being opened."""
        if self._store is None:
            self._store_ready.wait(STORE_WAIT_SECONDS)
            if self._store is None:
                raise StoreError(self._store_error or _("The local database is not open yet."))
        return self._store

    @property
    def store_is_open(self) -> bool:
        return self._store is not None

    def on_ready(self) -> None:
        """The first frame is on screen: now open the store (and load the rest) in a thread."""
        if self._store_opener is not None:
            self.run_worker(
                self._open_store, thread=True, group="store", exit_on_error=False, name="open-store"
            )

    def _open_store(self) -> None:
        """In a thread: import the data layer, open the store, then import the other screens."""
        assert self._store_opener is not None
        try:
            self._store = self._store_opener()
        except Exception as error:  # noqa: BLE001 - shown to the person, the app closes cleanly
            self._store_error = str(error) or type(error).__name__
            self._store_ready.set()
            _MODULES_READY.set()
            self.post_message(StoreOpened(self._store_error))
            return
        self._store_ready.set()
        self.post_message(StoreOpened())
        try:
            for module in _SCREEN_MODULES:
                importlib.import_module(f"fabriqueterm.tui.screens.{module}")
            importlib.import_module("fabriqueterm.sync.engine")
            importlib.import_module("fabriqueterm.sync.client")
        finally:
            _MODULES_READY.set()

    def on_store_opened(self, message: StoreOpened) -> None:
        if message.error is not None:
            self.exit(return_code=2, message=message.error)
            return
        self.sync_state = replace(self.sync_state, pending=self.store.outbox.count())
        self.sync_signal.publish(self.sync_state)
        if self.background_sync:
            self.request_sync()

    def close_store(self) -> None:
        """Close the store if it was opened (after the app exits)."""
        if self._store is not None:
            self._store.close()

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
        yield from super().get_system_commands(screen)
        yield SystemCommand(
            _("Help"), _("The keys of this screen and of the app"), self.action_help
        )

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
            self._debounce_timer = self.set_timer(self.sync_scheduler.debounce, self.request_sync)

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
        if self.store_is_open:
            self.request_sync()  # else once the store is open (on_store_opened)
        self.set_interval(
            self.config.sync_interval_minutes * 60, self.request_sync, name="sync-interval"
        )

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
        _MODULES_READY.wait(STORE_WAIT_SECONDS)  # never import alongside the store-opening thread
        from fabriqueterm.sync.client import CommonsClient
        from fabriqueterm.sync.engine import SyncReport, sync_once, sync_status

        url = self.config.server_url
        token = self._token or ""
        try:
            client = CommonsClient(url, token, retry=self._sync_retry)
            with client:
                report = sync_once(self.store, url, token, client=client)
        except Exception as error:  # noqa: BLE001 - a bug must not kill the app: shown, retried
            report = SyncReport(
                errors=[str(error) or type(error).__name__], error_kind=SyncErrorKind.ERROR
            )
        self.post_message(SyncFinished(report, sync_status(self.store)))

    def on_sync_finished(self, message: SyncFinished) -> None:
        self._sync_running = False
        report, status = message.report, message.status
        outcome = sync_outcome(report, status.last_error_kind, self.config.server_url)
        self.sync_state = SyncState(
            outcome.phase,
            pending=status.pending,
            last_synced=status.last_success,
            detail=outcome.detail,
            conflicts=status.conflicts_open,
            rejected=status.rejected,
            error_kind=outcome.error_kind,
        )
        self.sync_signal.publish(self.sync_state)
        if report.pulled or report.removed or report.erased:
            self._refresh_after_sync()
        elif report.pushed or report.rejected:
            # Only the outbox changed (sent rows merely adopted their version): screens reload when
            # shown again; the current one is left alone, unless it lists the outbox.
            self.data_version += 1
            if isinstance(self.screen, screen_class("sync", "SyncScreen")):
                self.screen.on_screen_resume()
        if self._sync_again:
            self.request_sync()
            return
        retry_in = self.sync_scheduler.after_sync(outcome, background=self.background_sync)
        if retry_in is not None:
            self._retry_timer = self.set_timer(retry_in, self.request_sync)

    def _refresh_after_sync(self) -> None:
        """Rows came from the commons: the shown screen reloads now, the others when shown."""
        self.data_version += 1
        self.post_message(DataChanged(local=False))
        screen = self.screen
        if isinstance(screen, FabriqueScreen):
            screen.on_screen_resume()

    def report_sync_status(self, state: SyncState) -> None:
        """Where the sync engine reports its state; safe to call from any thread."""
        self.post_message(SyncStateChanged(state))

    def on_sync_state_changed(self, message: SyncStateChanged) -> None:
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
