"""A table that scrolls through any number of rows (Textual's Line API).

Only the visible lines are rendered. Rows come in pages from a ``fetch(offset, limit)`` function
run in a thread worker, kept in a bounded LRU page cache; a row not loaded yet shows as a
placeholder line until its page arrives. :meth:`VirtualTable.reset` starts over with a new total
and fetch function (a new filter), optionally with the first rows already read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import partial
from typing import Any, ClassVar, Generic

from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.timer import Timer
from textual.widget import Widget
from textual.worker import get_current_worker

from fabriqueterm.tui.widgets.page_cache import PageCache, PageLoaded, PagesFailed
from fabriqueterm.tui.widgets.table_rows import (
    HEADER_HEIGHT,
    PLACEHOLDER,
    VIRTUAL_TABLE_CSS,
    Column,
    Fetch,
    FetchFailed,
    Row,
    RowHighlighted,
    RowSelected,
    cells_strip,
    column_widths,
    shown_columns,
)

__all__ = ["PLACEHOLDER", "Column", "VirtualTable"]


class VirtualTable(ScrollView, Generic[Row], can_focus=True):
    """A row-cursor table over ``total`` rows read page by page; see the module docstring."""

    ALLOW_MAXIMIZE = True

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Select", show=False),
        Binding("up", "cursor_up", "Cursor up", show=False),
        Binding("down", "cursor_down", "Cursor down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home,ctrl+home", "first", "First row", show=False),
        Binding("end,ctrl+end", "last", "Last row", show=False),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "virtual-table--header",
        "virtual-table--cursor",
        "virtual-table--even-row",
        "virtual-table--odd-row",
        "virtual-table--placeholder",
    }

    DEFAULT_CSS = VIRTUAL_TABLE_CSS

    #: Seconds the view must stay put before the pages around it are read ahead (reading them
    #: while keys come would slow the keys down).
    READ_AHEAD_DELAY: ClassVar[float] = 0.15

    cursor_row: reactive[int] = reactive(0, repaint=False, init=False)
    """Index of the highlighted row (0 when the table is empty)."""

    # Posted to the screen (see table_rows.py); VirtualTable.RowSelected etc. as for any widget.
    RowHighlighted = RowHighlighted
    RowSelected = RowSelected
    FetchFailed = FetchFailed

    def __init__(
        self,
        columns: Iterable[Column],
        cells: Callable[[Row], Sequence[Any]],
        *,
        page_size: int = 100,
        max_pages: int = 30,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        """``cells(row)`` gives a row's values (str or rich Text, one per column); ``page_size``
        rows are fetched at a time and at most ``max_pages`` pages are kept."""
        super().__init__(name=name, id=id, classes=classes)
        self.columns = list(columns)
        self._cells = cells
        self.page_size = page_size
        self.max_pages = max(max_pages, 4)
        self._total = 0
        self._fetch: Fetch[Row] | None = None
        self._generation = 0
        self._pages: PageCache[Row] = PageCache(page_size, self.max_pages)
        self._flush_scheduled = False
        self._read_ahead_timer: Timer | None = None
        self._select_when_loaded: int | None = None
        self._widths: list[int] = []
        #: The indexes of the columns drawn (the less important ones go when narrow), and those.
        self._shown: list[int] = list(range(len(self.columns)))
        self._shown_columns: list[Column] = list(self.columns)
        self._line_width = 0
        self._strips: dict[tuple[int, bool], Strip] = {}
        self._render_width = 0
        self._styles: dict[tuple[str, bool], Style] = {}

    # --- data ----------------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        """How many rows the table scrolls through (loaded or not)."""
        return self._total

    def reset(
        self,
        total: int,
        fetch: Fetch[Row] | None,
        *,
        rows: Sequence[Row] = (),
        cells: Sequence[Sequence[Any]] | None = None,
        offset: int = 0,
        cursor: int = 0,
    ) -> None:
        """Show ``total`` rows read with ``fetch``: the cache is emptied, then seeded with ``rows``
        (already read from ``offset``, a multiple of ``page_size``; fewer than a page is fine: the
        rest of the page is read when needed) and their ``cells`` when already made; the cursor
        goes to ``cursor``."""
        self._generation += 1
        self._fetch = fetch
        self._pages.clear()
        if self._read_ahead_timer is not None:  # typing on: read ahead once it pauses
            self._read_ahead_timer.stop()
            self._read_ahead_timer = None
        self._select_when_loaded = None
        self._total = max(total, 0)
        if not offset % self.page_size:
            made = cells if cells is not None else map(self._cells, rows)
            self._pages.seed(list(zip(rows, made, strict=True)), offset, self._total)
        self._update_virtual_size()
        cursor = self._clamp(cursor)
        changed = cursor != self.cursor_row
        self.set_reactive(VirtualTable.cursor_row, cursor)
        self._strips.clear()
        self.scroll_to(y=min(self.scroll_y, self.max_scroll_y), animate=False, force=True)
        self._scroll_cursor_into_view()
        self.refresh()
        if changed:
            self.post_message(self.RowHighlighted(self, cursor, self.row_at(cursor)))

    def row_at(self, index: int) -> Row | None:
        """The row at ``index`` if its page is loaded (nothing is fetched)."""
        entry = self._pages.entry(index) if 0 <= index < self._total else None
        return entry[0] if entry is not None else None

    def visible_range(self) -> range:
        """Indexes of the rows in view."""
        top = round(self.scroll_y)
        return range(top, min(self._total, top + self.visible_height))

    @property
    def is_loading(self) -> bool:
        """True while pages are being read."""
        return bool(self._pages.loading or self._pages.wanted)

    def _want(self, page: int) -> None:
        cache = self._pages
        if page in cache.loading or page in cache.wanted or page in cache.failed:
            return
        cache.wanted.add(page)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self.call_later(self._load_wanted)

    def _load_wanted(self) -> None:
        """Read the wanted pages still in or beside the view (those in view first), in one worker."""
        self._flush_scheduled = False
        fetch, cache = self._fetch, self._pages
        if fetch is None:
            cache.wanted.clear()
            return
        first, last = self._pages_in_view()
        # Pages in view first, then the ones just before and after; any other went out of view.
        wanted = sorted(cache.wanted, key=lambda p: (not first <= p <= last, p))
        cache.wanted.clear()
        pages = [
            p
            for p in wanted
            if first - 1 <= p <= last + 1
            and 0 <= p * self.page_size < self._total
            and cache.needs(p)
            and p not in cache.loading
        ]
        if not pages:
            return
        cache.loading.update(pages)
        self.run_worker(
            partial(self._read_pages, self._generation, fetch, pages),
            thread=True,
            group="virtual-table",
            exit_on_error=False,
        )

    def _read_pages(self, generation: int, fetch: Fetch[Row], pages: list[int]) -> None:
        """In a thread: read each page and post it as soon as it is read."""
        worker = get_current_worker()
        for done, page in enumerate(pages):
            if worker.is_cancelled or generation != self._generation:
                return  # a reset came: its pages are somebody else's
            try:
                rows = fetch(page * self.page_size, self.page_size)
                entries = [(row, self._cells(row)) for row in rows]
            except Exception as error:  # noqa: BLE001 - reported on screen, not in a traceback
                self.post_message(PagesFailed(generation, pages[done:], error))
                return
            self.post_message(PageLoaded(generation, page, entries))

    def _on_virtual_table_page_loaded(self, message: PageLoaded) -> None:
        message.stop()
        if message.generation != self._generation:
            return
        page, rows = message.page, message.rows
        first, last = self._pages_in_view()
        self._pages.keep(page, rows, range(first, last + 1))
        start = page * self.page_size
        if len(rows) < self.page_size and start + len(rows) < self._total:
            # The list shrank since it was counted: what follows this short page is gone.
            self._total = start + len(rows)
            self._update_virtual_size()
            self.cursor_row = self._clamp(self.cursor_row)
        self._strips.clear()
        self.refresh()
        pending = self._select_when_loaded
        if (
            pending is not None
            and start <= pending < start + len(rows)
            and pending == self.cursor_row
        ):
            self._select_when_loaded = None
            self.post_message(self.RowSelected(self, pending, rows[pending - start][0]))

    def _on_virtual_table_pages_failed(self, message: PagesFailed) -> None:
        message.stop()
        if message.generation == self._generation:
            self._pages.loading.difference_update(message.pages)
            self._pages.failed.update(message.pages)
            self.post_message(self.FetchFailed(self, message.error))

    def _pages_in_view(self) -> tuple[int, int]:
        view = self.visible_range()
        return view.start // self.page_size, max(view.start, view.stop - 1) // self.page_size

    def _want_view(self) -> None:
        """Ask now for the pages with rows in view not loaded; a moment later, for the rest of a
        page seeded in part and for the pages just before and after the view (read ahead)."""
        if self._fetch is None:
            return
        first, last = self._pages_in_view()
        view = self.visible_range()
        ahead = False
        for page in range(first - 1, last + 2):
            if not 0 <= page * self.page_size < self._total:
                continue
            if not self._pages.needs(page):
                continue
            start = page * self.page_size + self._pages.held(page)
            if start < view.stop and page * self.page_size + self.page_size > view.start:
                self._want(page)
            else:
                ahead = True
        if ahead and self._read_ahead_timer is None:
            self._read_ahead_timer = self.set_timer(self.READ_AHEAD_DELAY, self._read_ahead)

    def _read_ahead(self) -> None:
        self._read_ahead_timer = None
        first, last = self._pages_in_view()
        for page in range(first - 1, last + 2):
            if 0 <= page * self.page_size < self._total and self._pages.needs(page):
                self._want(page)

    # --- geometry ------------------------------------------------------------------------

    @property
    def visible_height(self) -> int:
        """How many rows fit in view (0 before the first layout)."""
        return max(0, self.scrollable_content_region.height - HEADER_HEIGHT)

    def _clamp(self, index: int) -> int:
        return max(0, min(index, self._total - 1))

    def _layout_columns(self) -> None:
        """Column widths: fixed ones as given, the others share what is left (at least their label)."""
        # The vertical scrollbar shows once the rows overflow; it takes its width from the columns.
        overflows = self._total + HEADER_HEIGHT > self.size.height
        available = self.size.width - (self.styles.scrollbar_size_vertical if overflows else 0)
        self._shown = shown_columns(self.columns, available)
        self._shown_columns = [self.columns[i] for i in self._shown]
        self._widths, self._line_width = column_widths(self._shown_columns, available)

    def _update_virtual_size(self) -> None:
        self._layout_columns()
        size = Size(self._line_width, self._total + HEADER_HEIGHT)
        if size == self.virtual_size:
            return
        if not self.is_mounted or not self.container_size:
            self.virtual_size = size
            return
        # A new total only moves the scrollbar's thumb: no layout of the whole screen (5-10 ms a
        # keystroke) unless a scrollbar appears or goes (Textual 8.2's own ScrollView update).
        self.set_reactive(Widget.virtual_size, size)
        self._scroll_update(size)
        self.refresh()

    def _scroll_cursor_into_view(self) -> None:
        top, height = round(self.scroll_y), self.visible_height
        cursor = self.cursor_row
        if height <= 0:
            return
        if cursor < top:
            self.scroll_to(y=cursor, animate=False, force=True)
        elif cursor >= top + height:
            self.scroll_to(y=cursor - height + 1, animate=False, force=True)

    def on_resize(self, _event: events.Resize) -> None:
        self._update_virtual_size()
        self._strips.clear()
        self._scroll_cursor_into_view()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()
        self._styles.clear()
        self.refresh()

    # --- rendering -----------------------------------------------------------------------

    def render_lines(self, crop: Region) -> list[Strip]:
        self._render_width = self.scrollable_content_region.width
        if len(self._strips) > 4 * max(self.visible_height, 50):
            self._strips.clear()
        lines = super().render_lines(crop)
        self._want_view()
        return lines

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self._render_width
        if y < HEADER_HEIGHT:
            strip = self._header_strip()
        else:
            index = scroll_y + y - HEADER_HEIGHT
            if index >= self._total:
                return Strip.blank(width, self.rich_style)
            strip = self._row_strip(index)
        if scroll_x == 0 and strip.cell_length == width:
            return strip
        return strip.crop_extend(scroll_x, scroll_x + width, self.rich_style)

    def _style(self, component: str, cursor: bool = False) -> Style:
        """The widget's style, then the component's, then the cursor's (cached until restyled)."""
        key = (component, cursor)
        style = self._styles.get(key)
        if style is None:
            style = self.rich_style + self.get_component_rich_style(component)
            if cursor:
                style += self.get_component_rich_style("virtual-table--cursor")
            self._styles[key] = style
        return style

    def _header_strip(self) -> Strip:
        key = (-1, self.has_focus)
        strip = self._strips.get(key)
        if strip is None:
            strip = self._line(
                [column.label for column in self.columns], self._style("virtual-table--header")
            )
            self._strips[key] = strip
        return strip

    def _row_strip(self, index: int) -> Strip:
        cursor = index == self.cursor_row
        key = (index, cursor)
        strip = self._strips.get(key)
        if strip is not None:
            return strip
        entry = self._pages.entry(index)
        if entry is None:  # not cached: its page is on its way
            return self._line([PLACEHOLDER], self._style("virtual-table--placeholder", cursor))
        stripe = "virtual-table--even-row" if index % 2 == 0 else "virtual-table--odd-row"
        strip = self._strips[key] = self._line(entry[1], self._style(stripe, cursor))
        return strip

    def _line(self, values: Sequence[Any], style: Style) -> Strip:
        """One line of ``values`` (one per column, or a placeholder) in ``style``, to the shown
        columns' widths (computed once per layout, not per line)."""
        if len(values) == len(self.columns):
            values = [values[i] for i in self._shown]
        return cells_strip(
            values, self._widths, self._line_width, style, self.app.console, self._shown_columns
        )

    # --- keys and mouse ------------------------------------------------------------------

    def validate_cursor_row(self, value: int) -> int:
        return self._clamp(value)

    def watch_cursor_row(self, old: int, new: int) -> None:
        self._select_when_loaded = None
        self._strips.pop((old, True), None)
        self._strips.pop((new, False), None)
        self._scroll_cursor_into_view()
        self.refresh()
        self.post_message(self.RowHighlighted(self, new, self.row_at(new)))

    def action_cursor_up(self) -> None:
        self.cursor_row -= 1

    def action_cursor_down(self) -> None:
        self.cursor_row += 1

    def action_page_up(self) -> None:
        self.cursor_row -= max(1, self.visible_height)

    def action_page_down(self) -> None:
        self.cursor_row += max(1, self.visible_height)

    def action_first(self) -> None:
        self.cursor_row = 0

    def action_last(self) -> None:
        self.cursor_row = self._total - 1

    def action_select_cursor(self) -> None:
        index = self.cursor_row
        if not self._total:
            return
        row = self.row_at(index)
        if row is None:
            self._select_when_loaded = index  # selected as soon as its page arrives
            return
        self.post_message(self.RowSelected(self, index, row))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or offset.y < HEADER_HEIGHT:
            return
        index = round(self.scroll_y) + offset.y - HEADER_HEIGHT
        if index >= self._total:
            return
        event.stop()
        if index == self.cursor_row:
            self.action_select_cursor()
        else:
            self.cursor_row = index
