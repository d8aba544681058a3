"""Reports in the app, driven through Pilot on the demo network: the weekly summary written in each
format (the same file as the command line's), the learner import (check, all or nothing, valid rows
only), and a learner's personal data (export, erase)."""

from __future__ import annotations

import argparse
import io
import json
import stat
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from textual.widgets import Checkbox, DataTable, Input, Select, SelectionList, Static
from tui_helpers import SIZE, TODAY, notifications, palette_highlights, settle, until

from fabriqueterm.reports.cli import add_report_commands
from fabriqueterm.reports.exporters import format_figure
from fabriqueterm.reports.personal_data import personal_data
from fabriqueterm.reports.summary import weekly_summary
from fabriqueterm.store.reports import ReportRepository
from fabriqueterm.tui.screens.file_output import FilePathScreen, ReplaceScreen
from fabriqueterm.tui.screens.help import HelpScreen
from fabriqueterm.tui.screens.importing import ImportScreen
from fabriqueterm.tui.screens.learners import LearnerDetailScreen
from fabriqueterm.tui.screens.personal_data import EraseLearnerScreen
from fabriqueterm.tui.screens.summary import SummaryScreen

pytestmark = pytest.mark.anyio

SAMPLES = Path(__file__).resolve().parents[2] / "fixtures" / "import"
GOOD = SAMPLES / "apprenants-utf8-bom-point-virgule.csv"
BAD = SAMPLES / "apprenants-lignes-en-erreur.csv"


def cli(argv: list[str]) -> int:
    """Run ``fabriqueterm [--today …] export|import …`` on the same home as the app."""
    parser = argparse.ArgumentParser(prog="fabriqueterm")
    parser.add_argument("--today", type=date.fromisoformat, default=None)
    add_report_commands(parser.add_subparsers())
    args = parser.parse_args(argv)
    return args.handler(args)


def text_of(screen, selector: str) -> str:  # type: ignore[no-untyped-def]
    return str(screen.query_one(selector, Static).content)


def preview(screen: SummaryScreen) -> dict[str, list[str]]:
    """The preview table: figure key -> [total, each site…] as shown."""
    table = screen.query_one("#summary-preview", DataTable)
    return {
        str(row.key.value): [str(cell).strip() for cell in table.get_row(row.key)[1:]]
        for row in table.ordered_rows
        if not str(row.key.value).startswith("group-")
    }


def expected_preview(summary) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    per_section = [section.figures() for section in summary.sections]
    return {
        figure.key: [format_figure(figures[index]) for figures in per_section]
        for index, figure in enumerate(per_section[0])
    }


def workbook_values(data: bytes) -> dict[str, list[tuple[object, ...]]]:
    """Every sheet's cell values (the file's bytes differ: openpyxl stamps the creation time)."""
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    return {sheet.title: list(sheet.iter_rows(values_only=True)) for sheet in workbook.worksheets}


def is_private(path: Path) -> bool:
    return stat.S_IMODE(path.stat().st_mode) == 0o600


async def open_summary(pilot) -> SummaryScreen:  # type: ignore[no-untyped-def]
    await pilot.press("9")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, SummaryScreen)
    # As a person does: the figures are on screen before a path is typed. (Typed while they are
    # counted, an empty path would be filled with the default one when they arrive.)
    await until(pilot, lambda: screen.summary is not None, "the summary's figures")
    return screen


# --- weekly summary -----------------------------------------------------------------------------


async def test_summary_opens_on_the_current_week_and_follows_the_week_keys(make_app) -> None:
    app = make_app()
    store = app.store
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_summary(pilot)
        assert screen.query_one("#summary-week", Input).value == "2026-W48"
        this_week = weekly_summary(store, "2026-W48")
        assert text_of(screen, "#summary-title") == "Weekly summary, week 2026-W48"
        assert preview(screen) == expected_preview(this_week)

        await pilot.press("right_square_bracket")
        await settle(pilot)
        next_week = weekly_summary(store, "2026-W49")
        assert screen.query_one("#summary-week", Input).value == "2026-W49"
        assert text_of(screen, "#summary-title") == "Weekly summary, week 2026-W49"
        assert preview(screen) == expected_preview(next_week)
        # The demo enrolled people in W48 and nobody in W49: the preview really changed.
        assert preview(screen)["new_enrolments"] != expected_preview(this_week)["new_enrolments"]

        await pilot.press("left_square_bracket", "left_square_bracket")
        await settle(pilot)
        assert screen.query_one("#summary-week", Input).value == "2026-W47"
        assert preview(screen) == expected_preview(weekly_summary(store, "2026-W47"))


