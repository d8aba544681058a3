"""Closing a cohort (docs/domain.md, "Closing a cohort"): every learner still enrolled leaves it
graduated, certified or dropped out (with a date and a reason), the completers get their
follow-ups and the cohort becomes finished, all in one transaction
(:meth:`~fabriqueterm.store.repositories.cohorts.CohortRepository.close`).

Keyboard first: the learners are listed graduated; ``c``, ``d`` and ``g`` set the highlighted
one's exception, ``a`` sets everyone back to graduated, ``ctrl+s`` closes the cohort."""

from __future__ import annotations

from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, DataTable, Input, Label, Static

from fabriqueterm.domain.enums import LearnerStatus
from fabriqueterm.domain.models import Learner
from fabriqueterm.domain.validation import DomainValidationError, FieldError, validate
from fabriqueterm.i18n import N_, _, ngettext
from fabriqueterm.store.repositories import NotFound, row_values
from fabriqueterm.store.repositories.cohorts import (
    Closing,
    ClosingRefused,
    ClosingResult,
    CohortNotEnded,
    FinalStatus,
    FollowUpsMoved,
)
from fabriqueterm.tui.format import date_for_input, format_date, format_int
from fabriqueterm.tui.screens.base import AppAccess
from fabriqueterm.tui.screens.modal import FormField, ModalForm, render_field, show_error
from fabriqueterm.tui.widgets.cards import labels_width

GRADUATED = FinalStatus(LearnerStatus.GRADUATED.value)
#: Lines of the closing dialog around its table (border, title, intro, buttons, keys), and those
#: the warning and the box of a cohort ending after today add.
CLOSING_CHROME = 14
EARLY_LINES = 6


def follow_ups_moved_text(moved: FollowUpsMoved) -> str:
    """What an end date change did to the follow-ups, or "" when none moved."""
    if not moved.moved:
        return ""
    text = ngettext(
        "{count} follow-up moved with the new end date.",
        "{count} follow-ups moved with the new end date.",
        moved.moved,
    ).format(count=format_int(moved.moved))
    if moved.became_overdue:
        text += " " + ngettext(
            "{count} of them became overdue (due more than 7 days ago).",
            "{count} of them became overdue (due more than 7 days ago).",
            moved.became_overdue,
        ).format(count=format_int(moved.became_overdue))
    return text


def closing_summary(cohort_name: str, result: ClosingResult) -> str:
    """What a closing did: "Cohort “X” closed: 12 learners graduated, 1 dropout; 36 follow-ups
    created." (and the follow-ups an end date brought to today moved)."""
    parts = []
    if result.graduated:
        parts.append(
            ngettext(
                "{count} learner graduated", "{count} learners graduated", result.graduated
            ).format(count=format_int(result.graduated))
        )
    if result.certified:
        parts.append(
            ngettext(
                "{count} learner certified", "{count} learners certified", result.certified
            ).format(count=format_int(result.certified))
        )
    if result.dropped_out:
        parts.append(
            ngettext("{count} dropout", "{count} dropouts", result.dropped_out).format(
                count=format_int(result.dropped_out)
            )
        )
    if parts:
        text = _("Cohort “{cohort}” closed: {statuses}; {follow_ups}.").format(
            cohort=cohort_name,
            statuses=", ".join(parts),
            follow_ups=ngettext(
                "{count} follow-up created",
                "{count} follow-ups created",
                result.follow_ups_created,
            ).format(count=format_int(result.follow_ups_created)),
        )
    else:
        text = _("Cohort “{cohort}” closed: no learner was still enrolled.").format(
            cohort=cohort_name
        )
    if result.end_date_moved is not None:
        moved = follow_ups_moved_text(result.end_date_moved)
        if moved:
            text += " " + moved
    return text


def learner_name(learner: Learner) -> str:
    return f"{learner.last_name.upper()} {learner.first_name}"


