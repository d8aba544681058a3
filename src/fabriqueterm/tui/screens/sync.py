"""The sync screen: where sync stands, the local changes waiting in the outbox, the ones the
commons refused (with its reason), and the conflicts a person must decide.

It shows real data only: the outbox, the open conflict records and the last :class:`SyncState`
reported to the app by its sync worker. ``s`` syncs now; ``enter`` on a conflict opens the
conflict view (mine and theirs side by side, field by field), whose choice is pushed as a new
mutation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from fabriqueterm.domain.labels import entity_label, fields_in_words
from fabriqueterm.domain.validation import DomainValidationError
from fabriqueterm.i18n import N_, _, ngettext
from fabriqueterm.store.outbox import OutboxEntry
from fabriqueterm.store.repositories.conflicts import ConflictLine
from fabriqueterm.sync.engine import rejection_message
from fabriqueterm.tui.format import fit_words, format_int
from fabriqueterm.tui.messages import SyncPhase, SyncState
from fabriqueterm.tui.screens.base import FabriqueScreen
from fabriqueterm.tui.screens.conflict_list import LIST_COLUMNS, list_cells, list_widths
from fabriqueterm.tui.screens.conflicts import (
    ConflictScreen,
    Decider,
    EditValueForm,
    decide_bindings,
    load_conflicts,
)
from fabriqueterm.tui.widgets.cards import login_card

OUTBOX_SHOWN = 500
#: Cells of the screen beside the conflict list: #sync's padding and a vertical scrollbar.
SIDE_CELLS = 4

_OP_LABELS = {
    "create": N_("created"),
    "update": N_("changed"),
    "delete": N_("deleted"),
    "erase": N_("erased"),
}


@dataclass(frozen=True)
class OutboxData:
    entries: list[OutboxEntry]
    pending: int
    rejected: list[OutboxEntry]
    conflicts: list[ConflictLine]
    names: dict[str, str] = field(default_factory=dict)


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
        *decide_bindings("sync.conflict"),
    ]

    def screen_title(self) -> str:
        return _("Sync")

    def compose_body(self) -> ComposeResult:
        with Vertical(id="sync"):
            yield Static("", id="sync-state", classes="section-title")
            yield Static("", id="sync-explain")
            yield Static("", id="conflicts-count", classes="section-title")
            # Its columns follow the width and the conflicts shown (_show_conflicts).
            yield DataTable(id="conflicts", cursor_type="row", zebra_stripes=True)
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

    def on_resize(self) -> None:
        if getattr(self, "conflicts", None):
            self._show_conflicts(self.conflicts)

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
        if action == "decide":  # only on the list of conflicts
            return self.check_conflict_action()
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
            conflicts, names = load_conflicts(store)
            return OutboxData(
                store.outbox.entries(limit=OUTBOX_SHOWN),
                store.outbox.count(),
                store.outbox.entries(state="rejected", limit=OUTBOX_SHOWN),
                conflicts,
                names,
            )

        self.load("outbox", query, self.show_outbox)

    def action_refresh(self) -> None:
        self.reload()

    def action_sync_now(self) -> None:
        self.fabrique.request_sync()

    def show_outbox(self, data: OutboxData) -> None:
        self.conflicts = data.conflicts
        self.names = data.names
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
                fields_in_words(entry.fields),
                key=str(entry.seq),
            )
        self._show_conflicts(data.conflicts)
        self._show_rejected(data.rejected)

    def _show_conflicts(self, conflicts: list[ConflictLine]) -> None:
        title = self.query_one("#conflicts-count", Static)
        table = self.query_one("#conflicts", DataTable)
        title.display = table.display = bool(conflicts)
        title.update(
            ""
            if not conflicts
            else ngettext(
                "{count} conflict to decide (m keep mine · t take theirs · e type another · enter compare)",
                "{count} conflicts to decide (m keep mine · t take theirs · e type another · enter compare)",
                len(conflicts),
            ).format(count=format_int(len(conflicts)))
        )
        row = table.cursor_row
        had_focus = table.has_focus
        cells = [list_cells(line, self.names) for line in conflicts]
        # The learner and the field stay in view at 80 columns: "theirs by" goes, values shorten.
        widths = list_widths(cells, self.size.width - SIDE_CELLS)
        table.clear(columns=True)
        for column in LIST_COLUMNS:
            if column.key in widths:
                width = widths[column.key]
                table.add_column(fit_words(_(column.label), width), key=column.key, width=width)
        for line, texts in zip(conflicts, cells, strict=True):
            table.add_row(
                *(fit_words(texts[key], width) for key, width in widths.items()), key=line.id
            )
        if conflicts:
            # The next conflict is highlighted after a decision; a first list takes the focus.
            table.move_cursor(row=min(row, len(conflicts) - 1))
            if had_focus or not getattr(self, "_conflicts_shown", False):
                table.focus()
            self._conflicts_shown = True
        self._focus_shown_table()

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

    def _highlighted_conflict(self) -> ConflictLine | None:
        table = self.query_one("#conflicts", DataTable)
        if not table.display or not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return next((c for c in getattr(self, "conflicts", []) if c.id == key), None)

    def check_conflict_action(self) -> bool:
        return self.focused is self.query_one("#conflicts", DataTable)

    def action_decide(self, choice: str) -> None:
        """Decide the highlighted conflict of the list (same keys as the conflict view)."""
        line = self._highlighted_conflict()
        if line is None:
            return
        decider = Decider(self.store)
        if choice == "edit":
            if not decider.can_edit(line):
                self.notify(_("This value cannot be typed: keep mine or take theirs."))
                self.app.bell()
                return
            self.app.push_screen(EditValueForm(line, self.names), self._after_conflict)
            return
        try:
            if choice == "mine":
                decider.take_mine(line)
            else:
                decider.keep_theirs(line)
        except (DomainValidationError, LookupError, ValueError) as error:
            self.notify(_("Could not take your value: {error}").format(error=error))
            self.app.bell()
            return
        self._after_conflict(1)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id != "conflicts" or event.row_key.value is None:
            return
        chosen = next(
            (c for c in getattr(self, "conflicts", []) if c.id == event.row_key.value), None
        )
        if chosen is None:
            return
        same_row = [
            c
            for c in self.conflicts
            if c.row_entity == chosen.row_entity and c.row_id == chosen.row_id
        ]
        self.app.push_screen(ConflictScreen(same_row, self.names), self._after_conflict)

    def _after_conflict(self, resolved: int | bool | None) -> None:
        if resolved:
            self.after_write()
            self.fabrique.request_sync()
