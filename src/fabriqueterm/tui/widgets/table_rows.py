"""What the virtual table shows and says, apart from its state: its columns, one line of cells
drawn to the columns' widths, and the messages about its rows."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from rich.cells import cell_len, set_cell_size
from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.message import Message
from textual.strip import Strip

from fabriqueterm.tui.format import fit_words, shorten_middle

if TYPE_CHECKING:
    from fabriqueterm.tui.widgets.virtual_table import VirtualTable

Row = TypeVar("Row")

#: Reads ``limit`` rows from ``offset`` (runs in a thread, never on the UI thread).
Fetch = Callable[[int, int], Sequence[Row]]

#: Blank cells on each side of a cell.
PADDING = 1
#: Lines taken by the header.
HEADER_HEIGHT = 1
#: Shown in the first cell of a row whose page is still loading.
PLACEHOLDER = "…"


@dataclass(frozen=True)
class Column:
    """A column: its label, key and width in cells (``None``: shares the width the others leave,
    at least ``min_width`` and the label's). When the table is narrower than its columns, those
    with the highest ``drop`` go first (0: never). A value too long is shortened at a word
    boundary, or in the middle (``middle``: the start and the distinguishing end stay)."""

    label: str
    key: str
    width: int | None = None
    drop: int = 0
    middle: bool = False
    min_width: int = 0

    def least(self) -> int:
        """The fewest cells it is drawn in (padding not counted)."""
        if self.width is not None:
            return self.width
        return max(self.min_width, cell_len(self.label), 1)

    def fit(self, text: str, width: int) -> str:
        return shorten_middle(text, width) if self.middle else fit_words(text, width)


def shown_columns(columns: Sequence[Column], available: int) -> list[int]:
    """The indexes of the columns drawn in ``available`` cells: the droppable ones go, highest
    ``drop`` first, until the rest fits (the essential ones stay, even scrolled)."""
    shown = list(range(len(columns)))
    droppable = sorted((i for i, c in enumerate(columns) if c.drop), key=lambda i: -columns[i].drop)
    for index in droppable:
        if sum(columns[i].least() + 2 * PADDING for i in shown) <= available:
            break
        shown.remove(index)
    return shown


def column_widths(columns: Sequence[Column], available: int) -> tuple[list[int], int]:
    """Column widths: fixed ones as given, the others share what is left (at least their
    :meth:`Column.least`); and the width of a line (the columns', or ``available`` when wider)."""
    fixed = sum(c.width for c in columns if c.width is not None)
    flexible = [c for c in columns if c.width is None]
    left = available - fixed - 2 * PADDING * len(columns)
    share = left // len(flexible) if flexible else 0
    extra = left - share * len(flexible) if flexible else 0
    widths = []
    for column in columns:
        if column.width is not None:
            widths.append(column.width)
        else:
            width = share + (1 if extra > 0 else 0)
            extra -= 1
            widths.append(max(width, column.least()))
    table_width = sum(widths) + 2 * PADDING * len(widths)
    return widths, max(table_width, available)


def cells_strip(
    values: Sequence[Any],
    widths: Sequence[int],
    line_width: int,
    style: Style,
    console: Console,
    columns: Sequence[Column] = (),
) -> Strip:
    """One line in ``style``: each value shortened as its column says (:meth:`Column.fit`) or
    padded to its column's width; rich Text keeps its own styles and justification."""
    pad = " " * PADDING
    segments: list[Segment] = []
    plain: list[str] = []  # consecutive plain cells become one segment
    for index, (value, width) in enumerate(zip(values, widths, strict=False)):
        if isinstance(value, Text):
            cell = value.copy()
            cell.truncate(width, overflow="ellipsis")
            gap = width - cell.cell_len
            left = gap if cell.justify == "right" else gap // 2 if cell.justify == "center" else 0
            plain.append(pad + " " * left)
            segments.append(Segment("".join(plain), style))
            plain = [" " * (gap - left) + pad]
            segments.extend(Segment.apply_style(cell.render(console), style))
            continue
        text = "" if value is None else str(value)
        length = cell_len(text)
        if length > width and index < len(columns):
            text = columns[index].fit(text, width)
            length = cell_len(text)
        if length > width:
            keep = max(width - 1, 0)
            # One cell a character: a slice will do (set_cell_size splits graphemes: slow).
            text = (text[:keep] if length == len(text) else set_cell_size(text, keep)) + "…"[
                : width - keep
            ]
            length = width
        plain.append(pad + text + " " * (width - length) + pad)
    length = sum(width + 2 * PADDING for width in widths[: len(values)])
    plain.append(" " * max(0, line_width - length))
    segments.append(Segment("".join(plain), style))
    return Strip(segments, max(length, line_width))


# The messages keep the handler names they had as VirtualTable's inner classes
# (on_virtual_table_row_selected...): hence their namespace.


class RowMessage(Message):
    def __init__(self, table: VirtualTable[Any], index: int, row: Any) -> None:
        super().__init__()
        self.table, self.index, self.row = table, index, row

    @property
    def control(self) -> VirtualTable[Any]:
        return self.table


class RowHighlighted(RowMessage, namespace="virtual_table"):
    """The cursor moved to ``index``; ``row`` is ``None`` while its page loads."""


class RowSelected(RowMessage, namespace="virtual_table"):
    """Enter (or a click on the highlighted row) on a loaded row."""


class FetchFailed(Message, namespace="virtual_table"):
    """A page could not be read; its rows stay placeholders until the next reset."""

    def __init__(self, table: VirtualTable[Any], error: Exception) -> None:
        super().__init__()
        self.table, self.error = table, error

    @property
    def control(self) -> VirtualTable[Any]:
        return self.table


#: The virtual table's looks: the same as Textual's DataTable, so themes treat both alike.
VIRTUAL_TABLE_CSS = """
VirtualTable {
    background: $surface;
    color: $foreground;
    height: 1fr;
    &:focus {
        background-tint: $foreground 5%;
        & > .virtual-table--cursor {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
            text-style: $block-cursor-text-style;
        }
        & > .virtual-table--header {
            background-tint: $foreground 5%;
        }
    }
    &:dark > .virtual-table--even-row {
        background: $surface-darken-1 40%;
    }
    & > .virtual-table--header {
        text-style: bold;
        background: $panel;
        color: $foreground;
    }
    &:ansi > .virtual-table--header {
        background: ansi_bright_blue;
        color: ansi_default;
    }
    & > .virtual-table--even-row {
        background: $surface-lighten-1 50%;
    }
    & > .virtual-table--cursor {
        background: $block-cursor-blurred-background;
        color: $block-cursor-blurred-foreground;
        text-style: $block-cursor-blurred-text-style;
    }
    & > .virtual-table--placeholder {
        color: $text-muted;
    }
}
"""
