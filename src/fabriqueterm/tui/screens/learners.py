"""Learners: search as people type them (names in any order, email, phone; accents ignored),
and a learner's detail."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Static

from fabriqueterm.domain.enums import Channel, LearnerStatus, Milestone, Outcome, PlacementKind
from fabriqueterm.domain.models import FollowUpAttempt, Learner
from fabriqueterm.i18n import N_, _
from fabriqueterm.store.history import HistoryEntry
from fabriqueterm.store.repositories import LearnerProfile, NotFound, Page
from fabriqueterm.tui.format import fit_words, format_date, format_phone
from fabriqueterm.tui.screens.base import FabriqueScreen
from fabriqueterm.tui.screens.forms import ConfirmScreen, follow_up_form, learner_form
from fabriqueterm.tui.screens.lists import Column, ListScreen
from fabriqueterm.tui.screens.personal_data import ask_to_erase, export_personal_data
from fabriqueterm.tui.screens.placement_forms import placement_form
from fabriqueterm.tui.widgets import history as history_lines
from fabriqueterm.tui.widgets.cards import (
    follow_up_state,
    is_overdue,
    label_of,
    labels_width,
    profile_card,
)
from fabriqueterm.tui.widgets.table_cursor import same_row

#: The start of the key of an attempt's row in the follow-ups table.
ATTEMPT_KEY = "attempt:"
#: A date as format_date writes it, in either language (25/11/2026, 2026-11-25).
DATE_WIDTH = 10
#: Longer kinds of placement and notes end at a word, with "…".
KIND_WIDTH = 38
NOTES_WIDTH = 44


@dataclass(frozen=True)
class LearnerLine:
    learner: Learner
    cohort_name: str
    site_name: str


class LearnersScreen(ListScreen[LearnerLine]):
    """Every learner by name; typing searches names, emails and phone numbers."""

    HELP = N_(
        "Find anyone: type the start of their names in any order, of their email or of their phone"
        " number (zoé mar, martin zoe, 06 12…); accents and capitals don't matter."
    )

    def screen_title(self) -> str:
        return _("Learners")

    def nouns(self) -> tuple[str, str]:
        return _("learner"), _("learners")

    def filter_placeholder(self) -> str:
        return _("Search a name, an email, a phone number…")

    def columns(self) -> Iterable[Column]:
        # Narrow, the email goes first, then the cohort; name, phone and status stay.
        status = labels_width(LearnerStatus, _("Status"))
        return [
            Column(_("Learner"), "name", 26),
            Column(_("Phone"), "phone", 14),
            Column(_("Email"), "email", 28, drop=2),
            Column(_("Cohort"), "cohort", middle=True, min_width=24, drop=1),
            Column(_("Status"), "status", status),
        ]

    def fetch(self, needle: str, offset: int, limit: int) -> Page[LearnerLine]:
        return self._lines(self.store.learners.page(needle, limit=limit, offset=offset))

    def fetch_rows(self, needle: str, offset: int, limit: int, total: int) -> list[LearnerLine]:
        # Counting 100,000 learners again for every page scrolled to would cost more than reading it.
        return self._lines(
            self.store.learners.page(needle, limit=limit, offset=offset, total=total)
        ).rows

    def _lines(self, page: Page[Learner]) -> Page[LearnerLine]:
        cohorts = self.store.cohorts.names([learner.cohort_id for learner in page.rows])
        sites = self.store.sites.names()
        rows = [
            LearnerLine(learner, cohorts.get(learner.cohort_id, ""), sites.get(learner.site_id, ""))
            for learner in page.rows
        ]
        return Page(rows, page.total, page.offset, page.limit)

    def cells(self, row: LearnerLine) -> tuple[Any, ...]:
        learner = row.learner
        return (
            f"{learner.last_name.upper()} {learner.first_name}",
            format_phone(learner.phone),
            learner.email or "—",
            row.cohort_name,
            label_of(LearnerStatus, learner.status),
        )

    def row_id(self, row: LearnerLine) -> str:
        return row.learner.id

    def open_row(self, row: LearnerLine) -> None:
        self.fabrique.open_learner(row.learner.id)

    def action_new(self) -> None:
        self.notify(_("To enrol a learner, open their cohort (key 3) and press n."))

    def action_edit(self) -> None:
        row = self.current_row()
        if row is not None:
            cohort = self.store.cohorts.get(row.learner.cohort_id)
            self.app.push_screen(
                learner_form(self.store, learner=row.learner, cohort=cohort), self.after_form
            )

    def action_delete(self) -> None:
        row = self.current_row()
        if row is not None:
            confirm_delete_learner(self, row.learner)


def confirm_delete_learner(
    screen: FabriqueScreen, learner: Learner, *, then_back: bool = False
) -> None:
    def answer(yes: bool | None) -> None:
        if yes:
            screen.store.learners.delete(learner.id)
            screen.data_changed()
            if then_back:
                screen.app.pop_screen()
            else:
                screen.after_write()

    screen.app.push_screen(
        ConfirmScreen(
            _("Delete {name}?").format(name=f"{learner.first_name} {learner.last_name}"),
            _("The learner disappears from every list, here and, after sync, on the commons."),
        ),
        answer,
    )


class LearnerDetailScreen(FabriqueScreen):
    """A learner: profile, placements, follow-ups and the history of changes to their record."""

    HELP = N_("A learner's file. Enter on a placement or a follow-up edits it.")

    BINDINGS: ClassVar = [
        Binding("escape", "app.back", N_("back"), id="detail.back"),
        Binding("e", "edit", N_("edit"), id="learner.edit"),
        Binding("p", "new_placement", N_("new placement"), id="learner.new_placement"),
        Binding("f", "new_follow_up", N_("new follow-up"), id="learner.new_follow_up"),
        Binding("delete", "delete", N_("delete"), key_display="del", id="learner.delete"),
        Binding("x", "export_personal_data", N_("export data"), id="learner.export_personal_data"),
        # Out of the footer (full at 120 columns): listed by the help screen.
        Binding(
            "ctrl+e", "erase", N_("erase (right to be forgotten)"), show=False, id="learner.erase"
        ),
    ]

    def __init__(self, learner_id: str) -> None:
        super().__init__()
        self.learner_id = learner_id
        self.profile: LearnerProfile | None = None
        #: Newest first; read with the profile (in the same worker).
        self.history: list[HistoryEntry] = []
        self.attempts: list[FollowUpAttempt] = []

    def screen_title(self) -> str:
        return _("Learner")

    def compose_body(self) -> ComposeResult:
        # Scrolls when the terminal is short (80x24): the tables come into view as they take the
        # focus (tab), so the follow-ups are never out of reach.
        with VerticalScroll(id="learner-detail", can_focus=False):
            yield Static("", id="learner-name", classes="section-title")
            yield Static("", id="learner-card")
            yield Static("", id="learner-changes")
            yield Static(_("Placements"), classes="section-title")
            placements: DataTable[Any] = DataTable(id="learner-placements", cursor_type="row")
            # Dates have a fixed width (as every other column here): a width measured from the rows
            # is applied when the table is next idle, and a dialog opened before that left the
            # header drawn with the old width beneath it.
            placements.add_column(_("Start"), key="start", width=DATE_WIDTH)
            placements.add_column(_("Kind"), key="kind", width=KIND_WIDTH)
            placements.add_column(_("Job title"), key="job", width=30)
            placements.add_column(_("Partner"), key="partner", width=30)
            yield placements
            yield Static(_("Follow-ups"), classes="section-title")
            follow_ups: DataTable[Any] = DataTable(id="learner-follow-ups", cursor_type="row")
            # Labels whole: each column as wide as its longest label in the UI language.
            follow_ups.add_column(
                _("Milestone"), key="milestone", width=labels_width(Milestone, _("Milestone"))
            )
            follow_ups.add_column(_("Due"), key="due", width=DATE_WIDTH)
            follow_ups.add_column(_("Done"), key="done", width=DATE_WIDTH)
            follow_ups.add_column(
                _("Channel"), key="channel", width=labels_width(Channel, _("Channel"))
            )
            follow_ups.add_column(
                _("Outcome"), key="outcome", width=labels_width(Outcome, _("Outcome"))
            )
            follow_ups.add_column(_("Notes"), key="notes", width=NOTES_WIDTH)
            yield follow_ups
            yield Static(_("History"), classes="section-title")
            changes: DataTable[Any] = DataTable(id="learner-history", cursor_type="row")
            changes.add_column(_("When"), key="when", width=16)
            changes.add_column(_("From"), key="source", width=14)
            changes.add_column(_("What"), key="what", width=22)
            changes.add_column(_("Details"), key="details", width=58)
            yield changes

    def reload(self) -> None:
        store, learner_id = self.store, self.learner_id

        def query() -> tuple[LearnerProfile | None, list[HistoryEntry], list[FollowUpAttempt]]:
            try:
                profile = store.learners.profile(learner_id)
            except NotFound:
                return None, [], []
            attempts = [line.attempt for line in store.follow_ups.attempts.for_learner(learner_id)]
            return profile, store.history.of_learner(learner_id), attempts

        self.load("learner", query, self._loaded)

    def _loaded(
        self, loaded: tuple[LearnerProfile | None, list[HistoryEntry], list[FollowUpAttempt]]
    ) -> None:
        profile, self.history, self.attempts = loaded
        self.show(profile)

    def show(self, profile: LearnerProfile | None) -> None:
        if profile is None:
            self.notify(_("This learner no longer exists."), severity="warning")
            self.app.pop_screen()
            return
        self.profile = profile
        learner = profile.learner
        self.title = f"{learner.first_name} {learner.last_name}"
        self.query_one("#learner-name", Static).update(f"{learner.first_name} {learner.last_name}")
        self.query_one("#learner-card", Static).update(profile_card(profile))
        changes = self.query_one("#learner-changes", Static)
        changes.display = bool(profile.local_changes)
        if profile.local_changes:
            last = profile.local_changes[0]
            changes.update(
                Text(
                    _("{count} local changes not yet synced (last: {when})").format(
                        count=len(profile.local_changes),
                        when=last.created_at[:16].replace("T", " "),
                    ),
                    style="italic",
                )
            )
        placements = self.query_one("#learner-placements", DataTable)
        with same_row(placements):
            self.show_placements(placements, profile)
        follow_ups = self.query_one("#learner-follow-ups", DataTable)
        with same_row(follow_ups):
            self.show_follow_ups(follow_ups, profile)
        self.show_history()

    def show_placements(self, placements: DataTable[Any], profile: LearnerProfile) -> None:
        placements.clear()
        for placement in reversed(profile.placements):
            placements.add_row(
                format_date(placement.start_date),
                fit_words(label_of(PlacementKind, placement.kind), KIND_WIDTH),
                placement.job_title or "—",
                profile.partner_names.get(placement.partner_id or "", "—"),
                key=placement.id,
            )

    def show_follow_ups(self, follow_ups: DataTable[Any], profile: LearnerProfile) -> None:
        follow_ups.clear()
        for follow_up in profile.follow_ups:
            late = is_overdue(follow_up, self.today)
            attempts = sorted(
                (a for a in self.attempts if a.follow_up_id == follow_up.id),
                key=lambda a: (a.attempted_on, a.created_at),
            )
            follow_ups.add_row(
                label_of(Milestone, follow_up.milestone),
                Text(format_date(follow_up.due_date), style="bold red" if late else ""),
                format_date(follow_up.done_date),
                label_of(Channel, follow_up.channel),
                follow_up_state(follow_up, attempts, short=True),
                fit_words(follow_up.notes, NOTES_WIDTH),
                key=follow_up.id,
            )
            # Its attempts beneath it (append-only: Enter and delete leave them alone).
            for attempt in attempts:
                follow_ups.add_row(
                    Text("  ↳ " + _("attempt"), style="dim"),
                    "",
                    format_date(attempt.attempted_on),
                    label_of(Channel, attempt.channel),
                    label_of(Outcome, attempt.outcome),
                    fit_words(attempt.notes, NOTES_WIDTH),
                    key=ATTEMPT_KEY + attempt.id,
                )

    def show_history(self) -> None:
        table = self.query_one("#learner-history", DataTable)
        table.clear()
        for index, entry in enumerate(self.history):
            table.add_row(
                history_lines.when(entry),
                history_lines.source(entry),
                history_lines.what(entry),
                history_lines.details(entry),
                key=str(index),
            )
        if not self.history:
            table.add_row("—", "", "", _("No change recorded on this device yet"), key="none")

    @on(DataTable.RowSelected, "#learner-placements")
    def _edit_placement(self, event: DataTable.RowSelected) -> None:
        if self.profile is None:
            return
        placement = next((p for p in self.profile.placements if p.id == event.row_key.value), None)
        if placement is not None:
            self.app.push_screen(
                placement_form(self.store, self.profile.learner, placement), self.after_form
            )

    @on(DataTable.RowSelected, "#learner-follow-ups")
    def _edit_follow_up(self, event: DataTable.RowSelected) -> None:
        if self.profile is None:
            return
        follow_up = next((f for f in self.profile.follow_ups if f.id == event.row_key.value), None)
        if follow_up is not None:
            self.app.push_screen(
                follow_up_form(self.store, self.profile.learner, follow_up), self.after_form
            )

    def action_edit(self) -> None:
        if self.profile is None:
            return
        learner = self.profile.learner
        cohort = self.store.cohorts.get(learner.cohort_id)
        self.app.push_screen(
            learner_form(self.store, learner=learner, cohort=cohort), self.after_form
        )

    def action_new_placement(self) -> None:
        if self.profile is not None:
            self.app.push_screen(placement_form(self.store, self.profile.learner), self.after_form)

    def action_new_follow_up(self) -> None:
        if self.profile is not None:
            self.app.push_screen(follow_up_form(self.store, self.profile.learner), self.after_form)

    def action_delete(self) -> None:
        if self.profile is None:
            return
        # Inside a table, delete removes the highlighted placement or follow-up; elsewhere the learner.
        focused = self.focused
        if (
            isinstance(focused, DataTable)
            and focused.row_count
            and focused.id in ("learner-placements", "learner-follow-ups")
        ):
            key = focused.coordinate_to_cell_key(focused.cursor_coordinate).row_key.value
            if str(key).startswith(ATTEMPT_KEY):
                return  # attempts are never deleted one by one
            is_placement = focused.id == "learner-placements"
            repository = self.store.placements if is_placement else self.store.follow_ups
            question = _("Delete this placement?") if is_placement else _("Delete this follow-up?")

            def answer(yes: bool | None) -> None:
                if yes and key:
                    repository.delete(str(key))
                    self.after_write()

            self.app.push_screen(ConfirmScreen(question), answer)
            return
        confirm_delete_learner(self, self.profile.learner, then_back=True)

    def action_export_personal_data(self) -> None:
        if self.profile is not None:
            export_personal_data(self, self.profile.learner)

    def action_erase(self) -> None:
        if self.profile is not None:
            ask_to_erase(self, self.profile.learner)
