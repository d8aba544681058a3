"""Reports in the app: the weekly summary (preview and export in every format) and the import of
learners from a CSV file. The figures, the files and the checks all come from
:mod:`fabriqueterm.reports`; these screens only ask, show and write."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Checkbox, DataTable, Input, Label, Select, SelectionList, Static
from textual.worker import Worker, WorkerState

from fabriqueterm.domain.enums import CohortStatus
from fabriqueterm.domain.models import Site
from fabriqueterm.domain.validation import FIELD_LABELS
from fabriqueterm.i18n import N_, _
from fabriqueterm.reports.exporters import FORMATS, default_filename, format_figure, render
from fabriqueterm.reports.importer import (
    ENCODING_NAMES,
    ImportFileError,
    ImportPlan,
    ImportResult,
    apply_import,
    parse_mapping,
    prepare_import,
)
from fabriqueterm.reports.summary import (
    IsoWeek,
    SummaryError,
    WeeklySummary,
    group_title,
    period_text,
    weekly_summary,
)
from fabriqueterm.store.reports import CohortLabel, ReportRepository
from fabriqueterm.tui.format import format_int
from fabriqueterm.tui.screens.base import FabriqueScreen
from fabriqueterm.tui.screens.file_output import (
    PathSuggester,
    TargetError,
    resolve_target,
    shown_path,
    unless_kept,
    write_error_message,
    write_private_file,
)
from fabriqueterm.tui.widgets.cards import label_of

#: How the formats are offered, in :data:`FORMATS` order.
FORMAT_LABELS = {
    "csv": N_("CSV for a spreadsheet (.csv)"),
    "md": N_("Markdown, for an email (.md)"),
    "xlsx": N_("Excel workbook (.xlsx)"),
    "html": N_("Web page with charts (.html)"),
}
#: The CLI's default format.
DEFAULT_FORMAT = "md"
#: Typing in the week field waits this long before the summary is computed again.
WEEK_DEBOUNCE = 0.15
#: Widest figure label and site name shown in the preview (longer ones are cut).
FIGURE_WIDTH = 52
SECTION_WIDTH = 20


def show_error(widget: Static, message: str) -> None:
    """Fill (or empty) one of the screen's error lines."""
    widget.update(message)
    widget.set_class(bool(message), "-shown")


# --- the weekly summary ------------------------------------------------------------------------


@dataclass(frozen=True)
class SummaryRequest:
    """What a summary is computed for: the week and the sites (None: all)."""

    week: IsoWeek
    site_ids: tuple[str, ...] | None


@dataclass(frozen=True)
class SummaryLoaded:
    request: SummaryRequest
    summary: WeeklySummary | None
    error: str = ""


@dataclass(frozen=True)
class Written:
    path: Path
    error: str = ""


