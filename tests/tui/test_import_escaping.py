"""The import screen shows the person's file as text (issue #13, finding 7): a control character
is shown escaped ("\\x1b[2J"), and Textual markup in a cell ("[red]x") is shown as typed, never
interpreted."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_reports_tui import open_import, running_cohort
from textual.widgets import DataTable, Static
from tui_helpers import SIZE, settle

pytestmark = pytest.mark.anyio

HOSTILE_HEADER = "\x1b[2J[red]x"
HOSTILE_VALUE = "Z\x1b[31m[bold]"
MARKUP_HEADER = "[red]Notes[/red]"
MARKUP_VALUE = "[b]Z[/b]"


def shown(screen, selector: str) -> str:  # type: ignore[no-untyped-def]
    """The text a Static shows, after any markup is read."""
    visual = screen.query_one(selector, Static).visual
    return str(getattr(visual, "plain", visual))


def cells(screen) -> list[list[str]]:  # type: ignore[no-untyped-def]
    table = screen.query_one("#import-report", DataTable)
    return [
        [str(getattr(cell, "plain", cell)) for cell in table.get_row(row.key)]
        for row in table.ordered_rows
    ]


def write(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    path.write_text("\n".join(";".join(r) for r in [header, *rows]) + "\n", encoding="utf-8")
    return path


async def test_file_text_on_the_import_screen_is_shown_escaped_not_interpreted(
    make_app, tmp_path
) -> None:
    path = write(
        tmp_path / "hostile.csv",
        ["Prénom", "Nom", "Genre", "Niveau", HOSTILE_HEADER, MARKUP_HEADER],
        [
            ["Aïcha", "Benali", "F", "bac", "1", ""],
            ["Paul", "Martin", HOSTILE_VALUE, "bac", "2", ""],
            ["Léa", "Petit", MARKUP_VALUE, "bac", "3", ""],
        ],
    )
    app = make_app()
    cohort_id = running_cohort(app.store)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_import(pilot, path, cohort_id)
        await pilot.press("ctrl+r")
        await settle(pilot)
        details = shown(screen, "#import-details")
        assert "\\x1b[2J[red]x" in details and "\x1b" not in details
        assert MARKUP_HEADER in details
        rows = cells(screen)
        values = [row[2] for row in rows]
        assert "Z\\x1b[31m[bold]" in values and MARKUP_VALUE in values, rows
        assert not any("\x1b" in cell for row in rows for cell in row)


async def test_a_file_error_quoting_the_header_is_shown_escaped(make_app, tmp_path) -> None:
    path = write(
        tmp_path / "no-columns.csv", [HOSTILE_HEADER, MARKUP_HEADER, "Nom"], [["x", "y", "z"]]
    )
    app = make_app()
    cohort_id = running_cohort(app.store)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_import(pilot, path, cohort_id)
        await pilot.press("ctrl+r")
        await settle(pilot)
        error = shown(screen, "#import-error")
        assert "No column for" in error
        assert "\\x1b[2J[red]x" in error and "\x1b" not in error
        assert MARKUP_HEADER in error
