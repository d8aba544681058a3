"""The conflict list of the sync screen: what each conflict says, and each column's width so the
list holds at 80 columns (the learner's name and the field whole, nothing scrolling sideways)."""

from __future__ import annotations

from typing import NamedTuple

from rich.cells import cell_len

from fabriqueterm.i18n import N_, _
from fabriqueterm.store.repositories.conflicts import ConflictLine
from fabriqueterm.tui.screens.conflicts import field_name, subject, theirs_by, value_in_words


class ListColumn(NamedTuple):
    """A column of the conflict list: its key, its label, the most cells it takes (a longer text
    is cut at a word), the fewest it is squeezed to, and when it gives cells up (lowest first)."""

    key: str
    label: str
    most: int
    least: int
    gives: int


#: The conflict list's columns. Too narrow, who made theirs gives cells first, then the values
#: (a phone number or a date still reads whole), then what it is about (down to the learner's
#: name), then the field.
LIST_COLUMNS = (
    ListColumn("about", N_("About"), 40, 16, 2),
    ListColumn("field", N_("Field"), 24, 10, 3),
    ListColumn("theirs", N_("Theirs (commons)"), 30, 14, 1),
    ListColumn("mine", N_("Mine"), 30, 14, 1),
    ListColumn("who", N_("Theirs by"), 40, 14, 0),
)
#: The columns that go, first to last, when the list does not fit whole.
DROPPED_FIRST = ("who",)
#: Blank cells around each cell of a DataTable (its cell_padding on each side).
CELL_PADDING = 2


def list_cells(line: ConflictLine, names: dict[str, str]) -> dict[str, str]:
    """A conflict as the list tells it, whole (:func:`list_widths` says how much of each shows)."""
    return {
        "about": subject(line, short=True),
        "field": field_name(line.field),
        "theirs": value_in_words(line, line.server_value, names),
        "mine": value_in_words(line, line.client_value, names),
        "who": theirs_by(line, short=True),
    }


def list_widths(rows: list[dict[str, str]], available: int) -> dict[str, int]:
    """The width of each column shown in ``available`` cells: each as wide as its longest cell
    or label (up to its ``most``). When that does not fit, a :data:`DROPPED_FIRST` column goes
    unless the others fit whole beside it at its ``least``; then the columns give cells in
    their ``gives`` order (the widest of a rank first), never below their ``least``; what
    still does not fit scrolls."""
    needs = {
        column.key: min(
            column.most,
            max([cell_len(_(column.label))] + [cell_len(row[column.key]) for row in rows]),
        )
        for column in LIST_COLUMNS
    }
    shown = list(LIST_COLUMNS)
    for key in DROPPED_FIRST:
        least = next(c.least for c in shown if c.key == key)
        others = sum(needs[c.key] for c in shown if c.key != key)
        if others + min(least, needs[key]) + CELL_PADDING * len(shown) <= available:
            break
        shown = [c for c in shown if c.key != key]
    widths = {c.key: needs[c.key] for c in shown}
    room = available - CELL_PADDING * len(shown)
    for rank in sorted({c.gives for c in shown}):
        giving = [c for c in shown if c.gives == rank]
        while sum(widths.values()) > room:
            widest = max(giving, key=lambda c: widths[c.key] - c.least)
            if widths[widest.key] <= widest.least:
                break  # this rank is as narrow as it goes: the next one gives
            widths[widest.key] -= 1
    return widths
