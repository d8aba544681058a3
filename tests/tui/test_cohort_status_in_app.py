"""The cohorts' statuses follow their start dates in the app (docs/domain.md, "Cohort lifecycle"):
opened with --today after a planned cohort's start date, the app shows it running ("en cours")
and the weekly summary counts it; a day change while the app runs does the same."""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from language_helpers import screen_text
from test_reports_tui import open_summary, preview
from tui_helpers import SIZE, TODAY, settle, until

from fabriqueterm.config import Config, Paths, save_config
from fabriqueterm.domain.dates import Clock
from fabriqueterm.reports.summary import weekly_summary
from fabriqueterm.store import Store
from fabriqueterm.tui.app import FabriqueApp
from fabriqueterm.tui.screens.cohorts import CohortsScreen

pytestmark = pytest.mark.anyio


class MovingClock(Clock):
    """A clock whose day a test moves, as midnight passes while the app runs."""

    def move_to(self, today: date) -> None:
        self._today = today


def first_planned(path: Path) -> Any:
    """The demo's planned cohort starting first (after TODAY), and the running count that day."""
    with Store.open(path, clock=Clock(TODAY)) as store:
        cohort = min(
            (line.cohort for line in store.cohorts.page(status="planned", limit=500).rows),
            key=lambda cohort: (cohort.start_date, cohort.id),
        )
        running = weekly_summary(store, cohort.start_date).total.indicators.cohorts_running
        store.engine.dispose()
    assert cohort.start_date > TODAY
    return cohort, running


def open_app(paths: Paths, clock: Clock, stores: list[Store]) -> FabriqueApp:
    """The app as `fabriqueterm --today …` opens it: the store opened in a thread."""
    config = Config(language="fr")
    save_config(paths.config_file, config)

    def opener() -> Store:
        store = Store.open(paths.database, clock=clock)
        stores.append(store)
        return store

    return FabriqueApp(opener, config, clock, paths=paths, demo=True)


async def shows_running(pilot: Any, app: FabriqueApp, cohort: Any) -> None:
    await pilot.press("3")
    await settle(pilot)
    cohorts = app.screen
    assert isinstance(cohorts, CohortsScreen)
    _programme, city, month = cohort.name.split(" — ")
    await pilot.press("slash", *f"{city} {month}", "enter")

    def line() -> str:
        shown = [
            line for line in screen_text(app).splitlines() if f"{city} — {month}" in line
        ]  # a long name is cut in its middle
        return shown[0] if shown else ""

    await until(pilot, lambda: bool(line()), "the cohort in the list")
    line = line()
    assert "en cours" in line and "prévue" not in line, line


async def test_opened_after_the_start_date_the_cohort_is_running_and_counted(
    demo_template: Path, paths: Paths
) -> None:
    shutil.copyfile(demo_template, paths.database)
    cohort, running_before = first_planned(paths.database)
    stores: list[Store] = []
    app = open_app(paths, Clock(cohort.start_date), stores)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.store_is_open, "the store")
            assert app.store.cohorts.get(cohort.id).status == "running"
            [entry] = [e for e in app.store.outbox.entries(limit=-1) if e.row_id == cohort.id]
            assert (entry.op, entry.fields) == ("update", {"status": "running"})
            await shows_running(pilot, app, cohort)
            summary = await open_summary(pilot)
            assert summary.summary is not None
            assert summary.summary.total.indicators.cohorts_running == running_before + 1
            assert preview(summary)["cohorts_running"][0] == str(running_before + 1)
    finally:
        for store in stores:
            store.close()


async def test_the_day_changing_while_the_app_runs_starts_the_cohort(
    demo_template: Path, paths: Paths
) -> None:
    shutil.copyfile(demo_template, paths.database)
    cohort, _running = first_planned(paths.database)
    clock = MovingClock(cohort.start_date - timedelta(days=1))
    stores: list[Store] = []
    app = open_app(paths, clock, stores)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.store_is_open, "the store")
            await settle(pilot)
            assert app.store.cohorts.get(cohort.id).status == "planned"
            version = app.data_version
            app.check_day()  # the same day: nothing to do
            await app.workers.wait_for_complete()
            assert app.data_version == version
            clock.move_to(cohort.start_date)
            app.check_day()  # what the app's timer does every minute
            await until(pilot, lambda: app.data_version > version, "the screens told")
            assert app.store.cohorts.get(cohort.id).status == "running"
            await shows_running(pilot, app, cohort)
    finally:
        for store in stores:
            store.close()


async def test_a_cohort_past_its_end_date_is_shown_to_close_until_it_is_closed(
    demo_template: Path, paths: Paths
) -> None:
    """Opened on a running cohort's end date, the list says "à clôturer", not "en cours"."""
    shutil.copyfile(demo_template, paths.database)
    with Store.open(paths.database, clock=Clock(TODAY)) as store:
        cohort = min(
            (line.cohort for line in store.cohorts.page(status="running", limit=500).rows),
            key=lambda cohort: (cohort.end_date, cohort.id),
        )
        store.engine.dispose()
    stores: list[Store] = []
    app = open_app(paths, Clock(cohort.end_date), stores)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.store_is_open, "the store")
            await pilot.press("3")
            await settle(pilot)
            _programme, city, month = cohort.name.split(" — ")
            await pilot.press("slash", *f"{city} {month}", "enter")

            def line() -> str:
                shown = [x for x in screen_text(app).splitlines() if f"{city} — {month}" in x]
                return shown[0] if shown else ""

            await until(pilot, lambda: "à clôturer" in line(), "the cohort shown to close")
            assert "en cours" not in line(), line()
            assert app.store.cohorts.get(cohort.id).status == "running"  # closing sets finished
    finally:
        for store in stores:
            store.close()