async def test_a_week_typed_by_hand_and_a_wrong_one(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_summary(pilot)
        week = screen.query_one("#summary-week", Input)
        week.value = "2026-40"
        await settle(pilot)
        assert text_of(screen, "#summary-title") == "Weekly summary, week 2026-W40"
        week.focus()
        week.value = "2026-W60"
        await pilot.press("enter")
        await settle(pilot)
        assert "is not an ISO week; expected YEAR-Wnn" in text_of(screen, "#summary-week-error")
        assert text_of(screen, "#summary-title") == ""  # no figures for a week that does not exist


@pytest.mark.parametrize("fmt", ["csv", "md", "xlsx", "html"])
async def test_export_each_format_writes_what_the_command_line_writes(
    make_app, tmp_path, monkeypatch, fabriqueterm_home, fmt
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)  # where the app was started: not where its files go
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_summary(pilot)
        screen.query_one("#summary-format", Select).value = fmt
        await settle(pilot)
        # The documents folder ($FABRIQUETERM_HOME/documents here), created on the first write.
        default = fabriqueterm_home / "documents" / f"synthese-2026-W48.{fmt}"
        assert screen.query_one("#summary-path", Input).value == str(default)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert default.exists() and is_private(default)
        # The full path is said once written.
        assert str(default) in text_of(screen, "#summary-written")
        assert any(str(default) in str(n.message) for n in notifications(app))
    assert list(work.iterdir()) == []

    from_cli = tmp_path / f"cli.{fmt}"
    assert (
        cli(
            [
                "--today",
                TODAY.isoformat(),
                "export",
                "--week",
                "2026-W48",
                "--format",
                fmt,
                "--output",
                str(from_cli),
            ]
        )
        == 0
    )
    if fmt == "xlsx":
        assert workbook_values(default.read_bytes()) == workbook_values(from_cli.read_bytes())
    else:
        assert default.read_bytes() == from_cli.read_bytes()


async def test_export_some_sites_only(make_app, tmp_path) -> None:
    app = make_app()
    store = app.store
    sites = ReportRepository(store).sites()
    assert len(sites) >= 2
    kept = [site.id for site in sites[1:]]
    target = tmp_path / "some-sites.md"
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_summary(pilot)
        screen.query_one("#summary-sites", SelectionList).deselect(sites[0].id)
        await settle(pilot)
        table = screen.query_one("#summary-preview", DataTable)
        assert [str(column.key.value) for column in table.ordered_columns] == [
            "figure",
            "total",
            *kept,
        ]
        assert preview(screen) == expected_preview(weekly_summary(store, "2026-W48", site_ids=kept))

        screen.query_one("#summary-path", Input).value = str(target)
        await pilot.press("ctrl+s")
        await settle(pilot)

        screen.query_one("#summary-sites", SelectionList).deselect_all()
        await settle(pilot)
        assert text_of(screen, "#summary-sites-error") == "Choose at least one site."
        assert preview(screen) == {}

    from_cli = tmp_path / "cli.md"
    argv = [
        "--today",
        TODAY.isoformat(),
        "export",
        "--week",
        "2026-W48",
        "--format",
        "md",
        "--output",
        str(from_cli),
    ]
    for site_id in kept:
        argv += ["--site", site_id]
    assert cli(argv) == 0
    assert target.read_text() == from_cli.read_text()
    assert "Selected sites:" in target.read_text() and sites[0].name not in target.read_text()


async def test_replacing_a_file_is_asked_and_no_is_the_default(make_app, tmp_path) -> None:
    app = make_app()
    target = tmp_path / "summary.md"
    target.write_text("kept")
    target.chmod(0o644)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_summary(pilot)
        screen.query_one("#summary-path", Input).value = str(target)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ReplaceScreen)
        await pilot.press("enter")  # the focused button is "Keep it"
        await settle(pilot)
        assert app.screen is screen and target.read_text() == "kept"

        await pilot.press("ctrl+s")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
    assert target.read_text().startswith("# Weekly summary, week 2026-W48")
    assert is_private(target)  # a replaced file is made private too


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("missing-folder/summary.md", "does not exist: choose an existing folder"),
        ("x" * 300 + ".md", "cannot be written (File name too long)"),
        ("", "Give the file's name, e.g. synthese-2026-W48.md"),
    ],
)
async def test_a_path_that_cannot_be_used_says_why(
    make_app, tmp_path, monkeypatch, typed, message
) -> None:
    monkeypatch.chdir(tmp_path)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_summary(pilot)
        screen.query_one("#summary-path", Input).value = typed
        await pilot.press("ctrl+s")
        try:
            await until(
                pilot, lambda: message in text_of(screen, "#summary-path-error"), "the path's error"
            )
        except AssertionError as error:  # seen 3 times in 12 loaded runs: say what the screen held
            state = {
                "shown": type(app.screen).__name__,
                "figures": screen.summary is not None,
                "write when ready": screen._write_when_ready,
                "writing": screen._writing,
                "path": screen.query_one("#summary-path", Input).value[:60],
                "error": text_of(screen, "#summary-path-error"),
                "written": text_of(screen, "#summary-written"),
                "notes": [str(n.message)[:80] for n in notifications(app)],
                "files": sorted(p.name for p in tmp_path.iterdir()),
            }
            raise AssertionError(f"{error}: {state}") from None
        assert app.screen is screen
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home"]


