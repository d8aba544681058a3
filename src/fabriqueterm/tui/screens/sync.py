"""The sync screen: the local changes waiting in the outbox, and where sync stands.

It shows real data only: the outbox's pending entries and the last :class:`SyncState` reported to
the app. The sync engine (a later piece) will report its progress through
``FabriqueApp.report_sync_status``; pushing and pulling will be started from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from fabriqueterm.i18n import N_, _, ngettext
from fabriqueterm.store.outbox import OutboxEntry
from fabriqueterm.tui.format import format_int
from fabriqueterm.tui.messages import SyncPhase, SyncState
from fabriqueterm.tui.screens.base import FabriqueScreen

OUTBOX_SHOWN = 500

_ENTITY_LABELS = {
    "site": N_("site"),
    "partner": N_("partner"),
    "partner_site": N_("partner's site"),
    "cohort": N_("cohort"),
    "learner": N_("learner"),
    "follow_up": N_("follow-up"),
    "placement": N_("placement"),
}
_OP_LABELS = {"create": N_("created"), "update": N_("changed"), "delete": N_("deleted"), "erase": N_("erased")}


@dataclass(frozen=True)
class OutboxData:
    entries: list[OutboxEntry]
    pending: int


class SyncScreen(FabriqueScreen):
    """Local changes waiting to be sent to the commons."""

    HELP = N_("What this device has not sent to the commons yet.")

    BINDINGS: ClassVar = [Binding("r", "refresh", N_("refresh"), id="sync.refresh")]

    def screen_title(self) -> str:
        return _("Sync")

    def compose_body(self) -> ComposeResult:
        with Vertical(id="sync"):
            yield Static("", id="sync-state", classes="section-title")
            yield Static("", id="sync-explain")
            yield Static("", id="outbox-count", classes="section-title")
            table: DataTable[Any] = DataTable(id="outbox", cursor_type="row", zebra_stripes=True)
            table.add_column("#", key="seq")
            table.add_column(_("When"), key="when")
            table.add_column(_("What"), key="entity")
            table.add_column(_("Change"), key="op")
            table.add_column(_("Fields"), key="fields")
            yield table

    def on_mount(self) -> None:
        super().on_mount()
        self.fabrique.sync_signal.subscribe(self, self.show_state)
        self.show_state(self.fabrique.sync_state)

    def show_state(self, state: SyncState) -> None:
        self.query_one("#sync-state", Static).update(state.label())
        if state.phase == SyncPhase.NOT_CONFIGURED:
            explain = _(
                "No commons server is set (server_url in {file}). Everything you enter stays on this "
                "device and is kept in the list below, ready to be sent once sync is set up."
            ).format(file=self.fabrique.config_file_shown)
        elif state.phase == SyncPhase.NOT_STARTED:
            explain = _(
                "A commons server is set but no sync has run yet. The changes below wait on this device; nothing is lost."
            )
        else:
            explain = state.detail
        self.query_one("#sync-explain", Static).update(explain)

    def reload(self) -> None:
        store = self.store

        def query() -> OutboxData:
            return OutboxData(store.outbox.entries(limit=OUTBOX_SHOWN), store.outbox.count())

        self.load("outbox", query, self.show_outbox)

    def action_refresh(self) -> None:
        self.reload()

    def show_outbox(self, data: OutboxData) -> None:
        count = ngettext(
            "{count} local change waiting to be sent", "{count} local changes waiting to be sent", data.pending
        ).format(count=format_int(data.pending))
        if data.pending > len(data.entries):
            count += " · " + _("the {shown} oldest shown").format(shown=format_int(len(data.entries)))
        self.query_one("#outbox-count", Static).update(count)
        table = self.query_one("#outbox", DataTable)
        table.clear()
        for entry in data.entries:
            table.add_row(
                str(entry.seq),
                entry.created_at[:16].replace("T", " "),
                _(_ENTITY_LABELS.get(entry.entity, entry.entity)),
                _(_OP_LABELS.get(entry.op, entry.op)),
                ", ".join(sorted(entry.fields))[:70],
                key=str(entry.seq),
            )
