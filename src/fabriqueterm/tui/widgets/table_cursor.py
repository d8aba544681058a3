"""A DataTable filled again keeps its cursor on the row it was on (a dialog saved, the screen
reloaded: the person finds the row they were on)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from textual.widgets import DataTable


@contextmanager
def same_row(table: DataTable[Any]) -> Iterator[None]:
    """Around a ``clear()`` and new ``add_row()`` calls: the cursor goes back to the row with the
    same key, else stays at the same index (the last row when fewer)."""
    key = None
    if table.row_count:
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
    index = table.cursor_row
    yield
    if not table.row_count:
        return
    if key is not None and key in table.rows:
        index = table.get_row_index(key)
    table.move_cursor(row=min(index, table.row_count - 1), animate=False)
