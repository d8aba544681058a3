"""The import of learners from a CSV file into a cohort, in the app. The reading, the checks and
the writing all come from :mod:`fabriqueterm.reports.importer`; this screen only asks and shows."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Checkbox, DataTable, Input, Select, Static
from textual.worker import Worker, WorkerState

from fabriqueterm.domain.enums import CohortStatus
from fabriqueterm.domain.labels import FIELD_LABELS
from fabriqueterm.domain.models import Site
from fabriqueterm.i18n import N_, _, ngettext
from fabriqueterm.reports.importer import (
    ENCODING_NAMES,
    ImportFileError,
    ImportPlan,
    ImportResult,
    apply_import,
    parse_mapping,
    prepare_import,
    target_label,
    visible,
    visible_lines,
)
from fabriqueterm.store.reports import CohortLabel, ReportRepository
from fabriqueterm.tui.format import format_int
from fabriqueterm.tui.screens.base import FabriqueScreen
from fabriqueterm.tui.screens.file_output import PathSuggester, shown_path
from fabriqueterm.tui.screens.modal import show_error
from fabriqueterm.tui.widgets.cards import label_of
from fabriqueterm.tui.widgets.fitted import FittedCheckbox, FittedLabel

#: Shorter than this, the fields, buttons and checkbox take one line each (no borders): the
#: report of a check (the columns read, the bad rows) keeps room at 80x24.
SHORT_HEIGHT = 32


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
    """Each column and the field it is read as, by its label: "Date de naissance → date de naissance"."""
    return ", ".join(
        f"{visible(column)} → {target_label(target)}" for column, target in plan.columns.items()
    )


def as_text(message: str) -> Text:
    """A message that may quote the person's file, as a Static shows it: control characters
    escaped, and read as text, never as markup ("[red]x" in a header cell stays as it is)."""
    return Text(visible_lines(message))


def checked_text(plan: ImportPlan) -> str:
    """What a check found, each count with its noun in the singular or the plural."""
    ready = ngettext("{count} row ready to import", "{count} rows ready to import", len(plan.rows))
    bad = ngettext("{count} bad row", "{count} bad rows", len(plan.errors))
    duplicates = ngettext(
        "{count} duplicate (never imported)",
        "{count} duplicates (never imported)",
        len(plan.duplicates),
    )
    return _("Checked, nothing written: {ready}, {bad}, {duplicates}.").format(
        ready=ready.format(count=format_int(len(plan.rows))),
        bad=bad.format(count=format_int(len(plan.errors))),
        duplicates=duplicates.format(count=format_int(len(plan.duplicates))),
    )


class ImportScreen(FabriqueScreen):
    """Import learners from a CSV file into a cohort: check first, then import."""

    HELP = N_(
        "Import learners from a CSV file (“;” or “,”, UTF-8 or Windows-1252, French or English column names). "
        "Check lists the bad rows and the duplicates without writing; Import now writes every row, or "
        "nothing if a row is bad, unless you tick “Import only the valid rows”. Columns to read "
        "differently: “Column=field”, the field by its name (“Usual name=last name”), “Column=” to "
        "ignore one."
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
        #: The report's lines (line, field, problem), in the table's order.
        self._problems: list[tuple[str, str, str]] = []

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
                    yield FittedLabel(_("CSV file *"), classes="form-label")
                    yield Input(
                        placeholder=_("e.g. ~/Documents/learners.csv (→ completes a name)"),
                        id="import-file",
                        suggester=PathSuggester((".csv", ".txt", ".tsv")),
                    )
                with Vertical(classes="form-field"):
                    yield FittedLabel(
                        _("Columns to read differently (optional)"), classes="form-label"
                    )
                    yield Input(
                        placeholder=_("e.g. Usual name=last name; Remarks="), id="import-mapping"
                    )
            with Horizontal(classes="form-pair"):
                with Vertical(classes="form-field"):
                    yield FittedLabel(_("Site"), classes="form-label")
                    yield Select([], prompt=_("Choose…"), id="import-site")
                with Vertical(classes="form-field"):
                    yield FittedLabel(_("Cohort the learners join *"), classes="form-label")
                    yield Select([], prompt=_("Choose a site first"), id="import-cohort")
            yield Static("", id="import-error", classes="form-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button(_("Check"), id="import-check")
                # Not "Import", the section's name: in French the section is "Import", the button "Importer".
                yield Button(_("Import now"), variant="primary", id="import-run")
                yield FittedCheckbox(
                    _("Import only the valid rows (skip the bad ones)"), id="import-valid-only"
                )
            yield Static("", id="import-status")
            yield Static("", id="import-details")
            # The whole problem of the highlighted line: a list of choices is wider than its cell.
            yield Static("", id="import-problem")
            report: DataTable[Any] = DataTable(
                id="import-report", cursor_type="row", zebra_stripes=True
            )
            report.add_column(_("Line"), key="line", width=6)
            report.add_column(_("Field"), key="field", width=28)
            report.add_column(_("Value"), key="value", width=22)
            report.add_column(_("Problem"), key="problem")
            yield report

    def on_resize(self, _event: events.Resize) -> None:
        short = self.size.height < SHORT_HEIGHT
        self.set_class(short, "-short")
        for widget in self.query("#import Input, #import Select, #import Button, #import Checkbox"):
            widget.compact = short  # type: ignore[attr-defined]

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
        show_error(error, as_text(problem))
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
        status.update(Text(_("Reading {file}…").format(file=visible(shown_path(path)))))
        self._busy = True
        self.refresh_bindings()
        progress = self._progress_reporter()

        def job() -> ImportOutcome:
            # Read again on import: the file may have been fixed since the check.
            try:
                plan = prepare_import(store, path, cohort_id, mapping=mapping)
            except ImportFileError as error:
                return ImportOutcome(None, error=_in_the_app(error))
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
                ngettext(
                    "Importing: {done} of {total} row written…",
                    "Importing: {done} of {total} rows written…",
                    total,
                ).format(done=format_int(done), total=format_int(total)),
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
        self._problems = []
        self.query_one("#import-problem", Static).update("")
        plan = outcome.plan
        if plan is None:
            status.update("")
            details.update("")
            show_error(self.query_one("#import-error", Static), as_text(outcome.error))
            self.app.bell()
            return
        show_error(self.query_one("#import-error", Static), as_text(outcome.error))
        shown_delimiter = {"\t": "tab"}.get(plan.delimiter, plan.delimiter)
        lines = [
            ngettext(
                "{file}: {rows} row, {encoding}, cells separated by “{delimiter}”.",
                "{file}: {rows} rows, {encoding}, cells separated by “{delimiter}”.",
                plan.total_rows,
            ).format(
                file=visible(shown_path(plan.path)),
                rows=format_int(plan.total_rows),
                encoding=ENCODING_NAMES.get(plan.encoding, plan.encoding),
                delimiter=shown_delimiter,
            ),
            _("Columns read: {columns}.").format(columns=columns_text(plan)),
        ]
        if plan.ignored_columns:
            ignored = ", ".join(visible(column) for column in plan.ignored_columns)
            lines.append(_("Columns ignored: {columns}.").format(columns=ignored))
        details.update(Text("\n".join(lines)))
        self._fill_report(table, plan)
        result = outcome.result
        if outcome.error:
            status.update("")
            self.app.bell()
        elif result is not None and result.written:
            skipped = len(plan.errors) + len(plan.duplicates)
            created = len(result.created_ids)
            message = ngettext(
                "{count} learner imported into the cohort “{cohort}”.",
                "{count} learners imported into the cohort “{cohort}”.",
                created,
            ).format(count=format_int(created), cohort=plan.cohort.name)
            if skipped:
                message += " " + ngettext(
                    "{skipped} row not imported (listed below).",
                    "{skipped} rows not imported (listed below).",
                    skipped,
                ).format(skipped=format_int(skipped))
            warning = plan.capacity_warning()
            status.update(
                Text(message, style="bold")
                + (Text("\n" + warning, style="yellow") if warning else "")
            )
            self.notify(message, timeout=8, markup=False)
            if warning:
                self.notify(warning, severity="warning", timeout=12, markup=False)
            self.after_write()
        elif result is not None:
            status.update(Text(_("Nothing to import: no valid new row in the file."), style="bold"))
        elif outcome.import_asked:
            status.update(
                Text(
                    ngettext(
                        "Nothing imported: {bad} bad row. Fix it in the file and import again, or tick "
                        "“Import only the valid rows”.",
                        "Nothing imported: {bad} bad rows. Fix them in the file and import again, or tick "
                        "“Import only the valid rows”.",
                        len(plan.errors),
                    ).format(bad=format_int(len(plan.errors))),
                    style="bold red",
                )
            )
            self.app.bell()
        else:
            warning = plan.capacity_warning()
            status.update(Text(checked_text(plan) + ("\n" + warning if warning else "")))

    def _fill_report(self, table: DataTable[Any], plan: ImportPlan) -> None:
        rows: list[tuple[int, int, tuple[Any, ...]]] = []
        for row_error in plan.errors:
            for order, error in enumerate(row_error.errors):
                value = "" if error.value is None else visible(str(error.value).strip())
                rows.append(
                    (
                        row_error.line,
                        order,
                        (
                            str(row_error.line),
                            error.label,
                            Text(value or "—"),
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
                    name=visible(duplicate.existing_name or duplicate.existing_id)
                )
            rows.append(
                (
                    duplicate.line,
                    0,
                    (
                        str(duplicate.line),
                        _(FIELD_LABELS[duplicate.field]),
                        Text(visible(duplicate.value)),
                        Text(problem, style="yellow"),
                    ),
                )
            )
        for index, (_line, _order, cells) in enumerate(
            sorted(rows, key=lambda row: (row[0], row[1]))
        ):
            table.add_row(*cells, key=str(index))
            self._problems.append((str(cells[0]), str(cells[1]), str(cells[3])))

    @on(DataTable.RowHighlighted, "#import-report")
    def _show_problem(self, event: DataTable.RowHighlighted) -> None:
        index = int(str(event.row_key.value))
        if index < len(self._problems):
            line, field, problem = self._problems[index]
            self.query_one("#import-problem", Static).update(
                Text(
                    _("Line {line}, {field}: {problem}").format(
                        line=line, field=field, problem=problem
                    )
                )
            )


def _in_the_app(error: ImportFileError) -> str:
    """The file's problem, and where the app takes the columns' names when that is the fix."""
    field = _("Columns to read differently (optional)")
    hint = " " + _("Write it in “{field}”, then check again.").format(field=field)
    return str(error) + (hint if error.about_columns else "")
