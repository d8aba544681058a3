"""What each screen looks like on the deterministic demo network (300 learners, seed 2026, as of
2026-11-25), at 120x40. Review changes with ``snapshot_report.html`` before ``--snapshot-update``.

The snapshots are taken in English: the English text lives in the code, so they do not change when
the French catalogue does.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input, Select
from tui_helpers import SIZE, TODAY, settle, stop_blinking

from fabriqueterm.config import Config, Paths
from fabriqueterm.domain.dates import Clock
from fabriqueterm.store import Store
from fabriqueterm.tui.app import FabriqueApp

Step = str | Callable[[Any], Awaitable[None]]
ROOT = Path(__file__).resolve().parents[2]


def steps(*keys: Step) -> Callable[[Any], Awaitable[None]]:
    """A ``run_before`` pressing ``keys`` (a string of several characters is typed), letting
    background queries finish after each, and freezing text cursors at the end."""

    async def run_before(pilot: Any) -> None:
        await settle(pilot)
        for key in keys:
            if callable(key):
                await key(pilot)
            elif len(key) > 1 and key.startswith("'"):
                await pilot.press(*key[1:])
            else:
                await pilot.press(key)
            await settle(pilot)
        stop_blinking(pilot.app)
        await pilot.pause()

    return run_before


def set_value(selector: str, value: str) -> Callable[[Any], Awaitable[None]]:
    async def run(pilot: Any) -> None:
        pilot.app.screen.query_one(selector, Input).value = value

    return run


def choose(selector: str, value: str) -> Callable[[Any], Awaitable[None]]:
    async def run(pilot: Any) -> None:
        pilot.app.screen.query_one(selector, Select).value = value

    return run


def test_dashboard(snap_compare, make_app) -> None:
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=steps())


def test_dashboard_light_theme_second_site(snap_compare, make_app) -> None:
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=steps("ctrl+t", "down"))


def test_follow_up_queue(snap_compare, make_app) -> None:
    """Names first, the follow-ups tried before marked "to call back" with their attempts."""
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=steps("2"))


def test_follow_up_queue_80x24(snap_compare, make_app) -> None:
    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=steps("2"))


def call_reached_with_a_late_cdi() -> Callable[[Any], Awaitable[None]]:
    """The +6-month call of Roubaix (cohort ended 27/03/2026): reached, a CDI started on
    15/10/2026, after the +6-month cut-off: the form says so."""

    async def to_the_m6_line(pilot: Any) -> None:
        screen = pilot.app.screen
        keys = [str(row.key.value) for row in screen.table.ordered_rows]
        m6 = next(k for k in keys if screen.lines[k].follow_up.milestone == "m6")
        screen.table.move_cursor(row=keys.index(m6), animate=False)

    return steps(
        "2",
        to_the_m6_line,
        "enter",
        "1",
        "1",
        "enter",
        "down",
        "enter",
        "tab",
        "'15/10/2026",
    )


def test_call_with_placement(snap_compare, make_app) -> None:
    run = call_reached_with_a_late_cdi()
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run)


def test_call_with_placement_80x24(snap_compare, make_app) -> None:
    run = call_reached_with_a_late_cdi()
    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=run)


def test_call_no_answer(snap_compare, make_app) -> None:
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=steps("2", "enter", "2"))


def test_cohorts(snap_compare, make_app) -> None:
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=steps("3"))


def test_cohort_detail(snap_compare, make_app) -> None:
    app = make_app()
    running = app.store.cohorts.page(status="running").rows[0].cohort
    run = steps("3", "slash", set_value("#filter", running.name), "enter", "enter")
    assert snap_compare(app, terminal_size=SIZE, run_before=run)


def test_learners_filtered(snap_compare, make_app) -> None:
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=steps("4", "slash", "'ben"))


def test_learner_detail(snap_compare, make_app) -> None:
    run = steps("4", "slash", "'Pinto", "enter", "enter")
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run)


def test_learner_form_with_an_invalid_email(snap_compare, make_app) -> None:
    run = steps("4", "e", set_value("#field-email", "awa.traore@@example"), "ctrl+s")
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run)


def test_partners(snap_compare, make_app) -> None:
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=steps("5"))


def test_partner_detail(snap_compare, make_app) -> None:
    run = steps("5", "slash", "'Opale", "enter", "enter")
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run)


def test_sites(snap_compare, make_app) -> None:
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=steps("6"))


async def clear_toasts(pilot: Any) -> None:
    """Notifications expire after a few seconds: a loaded machine would draw them or not."""
    pilot.app.clear_notifications()


def test_sync_after_a_logged_call(snap_compare, make_app) -> None:
    run = steps("2", "enter", "2", "ctrl+s", clear_toasts, "7")
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run)


def test_settings(snap_compare, make_app) -> None:
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=steps("8"))


def test_help(snap_compare, make_app) -> None:
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=steps("2", "question_mark"))


def test_confirm_delete(snap_compare, make_app) -> None:
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=steps("4", "delete"))


def test_weekly_summary(snap_compare, make_app) -> None:
    run = steps("9", set_value("#summary-path", "synthese-2026-W48.md"))
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run)


def test_import_check_of_a_file_with_bad_rows(snap_compare, make_app, monkeypatch) -> None:
    monkeypatch.chdir(ROOT)  # the file is shown as typed, relative to the project
    app = make_app()
    running = app.store.cohorts.page(status="running").rows[0].cohort
    run = steps(
        "0",
        set_value("#import-file", "fixtures/import/apprenants-lignes-en-erreur.csv"),
        choose("#import-site", running.site_id),
        choose("#import-cohort", running.id),
        "ctrl+r",
    )
    assert snap_compare(app, terminal_size=SIZE, run_before=run)


def test_erase_learner_confirmation(snap_compare, make_app) -> None:
    run = steps("4", "slash", "'Pinto", "enter", "enter", "ctrl+e", "'Pin")
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run)


@pytest.fixture
def first_run_app(paths: Paths) -> Iterator[FabriqueApp]:
    """The app on an empty store, no server: what ``fabriqueterm`` shows the first time."""
    clock = Clock(TODAY)
    store = Store.open(paths.database, clock=clock)
    try:
        yield FabriqueApp(store, Config(language="en"), clock, paths=paths)
    finally:
        store.close()


def test_first_run_welcome(snap_compare, first_run_app) -> None:
    assert snap_compare(first_run_app, terminal_size=SIZE, run_before=steps())


def test_first_run_welcome_80x24(snap_compare, first_run_app) -> None:
    assert snap_compare(first_run_app, terminal_size=(80, 24), run_before=steps())


# --- layouts that hold (#12, finding 6): each screen at 80x24 and 120x40, the dashboard at 200x60 --

NARROW, WIDE = (80, 24), (200, 60)

LAYOUT_SCREENS = {
    "dashboard": (),
    "queue": ("2",),
    "import": ("0",),
    "learners": ("4",),
    "learner_file": ("4", "slash", "'Pinto", "enter", "enter"),
    "cohorts": ("3",),
    "partners": ("5",),
    "sites": ("6",),
    "summary": ("9", set_value("#summary-path", "synthese-2026-W48.md")),
    "sync": ("7",),
    "help": ("4", "question_mark"),
    "settings": ("8",),
}


@pytest.mark.parametrize("size", [NARROW, SIZE], ids=["80x24", "120x40"])
@pytest.mark.parametrize("screen", list(LAYOUT_SCREENS))
def test_layout(snap_compare, make_app, screen: str, size: tuple[int, int]) -> None:
    run = steps(*LAYOUT_SCREENS[screen])
    assert snap_compare(make_app(), terminal_size=size, run_before=run)


def test_layout_dashboard_200x60(snap_compare, make_app) -> None:
    assert snap_compare(make_app(), terminal_size=WIDE, run_before=steps())
