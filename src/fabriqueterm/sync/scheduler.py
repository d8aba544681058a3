"""When the app syncs by itself, and what it tells the person after each sync.

Pure (no Textual, no store, no HTTP): the app's shell runs the timers and the sync worker, hands
each sync's report here, shows the :class:`SyncOutcome` it gets back and sets the timer it is told
to. The app syncs a few seconds after the last local write (debounced: a burst of edits goes in one
sync), every ``sync_interval_minutes``, and after a failure that may pass by itself (the commons is
unreachable or in trouble) on a back-off timer: doubled after each failure in a row, capped, with
jitter. A refused token stops the retries until the person logs in again.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from fabriqueterm.i18n import _
from fabriqueterm.sync.errors import SyncErrorKind

if TYPE_CHECKING:
    from fabriqueterm.sync.engine import SyncReport


class SyncPhase(StrEnum):
    """Where synchronisation stands, as a person needs to know it."""

    NOT_CONFIGURED = "not_configured"  # no server_url in config.toml
    NOT_STARTED = "not_started"  # a server is configured, no sync has run in this session
    OFFLINE = "offline"  # the last attempt could not reach the server
    SYNCING = "syncing"
    SYNCED = "synced"
    ERROR = "error"  # the server answered, but something must be fixed (e.g. log in again)


#: Error kinds after which the app retries on a timer (the commons may come back by itself).
RETRIED_KINDS = frozenset(
    {
        SyncErrorKind.NETWORK,
        SyncErrorKind.TIMEOUT,
        SyncErrorKind.SERVER,
        SyncErrorKind.MALFORMED,
        SyncErrorKind.ERROR,
        SyncErrorKind.SERVER_BEHIND,
    }
)


@dataclass(frozen=True)
class SyncOutcome:
    """What the person is told: where sync stands, one line of detail, and why it failed."""

    phase: SyncPhase
    detail: str = ""
    #: None unless the last sync failed.
    error_kind: SyncErrorKind | None = None


def starting_outcome(server_url: str | None, logged_in: bool) -> SyncOutcome:
    """What the app shows before its first sync: whether a commons is set, and whether the person
    must log in before anything can be sent."""
    if not server_url:
        return SyncOutcome(SyncPhase.NOT_CONFIGURED)
    if logged_in:
        return SyncOutcome(SyncPhase.NOT_STARTED)
    return SyncOutcome(
        SyncPhase.NOT_STARTED,
        _("Not logged in: run “fabriqueterm login {url}” to sync with the commons.").format(
            url=server_url
        ),
    )


def sync_outcome(
    report: SyncReport, stored_kind: SyncErrorKind | None, server_url: str | None
) -> SyncOutcome:
    """What the person is told after a sync that produced ``report``; ``stored_kind`` is the last
    error kind the local database remembers (used when the report names none)."""
    kind = report.error_kind or stored_kind
    if not report.errors:
        phase = SyncPhase.SYNCED
    elif kind is not None and kind.offline:
        phase = SyncPhase.OFFLINE
    else:
        phase = SyncPhase.ERROR
    detail = report.summary() if not report.errors else (report.errors[-1] or "")
    if phase == SyncPhase.OFFLINE:
        detail = _(
            "The commons cannot be reached; your changes wait on this device and are sent as soon as it answers."
        )
    elif kind == SyncErrorKind.AUTH:
        detail = _(
            "The commons refused the token: run “fabriqueterm login {url}” again. Your changes wait on this device."
        ).format(url=server_url)
    return SyncOutcome(phase, detail, None if phase == SyncPhase.SYNCED else kind)


@dataclass(frozen=True)
class SyncSchedule:
    """The app's timings, in seconds."""

    #: Between the last local write and the sync that sends it.
    debounce: float = 3.0
    #: The first retry after a failure; then doubled after each failure in a row, up to the cap.
    retry_first: float = 5.0
    retry_cap: float = 300.0


#: The schedule of schedulers made without one (tests shorten it).
DEFAULT_SCHEDULE = SyncSchedule()


class SyncScheduler:
    """The back-off of one app: how long to wait before trying again after each failure."""

    def __init__(
        self,
        schedule: SyncSchedule | None = None,
        *,
        jitter: Callable[[float, float], float] = random.uniform,
    ) -> None:
        self.schedule = schedule or DEFAULT_SCHEDULE
        #: Draws the actual wait between half the back-off and the whole of it (tests fix it).
        self.jitter = jitter
        #: Failed syncs retried in a row: each one doubles the next wait.
        self.failures = 0

    @property
    def debounce(self) -> float:
        """Seconds between the last local write and the sync that sends it."""
        return self.schedule.debounce

    def after_sync(self, outcome: SyncOutcome, *, background: bool) -> float | None:
        """Seconds before the app tries again by itself after ``outcome``; None when it waits for
        the next interval, a local write or the person (a success, a refused token or request, or
        no background sync). Every None resets the back-off."""
        if background and outcome.error_kind in RETRIED_KINDS:
            delay = min(self.schedule.retry_cap, self.schedule.retry_first * 2**self.failures)
            self.failures += 1
            return self.jitter(delay / 2, delay)
        self.failures = 0
        return None