async def test_the_path_field_completes_folder_and_file_names(make_app, tmp_path) -> None:
    base = tmp_path / "out"
    (base / "Rapports").mkdir(parents=True)
    (base / ".cache").mkdir()
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_summary(pilot)
        field = screen.query_one("#summary-path", Input)
        field.focus()
        field.value = f"{base}/"
        field.cursor_position = len(field.value)
        await settle(pilot)
        await pilot.press("right")  # accepts the suggestion: the folder, not the hidden one
        assert field.value == f"{base}/Rapports/"
        await pilot.press(*"semaine.md")
        await pilot.press("ctrl+s")
        await settle(pilot)
    assert (base / "Rapports" / "semaine.md").read_text().startswith("# Weekly summary")


async def test_a_write_that_fails_is_reported_not_raised(make_app, tmp_path) -> None:
    # A link to a folder that does not exist: the file cannot be created, even by root.
    target = tmp_path / "summary.md"
    target.symlink_to(tmp_path / "gone" / "summary.md")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_summary(pilot)
        screen.query_one("#summary-path", Input).value = str(target)
        await pilot.press("ctrl+s")
        await settle(pilot)
        error = text_of(screen, "#summary-path-error")
        assert "summary.md cannot be written (No such file or directory)" in error
        assert "Choose another folder or file name." in error
        assert [n.severity for n in notifications(app)] == ["error"]
        assert not screen._writing and screen.check_action("write", ()) is True
    assert not (tmp_path / "gone").exists()


# --- learner import ------------------------------------------------------------------------------


def running_cohort(store) -> str:  # type: ignore[no-untyped-def]
    return store.cohorts.page(status="running").rows[0].cohort.id


async def choose_cohort(pilot, cohort_id: str) -> None:  # type: ignore[no-untyped-def]
    """Pick the cohort's site, then the cohort in the list that site's choice fills."""
    screen = pilot.app.screen
    screen.query_one("#import-site", Select).value = pilot.app.store.cohorts.get(cohort_id).site_id
    await pilot.pause()
    screen.query_one("#import-cohort", Select).value = cohort_id
    await pilot.pause()


async def open_import(pilot, path: Path | str, cohort_id: str) -> ImportScreen:  # type: ignore[no-untyped-def]
    await pilot.press("0")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, ImportScreen)
    screen.query_one("#import-file", Input).value = str(path)
    await choose_cohort(pilot, cohort_id)
    return screen


