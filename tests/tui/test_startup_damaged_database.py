"""The app's start on a damaged or empty local database (issue 13, finding 2): a damaged file is
moved aside and the app closes with the sentence that says where and how to save its unsent changes
(exit 2, no traceback); an empty one is moved aside, a new one started and the person told so."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from tui_helpers import SIZE, TODAY, settle

from fabriqueterm.config import Config, Paths
from fabriqueterm.domain.dates import Clock
from fabriqueterm.store import Store
from fabriqueterm.tui.app import FabriqueApp

pytestmark = pytest.mark.anyio


@pytest.fixture
def paths(fabriqueterm_home: Path) -> Paths:
    paths = Paths.under(fabriqueterm_home)
    paths.ensure()
    with Store.open(paths.database) as store:
        store.sites.create({"name": "Fabrique de Roubaix", "city": "Roubaix"})
    return paths


def opener(paths: Paths):  # type: ignore[no-untyped-def]
    return lambda: Store.open(paths.database, clock=Clock(TODAY))


async def test_a_damaged_database_closes_the_app_with_where_it_went(
    paths: Paths, capsys: pytest.CaptureFixture[str]
) -> None:
    data = paths.database.read_bytes()
    paths.database.write_bytes(data[: len(data) // 2])

    app = FabriqueApp(opener(paths), Config(language="en"), Clock(TODAY), paths=paths)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()

    assert app.return_code == 2
    printed = capsys.readouterr()
    # Textual wraps its exit message at the terminal's width, even inside a long path.
    text = "".join((printed.out + printed.err).split())
    [aside] = paths.data_dir.glob("fabriqueterm.damaged-*.sqlite3")
    assert str(aside) in text
    assert f"fabriquetermsync--export-outboxFILE--from{aside}" in text
    assert "Traceback" not in text
    assert not paths.database.exists()


async def test_an_empty_database_is_said_on_screen(paths: Paths) -> None:
    os.truncate(paths.database, 0)

    app = FabriqueApp(opener(paths), Config(language="en"), Clock(TODAY), paths=paths)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            [aside] = paths.data_dir.glob("fabriqueterm.empty-*.sqlite3")
            shown = [n.message for n in app._notifications]
            assert any(str(aside) in message and "was empty" in message for message in shown)
    finally:
        app.close_store()
