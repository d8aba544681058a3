"""Two screens at 80x24, read as a coordinator reads them: the sync screen's conflicts keep the
learner's name and the field in view with nothing to scroll sideways (the values shortened, "theirs
by" gone), and the import tells which field each column of the file goes to, every label whole or
cut at a word. At 120x40 both stay as they were."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rich.cells import cell_len
from test_conflicts_tui import COLLEAGUE, _cells, seed_conflicts
from textual.errors import NoWidget
from textual.widget import Widget
from textual.widgets import Checkbox, DataTable, Input, Select, Static
from tui_helpers import SIZE, settle

from fabriqueterm.i18n import _
from fabriqueterm.tui.format import ELLIPSIS
from fabriqueterm.tui.screens.conflict_list import list_widths
from fabriqueterm.tui.screens.sync import SyncScreen

pytestmark = pytest.mark.anyio

NARROW = (80, 24)
FILE = (
    "Prénom;Nom;Téléphone;Courriel;Date de naissance;Genre;Niveau;Quartier prioritaire;"
    "Demandeur d'emploi\n"
    "Aïcha;Benali;06 12 34 56 78;aicha.benali@exemple.fr;12/04/1996;F;4;oui;oui\n"
    "Jean;Martin;07 61 22 33 44;jean.martin@exemple.fr;03/09/2000;M;3;non;oui\n"
)


def fully_in_view(widget: Widget) -> bool:
    """Whether the whole of ``widget`` is drawn: not clipped by its container or the screen."""
    try:
        geometry = widget.screen.find_widget(widget)
    except NoWidget:
        return False
    return geometry.visible_region == geometry.region


def whole_or_cut_at_a_word(shown: str, text: str) -> bool:
    if shown == text:
        return True
    kept = shown.removesuffix(ELLIPSIS)
    return shown.endswith(ELLIPSIS) and text.startswith(kept) and text[len(kept)] in " (-·"


# --- the conflict list -----------------------------------------------------------------------


async def test_the_conflict_list_keeps_the_name_and_the_field_in_view_at_80x24(make_app) -> None:
    app = make_app(language="fr")
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        learner = seed_conflicts(app)["learner"]
        name = f"{learner.first_name} {learner.last_name}"
        await pilot.press("7")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, SyncScreen)
        table = screen.query_one("#conflicts", DataTable)
        assert table.row_count == 3
        assert table.max_scroll_x == 0  # nothing to scroll sideways
        assert fully_in_view(table)
        keys = [str(column.key.value) for column in table.ordered_columns]
        assert keys == ["about", "field", "theirs", "mine"]  # "theirs by" went first
        rows = [_cells(table, i) for i in range(3)]
        for about, field, *_values in rows:
            assert about.startswith(name)
            assert ELLIPSIS not in field  # the field whole
        phone = next(row for row in rows if row[1] == "téléphone")
        assert phone[2:] == ["06 11 11 11 11", "06 22 22 22 22"]  # a phone number reads whole

        await pilot.resize_terminal(*SIZE)  # wider: who made theirs comes back, the rest whole
        await settle(pilot)
        keys = [str(column.key.value) for column in table.ordered_columns]
        assert keys == ["about", "field", "theirs", "mine", "who"]
        assert table.max_scroll_x == 0
        wide = [_cells(table, i) for i in range(3)]
        assert ELLIPSIS not in " ".join(" ".join(row[:4]) for row in wide)
        assert any(row[4].startswith(COLLEAGUE) for row in wide)


def test_list_widths_drop_theirs_by_then_shorten_the_values_before_the_name_and_the_field() -> None:
    row = {
        "about": "Jules Barry · follow-up end of training",
        "field": "registered job seeker",
        "theirs": "lives in a priority neighbourhood",
        "mine": "does not live in a priority neighbourhood",
        "who": "Camille Martin, 11/25 11:40",
    }
    assert list_widths([row], 200) == {
        "about": 39,
        "field": 21,
        "theirs": 30,  # at most 30
        "mine": 30,
        "who": 27,
    }
    narrow = list_widths([row], 76)
    assert list(narrow) == ["about", "field", "theirs", "mine"]
    assert narrow["field"] == 21 and narrow["theirs"] == narrow["mine"] == 14
    assert sum(narrow.values()) + 2 * len(narrow) <= 76
    assert narrow["about"] >= len("Jules Barry")


# --- the import ------------------------------------------------------------------------------


async def check_a_file(pilot: Any, path: Path) -> None:
    app = pilot.app
    await pilot.press("0")
    await settle(pilot)
    running = app.store.cohorts.page(status="running").rows[0].cohort
    screen = app.screen
    screen.query_one("#import-file", Input).value = str(path)
    screen.query_one("#import-site", Select).value = running.site_id
    await settle(pilot)
    screen.query_one("#import-cohort", Select).value = running.id
    await pilot.press("ctrl+r")
    await settle(pilot)


@pytest.mark.parametrize("size", [NARROW, SIZE], ids=["80x24", "120x40"])
async def test_the_import_says_which_field_each_column_goes_to(
    make_app, tmp_path: Path, size: tuple[int, int]
) -> None:
    path = tmp_path / "apprenants.csv"
    path.write_text(FILE, encoding="utf-8")
    app = make_app(language="fr")
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await check_a_file(pilot, path)
        screen = app.screen
        details = screen.query_one("#import-details", Static)
        assert fully_in_view(details)  # not cut by the bottom of the screen
        said = " ".join(str(details.content).split())
        for pair in (
            "Prénom → prénom",
            "Téléphone → téléphone",
            "Courriel → e-mail",
            "Date de naissance → date de naissance",
            "Quartier prioritaire → habite un quartier prioritaire (QPV)",
        ):
            assert pair in said
        assert "2 lignes prêtes à importer" in str(screen.query_one("#import-status").content)

        # The fields' labels and the checkbox: drawn whole, their words whole.
        labels = {
            _("CSV file *"),
            _("Columns to read differently (optional)"),
            _("Site"),
            _("Cohort the learners join *"),
        }
        shown_labels = list(screen.query(".form-label"))
        assert len(shown_labels) == 4
        for label in shown_labels:
            shown = str(label.content)
            assert fully_in_view(label)
            assert cell_len(shown) <= label.content_size.width
            assert any(whole_or_cut_at_a_word(shown, text) for text in labels), shown
        checkbox = screen.query_one("#import-valid-only", Checkbox)
        assert fully_in_view(checkbox)
        assert whole_or_cut_at_a_word(
            str(checkbox.label), _("Import only the valid rows (skip the bad ones)")
        )
        assert "valides" in str(checkbox.label)  # what it does still reads
        if size == SIZE:  # as it was: every label whole
            assert {str(label.content) for label in shown_labels} == labels
