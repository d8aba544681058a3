"""The app's background sync: its timers, its worker, and the sync status it publishes.

When to sync and what to say about it is :mod:`fabriqueterm.sync.scheduler`'s call: this runs the
timers it asks for (after local writes, every ``sync_interval_minutes``, retries after a failure),
one sync at a time in a thread worker, and publishes each new :class:`SyncState` on the app's
``sync_signal`` (status bars, sync screen).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from textual.signal import Signal
from textual.timer import Timer

from fabriqueterm.sync.errors import SyncErrorKind
from fabriqueterm.sync.scheduler import SyncScheduler, starting_outcome, sync_outcome
from fabriqueterm.tui.messages import (
    DataChanged,
    SyncFinished,
    SyncPhase,
    SyncState,
    SyncStateChanged,
)
from fabriqueterm.tui.screens.base import FabriqueScreen
from fabriqueterm.tui.sections import MODULES_READY, STORE_WAIT_SECONDS, screen_class

if TYPE_CHECKING:
    from textual.app import App

    from fabriqueterm.config import Config
    from fabriqueterm.store.db import Store
    from fabriqueterm.sync.client import RetryPolicy

    _App = App[int]
else:
    _App = object  # a mixin: Textual's class machinery sees only the app that uses it


class BackgroundSync(_App):
    """Mixed into the app: syncs with the commons in the background, never blocking the UI."""

    # The app's (see FabriqueApp and StoreStartup).
    config: Config
    data_version: int
    store: Store
    store_is_open: bool

    def _init_background_sync(self, token: str | None, sync_retry: RetryPolicy | None) -> None:
        #: Published with each new :class:`SyncState` (status bars, sync screen).
        self.sync_signal: Signal[SyncState] = Signal(self, "sync-status")
        pending = self.store.outbox.count() if self.store_is_open else 0
        start = starting_outcome(self.config.server_url, logged_in=bool(token))
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

    def on_data_changed(self, message: DataChanged) -> None:
        self.sync_state = replace(self.sync_state, pending=self.store.outbox.count())
        self.sync_signal.publish(self.sync_state)
        if message.local and self.background_sync:
            # Debounced: a burst of edits is sent in one sync, a few seconds after the last one.
            if self._debounce_timer is not None:
                self._debounce_timer.stop()
            self._debounce_timer = self.set_timer(self.sync_scheduler.debounce, self.request_sync)

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
        MODULES_READY.wait(STORE_WAIT_SECONDS)  # never import alongside the store-opening thread
        from fabriqueterm.sync.client import CommonsClient
        from fabriqueterm.sync.engine import SyncReport, sync_once, sync_status

        url = self.config.server_url
        token = self._token or ""
        try:
            client = CommonsClient(
                url,
                token,
                retry=self._sync_retry,
                allow_http=self.config.allow_http,
                ca_bundle=self.config.ca_bundle or None,
            )
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
