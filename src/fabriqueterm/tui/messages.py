"""Messages the app's parts exchange, and the sync status the background sync feeds.

The app's sync worker reports its state by calling
:meth:`fabriqueterm.tui.app.FabriqueApp.report_sync_status` (from any thread) with a
:class:`SyncState`; every status bar and the sync screen show the last state reported. Without a
server (or a token) the app only reports what it knows for sure: whether a server is configured,
and how many local changes wait in the outbox.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from textual.message import Message

from fabriqueterm.i18n import _, ngettext
from fabriqueterm.sync.errors import SyncErrorKind

# SyncPhase is decided by the sync scheduler; screens and widgets import it from here too.
from fabriqueterm.sync.scheduler import SyncPhase

if TYPE_CHECKING:
    from fabriqueterm.sync.engine import SyncReport, SyncStatus


@dataclass(frozen=True)
class SyncState:
    """A snapshot of synchronisation for the status bar and the sync screen."""

    phase: SyncPhase
    pending: int = 0
    last_synced: datetime | None = None
    detail: str = ""
    #: Open conflicts a person must decide, and changes the commons refused.
    conflicts: int = 0
    rejected: int = 0
    #: The kind of the last error (see :mod:`fabriqueterm.sync.errors`).
    error_kind: SyncErrorKind | None = None

    def label(self) -> str:
        """One short line, in the UI language."""
        text = {
            SyncPhase.NOT_CONFIGURED: _("sync not configured"),
            SyncPhase.NOT_STARTED: _("sync not started"),
            SyncPhase.OFFLINE: _("offline"),
            SyncPhase.SYNCING: _("syncing…"),
            SyncPhase.SYNCED: _("synced"),
            SyncPhase.ERROR: _("sync error"),
        }[self.phase]
        if self.phase == SyncPhase.ERROR and self.error_kind == SyncErrorKind.AUTH:
            text = _("log in again to sync")
        if self.pending:
            text += " · " + ngettext(
                "{count} local change to send", "{count} local changes to send", self.pending
            ).format(count=self.pending)
        if self.conflicts:
            text += " · " + ngettext(
                "{count} conflict to resolve", "{count} conflicts to resolve", self.conflicts
            ).format(count=self.conflicts)
        if self.rejected:
            text += " · " + ngettext(
                "{count} change refused", "{count} changes refused", self.rejected
            ).format(count=self.rejected)
        if self.last_synced is not None:
            text += " · " + _("last sync {time}").format(time=format_moment(self.last_synced))
        return text


def format_moment(moment: datetime) -> str:
    """A past instant in local time: "14:05" today, "24/11 14:05" before."""
    local = moment.astimezone()
    if local.date() == datetime.now().astimezone().date():
        return local.strftime("%H:%M")
    return local.strftime("%d/%m %H:%M")


class SyncStateChanged(Message):
    """Posted to the app when the sync state changes (by the sync worker)."""

    def __init__(self, state: SyncState) -> None:
        super().__init__()
        self.state = state


class DataChanged(Message):
    """Posted to the app after a write, so screens reload what they show. ``local`` is False when
    the rows came from the commons (a sync pulled them): those need no sync of their own."""

    def __init__(self, *, local: bool = True) -> None:
        super().__init__()
        self.local = local


class SyncFinished(Message):
    """The sync worker is done: what it did and what the local database now says."""

    def __init__(self, report: SyncReport, status: SyncStatus) -> None:
        super().__init__()
        self.report = report
        self.status = status


class StoreOpened(Message):
    """The store-opening thread is done: ``error`` says why it could not open, if so."""

    def __init__(self, error: str | None = None) -> None:
        super().__init__()
        self.error = error
