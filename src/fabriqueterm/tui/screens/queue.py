"""The follow-up queue ("À appeler"): the coordinator's daily work list.

The loop: the queue opens on the oldest call of the first site, Enter logs an attempt (the call
form, :mod:`fabriqueterm.tui.screens.call`), and the next learner is selected. A follow-up tried
before comes back on its call-back date marked "to call back", with its attempts so far.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, ClassVar

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import DataTable, Static

from fabriqueterm.domain.enums import Closing, Milestone, Outcome
from fabriqueterm.domain.models import FollowUpAttempt
from fabriqueterm.domain.validation import DomainValidationError
from fabriqueterm.i18n import N_, _, ngettext
from fabriqueterm.store.repositories import DueFollowUp, LearnerProfile
from fabriqueterm.tui.format import format_date, format_int
from fabriqueterm.tui.screens.base import FabriqueScreen
from fabriqueterm.tui.screens.call import CallScreen
from fabriqueterm.tui.widgets.cards import contact_card, history, label_of

#: Rows of the queue held in the table at once (the count line gives the real total).
QUEUE_LIMIT = 500
OVERDUE_AFTER_DAYS = 7
#: Below this width the detail pane goes: names stay readable (see set_columns).
NARROW_WIDTH = 100
#: From this width on, the attempts in full words and the site column.
WIDE_WIDTH = 150


@dataclass(frozen=True)
class QueueData:
    lines: list[DueFollowUp]
    due: int
    overdue: int


def attempts_text(line: DueFollowUp, *, compact: bool = False) -> str:
    """A line's state in the queue: "to call back · 2 attempts · no answer" for a follow-up tried
    before ("2× no answer" when ``compact``), a doubtful number marked; "" for a first call."""
    attempts = line.attempts
    if not attempts.count:
        return ""
    outcome = label_of(Outcome, attempts.last_outcome)
    doubtful = "⚠ " if attempts.contact_doubtful else ""
    if compact:
        return doubtful + _("{count}× {outcome}").format(count=attempts.count, outcome=outcome)
    tried = ngettext("{count} attempt", "{count} attempts", attempts.count).format(
        count=attempts.count
    )
    text = " · ".join((_("to call back"), tried, outcome))
    return text + " · ⚠ " + _("number doubtful") if doubtful else text


class FollowUpQueueScreen(FabriqueScreen):
    """What is due today and overdue, oldest first, grouped by site."""

    HELP = N_(
        "Today's calls. Enter logs a call: no answer sets a call-back date, reached records what"
        " they found. Follow-ups tried before come back on their call-back date."
    )

    BINDINGS: ClassVar = [
        Binding("enter", "log_call", N_("log the call"), id="queue.log_call", priority=True),
        Binding("o", "open_learner", N_("learner"), id="queue.open_learner"),
        Binding("u", "close_unreachable", N_("close: unreachable"), id="queue.unreachable"),
        Binding("r", "refresh", N_("refresh"), id="queue.refresh"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.lines: dict[str, DueFollowUp] = {}
        self.profile: LearnerProfile | None = None
        self.data: QueueData | None = None
        self.table_layout: str | None = None

    def screen_title(self) -> str:
        return _("To call")

    def compose_body(self) -> ComposeResult:
        yield Static("", id="queue-count", classes="section-title")
        with Horizontal(id="queue"):
            yield DataTable(id="queue-table", cursor_type="row", zebra_stripes=True)
            with VerticalScroll(id="queue-detail", can_focus=False):
                yield Static("", id="queue-card")
                yield Static("", id="queue-history")

    @property
    def table(self) -> DataTable[Any]:
        return self.query_one("#queue-table", DataTable)

    def set_columns(self) -> None:
        """The learner's name first. Below :data:`NARROW_WIDTH` columns the detail pane goes;
        below :data:`WIDE_WIDTH` the attempts are told in short and the site column goes (the
        detail pane names the site), so names and call-backs stay readable at 80 columns."""
        width = self.app.size.width
        layout = "narrow" if width < NARROW_WIDTH else "medium" if width < WIDE_WIDTH else "wide"
        if layout == self.table_layout:
            return
        self.table_layout = layout
        wide = layout == "wide"
        table = self.table
        table.clear(columns=True)
        table.add_column(_("Learner"), key="learner", width=26 if wide else 22)
        table.add_column(_("Due"), key="due", width=10)
        table.add_column(_("Milestone"), key="milestone", width=16)
        # Narrower, the column's name says "call back" and its cells the attempts: "2× no answer".
        table.add_column(
            _("Calls") if wide else _("Call back"), key="calls", width=40 if wide else 21
        )
        if wide:
            table.add_column(_("Site"), key="site", width=18)
        self.query_one("#queue-detail").display = layout != "narrow"

    def on_resize(self, _event: events.Resize) -> None:
        was = self.table_layout
        self.set_columns()
        if was is not None and was != self.table_layout and self.data is not None:
            self.show_queue(self.data)

    def reload(self) -> None:
        today, store, rules = self.today, self.store, self.fabrique.follow_up_rules

        def query() -> QueueData:
            due, overdue = store.follow_ups.count_due(today)
            lines = store.follow_ups.due(today, limit=QUEUE_LIMIT, rules=rules)
            return QueueData(lines, due, overdue)

        self.load("queue", query, self.show_queue)

    def action_refresh(self) -> None:
        self.reload()

    def show_queue(self, data: QueueData) -> None:
        self.data = data
        self.set_columns()
        table = self.table
        current = self.current_id()
        index = table.cursor_row
        table.clear()
        self.lines = {}
        overdue_before = self.today - timedelta(days=OVERDUE_AFTER_DAYS)
        for line in data.lines:
            follow_up = line.follow_up
            self.lines[follow_up.id] = line
            late = follow_up.due_date < overdue_before
            cells: list[Any] = [
                Text(f"{line.learner.last_name.upper()} {line.learner.first_name}", style="bold"),
                Text(format_date(follow_up.due_date), style="bold red" if late else ""),
                label_of(Milestone, follow_up.milestone),
                Text(
                    attempts_text(line, compact=self.table_layout != "wide"),
                    style="yellow" if line.call_back else "",
                ),
            ]
            if self.table_layout == "wide":
                cells.append(line.site_name)
            table.add_row(*cells, key=follow_up.id)
        count = ngettext(
            "{due} call due, {overdue} overdue (due more than 7 days ago)",
            "{due} calls due, {overdue} overdue (due more than 7 days ago)",
            data.due,
        ).format(due=format_int(data.due), overdue=format_int(data.overdue))
        callbacks = sum(1 for line in data.lines if line.call_back)
        if callbacks:
            count += " · " + ngettext(
                "{count} to call back", "{count} to call back", callbacks
            ).format(count=format_int(callbacks))
        if data.due > len(data.lines):
            count += " · " + _("the {shown} oldest shown").format(shown=format_int(len(data.lines)))
        self.query_one("#queue-count", Static).update(count)
        if not self.lines:
            self.query_one("#queue-card", Static).update(_("Nothing to call today. Well done!"))
            self.query_one("#queue-history", Static).update("")
            self.profile = None
            self.refresh_bindings()
            return
        keys = list(self.lines)
        target = keys.index(current) if current in self.lines else min(index, len(keys) - 1)
        table.move_cursor(row=max(target, 0), animate=False)
        self.load_detail(keys[max(target, 0)])
        self.refresh_bindings()

    def current_id(self) -> str | None:
        table = self.table
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return str(key) if key is not None else None

    def current_line(self) -> DueFollowUp | None:
        key = self.current_id()
        return self.lines.get(key) if key else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "close_unreachable":
            line = self.current_line()
            return line is not None and line.attempts.may_close_unreachable
        return True

    @on(DataTable.RowHighlighted, "#queue-table")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key.value in self.lines:
            self.load_detail(str(event.row_key.value))
        self.refresh_bindings()

    @on(DataTable.RowSelected, "#queue-table")
    def _selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_log_call()

    def load_detail(self, follow_up_id: str) -> None:
        line = self.lines[follow_up_id]
        store = self.store
        learner_id = line.learner.id

        def query() -> tuple[LearnerProfile, list[FollowUpAttempt]]:
            attempts = [
                entry.attempt for entry in store.follow_ups.attempts.for_learner(learner_id)
            ]
            return store.learners.profile(learner_id), attempts

        self.load("detail", query, self.show_detail, debounce=0.03)

    def show_detail(self, loaded: tuple[LearnerProfile, list[FollowUpAttempt]]) -> None:
        profile, attempts = loaded
        self.profile = profile
        line = self.current_line()
        card = contact_card(profile)
        if line is not None:
            card.append(
                _("{milestone} follow-up due {date}").format(
                    milestone=label_of(Milestone, line.follow_up.milestone),
                    date=format_date(line.follow_up.due_date),
                ),
                style="bold",
            )
            if line.attempts.contact_doubtful:
                card.append("\n⚠ " + _("number doubtful"), style="bold yellow")
        self.query_one("#queue-card", Static).update(card)
        self.query_one("#queue-history", Static).update(history(profile, self.today, attempts))

    def action_log_call(self) -> None:
        line = self.current_line()
        if line is None:
            return
        self.app.push_screen(CallScreen(line, self.fabrique.follow_up_rules), self.after_call)

    def after_call(self, said: str | None) -> None:
        if said:
            self.notify(said, title=_("Call saved"))
            self.after_write()

    def action_close_unreachable(self) -> None:
        line = self.current_line()
        if line is None or not line.attempts.may_close_unreachable:
            return
        try:
            self.store.follow_ups.close_unreachable(
                line.follow_up.id, self.today, rules=self.fabrique.follow_up_rules
            )
        except DomainValidationError as error:
            self.notify(str(error), severity="error")
            return
        learner = line.learner
        self.after_call(
            _("{name}: follow-up closed ({closing}).").format(
                name=f"{learner.first_name} {learner.last_name}",
                closing=label_of(Closing, Closing.UNREACHABLE.value),
            )
        )

    def action_open_learner(self) -> None:
        line = self.current_line()
        if line is not None:
            self.fabrique.open_learner(line.learner.id)
