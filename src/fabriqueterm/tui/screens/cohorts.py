"""Cohorts: the list (filter by text, site and status) and a cohort's detail with its learners."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Select, Static

from fabriqueterm.domain.enums import CohortStatus, LearnerStatus, Milestone, PlacementKind
from fabriqueterm.domain.indicators import Indicators
from fabriqueterm.domain.lifecycle import is_to_close
from fabriqueterm.domain.models import Cohort
from fabriqueterm.i18n import N_, _, ngettext
from fabriqueterm.store.repositories import CohortLine, NotFound, Page, RosterLine
from fabriqueterm.tui.format import format_date, format_int, format_phone
from fabriqueterm.tui.screens.base import FabriqueScreen
from fabriqueterm.tui.screens.closing import ClosingScreen, follow_ups_moved_text
from fabriqueterm.tui.screens.forms import ConfirmScreen, cohort_form, learner_form
from fabriqueterm.tui.screens.lists import Column, ListScreen
from fabriqueterm.tui.screens.modal import enum_options
from fabriqueterm.tui.widgets.cards import is_overdue, label_of, labels_width


def edit_cohort(
    screen: FabriqueScreen, cohort: Cohort | None = None, *, site_id: str | None = None
) -> None:
    """The cohort form, saying how many follow-ups an end date change moved and made overdue.

    Setting "finished" while learners are still enrolled opens the closing flow instead of
    stranding them: the other changes are saved, and closing sets the status (a coordinator who
    picks "finished" means "close it"; refusing would only send them looking for the flow)."""
    store = screen.store
    form = cohort_form(store, cohort, site_id=site_id)
    closing_asked = False

    def save(data: dict[str, Any]) -> str:
        nonlocal closing_asked
        if cohort is None:
            return store.cohorts.create(data).id
        finishing = (
            data.get("status") == CohortStatus.FINISHED.value
            and cohort.status != CohortStatus.FINISHED.value
        )
        closing_asked = finishing and store.cohorts.enrolled_count(cohort.id) > 0
        if closing_asked:
            data = {**data, "status": cohort.status}
        edit = store.cohorts.edit(cohort.id, data)
        if edit.follow_ups is not None:
            form.notice = follow_ups_moved_text(edit.follow_ups)
            form.notice_severity = "warning" if edit.follow_ups.became_overdue else "information"
        return edit.cohort.id

    form.save = save

    def done(row_id: str | None) -> None:
        screen.after_form(row_id)
        if row_id and closing_asked:
            screen.app.push_screen(ClosingScreen(row_id), screen.after_write)

    screen.app.push_screen(form, done)


def status_shown(cohort: Cohort, today: date) -> str:
    """A cohort's status as the lists show it: "to close" once its end date is reached and until
    the closing flow sets it finished (docs/domain.md, "Cohort lifecycle")."""
    if is_to_close(cohort.status, cohort.end_date, today):
        return _("to close")
    return label_of(CohortStatus, cohort.status)


class CohortsScreen(ListScreen[CohortLine]):
    """Every cohort, newest first; filter by name or programme, site and status."""

    HELP = N_(
        "Cohorts of your sites. Type to filter; choose a site or a status beside the filter. "
        "c closes the highlighted cohort."
    )

    BINDINGS: ClassVar = [
        Binding("c", "close_cohort", N_("close cohort"), id="cohorts.close"),
    ]

    def __init__(self, site_id: str | None = None) -> None:
        super().__init__()
        self.site_id = site_id
        self.status: str | None = None

    def screen_title(self) -> str:
        return _("Cohorts")

    def nouns(self) -> tuple[str, str]:
        return _("cohort"), _("cohorts")

    def filter_placeholder(self) -> str:
        return _("Filter by name or programme…")

    def compose_filters(self) -> ComposeResult:
        sites = [(site.name, site.id) for site in self.store.sites.all()]
        yield Select(
            sites,
            prompt=_("All sites"),
            value=self.site_id if self.site_id in {s for _n, s in sites} else Select.NULL,
            id="filter-site",
        )
        yield Select(enum_options(CohortStatus), prompt=_("All statuses"), id="filter-status")

    def columns(self) -> Iterable[Column]:
        # The name shortened in the middle (its end tells cohorts apart); narrow, the end date
        # goes first, then the site (in the name too).
        return [
            Column(_("Cohort"), "name", middle=True, min_width=30),
            Column(_("Site"), "site", 20, drop=1),
            Column(_("Start"), "start", 10),
            Column(_("End"), "end", 10, drop=2),
            Column(_("Status"), "status", labels_width(CohortStatus, _("Status"), _("to close"))),
            Column(_("Learners"), "learners", len(_("Learners"))),
        ]

    def fetch(self, needle: str, offset: int, limit: int) -> Page[CohortLine]:
        return self.store.cohorts.page(
            needle, site_id=self.site_id, status=self.status, limit=limit, offset=offset
        )

    def cells(self, row: CohortLine) -> tuple[Any, ...]:
        cohort = row.cohort
        return (
            cohort.name,
            row.site_name,
            format_date(cohort.start_date),
            format_date(cohort.end_date),
            status_shown(cohort, self.today),
            Text(f"{format_int(row.learners)} / {format_int(cohort.capacity)}", justify="right"),
        )

    def row_id(self, row: CohortLine) -> str:
        return row.cohort.id

    def set_site(self, site_id: str | None) -> None:
        """Show the cohorts of one site (from the dashboard or the sites list)."""
        self.query_one("#filter-site", Select).value = site_id if site_id else Select.NULL

    @on(Select.Changed, "#filter-site")
    def _site_changed(self, event: Select.Changed) -> None:
        self.site_id = None if event.value is Select.NULL else str(event.value)
        self.reload(from_top=True)

    @on(Select.Changed, "#filter-status")
    def _status_changed(self, event: Select.Changed) -> None:
        self.status = None if event.value is Select.NULL else str(event.value)
        self.reload(from_top=True)

    def open_row(self, row: CohortLine) -> None:
        self.fabrique.open_cohort(row.cohort.id)

    def action_new(self) -> None:
        edit_cohort(self, site_id=self.site_id)

    def action_edit(self) -> None:
        row = self.current_row()
        if row is not None:
            edit_cohort(self, row.cohort)

    def action_close_cohort(self) -> None:
        row = self.current_row()
        if row is not None:
            self.app.push_screen(ClosingScreen(row.cohort.id), self.after_write)

    def action_delete(self) -> None:
        row = self.current_row()
        if row is None:
            return
        if row.learners:
            self.notify(
                ngettext(
                    "{name} has {count} learner: move or delete them first.",
                    "{name} has {count} learners: move or delete them first.",
                    row.learners,
                ).format(name=row.cohort.name, count=format_int(row.learners)),
                severity="warning",
            )
            return

        def answer(yes: bool | None) -> None:
            if yes:
                self.store.cohorts.delete(row.cohort.id)
                self.after_write()

        self.app.push_screen(
            ConfirmScreen(_("Delete the cohort {name}?").format(name=row.cohort.name)), answer
        )


@dataclass(frozen=True)
class CohortData:
    cohort: Cohort
    site_name: str
    indicators: Indicators | None
    roster: list[RosterLine]


class CohortDetailScreen(FabriqueScreen):
    """A cohort: its figures and its learners, each with status, latest placement and next follow-up."""

    HELP = N_("A cohort and its learners. Enter opens a learner; n enrols one.")

    BINDINGS: ClassVar = [
        Binding("escape", "app.back", N_("back"), id="detail.back"),
        Binding("n", "enrol", N_("enrol a learner"), id="cohort.enrol"),
        Binding("e", "edit", N_("edit cohort"), id="cohort.edit"),
        Binding("c", "close_cohort", N_("close cohort"), id="cohort.close"),
    ]

    def __init__(self, cohort_id: str) -> None:
        super().__init__()
        self.cohort_id = cohort_id
        self.data: CohortData | None = None

    def screen_title(self) -> str:
        return _("Cohort")

    def compose_body(self) -> ComposeResult:
        with Vertical(id="cohort-detail"):
            yield Static("", id="cohort-summary")
            yield Static("", id="cohort-figures")
            yield Static("", id="roster-count", classes="section-title")
            table: DataTable[Any] = DataTable(id="roster", cursor_type="row", zebra_stripes=True)
            table.add_column(_("Learner"), key="name", width=26)
            table.add_column(_("Status"), key="status", width=11)
            table.add_column(_("Phone"), key="phone", width=14)
            table.add_column(_("Latest placement"), key="placement", width=32)
            table.add_column(_("Next follow-up"), key="follow_up", width=24)
            yield table

    def reload(self) -> None:
        store, today, cohort_id = self.store, self.today, self.cohort_id

        def query() -> CohortData | None:
            try:
                cohort = store.cohorts.get(cohort_id)
            except NotFound:
                return None
            report = store.indicators.report(as_of=today, cohort_id=cohort_id)
            site_name = store.sites.names().get(cohort.site_id, "")
            return CohortData(
                cohort, site_name, report.by_cohort.get(cohort_id), store.cohorts.roster(cohort_id)
            )

        self.load("cohort", query, self.show)

    def show(self, data: CohortData | None) -> None:
        if data is None:
            self.notify(_("This cohort no longer exists."), severity="warning")
            self.app.pop_screen()
            return
        self.data = data
        cohort = data.cohort
        self.title = _("Cohort {name}").format(name=cohort.name)
        summary = Text()
        summary.append(cohort.name, style="bold")
        summary.append(f"  {data.site_name} · {cohort.programme}\n")
        summary.append(
            _("{start} → {end} · {status} · capacity {capacity}").format(
                start=format_date(cohort.start_date),
                end=format_date(cohort.end_date),
                status=status_shown(cohort, self.today),
                capacity=cohort.capacity,
            )
        )
        if cohort.funders:
            summary.append(
                "\n" + _("Funders: {funders}").format(funders=cohort.funders), style="dim"
            )
        self.query_one("#cohort-summary", Static).update(summary)
        figures = ""
        if data.indicators is not None:
            ind = data.indicators
            figures = _(
                "Enrolled {enrolled} · women {women} · QPV {qpv} · dropouts {dropout} · completers {completers}"
                " · positive exits +6 months {exits} · follow-ups due {due}"
            ).format(
                enrolled=ind.enrolled,
                women=ind.women_pct,
                qpv=ind.qpv_pct,
                dropout=ind.dropout_rate,
                completers=ind.completers,
                exits=ind.positive_exit_rate(6),
                due=ind.followups_due,
            )
        self.query_one("#cohort-figures", Static).update(figures)
        self.query_one("#roster-count", Static).update(
            ngettext("{count} learner", "{count} learners", len(data.roster)).format(
                count=format_int(len(data.roster))
            )
        )
        table = self.query_one("#roster", DataTable)
        index = table.cursor_row
        table.clear()
        for line in data.roster:
            learner = line.learner
            placement = line.latest_placement
            follow_up = line.next_follow_up
            late = follow_up is not None and is_overdue(follow_up, self.today)
            table.add_row(
                f"{learner.last_name.upper()} {learner.first_name}",
                label_of(LearnerStatus, learner.status),
                format_phone(learner.phone),
                f"{label_of(PlacementKind, placement.kind)} · {format_date(placement.start_date)}"
                if placement
                else "—",
                Text(
                    f"{label_of(Milestone, follow_up.milestone)} · {format_date(follow_up.due_date)}",
                    style="bold red" if late else "",
                )
                if follow_up
                else "—",
                key=learner.id,
            )
        if data.roster:
            table.move_cursor(row=min(index, len(data.roster) - 1), animate=False)

    @on(DataTable.RowSelected, "#roster")
    def _open(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value:
            self.fabrique.open_learner(str(event.row_key.value))

    def action_enrol(self) -> None:
        if self.data is not None:
            self.app.push_screen(learner_form(self.store, cohort=self.data.cohort), self.after_form)

    def action_edit(self) -> None:
        if self.data is not None:
            edit_cohort(self, self.data.cohort)

    def action_close_cohort(self) -> None:
        if self.data is not None:
            self.app.push_screen(ClosingScreen(self.cohort_id), self.after_write)
