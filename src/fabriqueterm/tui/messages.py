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
from enum import StrEnum

from textual.message import Message

from fabriqueterm.i18n import _, ngettext


class SyncPhase(StrEnum):
    """Where synchronisation stands, as a person needs to know it."""

    NOT_CONFIGURED = "not_configured"  # no server_url in config.toml
    NOT_STARTED = "not_started"  # a server is configured, no sync has run in this session
    OFFLINE = "offline"  # the last attempt could not reach the server
    SYNCING = "syncing"
    SYNCED = "synced"
    ERROR = "error"  # the server answered, but something must be fixed (e.g. log in again)


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
    #: The kind of the last error (sync.client's error kinds: "auth", "network", "server"…).
    error_kind: str | None = None

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
        if self.phase == SyncPhase.ERROR and self.error_kind == "auth":
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


class SyncStatus(Message):
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
