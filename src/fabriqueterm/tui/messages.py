"""Messages the app's parts exchange, and the sync status the sync engine will feed.

The sync engine is not part of the app yet. When it comes, it reports its state by calling
:meth:`fabriqueterm.tui.app.FabriqueApp.report_sync_status` (from any thread) with a
:class:`SyncState`; every status bar and the sync screen show the last state reported. Until then
the app only reports what it knows for sure: whether a server is configured, and how many local
changes wait in the outbox.
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
        if self.pending:
            text += " · " + ngettext(
                "{count} local change to send", "{count} local changes to send", self.pending
            ).format(count=self.pending)
        return text


class SyncStatus(Message):
    """Posted to the app when the sync state changes (by the sync engine, later)."""

    def __init__(self, state: SyncState) -> None:
        super().__init__()
        self.state = state


class DataChanged(Message):
    """Posted to the app after a local write, so screens reload what they show."""
