"""A list screen: filter-as-you-type over every row of a list read from SQLite, with the total count.

Filtering and sorting happen in the store, in a thread worker with a short debounce: one worker
counts the matches and reads the rows around the cursor. The :class:`VirtualTable` then scrolls
through all of them, reading further pages in its own workers, so typing never stutters and
scrolling reaches the last of 100,000 learners.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, ClassVar, Generic, TypeVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Input, Static
from textual.worker import Worker

from fabriqueterm.i18n import N_, _
from fabriqueterm.store.repositories import Page
from fabriqueterm.tui.format import format_int
from fabriqueterm.tui.screens.base import FabriqueScreen
from fabriqueterm.tui.widgets.virtual_table import Column, VirtualTable

__all__ = ["Column", "ListScreen"]

Row = TypeVar("Row")

#: A keystroke's query starts at once, unless the previous one still runs (keys coming faster than
#: the list is read: a burst, a paste): then it waits this long, so only the burst's last one runs.
FILTER_DEBOUNCE = 0.05


class ListScreen(FabriqueScreen, Generic[Row]):
    """Filter input, count line and a table over every matching row. Subclasses say what to read
    and show."""

    #: Rows read at a time (the table's page cache holds pages of this size).
    PAGE_SIZE: ClassVar[int] = 100
    # The table has focus so section keys (1…8) and list keys work; "/" goes to the filter.
    AUTO_FOCUS = "#list-table"

    BINDINGS: ClassVar = [
        Binding("slash", "focus_filter", N_("filter"), key_display="/", id="list.filter"),
        Binding("down", "focus_table", show=False),  # esc: tui.keys
        Binding("n", "new", N_("new"), id="list.new"),
        Binding("e", "edit", N_("edit"), id="list.edit"),
        Binding("delete", "delete", N_("delete"), key_display="del", id="list.delete"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._reading: Worker[None] | None = None

    # --- what subclasses provide ---------------------------------------------------------

    def columns(self) -> Iterable[Column | tuple[str, str] | tuple[str, str, int]]:
        """Each column (labels translated), or its (label, key) or (label, key, width); a width
        shortens longer values, columns without one share the width left. Names first: when the
        screen is narrow, the columns with the highest ``drop`` go first."""
        raise NotImplementedError

    def fetch(self, needle: str, offset: int, limit: int) -> Page[Row]:
        """Count the rows matching the filters and read ``limit`` of them from ``offset`` (runs
        in a thread)."""
        raise NotImplementedError

    def fetch_rows(self, needle: str, offset: int, limit: int, total: int) -> Sequence[Row]:
        """Read more rows of a list already counted (``total``) as the table scrolls (runs in a
        thread). Override when counting costs much."""
        return self.fetch(needle, offset, limit).rows

    def cells(self, row: Row) -> tuple[Any, ...]:
        raise NotImplementedError

    def row_id(self, row: Row) -> str:
        raise NotImplementedError

    def nouns(self) -> tuple[str, str]:
        """The counted thing, singular and plural, translated."""
        return _("row"), _("rows")

    def filter_placeholder(self) -> str:
        return _("Filter…")

    def compose_filters(self) -> ComposeResult:
        """Extra filters beside the text filter (selects…)."""
        yield from ()

    def open_row(self, row: Row) -> None:
        """Enter on a row."""

    # --- layout --------------------------------------------------------------------------

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="list-toolbar"):
            yield Input(placeholder=self.filter_placeholder(), id="filter")
            yield from self.compose_filters()
        yield Static("", id="list-count")
        columns = [
            spec if isinstance(spec, Column) else Column(spec[0], spec[1], *spec[2:])
            for spec in self.columns()
        ]
        yield VirtualTable(columns, self.cells, page_size=self.PAGE_SIZE, id="list-table")

    @property
    def table(self) -> VirtualTable[Row]:
        return self.query_one("#list-table", VirtualTable)

    @property
    def needle(self) -> str:
        return self.query_one("#filter", Input).value

    # --- loading -------------------------------------------------------------------------

    def reload(self, *, debounce: float = 0.0, from_top: bool = False) -> None:
        """Count and read the rows again: from the top after a filter change, else around the
        cursor (which stays on its row when that row is still there)."""
        table = self.table
        needle = self.needle
        cursor = 0 if from_top else table.cursor_row
        current = None if from_top else self.current_id()
        offset = cursor - cursor % self.PAGE_SIZE
        # From the top, the rows in view are enough to show the list: the table reads the rest.
        limit = (
            min(self.PAGE_SIZE, table.visible_height)
            if from_top and table.visible_height
            else self.PAGE_SIZE
        )

        def query() -> tuple[Page[Row], list[tuple[Any, ...]]]:
            page = self.fetch(needle, offset, limit)
            return page, [
                self.cells(row) for row in page.rows
            ]  # formatted here, not on the UI thread

        self._reading = self.load(
            "list",
            query,
            lambda result: self.show_page(
                result[0], cells=result[1], needle=needle, cursor=cursor, current=current
            ),
            debounce=debounce,
        )

    def show_page(
        self,
        page: Page[Row],
        *,
        cells: Sequence[Sequence[Any]] | None = None,
        needle: str = "",
        cursor: int = 0,
        current: str | None = None,
    ) -> None:
        """The count and the first rows (and their ``cells``) are read: the list shows them (the
        table reads the rest as it scrolls)."""
        ids = [self.row_id(row) for row in page.rows]
        if current in ids:
            cursor = page.offset + ids.index(current)

        def more(offset: int, limit: int) -> Sequence[Row]:
            return self.fetch_rows(needle, offset, limit, page.total)

        self.table.reset(
            page.total, more, rows=page.rows, cells=cells, offset=page.offset, cursor=cursor
        )
        # One line whatever the count: no layout pass, the new rows are painted sooner.
        self.query_one("#list-count", Static).update(self.count_line(page.total), layout=False)

    def count_line(self, total: int) -> str:
        one, many = self.nouns()
        return f"{format_int(total)} {one if total == 1 else many}"

    def current_id(self) -> str | None:
        row = self.current_row()
        return self.row_id(row) if row is not None else None

    def current_row(self) -> Row | None:
        """The row under the cursor (``None`` while its page loads or when the list is empty)."""
        table = self.table
        return table.row_at(table.cursor_row)

    # --- events --------------------------------------------------------------------------

    @on(Input.Changed, "#filter")
    def _filter_changed(self) -> None:
        busy = self._reading is not None and self._reading.is_running
        self.reload(debounce=FILTER_DEBOUNCE if busy else 0.0, from_top=True)

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self) -> None:
        self.table.focus()

    @on(VirtualTable.RowSelected, "#list-table")
    def _row_selected(self, event: VirtualTable.RowSelected) -> None:
        self.open_row(event.row)

    @on(VirtualTable.FetchFailed, "#list-table")
    def _fetch_failed(self, event: VirtualTable.FetchFailed) -> None:
        self.notify(
            str(event.error), title=_("Could not read the data"), severity="error", timeout=8
        )

    def action_focus_filter(self) -> None:
        self.query_one("#filter", Input).focus()

    def action_focus_table(self) -> None:
        self.table.focus()

    def action_new(self) -> None:
        """Create a row (subclasses)."""

    def action_edit(self) -> None:
        """Edit the current row (subclasses)."""

    def action_delete(self) -> None:
        """Delete the current row (subclasses)."""