class SummaryScreen(FabriqueScreen):
    """The weekly summary: week, sites and format on the left, the figures on the right, and the
    file written where the person says."""

    HELP = N_(
        "The weekly summary of your sites: choose the week ([ and ] move by a week), the sites and the "
        "format, check the figures, then write the file (readable by you only)."
    )

    AUTO_FOCUS = "#summary-preview"

    BINDINGS: ClassVar = [
        Binding(
            "left_square_bracket",
            "shift_week(-1)",
            N_("previous week"),
            key_display="[",
            id="summary.previous_week",
        ),
        Binding(
            "right_square_bracket",
            "shift_week(1)",
            N_("next week"),
            key_display="]",
            id="summary.next_week",
        ),
        Binding("ctrl+s", "write", N_("write the file"), id="summary.write", priority=True),
        # Out of a field, so the section keys and [ ] work again (as in the lists).
        Binding("escape", "focus('#summary-preview')", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.sites: list[Site] = []
        self.summary: WeeklySummary | None = None
        self.summary_request: SummaryRequest | None = None
        self._default_path = ""
        self._write_when_ready = False
        self._writing = False
        self._path_error_for: str | None = None
        self._sites_loaded = False
        #: The choices a summary is being counted for (in a worker).
        self._pending_request: SummaryRequest | None = None

    def screen_title(self) -> str:
        return _("Weekly summary")

    async def redraw(self) -> None:
        # Composed anew (another language): every site chosen again, the figures counted again.
        self.sites, self._sites_loaded = [], False
        self.summary = self.summary_request = self._pending_request = None
        self._default_path = ""
        await super().redraw()

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="summary"):
            with VerticalScroll(id="summary-options", can_focus=False):
                yield Label(_("ISO week"), classes="form-label")
                yield Input(str(IsoWeek.of(self.today)), placeholder="2026-W48", id="summary-week")
                yield Static("", id="summary-week-error", classes="form-error")
                yield Label(_("Format"), classes="form-label")
                yield Select(
                    [(_(FORMAT_LABELS[fmt]), fmt) for fmt in FORMATS],
                    value=DEFAULT_FORMAT,
                    allow_blank=False,
                    id="summary-format",
                )
                yield Label(_("Sites"), classes="form-label")
                yield SelectionList[str](id="summary-sites")
                yield Static("", id="summary-sites-error", classes="form-error")
                yield Label(_("File"), classes="form-label")
                yield Input(id="summary-path", suggester=PathSuggester())
                yield Static("", id="summary-path-error", classes="form-error")
                yield Button(_("Write the file"), variant="primary", id="summary-write")
                yield Static("", id="summary-written")
            with Vertical(id="summary-result"):
                yield Static("", id="summary-title", classes="section-title")
                yield Static("", id="summary-period")
                yield DataTable(id="summary-preview", cursor_type="row")

    # --- choices ----------------------------------------------------------------------------

    def reload(self) -> None:
        store = self.store
        self.summary_request = self._pending_request = None  # the data changed: counted again
        self.load("summary-sites", lambda: ReportRepository(store).sites(), self.show_sites)

    def show_sites(self, sites: list[Site]) -> None:
        chooser = self.query_one("#summary-sites", SelectionList)
        known = {site.id for site in self.sites}
        everything = not self.sites or set(chooser.selected) >= known
        chosen = set(chooser.selected)
        self.sites = sites
        self._sites_loaded = True
        chooser.clear_options()
        chooser.add_options(
            [(site.name, site.id, everything or site.id in chosen) for site in sites]
        )
        self.refresh_preview()

    def week(self) -> IsoWeek | None:
        try:
            return IsoWeek.parse(self.query_one("#summary-week", Input).value)
        except SummaryError:
            return None

    def site_ids(self) -> tuple[str, ...] | None:
        """The chosen sites; None when every site is chosen (the report then says "Sites", not
        "Selected sites", like the command line without ``--site``)."""
        chosen = self.query_one("#summary-sites", SelectionList).selected
        if {site.id for site in self.sites} <= set(chosen):
            return None
        return tuple(site.id for site in self.sites if site.id in chosen)

    def fmt(self) -> str:
        value = self.query_one("#summary-format", Select).value
        return value if isinstance(value, str) else DEFAULT_FORMAT

    def request(self) -> SummaryRequest | None:
        week = self.week()
        site_ids = self.site_ids()
        if week is None or site_ids == ():
            return None
        return SummaryRequest(week, site_ids)

    def action_shift_week(self, weeks: int) -> None:
        week = self.week() or IsoWeek.of(self.today)
        self.query_one("#summary-week", Input).value = str(
            IsoWeek.of(week.monday + timedelta(weeks=weeks))
        )

    @on(Input.Changed, "#summary-week")
    def _week_changed(self) -> None:
        if self.week() is not None:
            show_error(self.query_one("#summary-week-error", Static), "")
        self.refresh_preview(debounce=WEEK_DEBOUNCE)

    @on(Input.Submitted, "#summary-week")
    @on(Input.Blurred, "#summary-week")
    def _week_done(self) -> None:
        self.explain_week()

    def explain_week(self) -> None:
        """Say what to type when the week field holds no ISO week (not while typing)."""
        try:
            IsoWeek.parse(self.query_one("#summary-week", Input).value)
        except SummaryError as error:
            show_error(self.query_one("#summary-week-error", Static), str(error))

    @on(SelectionList.SelectedChanged, "#summary-sites")
    def _sites_changed(self) -> None:
        self.refresh_preview()

    @on(Select.Changed, "#summary-format")
    def _format_changed(self) -> None:
        self.update_default_path()

    @on(Input.Changed, "#summary-path")
    def _path_changed(self, event: Input.Changed) -> None:
        if event.value != self._path_error_for:
            self.path_error("")

    def path_error(self, message: str) -> None:
        """Say what is wrong with the path field's value (until it changes)."""
        self._path_error_for = self.query_one("#summary-path", Input).value if message else None
        show_error(self.query_one("#summary-path-error", Static), message)

    # --- the preview ------------------------------------------------------------------------

    def refresh_preview(self, *, debounce: float = 0.0) -> None:
        if not self._sites_loaded:
            return  # counted once the sites are known (a 100k-learner count takes about a second)
        request = self.request()
        show_error(
            self.query_one("#summary-sites-error", Static),
            _("Choose at least one site.") if self.sites and self.site_ids() == () else "",
        )
        if request is None:
            # Nothing to show rather than figures that no longer match the choices.
            self.summary = self.summary_request = self._pending_request = None
            self.query_one("#summary-preview", DataTable).clear(columns=True)
            self.query_one("#summary-title", Static).update("")
            self.query_one("#summary-period", Static).update("")
            return
        if request in (self.summary_request, self._pending_request):
            return
        self._pending_request = request
        store = self.store

        def query() -> SummaryLoaded:
            site_ids = None if request.site_ids is None else list(request.site_ids)
            try:
                return SummaryLoaded(
                    request, weekly_summary(store, request.week, site_ids=site_ids)
                )
            except SummaryError as error:
                return SummaryLoaded(request, None, str(error))

        self.load("summary", query, self.show_summary, debounce=debounce)

    def show_summary(self, loaded: SummaryLoaded) -> None:
        if loaded.request == self._pending_request:
            self._pending_request = None
        if loaded.request != self.request():
            return  # the choices changed since: a newer summary is on its way
        self.summary_request = loaded.request
        self.summary = summary = loaded.summary
        title = self.query_one("#summary-title", Static)
        table = self.query_one("#summary-preview", DataTable)
        table.clear(columns=True)
        if summary is None:
            self._write_when_ready = False
            title.update(loaded.error)
            self.query_one("#summary-period", Static).update("")
            return
        title.update(summary.title)
        self.query_one("#summary-period", Static).update(
            _("{period}. Aggregated figures only: no names, no contact details.").format(
                period=period_text(summary)[:1].upper() + period_text(summary)[1:]
            )
        )
        sections = summary.sections
        per_section = [section.figures() for section in sections]
        values = [[format_figure(figure) for figure in figures] for figures in per_section]
        labels = [figure.label for figure in per_section[0]]
        table.add_column(_("Figure"), key="figure", width=min(max(map(len, labels)), FIGURE_WIDTH))
        widths = []
        for section, shown in zip(sections, values, strict=True):
            # DataTable cells do not justify: numbers are padded to line up on the right.
            width = max(max(map(len, shown)), min(len(section.name), SECTION_WIDTH))
            widths.append(width)
            table.add_column(section.name.rjust(width), key=section.site_id or "total", width=width)
        group = None
        for index, figure in enumerate(per_section[0]):
            if figure.group != group:
                group = figure.group
                table.add_row(
                    Text(group_title(group), style="bold"),
                    *([""] * len(sections)),
                    key=f"group-{group}",
                )
            table.add_row(
                Text(figure.label),
                *(
                    Text(shown[index].rjust(width))
                    for shown, width in zip(values, widths, strict=True)
                ),
                key=figure.key,
            )
        self.update_default_path()
        if self._write_when_ready:
            self._write_when_ready = False
            self.action_write()

    def update_default_path(self) -> None:
        """The path field follows the week and the format until the person types their own."""
        if self.summary is None:
            return
        field = self.query_one("#summary-path", Input)
        default = str(Path.cwd() / default_filename(self.summary, self.fmt()))
        if field.value in ("", self._default_path):
            field.value = default
        self._default_path = default

    # --- writing ----------------------------------------------------------------------------

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        super().on_worker_state_changed(event)
        failed = event.state in (WorkerState.ERROR, WorkerState.CANCELLED)
        if event.worker.group == "summary" and event.state == WorkerState.ERROR:
            self._pending_request = None  # counted again at the next change
        if event.worker.group == "summary-write" and failed:
            self._writing = False
            self.refresh_bindings()
            self.query_one("#summary-written", Static).update("")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "write" and self._writing:
            return None
        return True

    def action_write(self) -> None:
        if self._writing:
            return
        request = self.request()
        if request is None:
            self.explain_week()
            self.app.bell()
            return
        if self.summary is None or request != self.summary_request:
            # The figures shown are being computed: write them as soon as they are shown.
            self._write_when_ready = True
            self.refresh_preview()
            return
        summary, fmt = self.summary, self.fmt()
        try:
            path = resolve_target(
                self.query_one("#summary-path", Input).value, default_filename(summary, fmt)
            )
        except TargetError as error:
            self.path_error(str(error))
            self.app.bell()
            return
        unless_kept(self.app, path, lambda: self._write(summary, fmt, path))

    def _write(self, summary: WeeklySummary, fmt: str, path: Path) -> None:
        self._writing = True
        self.refresh_bindings()
        self.query_one("#summary-written", Static).update(
            _("Writing {file}…").format(file=shown_path(path))
        )

        def job() -> Written:
            data = render(summary, fmt)
            try:
                write_private_file(path, data)
            except OSError as error:
                return Written(path, write_error_message(path, error))
            return Written(path)

        self.load("summary-write", job, self.show_written)

    def show_written(self, written: Written) -> None:
        self._writing = False
        self.refresh_bindings()
        done = self.query_one("#summary-written", Static)
        if written.error:
            done.update("")
            self.path_error(written.error)
            self.notify(written.error, title=_("Nothing written"), severity="error", timeout=10)
            return
        week = self.summary.week if self.summary else ""
        message = _("Weekly summary {week} written to {file}.").format(
            week=week, file=shown_path(written.path)
        )
        done.update(message)
        self.notify(message, timeout=8)

    @on(Button.Pressed, "#summary-write")
    def _write_pressed(self) -> None:
        self.action_write()


# --- importing learners -------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportOutcome:
    """What a check or an import found (``result`` None: nothing was attempted to be written)."""

    plan: ImportPlan | None
    result: ImportResult | None = None
    error: str = ""
    #: The person asked to import (not only to check).
    import_asked: bool = False


@dataclass(frozen=True)
class CohortChoices:
    """Live sites, and for each the (label, id) of its cohorts, the ones not finished first."""

    sites: list[tuple[str, str]]
    cohorts: dict[str, list[tuple[str, str]]]


def cohort_choices(cohorts: Sequence[CohortLabel], sites: Sequence[Site]) -> CohortChoices:
    """Cohorts grouped by site: a whole network holds thousands, a site a few dozen (one list of
    5,000 options takes seconds to open)."""

    def order(cohort: CohortLabel) -> tuple[bool, str, str]:
        return (cohort.status == "finished", cohort.name.casefold(), cohort.id)

    by_site: dict[str, list[tuple[str, str]]] = {site.id: [] for site in sites}
    for cohort in sorted(cohorts, key=order):
        if cohort.site_id in by_site:
            by_site[cohort.site_id].append(
                (f"{cohort.name} ({label_of(CohortStatus, cohort.status)})", cohort.id)
            )
    return CohortChoices([(site.name, site.id) for site in sites], by_site)


def mapping_items(text: str) -> list[str]:
    """The mapping field ("Nom usuel=last_name; Remarques=") as the importer's items."""
    return [item.strip() for item in text.split(";") if item.strip()]


def columns_text(plan: ImportPlan) -> str:
    return ", ".join(
        f"{column} → {_(FIELD_LABELS.get(target, target))}"
        for column, target in plan.columns.items()
    )


class ImportScreen(FabriqueScreen):
    """Import learners from a CSV file into a cohort: check first, then import."""

    HELP = N_(
        "Import learners from a CSV file (“;” or “,”, UTF-8 or Windows-1252, French or English column names). "
        "Check lists the bad rows and the duplicates without writing; Import writes every row, or nothing "
        "if a row is bad, unless you tick “valid rows only”."
    )

    BINDINGS: ClassVar = [
        Binding("ctrl+r", "check", N_("check the file"), id="import.check", priority=True),
        Binding("ctrl+s", "run_import", N_("import"), id="import.run", priority=True),
        Binding("escape", "focus('#import-report')", show=False),
    ]

    # The report has focus so the section keys work; tab goes to the file field.
    AUTO_FOCUS = "#import-report"

    def __init__(self) -> None:
        super().__init__()
        self._busy = False
        self.choices = CohortChoices([], {})
        self._shown_cohorts: tuple[object, list[tuple[str, str]]] | None = None

    def screen_title(self) -> str:
        return _("Import learners")

    async def redraw(self) -> None:
        # Composed anew (another language): the lists are filled again.
        self.choices, self._shown_cohorts = CohortChoices([], {}), None
        await super().redraw()

    def compose_body(self) -> ComposeResult:
        with Vertical(id="import"):
            with Horizontal(classes="form-pair"):
                with Vertical(classes="form-field"):
                    yield Label(_("CSV file *"), classes="form-label")
                    yield Input(
                        placeholder=_("e.g. ~/Documents/learners.csv (→ completes a name)"),
                        id="import-file",
                        suggester=PathSuggester((".csv", ".txt", ".tsv")),
                    )
                with Vertical(classes="form-field"):
                    yield Label(_("Columns to read differently (optional)"), classes="form-label")
                    yield Input(
                        placeholder=_("e.g. Nom usuel=last_name; Remarques="), id="import-mapping"
                    )
            with Horizontal(classes="form-pair"):
                with Vertical(classes="form-field"):
                    yield Label(_("Site"), classes="form-label")
                    yield Select([], prompt=_("Choose…"), id="import-site")
                with Vertical(classes="form-field"):
                    yield Label(_("Cohort the learners join *"), classes="form-label")
                    yield Select([], prompt=_("Choose a site first"), id="import-cohort")
            yield Static("", id="import-error", classes="form-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button(_("Check"), id="import-check")
                yield Button(_("Import"), variant="primary", id="import-run")
                yield Checkbox(
                    _("Import only the valid rows (skip the bad ones)"), id="import-valid-only"
                )
            yield Static("", id="import-status")
            yield Static("", id="import-details")
            report: DataTable[Any] = DataTable(
                id="import-report", cursor_type="row", zebra_stripes=True
            )
            report.add_column(_("Line"), key="line", width=6)
            report.add_column(_("Field"), key="field", width=28)
            report.add_column(_("Value"), key="value", width=22)
            report.add_column(_("Problem"), key="problem")
            yield report

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        super().on_worker_state_changed(event)
        if event.worker.group == "import" and event.state in (
            WorkerState.ERROR,
            WorkerState.CANCELLED,
        ):
            self._busy = False
            self.refresh_bindings()
            self.query_one("#import-status", Static).update("")

    def reload(self) -> None:
        store = self.store

        def query() -> list[tuple[str, str]]:
            queries = ReportRepository(store)
            return cohort_choices(queries.cohorts(), queries.sites())

        self.load("import-cohorts", query, self.show_choices)

    def show_choices(self, choices: CohortChoices) -> None:
        if choices == self.choices:
            return
        self.choices = choices
        sites = self.query_one("#import-site", Select)
        chosen = sites.value
        sites.set_options(choices.sites)
        if chosen in choices.cohorts:
            sites.value = chosen
        elif len(choices.sites) == 1:
            sites.value = choices.sites[0][1]
        self.show_cohorts()

    @on(Select.Changed, "#import-site")
    def show_cohorts(self) -> None:
        """The cohort list follows the site chosen."""
        site = self.query_one("#import-site", Select).value
        options = self.choices.cohorts.get(site, []) if isinstance(site, str) else []
        if (site, options) == self._shown_cohorts:
            return
        self._shown_cohorts = (site, options)
        chooser = self.query_one("#import-cohort", Select)
        chosen = chooser.value
        chooser.prompt = _("Choose…") if isinstance(site, str) else _("Choose a site first")
        chooser.set_options(options)
        if chosen in {value for _label, value in options}:
            chooser.value = chosen

    # --- asking ------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("check", "run_import") and self._busy:
            return None
        return True

    def _inputs(self) -> tuple[Path, str, dict[str, str]] | None:
        """The file, the cohort and the mapping, or None after saying what is missing."""
        error = self.query_one("#import-error", Static)
        text = self.query_one("#import-file", Input).value.strip()
        cohort = self.query_one("#import-cohort", Select).value
        problem = ""
        if not text:
            problem = _("Give the CSV file to import.")
        elif not isinstance(cohort, str):
            problem = _("Choose the cohort the learners join.")
        else:
            try:
                mapping = parse_mapping(
                    mapping_items(self.query_one("#import-mapping", Input).value)
                )
            except ImportFileError as mapping_error:
                problem = str(mapping_error)
        show_error(error, problem)
        if problem:
            self.app.bell()
            return None
        # Relative to the folder the app was started from, and shown as typed.
        return Path(text).expanduser(), str(cohort), mapping

    def action_check(self) -> None:
        self._start(write=False)

    def action_run_import(self) -> None:
        self._start(write=True)

    @on(Button.Pressed, "#import-check")
    def _check_pressed(self) -> None:
        self.action_check()

    @on(Button.Pressed, "#import-run")
    def _import_pressed(self) -> None:
        self.action_run_import()

    def _start(self, *, write: bool) -> None:
        if self._busy:
            return
        inputs = self._inputs()
        if inputs is None:
            return
        path, cohort_id, mapping = inputs
        valid_only = self.query_one("#import-valid-only", Checkbox).value
        store = self.store
        status = self.query_one("#import-status", Static)
        status.update(_("Reading {file}…").format(file=shown_path(path)))
        self._busy = True
        self.refresh_bindings()
        progress = self._progress_reporter()

        def job() -> ImportOutcome:
            # Read again on import: the file may have been fixed since the check.
            try:
                plan = prepare_import(store, path, cohort_id, mapping=mapping)
            except ImportFileError as error:
                return ImportOutcome(None, error=str(error))
            if not write or (not plan.ok and not valid_only):
                return ImportOutcome(plan, import_asked=write)
            try:
                result = apply_import(store, plan, valid_only=valid_only, progress=progress)
            except ImportFileError as error:  # the database changed since the check
                return ImportOutcome(plan, error=str(error), import_asked=True)
            except Exception as error:  # noqa: BLE001 - one transaction: rolled back, said as such
                message = _("The import failed and nothing was written: {error}").format(
                    error=error
                )
                return ImportOutcome(plan, error=message, import_asked=True)
            return ImportOutcome(plan, result, import_asked=True)

        self.load("import", job, self.show_outcome)

    def _progress_reporter(self) -> Callable[[int, int], None]:
        status = self.query_one("#import-status", Static)

        def report(done: int, total: int) -> None:
            self.app.call_from_thread(
                status.update,
                _("Importing: {done} of {total} rows written…").format(
                    done=format_int(done), total=format_int(total)
                ),
            )

        return report

    # --- the report --------------------------------------------------------------------------

    def show_outcome(self, outcome: ImportOutcome) -> None:
        self._busy = False
        self.refresh_bindings()
        status = self.query_one("#import-status", Static)
        details = self.query_one("#import-details", Static)
        table = self.query_one("#import-report", DataTable)
        table.clear()
        plan = outcome.plan
        if plan is None:
            status.update("")
            details.update("")
            show_error(self.query_one("#import-error", Static), outcome.error)
            self.app.bell()
            return
        show_error(self.query_one("#import-error", Static), outcome.error)
        shown_delimiter = {"\t": "tab"}.get(plan.delimiter, plan.delimiter)
        lines = [
            _("{file}: {rows} rows, {encoding}, cells separated by “{delimiter}”.").format(
                file=shown_path(plan.path),
                rows=format_int(plan.total_rows),
                encoding=ENCODING_NAMES.get(plan.encoding, plan.encoding),
                delimiter=shown_delimiter,
            ),
            _("Columns read: {columns}.").format(columns=columns_text(plan)),
        ]
        if plan.ignored_columns:
            lines.append(
                _("Columns ignored: {columns}.").format(columns=", ".join(plan.ignored_columns))
            )
        details.update("\n".join(lines))
        self._fill_report(table, plan)
        counts = {
            "valid": format_int(len(plan.rows)),
            "bad": format_int(len(plan.errors)),
            "duplicates": format_int(len(plan.duplicates)),
        }
        result = outcome.result
        if outcome.error:
            status.update("")
            self.app.bell()
        elif result is not None and result.written:
            skipped = len(plan.errors) + len(plan.duplicates)
            message = _("{count} learners imported into the cohort “{cohort}”.").format(
                count=format_int(len(result.created_ids)), cohort=plan.cohort.name
            )
            if skipped:
                message += " " + _("{skipped} rows not imported (listed below).").format(
                    skipped=format_int(skipped)
                )
            status.update(Text(message, style="bold"))
            self.notify(message, timeout=8)
            self.after_write()
        elif result is not None:
            status.update(Text(_("Nothing to import: no valid new row in the file."), style="bold"))
        elif outcome.import_asked:
            status.update(
                Text(
                    _(
                        "Nothing imported: {bad} bad rows. Fix them in the file and import again, or tick "
                        "“Import only the valid rows”."
                    ).format(**counts),
                    style="bold red",
                )
            )
            self.app.bell()
        else:
            status.update(
                _(
                    "Checked, nothing written: {valid} rows ready to import, {bad} bad rows, {duplicates} "
                    "duplicates (never imported)."
                ).format(**counts)
            )

    def _fill_report(self, table: DataTable[Any], plan: ImportPlan) -> None:
        rows: list[tuple[int, int, tuple[Any, ...]]] = []
        for row_error in plan.errors:
            for order, error in enumerate(row_error.errors):
                value = "" if error.value is None else str(error.value).strip()
                rows.append(
                    (
                        row_error.line,
                        order,
                        (
                            str(row_error.line),
                            error.label,
                            value or "—",
                            Text(
                                _("expected {expected}").format(expected=error.expected),
                                style="red",
                            ),
                        ),
                    )
                )
        for duplicate in plan.duplicates:
            if duplicate.first_line is not None:
                problem = _("duplicate of line {first}: imported once").format(
                    first=duplicate.first_line
                )
            else:
                problem = _("already held: {name}; not imported").format(
                    name=duplicate.existing_name or duplicate.existing_id
                )
            rows.append(
                (
                    duplicate.line,
                    0,
                    (
                        str(duplicate.line),
                        _(FIELD_LABELS[duplicate.field]),
                        duplicate.value,
                        Text(problem, style="yellow"),
                    ),
                )
            )
        for index, (_line, _order, cells) in enumerate(
            sorted(rows, key=lambda row: (row[0], row[1]))
        ):
            table.add_row(*cells, key=str(index))
