"""The dashboard: where each site stands today, and the exit rates of the selected site's cohorts.
On a computer with no site and no sync (the first run), a welcome says which command to run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from fabriqueterm.domain.indicators import IndicatorReport, Indicators
from fabriqueterm.i18n import N_, _, ngettext
from fabriqueterm.tui.format import bar, fit_words, format_date, format_int, shorten_middle
from fabriqueterm.tui.screens.base import FabriqueScreen
from fabriqueterm.tui.widgets.cards import welcome_card

if TYPE_CHECKING:  # the models load SQLAlchemy: not before the first frame
    from fabriqueterm.domain.models import Cohort
    from fabriqueterm.store.repositories.cohorts import CohortToClose

#: The exit milestone the dashboard shows (docs/domain.md: positive exit rate at +6 months).
EXIT_MONTHS = 6
#: Cohorts drawn in the chart (the most recent ones with a rate).
CHART_COHORTS = 12
BAR_WIDTH = 40
TOTAL_KEY = "__total__"
#: Narrower than this, the table keeps the follow-up and exit columns with shorter headers and
#: drops the women and QPV shares (in the weekly summary).
NARROW_WIDTH = 100
#: Each indicator column: key, header (two lines), and its header when narrow (None: dropped).
INDICATOR_COLUMNS: tuple[tuple[str, str, str, tuple[str, str] | None], ...] = (
    ("running", N_("Cohorts"), N_("running"), (N_("Cohorts"), N_("running"))),
    ("in_training", N_("Learners"), N_("in training"), (N_("Learners"), N_("in training"))),
    ("women", N_("Women"), "", None),
    ("qpv", N_("QPV"), "", None),
    ("exits", N_("Positive exits"), N_("at +6 months"), (N_("Exits"), N_("+6 months"))),
    ("due", N_("Follow-ups"), N_("due"), (N_("Calls due"), "")),
    ("overdue", N_("Follow-ups"), N_("overdue"), (N_("Overdue"), "")),
)


@dataclass(frozen=True)
class DashboardData:
    report: IndicatorReport
    site_names: dict[str, str]


@dataclass(frozen=True)
class ChartData:
    site_id: str
    cohorts: list[Cohort]


def chart_label(cohort: Cohort) -> str:
    """Programme (shortened) and start month: what tells a site's cohorts apart."""
    programme = cohort.programme if len(cohort.programme) <= 30 else cohort.programme[:29] + "…"
    return f"{programme} {cohort.start_date:%m/%Y}"


#: The cohorts to close fit 80 columns.
TO_CLOSE_NAME_WIDTH = 34
TO_CLOSE_SITE_WIDTH = 16