class DropoutForm(ModalForm[FinalStatus | None]):
    """When and why one learner dropped out: both are required to close the cohort."""

    FORM: ClassVar[str] = "dropout"
    BINDINGS: ClassVar = [
        Binding("ctrl+s", "save", N_("save"), id="dropout.save", priority=True),
        Binding("escape", "cancel", N_("cancel"), id="dropout.cancel"),
    ]

    def __init__(self, learner: Learner, current: FinalStatus) -> None:
        super().__init__()
        self.learner = learner
        dropped = current.status == LearnerStatus.DROPPED_OUT.value
        self.fields = [
            FormField(
                "dropout_date",
                "date",
                date_for_input(current.dropout_date) if dropped else "",
                required=True,
            ),
            FormField(
                "dropout_reason", value=current.dropout_reason if dropped else "", required=True
            ),
        ]

    def compose(self) -> ComposeResult:
        with Vertical(id="dropout-dialog", classes="dialog"):
            yield Label(
                _("{name} dropped out").format(name=learner_name(self.learner)),
                classes="dialog-title",
            )
            for spec in self.fields:
                yield from render_field(spec)
            yield Static("", id="dropout-errors", classes="form-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button(_("Save"), variant="primary", id="dropout-save")
                yield Button(_("Cancel"), id="dropout-cancel")
            yield Static(_("ctrl+s save · esc cancel · tab next field"), classes="dialog-keys")

    def on_mount(self) -> None:
        self.query_one("#field-dropout_date").focus()

    def form_fields(self) -> list[FormField]:
        return self.fields

    def submit(self) -> FinalStatus:
        date_text = self.query_one("#field-dropout_date", Input).value
        reason = self.query_one("#field-dropout_reason", Input).value.strip()
        # The learner's own rules (a dropout needs its date…) say what is wrong, as the form would.
        checked = validate(
            "learner",
            {
                **row_values(self.learner),
                "status": LearnerStatus.DROPPED_OUT.value,
                "dropout_date": date_text,
                "dropout_reason": reason,
            },
        )
        if not reason:
            raise DomainValidationError([FieldError("dropout_reason", "", "missing")])
        return FinalStatus(LearnerStatus.DROPPED_OUT.value, checked["dropout_date"], reason)


class ClosingScreen(AppAccess, ModalScreen[str | None]):
    """Close a cohort: its learners still enrolled, each with the status they leave with."""

    BINDINGS: ClassVar = [
        Binding("g", "set_status('graduated')", N_("graduated"), id="closing.graduated"),
        Binding("c", "set_status('certified')", N_("certified"), id="closing.certified"),
        Binding("d", "dropped_out", N_("dropped out"), id="closing.dropped_out"),
        Binding("a", "all_graduated", N_("all graduated"), id="closing.all_graduated"),
        Binding("ctrl+s", "close_cohort", N_("close the cohort"), id="closing.save", priority=True),
        Binding("escape", "cancel", N_("cancel"), id="closing.cancel"),
    ]

    def __init__(self, cohort_id: str) -> None:
        super().__init__()
        self.cohort_id = cohort_id
        self.closing: Closing | None = None
        self.finals: dict[str, FinalStatus] = {}

    def compose(self) -> ComposeResult:
        with Vertical(id="closing-dialog", classes="dialog"):
            yield Label(_("Close a cohort"), id="closing-title", classes="dialog-title")
            yield Static(_("Reading the cohort…"), id="closing-intro", classes="dialog-help")
            yield Static("", id="closing-early", classes="form-error")
            yield Checkbox("", id="closing-end-today")
            table: DataTable[Any] = DataTable(
                id="closing-learners", cursor_type="row", zebra_stripes=True
            )
            table.add_column(_("Learner"), key="name", width=22)
            # Headers and labels whole, in either language.
            table.add_column(
                _("Final status"),
                key="status",
                width=labels_width(LearnerStatus, _("Final status")),
            )
            table.add_column(_("Dropout date"), key="date", width=max(10, len(_("Dropout date"))))
            table.add_column(_("Dropout reason"), key="reason")
            yield table
            yield Static("", id="closing-errors", classes="form-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button(_("Close the cohort"), variant="primary", id="closing-save")
                yield Button(_("Cancel"), id="closing-cancel")
            yield Static(
                _(
                    "g graduated · c certified · d dropped out · a all graduated · "
                    "ctrl+s close the cohort · esc cancel"
                ),
                classes="dialog-keys",
            )

    def on_resize(self) -> None:
        # The dialog fits its learners on a tall terminal and scrolls them on a short one.
        table = self.query_one("#closing-learners", DataTable)
        early = EARLY_LINES if self.query_one("#closing-end-today", Checkbox).display else 0
        available = int(self.size.height * 0.95) - CLOSING_CHROME - early
        table.styles.max_height = max(3, available)

    def on_mount(self) -> None:
        self.query_one("#closing-end-today", Checkbox).display = False
        self.on_resize()
        self.query_one("#closing-learners", DataTable).focus()
        store, cohort_id = self.store, self.cohort_id

        def query() -> Closing | None:
            try:
                return store.cohorts.closing(cohort_id)
            except NotFound:
                return None

        self.load("closing", query, self.show)

    def show(self, closing: Closing | None) -> None:
        if closing is None:
            self.app.notify(_("This cohort no longer exists."), severity="warning")
            self.dismiss(None)
            return
        self.closing = closing
        cohort = closing.cohort
        self.query_one("#closing-title", Label).update(
            _("Close the cohort {name}").format(name=cohort.name)
        )
        enrolled = len(closing.enrolled)
        intro = _("{site} · {start} → {end}.").format(
            site=closing.site_name,
            start=format_date(cohort.start_date),
            end=format_date(cohort.end_date),
        )
        if enrolled:
            intro += " " + ngettext(
                "{count} learner still enrolled: they leave the cohort graduated unless you set otherwise.",
                "{count} learners still enrolled: each leaves the cohort graduated unless you set otherwise.",
                enrolled,
            ).format(count=format_int(enrolled))
        else:
            intro += " " + _("No learner is still enrolled: closing sets the cohort finished.")
        self.query_one("#closing-intro", Static).update(intro)
        if cohort.end_date > self.today:
            show_error(
                self.query_one("#closing-early", Static),
                _(
                    "This cohort ends on {end}, after today: it cannot be closed before its end. "
                    "Tick the box to end it today and close it."
                ).format(end=format_date(cohort.end_date)),
            )
            box = self.query_one("#closing-end-today", Checkbox)
            box.label = _("End the cohort today ({today})").format(today=format_date(self.today))
            box.display = True
            self.on_resize()
        self.finals = {learner.id: GRADUATED for learner in closing.enrolled}
        table = self.query_one("#closing-learners", DataTable)
        table.clear()
        for learner in closing.enrolled:
            table.add_row(learner_name(learner), *self.cells(GRADUATED), key=learner.id)

    @staticmethod
    def cells(final: FinalStatus) -> tuple[str, str, str]:
        dropped = final.status == LearnerStatus.DROPPED_OUT.value
        return (
            LearnerStatus(final.status).label,
            format_date(final.dropout_date) if dropped and final.dropout_date else "",
            final.dropout_reason if dropped else "",
        )

    def set_final(self, learner_id: str, final: FinalStatus) -> None:
        self.finals[learner_id] = final
        table = self.query_one("#closing-learners", DataTable)
        for column, value in zip(("status", "date", "reason"), self.cells(final), strict=True):
            table.update_cell(learner_id, column, value)

    def highlighted(self) -> Learner | None:
        table = self.query_one("#closing-learners", DataTable)
        if self.closing is None or not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return next((lr for lr in self.closing.enrolled if lr.id == key), None)

    def action_set_status(self, status: str) -> None:
        learner = self.highlighted()
        if learner is not None:
            self.set_final(learner.id, FinalStatus(status))

    def action_all_graduated(self) -> None:
        for learner_id in self.finals:
            self.set_final(learner_id, GRADUATED)

    def action_dropped_out(self) -> None:
        learner = self.highlighted()
        if learner is None:
            return

        def answer(final: FinalStatus | None) -> None:
            if final is not None:
                self.set_final(learner.id, final)

        self.app.push_screen(DropoutForm(learner, self.finals[learner.id]), answer)

    def action_close_cohort(self) -> None:
        closing = self.closing
        if closing is None:
            return
        errors = self.query_one("#closing-errors", Static)
        exceptions = {k: v for k, v in self.finals.items() if v != GRADUATED}
        end_today = self.query_one("#closing-end-today", Checkbox).value
        try:
            result = self.store.cohorts.close(self.cohort_id, exceptions, end_today=end_today)
        except CohortNotEnded as early:
            show_error(
                errors,
                _("Not closed: the cohort ends on {end}. Tick the box to end it today.").format(
                    end=format_date(early.end_date)
                ),
            )
            self.app.bell()
            return
        except ClosingRefused as refused:
            names = {learner.id: learner_name(learner) for learner in closing.enrolled}
            show_error(
                errors,
                "\n".join(
                    f"{names.get(learner_id, learner_id)}: " + " ".join(str(e) for e in problems)
                    for learner_id, problems in refused.by_learner.items()
                ),
            )
            self.app.bell()
            return
        except DomainValidationError as error:  # the end date brought to today (before its start)
            show_error(errors, " ".join(str(e) for e in error.errors))
            self.app.bell()
            return
        summary = closing_summary(closing.cohort.name, result)
        self.data_changed()
        self.app.notify(summary, title=_("Cohort closed"), timeout=12)
        self.dismiss(summary)

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#closing-save")
    def _save_pressed(self) -> None:
        self.action_close_cohort()

    @on(Button.Pressed, "#closing-cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()
