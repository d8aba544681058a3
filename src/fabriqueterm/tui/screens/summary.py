"""The weekly summary in the app: preview and export in every format. The figures and the files
come from :mod:`fabriqueterm.reports`; this screen only asks, shows and writes (in the documents
folder by default, with the chosen format's extension: :mod:`.file_output`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, DataTable, Input, Label, Select, SelectionList, Static
from textual.worker import Worker, WorkerState

from fabriqueterm.domain.models import Site
from fabriqueterm.i18n import N_, _
from fabriqueterm.reports.exporters import FORMATS, default_filename, format_figure, render
from fabriqueterm.reports.summary import (
    IsoWeek,
    SummaryError,
    WeeklySummary,
    group_title,
    period_text,
    weekly_summary,
)
from fabriqueterm.store.reports import ReportRepository
from fabriqueterm.tui.format import fit_words, shorten_middle
from fabriqueterm.tui.screens.base import FabriqueScreen
from fabriqueterm.tui.screens.file_output import (
    PathSuggester,
    TargetError,
    documents_folder,
    resolve_target,
    shown_path,
    unless_kept,
    with_extension,
    write_error_message,
    write_private_file,
)
from fabriqueterm.tui.screens.modal import show_error

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
#: Narrower than this, the options column is narrower (styles/reports.tcss: .-narrow).
NARROW_WIDTH = 100


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


class FiguresPane(Vertical):
    """The figures' side: its own width, known once the layout is done, gives the labels their room.

    Its screen redraws the figures each time that width changes (a resize, the narrow layout), so
    the labels never keep the room of a layout that was not the last one."""

    def on_resize(self, event: events.Resize) -> None:
        screen = self.screen
        if isinstance(screen, SummaryScreen):
            screen.draw_preview()


class SummaryScreen(FabriqueScreen):
    """The weekly summary: week, sites and format on the left, the figures on the right, and below
    them the file to write (the whole width, so a long path reads)."""

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
            with FiguresPane(id="summary-result"):
                yield Static("", id="summary-title", classes="section-title")
                yield Static("", id="summary-period")
                yield DataTable(id="summary-preview", cursor_type="row")
        with Horizontal(id="summary-save"):
            yield Label(_("File"), id="summary-path-label")
            yield Input(id="summary-path", suggester=PathSuggester(base=documents_folder(self.app)))
            yield Button(_("Write the file"), variant="primary", id="summary-write")
        yield Static("", id="summary-path-error", classes="form-error")
        yield Static("", id="summary-written")

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
        """The path follows the format: the default one, or the extension of a typed one."""
        field = self.query_one("#summary-path", Input)
        if field.value not in ("", self._default_path):
            field.value = with_extension(field.value, self.fmt(), FORMATS)
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
        self.draw_preview()
        self.update_default_path()
        if self._write_when_ready:
            self._write_when_ready = False
            self.action_write()

    def draw_preview(self) -> None:
        """The figures in the preview table, their labels cut to the room the layout gives now."""
        summary = self.summary
        if summary is None:
            return
        table = self.query_one("#summary-preview", DataTable)
        table.clear(columns=True)
        sections = summary.sections
        per_section = [section.figures() for section in sections]
        values = [[format_figure(figure) for figure in figures] for figures in per_section]
        labels = [figure.label for figure in per_section[0]]
        widths = [
            # DataTable cells do not justify: numbers are padded to line up on the right.
            max(max(map(len, shown)), min(len(section.name), SECTION_WIDTH))
            for section, shown in zip(sections, values, strict=True)
        ]
        # The numbers are what is checked: the labels leave room for the first column's (the
        # others scroll), shortened in the middle so "… à +3 mois" and "… à +6 mois" stay apart.
        room = self.preview_width() - widths[0] - 4
        label_width = min(max(map(len, labels)), FIGURE_WIDTH, max(room, 20))
        table.add_column(_("Figure"), key="figure", width=label_width)
        for section, width in zip(sections, widths, strict=True):
            table.add_column(section.name.rjust(width), key=section.site_id or "total", width=width)
        group = None
        for index, figure in enumerate(per_section[0]):
            if figure.group != group:
                group = figure.group
                table.add_row(
                    Text(fit_words(group_title(group), label_width), style="bold"),
                    *([""] * len(sections)),
                    key=f"group-{group}",
                )
            table.add_row(
                Text(shorten_middle(figure.label, label_width)),
                *(
                    Text(shown[index].rjust(width))
                    for shown, width in zip(values, widths, strict=True)
                ),
                key=figure.key,
            )

    def preview_width(self) -> int:
        """The cells the preview has: the figures' side as laid out now, less its padding and the
        table's scroll bar."""
        return self.query_one("#summary-result", FiguresPane).size.width - 4

    def on_resize(self) -> None:
        # Narrow (80 columns), the options give the figures room; the figures are drawn again when
        # their side takes its new width (FiguresPane), not before.
        self.set_class(self.size.width < NARROW_WIDTH, "-narrow")

    def update_default_path(self) -> None:
        """The path field follows the week and the format until the person types their own: the
        documents folder (``$FABRIQUETERM_HOME/documents`` in tests and the demo)."""
        if self.summary is None:
            return
        field = self.query_one("#summary-path", Input)
        default = shown_path(
            documents_folder(self.app) / default_filename(self.summary, self.fmt())
        )
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
                self.query_one("#summary-path", Input).value,
                default_filename(summary, fmt),
                documents_folder(self.app),
                extension=fmt,
                known=FORMATS,
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
        message = _("Weekly summary {week} written to {file}.").format(week=week, file=written.path)
        done.update(message)
        self.notify(message, timeout=8)

    @on(Button.Pressed, "#summary-write")
    def _write_pressed(self) -> None:
        self.action_write()