def report_rows(screen: ImportScreen) -> list[list[str]]:
    table = screen.query_one("#import-report", DataTable)
    return [[str(cell) for cell in table.get_row(row.key)] for row in table.ordered_rows]


async def test_import_a_good_file_check_then_import(make_app) -> None:
    app = make_app()
    store = app.store
    cohort_id = running_cohort(store)
    before = len(store.learners.in_cohort(cohort_id))
    outbox_before = store.outbox.count()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_import(pilot, GOOD, cohort_id)
        site_id = store.cohorts.get(cohort_id).site_id
        offered = {value: str(label) for label, value in screen.choices.cohorts[site_id]}
        assert set(offered) == {c.id for c in ReportRepository(store).cohorts([site_id])}
        assert offered[cohort_id].endswith("(running)")

        await pilot.press("ctrl+r")
        await settle(pilot)
        status = text_of(screen, "#import-status")
        assert status.startswith(
            "Checked, nothing written: 6 rows ready to import, 0 bad rows, 0 duplicates"
        )
        assert "6 rows, UTF-8 (BOM), cells separated by “;”." in text_of(screen, "#import-details")
        assert "Réfugié·e → refugee" in text_of(screen, "#import-details")
        assert len(store.learners.in_cohort(cohort_id)) == before

        version = app.data_version
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert text_of(screen, "#import-status").startswith("6 learners imported into the cohort")
        names = {f"{x.first_name} {x.last_name}" for x in store.learners.in_cohort(cohort_id)}
        assert {"Aïcha Benali", "Jean-Baptiste N'Diaye", "Léa Da Silva"} <= names
        assert len(store.learners.in_cohort(cohort_id)) == before + 6
        # Written like any other save: every screen is stale and the sync sees the new changes.
        assert app.data_version > version
        assert app.sync_state.pending == store.outbox.count() == outbox_before + 6

        # The same file again: every row is already held.
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert (
            text_of(screen, "#import-status") == "Nothing to import: no valid new row in the file."
        )
        rows = report_rows(screen)
        assert [row[0] for row in rows] == ["2", "3", "4", "5", "6", "7"]
        assert all(row[3].startswith("already held: ") for row in rows)
    assert len(store.learners.in_cohort(cohort_id)) == before + 6


async def test_import_a_bad_file_lists_the_bad_lines_and_writes_nothing(make_app) -> None:
    app = make_app()
    store = app.store
    cohort_id = running_cohort(store)
    learners, outbox = store.learners.count(), store.outbox.count()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_import(pilot, BAD, cohort_id)
        await pilot.press("ctrl+r")
        await settle(pilot)
        rows = report_rows(screen)
        assert sorted({int(row[0]) for row in rows}) == [3, 4, 6, 9]
        assert rows[0][:3] == ["3", "email", "paul.martin@"]
        assert rows[0][3].startswith("expected an email address")
        assert {row[1] for row in rows if row[0] == "6"} == {
            "last name",
            "phone",
            "birth year",
            "lives in a priority neighbourhood (QPV)",
            "qualification level",
        }
        assert "3 rows ready to import, 4 bad rows" in text_of(screen, "#import-status")

        version = app.data_version
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert text_of(screen, "#import-status").startswith("Nothing imported: 4 bad rows.")
        assert store.learners.count() == learners and store.outbox.count() == outbox
        assert app.data_version == version

        screen.query_one("#import-valid-only", Checkbox).value = True
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert text_of(screen, "#import-status").startswith("3 learners imported into the cohort")
        assert "4 rows not imported (listed below)." in text_of(screen, "#import-status")
        assert store.learners.count() == learners + 3 and store.outbox.count() == outbox + 3


