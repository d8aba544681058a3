"""Start-up: the app paints its first screen before the data layer is loaded.

SQLAlchemy, the models and the sync client take longer to import than Textual itself, so the store is
opened in a thread once the first frame is shown, the other screen modules are imported after it, and
the dashboard fills in when its figures are counted. A store that cannot be opened closes the app
with its message.

Once open, and whenever the day changes while the app runs, the planned cohorts whose start date is
reached become running (docs/domain.md, "Cohort lifecycle"), before the screens count anything.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from typing import TYPE_CHECKING

from fabriqueterm.i18n import _
from fabriqueterm.store.errors import StoreError
from fabriqueterm.tui.messages import StoreOpened
from fabriqueterm.tui.sections import MODULES_READY, SCREEN_MODULES, STORE_WAIT_SECONDS

if TYPE_CHECKING:
    from textual.app import App
    from textual.signal import Signal

    from fabriqueterm.domain.dates import Clock
    from fabriqueterm.store.db import Store
    from fabriqueterm.tui.messages import SyncState

    _App = App[int]
else:
    _App = object  # a mixin: Textual's class machinery sees only the app that uses it


class StoreStartup(_App):
    """Mixed into the app: holds the local store, or opens it in a thread after the first frame."""

    # The app's, published once the store is open (see BackgroundSync).
    sync_state: SyncState
    sync_signal: Signal[SyncState]
    background_sync: bool
    clock: Clock
    data_changed: Callable[[], None]

    #: How often the app looks whether the day changed (the cohorts' statuses follow the dates).
    DAY_CHECK_SECONDS = 60.0

    def _init_store(self, store: Store | Callable[[], Store]) -> None:
        #: The store, or None until the opener given instead has run (in a thread, after the first frame).
        self._store: Store | None = None
        self._store_opener: Callable[[], Store] | None = None
        self._store_ready = threading.Event()
        self._store_error: str | None = None
        #: The day the cohorts' statuses were last brought in line with their dates.
        self._statuses_day: date | None = None
        if callable(store):
            self._store_opener = store
        else:
            self._store = store  # type: ignore[assignment]
            self._store_ready.set()
            MODULES_READY.set()  # whoever opened it imported the data layer already
            self._start_running_cohorts(store)

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
        self.set_interval(self.DAY_CHECK_SECONDS, self.check_day, name="day-check")

    def _start_running_cohorts(self, store: Store) -> int:
        """Planned cohorts whose start date is reached become running (one transaction, synced
        like any save); how many. A failure to write is not a reason to refuse the app: the next
        day check tries again."""
        self._statuses_day = self.clock.today()
        try:
            return len(store.cohorts.start_running())
        except Exception:  # noqa: BLE001 - a full disk, a row refused: tried again on the next check
            self._statuses_day = None
            return 0

    def check_day(self) -> None:
        """When the day has changed since the last look, bring the cohorts' statuses in line with
        the dates (in a thread), then let the screens reload."""
        if self._store is None or self._statuses_day == self.clock.today():
            return
        store = self._store
        self._statuses_day = self.clock.today()

        def work() -> None:
            if self._start_running_cohorts(store):
                self.call_from_thread(self.data_changed)

        self.run_worker(work, thread=True, group="day-check", exit_on_error=False, name="day-check")

    def _open_store(self) -> None:
        """In a thread: import the data layer, open the store, then import the other screens."""
        assert self._store_opener is not None
        try:
            store = self._store_opener()
            self._start_running_cohorts(store)  # before any screen counts the cohorts
            self._store = store
        except Exception as error:  # noqa: BLE001 - shown to the person, the app closes cleanly
            self._store_error = str(error) or type(error).__name__
            self._store_ready.set()
            MODULES_READY.set()
            self.post_message(StoreOpened(self._store_error))
            return
        self._store_ready.set()
        self.post_message(StoreOpened())
        try:
            for module in SCREEN_MODULES:
                importlib.import_module(f"fabriqueterm.tui.screens.{module}")
            importlib.import_module("fabriqueterm.sync.engine")
            importlib.import_module("fabriqueterm.sync.client")
        finally:
            MODULES_READY.set()

    def on_store_opened(self, message: StoreOpened) -> None:
        if message.error is not None:
            self.exit(return_code=2, message=message.error)
            return
        from fabriqueterm.store.opening import take_notices

        for notice in take_notices():  # an empty file was moved aside: said, never silent
            self.notify(notice, severity="warning", timeout=60)
        self.sync_state = replace(self.sync_state, pending=self.store.outbox.count())
        self.sync_signal.publish(self.sync_state)
        if self.background_sync:
            self.request_sync()

    def close_store(self) -> None:
        """Close the store if it was opened (after the app exits)."""
        if self._store is not None:
            self._store.close()
