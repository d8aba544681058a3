"""A list screen: filter-as-you-type over a bounded page read from SQLite, with the total count.

The table never holds more than :attr:`ListScreen.PAGE_SIZE` rows: filtering, sorting and paging
happen in the store, in a thread worker with a short debounce, so typing never stutters even with
100,000 learners.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar, Generic, TypeVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import DataTable, Input, Static

from fabriqueterm.i18n import N_, _
from fabriqueterm.store.repositories import Page
from fabriqueterm.tui.format import format_int, shown_of
from fabriqueterm.tui.screens.base import FabriqueScreen

Row = TypeVar("Row")

#: How long typing must pause before the list is filtered again.
FILTER_DEBOUNCE = 0.12


class ListScreen(FabriqueScreen, Generic[Row]):
    """Filter input, count line and a page of rows. Subclasses say what to read and show."""

    PAGE_SIZE: ClassVar[int] = 200
    # The table has focus so section keys (1…8) and list keys work; "/" goes to the filter.
    AUTO_FOCUS = "#list-table"

    BINDINGS: ClassVar = [
        Binding("slash", "focus_filter", N_("filter"), key_display="/", id="list.filter"),
        Binding("down,escape", "focus_table", show=False),
        Binding("n", "new", N_("new"), id="list.new"),
        Binding("e", "edit", N_("edit"), id="list.edit"),
        Binding("delete", "delete", N_("delete"), key_display="del", id="list.delete"),
        Binding("right_square_bracket", "next_page", N_("next page"), key_display="]", id="list.next_page"),
        Binding("left_square_bracket", "previous_page", N_("previous page"), key_display="[", show=False, id="list.previous_page"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.page_offset = 0
        self.page: Page[Row] = Page([], 0)
        self._rows: dict[str, Row] = {}

    # --- what subclasses provide ---------------------------------------------------------

    def columns(self) -> Iterable[tuple[str, str] | tuple[str, str, int]]:
        """(label, key) or (label, key, width) of each column, labels translated; a width crops
        longer values."""
        raise NotImplementedError

    def fetch(self, needle: str, offset: int) -> Page[Row]:
        """Read one page (runs in a thread)."""
        raise NotImplementedError

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
        table: DataTable[Any] = DataTable(id="list-table", cursor_type="row", zebra_stripes=True)
        for label, key, *width in self.columns():
            table.add_column(label, key=key, width=width[0] if width else None)
        yield table

    @property
    def table(self) -> DataTable[Any]:
        return self.query_one("#list-table", DataTable)

    @property
    def needle(self) -> str:
        return self.query_one("#filter", Input).value

    # --- loading -------------------------------------------------------------------------

    def reload(self, *, debounce: float = 0.0) -> None:
        needle, offset = self.needle, self.page_offset
        self.load("list", lambda: self.fetch(needle, offset), self.show_page, debounce=debounce)

    def show_page(self, page: Page[Row]) -> None:
        table = self.table
        current = self.current_id()
        index = table.cursor_row
        self.page = page
        self._rows = {}
        table.clear()
        for row in page.rows:
            key = self.row_id(row)
            self._rows[key] = row
            table.add_row(*self.cells(row), key=key)
        if page.rows:
            keys = list(self._rows)
            target = keys.index(current) if current in self._rows else min(index, len(keys) - 1)
            table.move_cursor(row=max(target, 0), animate=False)
        self.query_one("#list-count", Static).update(self.count_line(page))

    def count_line(self, page: Page[Row]) -> str:
        one, many = self.nouns()
        text = shown_of(page.total, len(page.rows), one, many)
        if page.offset or page.has_more:
            text += " · " + _("rows {first}–{last}").format(
                first=format_int(page.offset + 1 if page.rows else 0),
                last=format_int(page.offset + len(page.rows)),
            )
        return text

    def current_id(self) -> str | None:
        table = self.table
        if not table.row_count:
            return None
        try:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        except Exception:  # noqa: BLE001 - an empty or changing table has no current row
            return None
        return str(key.value) if key.value is not None else None

    def current_row(self) -> Row | None:
        key = self.current_id()
        return self._rows.get(key) if key is not None else None

    # --- events --------------------------------------------------------------------------

    @on(Input.Changed, "#filter")
    def _filter_changed(self) -> None:
        self.page_offset = 0
        self.reload(debounce=FILTER_DEBOUNCE)

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self) -> None:
        self.table.focus()

    @on(DataTable.RowSelected, "#list-table")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        row = self._rows.get(str(event.row_key.value))
        if row is not None:
            self.open_row(row)

    def action_focus_filter(self) -> None:
        self.query_one("#filter", Input).focus()

    def action_focus_table(self) -> None:
        self.table.focus()

    def action_next_page(self) -> None:
        if self.page.has_more:
            self.page_offset += self.PAGE_SIZE
            self.reload()

    def action_previous_page(self) -> None:
        if self.page_offset:
            self.page_offset = max(0, self.page_offset - self.PAGE_SIZE)
            self.reload()

    def action_new(self) -> None:
        """Create a row (subclasses)."""

    def action_edit(self) -> None:
        """Edit the current row (subclasses)."""

    def action_delete(self) -> None:
        """Delete the current row (subclasses)."""
