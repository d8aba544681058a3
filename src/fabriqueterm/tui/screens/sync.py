"""The sync screen: where sync stands, the local changes waiting in the outbox, the ones the
commons refused (with its reason), and the conflicts a person must decide.

It shows real data only: the outbox, the open conflict records and the last :class:`SyncState`
reported to the app by its sync worker. ``s`` syncs now; ``enter`` on a conflict opens the
conflict view (mine and theirs side by side, field by field), whose choice is pushed as a new
mutation.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Label, Static

from fabriqueterm.domain.validation import FIELD_LABELS, DomainValidationError
from fabriqueterm.i18n import N_, _, ngettext
from fabriqueterm.store.outbox import OutboxEntry
from fabriqueterm.store.replica import Replica
from fabriqueterm.sync.engine import rejection_message
from fabriqueterm.tui.format import format_int
from fabriqueterm.tui.messages import SyncPhase, SyncState
from fabriqueterm.tui.screens.base import AppAccess, FabriqueScreen
from fabriqueterm.tui.widgets.cards import login_card

OUTBOX_SHOWN = 500

_ENTITY_LABELS = {
    "site": N_("site"),
    "partner": N_("partner"),
    "partner_site": N_("partner's site"),
    "cohort": N_("cohort"),
    "learner": N_("learner"),
    "follow_up": N_("follow-up"),
    "placement": N_("placement"),
    "conflict": N_("conflict"),
}
_OP_LABELS = {
    "create": N_("created"),
    "update": N_("changed"),
    "delete": N_("deleted"),
    "erase": N_("erased"),
}
#: Entities whose conflicts "take mine" can settle with a repository update.
_REPOSITORIES = {
    "site": "sites",
    "partner": "partners",
    "cohort": "cohorts",
    "learner": "learners",
    "placement": "placements",
    "follow_up": "follow_ups",
}


@dataclass(frozen=True)
class OutboxData:
    entries: list[OutboxEntry]
    pending: int
    rejected: list[OutboxEntry]
    conflicts: list[dict[str, Any]]


def show_value(text: str | None) -> str:
    """A conflict value (JSON text) as a person reads it."""
    if text is None:
        return _("(erased)")
    try:
        value = json.loads(text)
    except ValueError:
        return text
    if value is None or value == "":
        return "—"
    if value is True:
        return _("yes")
    if value is False:
        return _("no")
    return str(value)


def entity_label(entity: str) -> str:
    return _(_ENTITY_LABELS.get(entity, entity))


def field_name(field: str) -> str:
    return _(FIELD_LABELS.get(field, field))


class SyncScreen(FabriqueScreen):
    """Local changes waiting to be sent to the commons, refused ones, and conflicts."""

    HELP = N_(
        "What this device has not sent to the commons yet, what it refused, and the conflicts to decide."
    )

    DEFAULT_CSS = """
    SyncScreen #rejected, SyncScreen #conflicts { height: auto; max-height: 8; }
    SyncScreen #rejected, SyncScreen #conflicts, SyncScreen #rejected-count, SyncScreen #conflicts-count {
        display: none;
    }
    """

    BINDINGS: ClassVar = [
        Binding("s", "sync_now", N_("sync now"), id="sync.now"),
        Binding("r", "refresh", N_("refresh"), id="sync.refresh"),
    ]

    def screen_title(self) -> str:
        return _("Sync")

    def compose_body(self) -> ComposeResult:
        with Vertical(id="sync"):
            yield Static("", id="sync-state", classes="section-title")
            yield Static("", id="sync-explain")
            yield Static("", id="conflicts-count", classes="section-title")
            conflicts: DataTable[Any] = DataTable(
                id="conflicts", cursor_type="row", zebra_stripes=True
            )
            conflicts.add_column(_("What"), key="entity")
            conflicts.add_column(_("Field"), key="field")
            conflicts.add_column(_("Theirs (commons)"), key="theirs")
            conflicts.add_column(_("Mine"), key="mine")
            conflicts.add_column(_("By"), key="who")
            yield conflicts
            yield Static("", id="rejected-count", classes="section-title")
            rejected: DataTable[Any] = DataTable(
                id="rejected", cursor_type="row", zebra_stripes=True
            )
            rejected.add_column("#", key="seq")
            rejected.add_column(_("What"), key="entity")
            rejected.add_column(_("Change"), key="op")
            rejected.add_column(_("Reason"), key="reason")
            yield rejected
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

    def on_screen_resume(self) -> None:
        super().on_screen_resume()
        self._focus_shown_table()

    def _focus_shown_table(self) -> None:
        """Auto-focus may land on a hidden table (no conflict, nothing refused): the outbox then."""
        focused = self.focused
        if focused is None or not focused.display:
            self.query_one("#outbox", DataTable).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "sync_now":
            return self.fabrique.sync_configured
        return True

    def show_state(self, state: SyncState) -> None:
        self.query_one("#sync-state", Static).update(state.label())
        explain: str | Text
        app = self.fabrique
        if state.phase == SyncPhase.NOT_CONFIGURED or (
            state.phase == SyncPhase.NOT_STARTED and not app.sync_configured
        ):
            # No server, or no token: the exact command that connects this computer.
            explain = login_card(app.config.server_url, app.config_file_shown)
        elif state.phase == SyncPhase.NOT_STARTED:
            explain = state.detail or _(
                "A commons server is set but no sync has run yet. The changes below wait on this device; nothing is lost."
            )
        else:
            explain = state.detail
        self.query_one("#sync-explain", Static).update(explain)

    def reload(self) -> None:
        store = self.store

        def query() -> OutboxData:
            return OutboxData(
                store.outbox.entries(limit=OUTBOX_SHOWN),
                store.outbox.count(),
                store.outbox.entries(state="rejected", limit=OUTBOX_SHOWN),
                Replica(store).open_conflicts(),
            )

        self.load("outbox", query, self.show_outbox)

    def action_refresh(self) -> None:
        self.reload()

    def action_sync_now(self) -> None:
        self.fabrique.request_sync()

    def show_outbox(self, data: OutboxData) -> None:
        self.conflicts = data.conflicts
        count = ngettext(
            "{count} local change waiting to be sent",
            "{count} local changes waiting to be sent",
            data.pending,
        ).format(count=format_int(data.pending))
        if data.pending > len(data.entries):
            count += " · " + _("the {shown} oldest shown").format(
                shown=format_int(len(data.entries))
            )
        self.query_one("#outbox-count", Static).update(count)
        table = self.query_one("#outbox", DataTable)
        table.clear()
        for entry in data.entries:
            table.add_row(
                str(entry.seq),
                entry.created_at[:16].replace("T", " "),
                entity_label(entry.entity),
                _(_OP_LABELS.get(entry.op, entry.op)),
                ", ".join(sorted(entry.fields))[:70],
                key=str(entry.seq),
            )
        self._show_conflicts(data.conflicts)
        self._show_rejected(data.rejected)

    def _show_conflicts(self, conflicts: list[dict[str, Any]]) -> None:
        title = self.query_one("#conflicts-count", Static)
        table = self.query_one("#conflicts", DataTable)
        title.display = table.display = bool(conflicts)
        title.update(
            ngettext(
                "{count} conflict to resolve (enter: compare and choose)",
                "{count} conflicts to resolve (enter: compare and choose)",
                len(conflicts),
            ).format(count=format_int(len(conflicts)))
        )
        table.clear()
        self._focus_shown_table()
        for conflict in conflicts:
            table.add_row(
                entity_label(conflict["row_entity"]),
                field_name(conflict["field"]),
                show_value(conflict["server_value"])[:30],
                show_value(conflict["client_value"])[:30],
                conflict["coordinator_name"] or "",
                key=conflict["id"],
            )

    def _show_rejected(self, rejected: list[OutboxEntry]) -> None:
        title = self.query_one("#rejected-count", Static)
        table = self.query_one("#rejected", DataTable)
        title.display = table.display = bool(rejected)
        title.update(
            ngettext(
                "{count} change refused by the commons (fix the record: the fix is sent as a new change)",
                "{count} changes refused by the commons (fix the records: the fixes are sent as new changes)",
                len(rejected),
            ).format(count=format_int(len(rejected)))
        )
        table.clear()
        for entry in rejected:
            table.add_row(
                str(entry.seq),
                entity_label(entry.entity),
                _(_OP_LABELS.get(entry.op, entry.op)),
                rejection_message(entry.reason).replace("\n", "; ")[:90],
                key=str(entry.seq),
            )

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id != "conflicts" or event.row_key.value is None:
            return
        chosen = next(
            (c for c in getattr(self, "conflicts", []) if c["id"] == event.row_key.value), None
        )
        if chosen is None:
            return
        same_row = [
            c
            for c in self.conflicts
            if c["row_entity"] == chosen["row_entity"] and c["row_id"] == chosen["row_id"]
        ]
        self.app.push_screen(ConflictScreen(same_row), self._after_conflict)

    def _after_conflict(self, resolved: int | None) -> None:
        if resolved:
            self.after_write()
            self.fabrique.request_sync()


class ConflictScreen(AppAccess, ModalScreen[int]):
    """One record's conflicts: theirs and mine side by side, field by field; ``t`` keeps theirs,
    ``m`` takes mine for the highlighted field. Dismissed with the number of fields decided."""

    DEFAULT_CSS = """
    ConflictScreen #conflict-fields { height: auto; max-height: 20; }
    """

    BINDINGS: ClassVar = [
        Binding("t", "decide('kept_server')", N_("keep theirs"), id="conflict.theirs"),
        Binding("m", "decide('took_client')", N_("take mine"), id="conflict.mine"),
        Binding("escape", "close", N_("close"), id="conflict.close"),
    ]

    def __init__(self, conflicts: list[dict[str, Any]]) -> None:
        super().__init__()
        self.conflicts = {c["id"]: c for c in conflicts}
        self.decided = 0

    def compose(self) -> ComposeResult:
        first = next(iter(self.conflicts.values()))
        with Vertical(id="conflict-dialog", classes="dialog"):
            yield Label(
                _("Conflict on {what} {name}").format(
                    what=entity_label(first["row_entity"]), name=self._row_name(first)
                ),
                classes="dialog-title",
            )
            yield Static(
                _(
                    "The same field was changed here and on the commons. The commons kept its value "
                    "for now; nothing is lost until you choose."
                ),
                classes="dialog-help",
            )
            table: DataTable[Any] = DataTable(id="conflict-fields", cursor_type="row")
            table.add_column(_("Field"), key="field")
            table.add_column(_("Before"), key="base")
            table.add_column(_("Theirs (commons)"), key="theirs")
            table.add_column(_("Mine"), key="mine")
            for conflict in self.conflicts.values():
                table.add_row(
                    field_name(conflict["field"]),
                    show_value(conflict["base_value"]),
                    show_value(conflict["server_value"]),
                    show_value(conflict["client_value"]),
                    key=conflict["id"],
                )
            yield table
            yield Static("", id="conflict-errors", classes="form-error")
            yield Static(_("t keep theirs · m take mine · esc close"), classes="dialog-keys")

    def on_mount(self) -> None:
        self.query_one("#conflict-fields", DataTable).focus()

    def _row_name(self, conflict: dict[str, Any]) -> str:
        repository = _REPOSITORIES.get(conflict["row_entity"])
        if repository is None:
            return ""
        try:
            row = getattr(self.store, repository).get(conflict["row_id"])
        except LookupError:
            return ""
        if conflict["row_entity"] == "learner":
            return f"{row.first_name} {row.last_name}"
        return str(getattr(row, "name", ""))

    def action_decide(self, resolution: str) -> None:
        table = self.query_one("#conflict-fields", DataTable)
        if not table.row_count:
            return
        conflict_id = str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)
        conflict = self.conflicts[conflict_id]
        errors = self.query_one("#conflict-errors", Static)
        try:
            if resolution == "took_client":
                self._take_mine(conflict)
            Replica(self.store).resolve_conflict(conflict_id, resolution)
        except (DomainValidationError, LookupError, ValueError) as error:
            errors.update(_("Could not take your value: {error}").format(error=error))
            self.app.bell()
            return
        errors.update("")
        self.decided += 1
        del self.conflicts[conflict_id]
        table.remove_row(conflict_id)
        if not self.conflicts:
            self.dismiss(self.decided)

    def _take_mine(self, conflict: dict[str, Any]) -> None:
        """Mine becomes a new mutation: a normal update of the field with my value."""
        repository = _REPOSITORIES.get(conflict["row_entity"])
        if repository is None or conflict["kind"] != "field" or conflict["client_value"] is None:
            raise ValueError(_("this conflict can only be settled by keeping the commons' value"))
        value = json.loads(conflict["client_value"])
        getattr(self.store, repository).update(conflict["row_id"], {conflict["field"]: value})

    def action_close(self) -> None:
        self.dismiss(self.decided)