async def test_import_duplicates_in_the_file(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_import(
            pilot, SAMPLES / "apprenants-doublons.csv", running_cohort(app.store)
        )
        await pilot.press("ctrl+r")
        await settle(pilot)
        rows = {row[0]: row for row in report_rows(screen)}
        assert rows["4"][1:] == [
            "email",
            "Rose.Vidal@exemple.fr",
            "duplicate of line 2: imported once",
        ]
        assert rows["5"][1] == "phone" and rows["5"][3] == "duplicate of line 3: imported once"


async def test_import_with_a_column_mapping(make_app) -> None:
    app = make_app()
    store = app.store
    cohort_id = running_cohort(store)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_import(pilot, SAMPLES / "apprenants-colonnes-a-renommer.csv", cohort_id)
        await pilot.press("ctrl+r")
        await settle(pilot)
        error = text_of(screen, "#import-error")
        assert (
            error.startswith("No column for: last name.")
            and text_of(screen, "#import-status") == ""
        )
        # Where the app takes the columns' names, never the command line's option.
        assert "Columns to read differently" in error and "--map" not in error

        screen.query_one("#import-mapping", Input).value = "Nom usuel=last_name; Remarques="
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert text_of(screen, "#import-error") == ""
        assert "Nom usuel → last name" in text_of(screen, "#import-details")
        assert "Ophélie Giraud" in {
            f"{x.first_name} {x.last_name}" for x in store.learners.in_cohort(cohort_id)
        }


@pytest.mark.parametrize(
    ("path", "cohort", "mapping", "message"),
    [
        ("", "cohort", "", "Give the CSV file to import."),
        ("GOOD", None, "", "Choose the cohort the learners join."),
        ("GOOD", "cohort", "Prénom", "“Prénom” is not a column mapping; expected “Column=field”"),
        ("GOOD", "cohort", "Prénom=surname", "“surname” is not a field a column can be read as"),
        (
            "no-such-file.csv",
            "cohort",
            "",
            "no-such-file.csv cannot be read (No such file or directory).",
        ),
    ],
)
async def test_import_input_problems_are_said_next_to_the_form(
    make_app, path, cohort, mapping, message
) -> None:
    app = make_app()
    learners = app.store.learners.count()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("0")
        await settle(pilot)
        screen = app.screen
        screen.query_one("#import-file", Input).value = str(GOOD) if path == "GOOD" else path
        if cohort:
            await choose_cohort(pilot, running_cohort(app.store))
        screen.query_one("#import-mapping", Input).value = mapping
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert message in text_of(screen, "#import-error")
        assert not screen._busy
    assert app.store.learners.count() == learners


# --- personal data -------------------------------------------------------------------------------


def some_learner(store):  # type: ignore[no-untyped-def]
    """A learner with placements and follow-ups (their notes are wiped by an erase)."""
    for line in store.follow_ups.due(TODAY):
        learner = line.learner
        if store.placements.for_learner(learner.id):
            return learner
    raise AssertionError("the demo has a learner with a placement and a follow-up due")


async def open_learner(pilot, learner_id: str) -> LearnerDetailScreen:  # type: ignore[no-untyped-def]
    await pilot.press("4")
    await settle(pilot)
    pilot.app.open_learner(learner_id)
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, LearnerDetailScreen)
    return screen


async def test_export_a_learners_personal_data(make_app, tmp_path) -> None:
    app = make_app()
    store = app.store
    learner = some_learner(store)
    target = tmp_path / "data.json"
    async with app.run_test(size=SIZE) as pilot:
        await open_learner(pilot, learner.id)
        await pilot.press("x")
        await settle(pilot)
        assert isinstance(app.screen, FilePathScreen)
        assert app.screen.query_one("#file-path", Input).value.endswith(
            f"apprenant-{learner.id}.json"
        )
        app.screen.query_one("#file-path", Input).value = str(target)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, LearnerDetailScreen)
        [note] = notifications(app)
        assert (
            f"{learner.first_name} {learner.last_name}" in note.message
            and str(target) in note.message
        )
    assert is_private(target)
    data = json.loads(target.read_text())
    assert data == personal_data(store, learner.id)
    assert data["learner"]["last_name"] == learner.last_name


