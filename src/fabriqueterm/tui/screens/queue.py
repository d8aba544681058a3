"""The follow-up queue ("À appeler"): the coordinator's daily work list, and the call log.

The loop: the queue opens on the oldest call of the first site, Enter logs the call (and the
placement when the learner found something), and the next learner is selected.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Checkbox, DataTable, Label, Static

from fabriqueterm.domain.enums import Channel, Milestone, Outcome
from fabriqueterm.domain.validation import DomainValidationError, FieldError
from fabriqueterm.i18n import N_, _, ngettext
from fabriqueterm.store.repositories import DueFollowUp, LearnerProfile
from fabriqueterm.tui.format import date_for_input, format_date, format_int, format_phone
from fabriqueterm.tui.screens.base import FabriqueScreen
from fabriqueterm.tui.screens.forms import placement_fields
from fabriqueterm.tui.screens.modal import (
    FormField,
    ModalForm,
    enum_options,
    read_field,
    render_field,
    save_and_cancel,
)
from fabriqueterm.tui.widgets.cards import contact_card, history, label_of

#: Rows of the queue held in the table at once (the count line gives the real total).
QUEUE_LIMIT = 500
OVERDUE_AFTER_DAYS = 7


@dataclass(frozen=True)
class QueueData:
    lines: list[DueFollowUp]
    due: int
    overdue: int


class FollowUpQueueScreen(FabriqueScreen):
    """What is due today and overdue, oldest first, grouped by site."""

    HELP = N_(
        "Today's calls. Enter logs a call and, when the learner found something, the placement."
    )

    BINDINGS: ClassVar = [
        Binding("enter", "log_call", N_("log the call"), id="queue.log_call", priority=True),
        Binding("o", "open_learner", N_("learner"), id="queue.open_learner"),
        Binding("r", "refresh", N_("refresh"), id="queue.refresh"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.lines: dict[str, DueFollowUp] = {}
        self.profile: LearnerProfile | None = None

    def screen_title(self) -> str:
        return _("To call")

    def compose_body(self) -> ComposeResult:
        yield Static("", id="queue-count", classes="section-title")
        with Horizontal(id="queue"):
            table: DataTable[Any] = DataTable(
                id="queue-table", cursor_type="row", zebra_stripes=True
            )
            table.add_column(_("Site"), key="site")
            table.add_column(_("Due"), key="due")
            table.add_column(_("Milestone"), key="milestone")
            table.add_column(_("Learner"), key="learner")
            yield table
            with VerticalScroll(id="queue-detail", can_focus=False):
                yield Static("", id="queue-card")
                yield Static("", id="queue-history")

    @property
    def table(self) -> DataTable[Any]:
        return self.query_one("#queue-table", DataTable)

    def reload(self) -> None:
        today, store = self.today, self.store

        def query() -> QueueData:
            due, overdue = store.follow_ups.count_due(today)
            return QueueData(store.follow_ups.due(today, limit=QUEUE_LIMIT), due, overdue)

        self.load("queue", query, self.show_queue)

    def action_refresh(self) -> None:
        self.reload()

    def show_queue(self, data: QueueData) -> None:
        table = self.table
        current = self.current_id()
        index = table.cursor_row
        table.clear()
        self.lines = {}
        overdue_before = self.today - timedelta(days=OVERDUE_AFTER_DAYS)
        previous_site = None
        for line in data.lines:
            follow_up = line.follow_up
            self.lines[follow_up.id] = line
            late = follow_up.due_date < overdue_before
            site = line.site_name if line.site_name != previous_site else ""
            previous_site = line.site_name
            table.add_row(
                Text(site, style="bold"),
                Text(format_date(follow_up.due_date), style="bold red" if late else ""),
                label_of(Milestone, follow_up.milestone),
                f"{line.learner.last_name.upper()} {line.learner.first_name}",
                key=follow_up.id,
            )
        count = ngettext(
            "{due} call due, {overdue} overdue (due more than 7 days ago)",
            "{due} calls due, {overdue} overdue (due more than 7 days ago)",
            data.due,
        ).format(due=format_int(data.due), overdue=format_int(data.overdue))
        if data.due > len(data.lines):
            count += " · " + _("the {shown} oldest shown").format(shown=format_int(len(data.lines)))
        self.query_one("#queue-count", Static).update(count)
        if not self.lines:
            self.query_one("#queue-card", Static).update(_("Nothing to call today. Well done!"))
            self.query_one("#queue-history", Static).update("")
            self.profile = None
            return
        keys = list(self.lines)
        target = keys.index(current) if current in self.lines else min(index, len(keys) - 1)
        table.move_cursor(row=max(target, 0), animate=False)
        self.load_detail(keys[max(target, 0)])

    def current_id(self) -> str | None:
        table = self.table
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return str(key) if key is not None else None

    def current_line(self) -> DueFollowUp | None:
        key = self.current_id()
        return self.lines.get(key) if key else None

    @on(DataTable.RowHighlighted, "#queue-table")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key.value in self.lines:
            self.load_detail(str(event.row_key.value))

    @on(DataTable.RowSelected, "#queue-table")
    def _selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_log_call()

    def load_detail(self, follow_up_id: str) -> None:
        line = self.lines[follow_up_id]
        store = self.store
        learner_id = line.learner.id
        self.load(
            "detail", lambda: store.learners.profile(learner_id), self.show_detail, debounce=0.03
        )

    def show_detail(self, profile: LearnerProfile) -> None:
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
        self.query_one("#queue-card", Static).update(card)
        self.query_one("#queue-history", Static).update(history(profile, self.today))

    def action_log_call(self) -> None:
        line = self.current_line()
        if line is None:
            return

        self.app.push_screen(CallScreen(line), lambda saved: self.after_write() if saved else None)

    def action_open_learner(self) -> None:
        line = self.current_line()
        if line is not None:
            self.fabrique.open_learner(line.learner.id)


class CallScreen(ModalForm[bool]):
    """Log a follow-up call and, in the same flow, the placement the learner found."""

    FORM = "call"
    CANCELLED = False

    BINDINGS: ClassVar = [
        *save_and_cancel("call"),
        Binding(
            "ctrl+o", "toggle_placement", N_("found something"), id="call.placement", priority=True
        ),
    ]

    def __init__(self, line: DueFollowUp) -> None:
        super().__init__()
        self.line = line

    def call_fields(self) -> list[FormField]:
        return [
            FormField("outcome", "choice", None, enum_options(Outcome), required=True),
            FormField(
                "channel", "choice", Channel.PHONE.value, enum_options(Channel), allow_blank=False
            ),
            FormField(
                "done_date", "date", date_for_input(self.today), label=_("Call date"), required=True
            ),
            FormField("notes", placeholder=_("what they said, what to do next")),
            FormField(
                "found", "bool", False, label=_("They found something: log the placement (ctrl+o)")
            ),
        ]

    def compose(self) -> ComposeResult:
        learner = self.line.learner
        follow_up = self.line.follow_up
        self.fields = self.call_fields()
        self.placement = placement_fields(self.store, learner.site_id, {"start_date": None})
        with Vertical(id="call-dialog", classes="dialog"):
            yield Label(
                _("Call {name}").format(name=f"{learner.first_name} {learner.last_name}"),
                classes="dialog-title",
            )
            yield Static(
                f"☎ {format_phone(learner.phone)}   "
                + _("{milestone} follow-up due {date}").format(
                    milestone=label_of(Milestone, follow_up.milestone),
                    date=format_date(follow_up.due_date),
                )
                + f"   {self.line.cohort_name} · {self.line.site_name}",
                classes="dialog-help",
            )
            with VerticalScroll(id="call-fields", can_focus=False):
                with Horizontal(classes="form-pair"):
                    yield from render_field(self.fields[0])
                    yield from render_field(self.fields[1])
                with Horizontal(classes="form-pair"):
                    yield from render_field(self.fields[2])
                    yield from render_field(self.fields[3])
                yield from render_field(self.fields[4])
                with Vertical(id="placement-fields"):
                    yield Label(_("Placement"), classes="section-title")
                    with Horizontal(classes="form-pair"):
                        yield from render_field(self.placement[0])
                        yield from render_field(self.placement[1])
                    with Horizontal(classes="form-pair"):
                        yield from render_field(self.placement[2])
                        yield from render_field(self.placement[3])
            yield Static("", id="call-errors", classes="form-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button(_("Save"), variant="primary", id="call-save")
                yield Button(_("Cancel"), id="call-cancel")
            yield Static(
                _("ctrl+s save · esc cancel · ctrl+o placement · tab next field"),
                classes="dialog-keys",
            )

    def on_mount(self) -> None:
        self.query_one("#placement-fields").display = False
        self.query_one("#field-outcome").focus()

    def form_fields(self) -> list[FormField]:
        return [*self.fields, *self.placement]

    @on(Checkbox.Changed, "#field-found")
    def _found_changed(self, event: Checkbox.Changed) -> None:
        self.query_one("#placement-fields").display = event.value
        if event.value:
            start = self.query_one("#field-start_date")
            if not start.value:  # type: ignore[attr-defined]
                start.value = date_for_input(self.today)  # type: ignore[attr-defined]
            self.query_one("#field-kind").focus()

    def action_toggle_placement(self) -> None:
        checkbox = self.query_one("#field-found", Checkbox)
        checkbox.value = not checkbox.value

    def submit(self) -> bool:
        values = {spec.name: read_field(self, spec) for spec in self.form_fields()}
        call = {key: values[key] for key in ("done_date", "channel", "outcome", "notes")}
        placement = None
        if values["found"]:
            placement = {
                key: values[key] for key in ("kind", "partner_id", "job_title", "start_date")
            }
        if not call["outcome"]:
            # The domain allows a follow-up without outcome; a logged call must say how it went.
            raise DomainValidationError([FieldError("outcome", None, "required")])
        self.store.follow_ups.log_call(self.line.follow_up.id, call, placement)
        return True