class DashboardScreen(FabriqueScreen):
    """Per site: cohorts running, learners in training, women %, QPV %, positive exits at +6
    months, follow-ups due and overdue; below, exit rates per cohort of the highlighted site."""

    HELP = N_(
        "Where each site stands today. Move through the sites to see their cohorts' exit rates."
    )

    BINDINGS: ClassVar = [
        Binding("r", "refresh", N_("refresh"), id="dashboard.refresh"),
        Binding("c", "open_cohorts", N_("site's cohorts"), id="dashboard.cohorts"),
        Binding("t", "focus_to_close", N_("cohorts to close"), id="dashboard.to_close"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.data: DashboardData | None = None
        self.narrow = False
        #: The keys of the indicator columns shown (all but the dropped ones when narrow).
        self.shown_keys: list[str] = []

    def add_columns(self, table: DataTable[Any]) -> None:
        """The site and the indicators, as many as the width holds (see :data:`NARROW_WIDTH`)."""
        table.add_column(_("Site"), key="site", width=20 if self.narrow else 24)
        self.shown_keys = []
        for key, top, bottom, short in INDICATOR_COLUMNS:
            if self.narrow:
                if short is None:
                    continue
                top, bottom = short
            label = _(top) + ("\n" + _(bottom) if bottom else "")
            width = max(len(line) for line in label.splitlines())
            table.add_column(Text(label, justify="right"), key=key, width=max(width, 7))
            self.shown_keys.append(key)

    def on_resize(self) -> None:
        narrow = self.size.width < NARROW_WIDTH
        if narrow != self.narrow:
            self.narrow = narrow
            table = self.table
            table.clear(columns=True)
            self.add_columns(table)
            if self.data is not None:
                self.show_report(self.data)

    def screen_title(self) -> str:
        return _("Dashboard")

    def compose_body(self) -> ComposeResult:
        with Vertical(id="dashboard"):
            yield Static(
                _("Counting the indicators…"), id="dashboard-as-of", classes="section-title"
            )
            table: DataTable[Any] = DataTable(
                id="sites-indicators", cursor_type="row", zebra_stripes=True, header_height=2
            )
            self.add_columns(table)
            yield table
            yield from self.compose_to_close()
            yield Static("", id="dashboard-welcome")
            yield Static("", id="chart-title", classes="section-title")
            yield Static("", id="exit-chart")

    @property
    def table(self) -> DataTable[Any]:
        return self.query_one("#sites-indicators", DataTable)

    def reload(self) -> None:
        today = self.today

        def query() -> DashboardData:
            store = self.store  # in the thread: the store may still be opening
            return DashboardData(store.indicators.report(as_of=today), store.sites.names())

        self.load("dashboard", query, self.show_report)
        self.load_to_close()

    # --- cohorts to close (docs/domain.md, "Closing a cohort") ------------------------------

    def compose_to_close(self) -> ComposeResult:
        yield Static("", id="to-close-title", classes="section-title")
        table: DataTable[Any] = DataTable(id="to-close", cursor_type="row", zebra_stripes=True)
        # Fits 80 columns: long names shortened in the middle (their ends tell them apart).
        table.add_column(_("Cohort"), key="name", width=TO_CLOSE_NAME_WIDTH)
        table.add_column(_("Site"), key="site", width=TO_CLOSE_SITE_WIDTH)
        table.add_column(_("End"), key="end", width=10)
        table.add_column(Text(_("Enrolled"), justify="right"), key="enrolled", width=10)
        yield table

    def load_to_close(self) -> None:
        today = self.today

        def query() -> list[CohortToClose]:
            return self.store.cohorts.to_close(today)

        self.load("to_close", query, self.show_to_close)

    def show_to_close(self, cohorts: list[CohortToClose]) -> None:
        """Finished cohorts (end date reached) whose learners still wait for a final status:
        nobody calls them until the cohort is closed. Hidden when there are none."""
        title = self.query_one("#to-close-title", Static)
        table = self.query_one("#to-close", DataTable)
        title.display = table.display = bool(cohorts)
        self.refresh_bindings()  # "t" is offered only when there is a cohort to close
        table.clear()
        title.update(
            ngettext(
                "Cohort to close ({count}): learners still enrolled after the end, on no call list "
                "(enter closes it)",
                "Cohorts to close ({count}): learners still enrolled after the end, on no call list "
                "(enter closes one)",
                len(cohorts),
            ).format(count=format_int(len(cohorts)))
        )
        for line in cohorts:
            table.add_row(
                shorten_middle(line.cohort.name, TO_CLOSE_NAME_WIDTH),
                fit_words(line.site_name, TO_CLOSE_SITE_WIDTH),
                format_date(line.cohort.end_date),
                Text(format_int(line.enrolled), justify="right"),
                key=line.cohort.id,
            )

    @on(DataTable.RowSelected, "#to-close")
    def _to_close_selected(self, event: DataTable.RowSelected) -> None:
        # Lazily: the dashboard paints the first frame, before the data layer is loaded.
        from fabriqueterm.tui.screens.closing import ClosingScreen

        if event.row_key.value:
            self.app.push_screen(ClosingScreen(str(event.row_key.value)), self.after_write)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "focus_to_close":
            return bool(self.query("#to-close")) and self.query_one("#to-close").display
        return True

    def action_focus_to_close(self) -> None:
        table = self.query_one("#to-close", DataTable)
        if table.display:
            table.focus()

    def action_refresh(self) -> None:
        self.reload()

    def show_report(self, data: DashboardData) -> None:
        self.data = data
        if self.show_welcome(not data.site_names and not self.fabrique.sync_configured):
            return
        report = data.report
        self.query_one("#dashboard-as-of", Static).update(
            _(
                "Indicators as of {date} (positive exits: completers of cohorts ended 6 months ago or more)"
            ).format(date=format_date(report.as_of))
        )
        table = self.table
        current = self.current_site_id()
        table.clear()
        ordered = sorted(
            report.by_site, key=lambda site_id: data.site_names.get(site_id, "").lower()
        )
        for site_id in ordered:
            table.add_row(
                *self.shown(self.cells(data.site_names.get(site_id, "?"), report.by_site[site_id])),
                key=site_id,
            )
        if len(ordered) > 1:
            table.add_row(
                *self.shown(self.cells(_("All sites"), report.total, bold=True)), key=TOTAL_KEY
            )
        if ordered:
            index = ordered.index(current) if current in ordered else 0
            table.move_cursor(row=index, animate=False)
            self.load_chart(ordered[index])
        else:
            self.query_one("#chart-title", Static).update(
                _("No site yet: create one in Sites (key 6).")
            )

    def show_welcome(self, shown: bool) -> bool:
        """The first run: no site here and no sync to bring any. The welcome replaces the table
        and the chart (they come back with the first site)."""
        welcome = self.query_one("#dashboard-welcome", Static)
        welcome.display = shown
        for selector in ("#sites-indicators", "#chart-title", "#exit-chart"):
            self.query_one(selector).display = not shown
        if shown:
            self.query_one("#dashboard-as-of", Static).update(_("Welcome to fabriqueterm"))
            welcome.update(welcome_card(self.fabrique.config.server_url))
        return shown

    def shown(self, cells: tuple[Any, ...]) -> tuple[Any, ...]:
        """The site's cell and those of the indicator columns shown."""
        keys = [key for key, *_rest in INDICATOR_COLUMNS]
        return (cells[0], *(cells[1 + keys.index(key)] for key in self.shown_keys))

    @staticmethod
    def cells(name: str, indicators: Indicators, *, bold: bool = False) -> tuple[Any, ...]:
        overdue = indicators.followups_overdue
        style = "bold" if bold else ""
        return (
            Text(name, style=style),
            Text(format_int(indicators.cohorts_running), style=style, justify="right"),
            Text(format_int(indicators.in_training), style=style, justify="right"),
            Text(str(indicators.women_pct), style=style, justify="right"),
            Text(str(indicators.qpv_pct), style=style, justify="right"),
            Text(str(indicators.positive_exit_rate(EXIT_MONTHS)), style=style, justify="right"),
            Text(format_int(indicators.followups_due), style=style, justify="right"),
            Text(format_int(overdue), style=("bold red" if overdue else style), justify="right"),
        )

    def current_site_id(self) -> str | None:
        table = self.table
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return None if key in (None, TOTAL_KEY) else str(key)

    @on(DataTable.RowHighlighted, "#sites-indicators")
    def _site_highlighted(self, event: DataTable.RowHighlighted) -> None:
        key = event.row_key.value
        if key and key != TOTAL_KEY and self.data is not None:
            self.load_chart(str(key))

    @on(DataTable.RowSelected, "#sites-indicators")
    def _site_selected(self) -> None:
        self.action_open_cohorts()

    def load_chart(self, site_id: str) -> None:
        store = self.store

        def query() -> ChartData:
            return ChartData(
                site_id,
                [line.cohort for line in store.cohorts.page(site_id=site_id, limit=200).rows],
            )

        self.load("chart", query, self.show_chart)

    def show_chart(self, chart: ChartData) -> None:
        if self.data is None:
            return
        report = self.data.report
        name = self.data.site_names.get(chart.site_id, "?")
        with_rate = [
            (cohort, report.by_cohort[cohort.id])
            for cohort in chart.cohorts
            if cohort.id in report.by_cohort
            and report.by_cohort[cohort.id].positive_exit_rate(EXIT_MONTHS).value is not None
        ][:CHART_COHORTS]
        with_rate.reverse()  # oldest at the top, like a timeline
        self.query_one("#chart-title", Static).update(
            _("Positive exit rate at +6 months, per cohort — {site}").format(site=name)
        )
        chart_widget = self.query_one("#exit-chart", Static)
        if not with_rate:
            chart_widget.update(_("No cohort of this site ended 6 months ago or more yet."))
            return
        labels = [chart_label(cohort) for cohort, _indicators in with_rate]
        width = max(len(label) for label in labels)
        lines = Text()
        for label, (_cohort, indicators) in zip(labels, with_rate, strict=True):
            rate = indicators.positive_exit_rate(EXIT_MONTHS)
            lines.append(label.ljust(width) + "  ")
            lines.append(bar(rate.value, BAR_WIDTH), style="green")
            lines.append(f" {rate!s:>8}  ")
            lines.append(
                _("{positive} of {completers}").format(
                    positive=indicators.counts.at("positive", EXIT_MONTHS),
                    completers=indicators.exit_denominator(EXIT_MONTHS),
                ),
                style="dim",
            )
            lines.append("\n")
        lines.rstrip()
        chart_widget.update(lines)

    def action_open_cohorts(self) -> None:
        site_id = self.current_site_id()
        self.fabrique.show_cohorts(site_id=site_id)