async def test_erase_cancelled_leaves_the_learner_untouched(make_app) -> None:
    app = make_app()
    store = app.store
    learner = some_learner(store)
    outbox = store.outbox.count()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_learner(pilot, learner.id)
        await pilot.press("ctrl+e")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, EraseLearnerScreen)
        help_text = text_of(dialog, ".dialog-help")
        assert "This cannot be undone." in help_text and "reaches the commons" in help_text
        # A wrong name does nothing; neither does the disabled erase button.
        await pilot.press(*"Nobody", "enter")
        await settle(pilot)
        assert app.screen is dialog and dialog.query_one("#erase-yes").disabled
        await pilot.press("escape", "escape")  # leave the field, then cancel
        await settle(pilot)
        assert app.screen is screen
    kept = store.learners.get(learner.id)
    assert (kept.first_name, kept.last_name, kept.email, kept.deleted_at) == (
        learner.first_name,
        learner.last_name,
        learner.email,
        None,
    )
    assert store.outbox.count() == outbox


async def test_erase_confirmed_by_the_last_name_wipes_and_leaves_an_outbox_entry(make_app) -> None:
    app = make_app()
    store = app.store
    learner = some_learner(store)
    async with app.run_test(size=SIZE) as pilot:
        await open_learner(pilot, learner.id)
        version = app.data_version
        await pilot.press("ctrl+e")
        await settle(pilot)
        await pilot.press(*learner.last_name.upper(), "enter")  # case does not matter
        await settle(pilot)
        assert not isinstance(app.screen, (EraseLearnerScreen, LearnerDetailScreen))
        assert app.data_version > version
        assert any("erased" in str(n.message) for n in notifications(app))
    data = personal_data(store, learner.id)
    profile = data["learner"]
    assert profile["erased"] is True
    for name in ("first_name", "last_name", "email", "phone", "birth_year", "dropout_reason"):
        assert profile[name] in (None, ""), name
    assert all(p["notes"] == "" for p in data["placements"]) and all(
        f["notes"] == "" for f in data["follow_ups"]
    )
    last = store.outbox.entries(limit=100_000)[-1]
    assert (last.entity, last.row_id, last.op) == ("learner", learner.id, "erase")


async def test_the_reports_follow_a_language_switch(make_app) -> None:
    app = make_app()
    store = app.store
    site_count = len(ReportRepository(store).sites())
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_summary(pilot)
        app.set_language("fr")  # the shown screen is composed again
        await settle(pilot)
        assert app.screen is screen
        assert text_of(screen, "#summary-title") == "Synthèse hebdomadaire, semaine 2026-W48"
        assert len(screen.query_one("#summary-sites", SelectionList).selected) == site_count
        assert preview(screen) == expected_preview(weekly_summary(store, "2026-W48"))

        await pilot.press("0")
        await settle(pilot)
        screen = app.screen
        app.set_language("en")
        await settle(pilot)
        assert app.screen is screen and len(screen.choices.sites) == site_count
        sites = screen.query_one("#import-site", Select)
        sites.value = screen.choices.sites[0][1]  # refused if the list was not filled again
        await settle(pilot)
        assert screen.query_one("#import-cohort", Select).is_blank()
        assert screen.choices.cohorts[sites.value]


# --- wiring --------------------------------------------------------------------------------------


async def test_help_lists_the_new_keys(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_summary(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        keys = dict(app.screen.describe(app.screen.below))
        assert (
            keys["["] == "previous week"
            and keys["]"] == "next week"
            and keys["^s"] == "write the file"
        )
        everywhere = dict(app.screen.describe(app))
        assert everywhere["9"] == "Summary" and everywhere["0"] == "Import"
        await pilot.press("escape")
        await pilot.press("0")
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        keys = dict(app.screen.describe(app.screen.below))
        assert keys["^r"] == "check the file" and keys["^s"] == "import"
        await pilot.press("escape")
        await open_learner(pilot, some_learner(app.store).id)
        await pilot.press("question_mark")
        await settle(pilot)
        keys = dict(app.screen.describe(app.screen.below))
        assert keys["x"] == "export data" and keys["^e"] == "erase (right to be forgotten)"


@pytest.mark.parametrize(
    ("typed", "title", "expected"),
    [
        ("export the weekly", "Export the weekly summary", SummaryScreen),
        ("import learners", "Import learners from a CSV file", ImportScreen),
    ],
)
async def test_palette_commands_open_the_reports(make_app, typed, title, expected) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await settle(pilot)
        await pilot.press(*typed)
        await until(pilot, palette_highlights(app, title), f"the palette to offer {title!r}")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, expected)
