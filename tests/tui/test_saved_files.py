"""Files saved where people find them (issue 12, finding 9): the weekly summary and a learner's
personal data go to the documents folder by default ($FABRIQUETERM_HOME/documents here), a relative
path is relative to it, the extension follows the chosen format, a bare name gets it, the full path
is said once written, and the path field is wide enough to read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from textual.widgets import Input, Select, Static
from tui_helpers import SIZE, notifications, settle

from fabriqueterm.reports.personal_data import personal_data
from fabriqueterm.tui.screens.file_output import (
    FilePathScreen,
    ReplaceScreen,
    TargetError,
    complete_path,
    has_extension,
    resolve_target,
    with_extension,
)
from fabriqueterm.tui.screens.learners import LearnerDetailScreen
from fabriqueterm.tui.screens.summary import SummaryScreen

pytestmark = pytest.mark.anyio


def text_of(screen, selector: str) -> str:  # type: ignore[no-untyped-def]
    return str(screen.query_one(selector, Static).content)


async def open_summary(pilot) -> SummaryScreen:  # type: ignore[no-untyped-def]
    await pilot.press("9")
    await settle(pilot)
    assert isinstance(pilot.app.screen, SummaryScreen)
    return pilot.app.screen


async def choose_format(pilot, screen: SummaryScreen, fmt: str) -> None:  # type: ignore[no-untyped-def]
    screen.query_one("#summary-format", Select).value = fmt
    await settle(pilot)


# --- the rules ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "fmt", "expected"),
    [
        ("bilan.md", "csv", "bilan.csv"),
        ("~/Rapports/Bilan.MD", "xlsx", "~/Rapports/Bilan.xlsx"),
        ("bilan.csv", "csv", "bilan.csv"),
        ("bilan.txt", "csv", "bilan.txt"),  # not a format of the summary: the person's choice
        ("bilan", "csv", "bilan"),  # bare: gets its extension when written
        ("Rapports/", "csv", "Rapports/"),
    ],
)
def test_the_typed_extension_follows_the_format(typed: str, fmt: str, expected: str) -> None:
    assert with_extension(typed, fmt, ("csv", "md", "xlsx", "html")) == expected


@pytest.mark.parametrize(
    ("name", "extension"),
    [("bilan.md", True), ("notes.txt", True), ("bilan", False), ("bilan 23.11.2026", False)],
)
def test_what_counts_as_an_extension(name: str, extension: bool) -> None:
    assert has_extension(name) is extension


def test_a_relative_path_is_relative_to_the_documents_folder(tmp_path: Path) -> None:
    documents = tmp_path / "Documents"
    (documents / "Rapports").mkdir(parents=True)
    assert resolve_target("bilan", "synthese.md", documents, extension="md") == (
        documents / "bilan.md"
    )
    assert resolve_target("Rapports/bilan 23.11.2026", "x.md", documents, extension="md") == (
        documents / "Rapports" / "bilan 23.11.2026.md"
    )
    assert resolve_target("Rapports", "synthese.md", documents, extension="md") == (
        documents / "Rapports" / "synthese.md"
    )
    assert complete_path("Rap", base=documents) == "Rapports/"


def test_the_documents_folder_is_created_but_not_a_mistyped_one(tmp_path: Path) -> None:
    documents = tmp_path / "Documents"
    assert resolve_target("bilan.md", "x.md", documents) == documents / "bilan.md"
    assert documents.is_dir()
    with pytest.raises(TargetError, match="Rapprots"):
        resolve_target("Rapprots/bilan.md", "x.md", documents)
    assert not (documents / "Rapprots").exists()


# --- the weekly summary -------------------------------------------------------------------------


async def test_changing_the_format_changes_the_typed_extension(make_app, tmp_path) -> None:
    """The demo's finding: a path typed as .md, then CSV chosen, offered to overwrite the .md."""
    kept = tmp_path / "bilan.md"
    kept.write_text("my notes")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_summary(pilot)
        field = screen.query_one("#summary-path", Input)
        field.value = str(kept)
        await choose_format(pilot, screen, "csv")
        assert field.value == str(tmp_path / "bilan.csv")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert not isinstance(app.screen, ReplaceScreen)  # nothing to replace: a new .csv
        assert str(tmp_path / "bilan.csv") in text_of(screen, "#summary-written")
        # Typed with another format's extension: the file still gets the chosen one.
        field.value = str(tmp_path / "autre.html")
        await pilot.press("ctrl+s")
        await settle(pilot)
    assert kept.read_text() == "my notes"
    assert (tmp_path / "bilan.csv").read_text(encoding="utf-8-sig").startswith("Weekly summary")
    assert (tmp_path / "autre.csv").exists() and not (tmp_path / "autre.html").exists()


async def test_the_default_path_follows_the_format_in_the_documents_folder(
    make_app, fabriqueterm_home
) -> None:
    app = make_app()
    documents = fabriqueterm_home / "documents"
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_summary(pilot)
        field = screen.query_one("#summary-path", Input)
        assert field.value == str(documents / "synthese-2026-W48.md")
        await choose_format(pilot, screen, "xlsx")
        assert field.value == str(documents / "synthese-2026-W48.xlsx")


async def test_a_bare_name_gets_the_extension_and_the_full_path_is_said(
    make_app, fabriqueterm_home, tmp_path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    app = make_app()
    documents = fabriqueterm_home / "documents"
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_summary(pilot)
        await choose_format(pilot, screen, "xlsx")
        screen.query_one("#summary-path", Input).value = "bilan semaine 48"
        await pilot.press("ctrl+s")
        await settle(pilot)
        written = documents / "bilan semaine 48.xlsx"
        assert written.is_file()
        assert text_of(screen, "#summary-written") == (
            f"Weekly summary 2026-W48 written to {written}."
        )
    assert not (tmp_path / "bilan semaine 48").exists()
    assert not (tmp_path / "bilan semaine 48.xlsx").exists()


@pytest.mark.parametrize(("size", "least"), [((120, 40), 80), ((80, 24), 45)])
async def test_the_path_field_is_wide_enough_to_read(make_app, size, least) -> None:
    app = make_app()
    async with app.run_test(size=size) as pilot:
        screen = await open_summary(pilot)
        field = screen.query_one("#summary-path", Input)
        assert field.content_region.width >= least
        # A path in a real documents folder reads whole.
        assert len("~/Documents/synthese-2026-W48.xlsx") < field.content_region.width
        button = screen.query_one("#summary-write")
        assert button.region.right <= size[0] and button.region.bottom <= size[1]


# --- a learner's personal data ------------------------------------------------------------------


async def test_personal_data_goes_to_the_documents_folder(make_app, fabriqueterm_home) -> None:
    app = make_app()
    store = app.store
    learner = store.learners.page(limit=1).rows[0]
    documents = fabriqueterm_home / "documents"
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        await settle(pilot)
        app.open_learner(learner.id)
        await settle(pilot)
        await pilot.press("x")
        await settle(pilot)
        assert isinstance(app.screen, FilePathScreen)
        field = app.screen.query_one("#file-path", Input)
        assert field.value == str(documents / f"apprenant-{learner.id}.json")
        field.value = "dossier"  # bare and relative: documents/dossier.json
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, LearnerDetailScreen)
        written = documents / "dossier.json"
        assert any(str(written) in str(note.message) for note in notifications(app))
    assert json.loads(written.read_text()) == personal_data(store, learner.id)
