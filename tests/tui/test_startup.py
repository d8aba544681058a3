"""Start-up: the first frame is painted before the store is open (the data layer loads in a thread),
keys work meanwhile, the dashboard fills in once the store is open, and a store that cannot be opened
closes the app with its message instead of a traceback."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest
from textual.widgets import DataTable, Static
from tui_helpers import SIZE, TODAY, settle

from fabriqueterm.config import Config, Paths
from fabriqueterm.domain.dates import Clock
from fabriqueterm.store import Store, StoreError
from fabriqueterm.tui.app import FabriqueApp

pytestmark = pytest.mark.anyio


async def test_first_frame_comes_before_the_store_and_the_dashboard_fills_in_after(
    demo_template: Path, paths: Paths
) -> None:
    shutil.copyfile(demo_template, paths.database)
    clock = Clock(TODAY)
    release = threading.Event()
    opened: list[Store] = []

    def open_store() -> Store:
        assert release.wait(30), "the test never released the store"
        store = Store.open(paths.database, clock=clock)
        opened.append(store)
        return store

    app = FabriqueApp(open_store, Config(language="en"), clock, paths=paths)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            assert not app.store_is_open
            as_of = app.screen.query_one("#dashboard-as-of", Static)
            assert "Counting the indicators" in str(as_of.render())
            assert app.screen.query_one("#sites-indicators", DataTable).row_count == 0
            # Keys work while the store opens: the settings section (no data needed) and back.
            await pilot.press("8")
            await pilot.pause()
            assert app.current_mode == "settings"
            await pilot.press("1")
            await pilot.pause()

            release.set()
            await settle(pilot)
            assert app.store_is_open
            table = app.screen.query_one("#sites-indicators", DataTable)
            sites = len(opened[0].sites.names())
            assert table.row_count == sites + 1  # every site and the total
            assert "Indicators as of" in str(
                app.screen.query_one("#dashboard-as-of", Static).render()
            )
            # Sections imported in the background open normally.
            await pilot.press("4")
            await settle(pilot)
            assert app.current_mode == "learners"
    finally:
        app.close_store()


async def test_a_store_that_cannot_open_closes_the_app_with_its_message(
    paths: Paths, capsys: pytest.CaptureFixture[str]
) -> None:
    message = (
        "fabriqueterm.sqlite3 was written by a newer version of fabriqueterm. Update fabriqueterm."
    )

    def open_store() -> Store:
        raise StoreError(message)

    app = FabriqueApp(open_store, Config(language="en"), Clock(TODAY), paths=paths)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
    assert app.return_code == 2
    # Printed once the app has closed (Textual's exit message), never a traceback.
    printed = capsys.readouterr()
    assert message in " ".join((printed.out + printed.err).split())
    assert "Traceback" not in printed.out + printed.err
