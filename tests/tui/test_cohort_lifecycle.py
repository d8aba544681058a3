"""The cohort lifecycle in the app (issue 12, finding 3): the dashboard's cohorts to close and the
closing flow (from the dashboard and from the Cohorts screen), "finished" in the cohort form, the
end date message, and enrolling beyond capacity (the learner form and the import screen)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Checkbox, DataTable, Input, Select, Static
from tui_helpers import SIZE, TODAY, notifications, settle, until

from fabriqueterm.domain.ids import follow_up_id
from fabriqueterm.tui.screens.closing import ClosingScreen, DropoutForm
from fabriqueterm.tui.screens.cohorts import CohortDetailScreen, CohortsScreen
from fabriqueterm.tui.screens.dashboard import DashboardScreen
from fabriqueterm.tui.screens.forms import FormScreen
from fabriqueterm.tui.screens.importing import ImportScreen

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]
#: A running cohort of the demo with 9 learners still enrolled, ending on 18/12/2026.
LILLE = "Assistant·e ressources humaines numérique — Lille — mars 2026"


def cohort_named(store: Any, name: str) -> Any:
    return next(
        line.cohort for line in store.cohorts.page(limit=500).rows if line.cohort.name == name
    )


def ended_cohort(store: Any) -> Any:
    """The Lille cohort, its end date brought back to 20/11/2026: to close, 9 learners enrolled."""
    cohort = cohort_named(store, LILLE)
    return store.cohorts.update(cohort.id, {"end_date": "2026-11-20"})


def enrolled(store: Any, cohort_id: str) -> list[Any]:
    return [lr for lr in store.learners.in_cohort(cohort_id) if lr.status == "enrolled"]


def messages(app: Any) -> list[str]:
    return [str(note.message) for note in notifications(app)]


async def exception_dropped_out(pilot: Any, row: int, when: str, why: str) -> None:
    """In the closing flow: move to ``row`` and set that learner dropped out."""
    table = pilot.app.screen.query_one("#closing-learners", DataTable)
    table.move_cursor(row=row)
    await pilot.press("d")
    await settle(pilot)
    assert isinstance(pilot.app.screen, DropoutForm)
    await pilot.press(*when, "tab", *why, "ctrl+s")
    await settle(pilot)
    assert isinstance(pilot.app.screen, ClosingScreen)


async def test_close_a_cohort_from_the_dashboard_with_exceptions(make_app) -> None:
    app = make_app()
    store = app.store
    cohort = ended_cohort(store)
    learners = enrolled(store, cohort.id)
    assert len(learners) == 9
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        dashboard = app.screen
        assert isinstance(dashboard, DashboardScreen)
        to_close = dashboard.query_one("#to-close", DataTable)
        # The demo's own cohort left to close, and this one.
        demo_left = [c.cohort.id for c in store.cohorts.to_close(TODAY) if c.cohort.id != cohort.id]
        keys = [str(k.value) for k in to_close.rows]
        assert to_close.display and sorted(keys) == sorted([cohort.id, *demo_left])
        assert "Cohorts to close (2)" in str(dashboard.query_one("#to-close-title", Static).content)
        row = keys.index(cohort.id)
        assert str(to_close.get_row_at(row)[3]) == "9"

        await pilot.press("t", *["down"] * row, "enter")
        await settle(pilot)
        closing = app.screen
        assert isinstance(closing, ClosingScreen)
        table = closing.query_one("#closing-learners", DataTable)
        assert table.row_count == 9
        assert {str(table.get_row_at(i)[1]) for i in range(9)} == {"graduated"}

        table.move_cursor(row=1)
        await pilot.press("c")  # certified
        await exception_dropped_out(pilot, 2, "02/10/2026", "Found a job")
        assert [str(c) for c in table.get_row_at(2)[1:]] == [
            "dropped out",
            "2026-10-02",
            "Found a job",
        ]
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is dashboard
        await until(
            pilot,
            lambda: [str(k.value) for k in to_close.rows] == demo_left,
            "the cohort to leave the list",
        )

    summary = (
        f"Cohort “{LILLE}” closed: 7 learners graduated, 1 learner certified, 1 dropout; "
        "24 follow-ups created."
    )
    assert summary in messages(app)
    statuses = {lr.id: lr.status for lr in store.learners.in_cohort(cohort.id)}
    assert [statuses[lr.id] for lr in learners[:3]] == ["graduated", "certified", "dropped_out"]
    assert all(statuses[lr.id] == "graduated" for lr in learners[3:])
    dropped = store.learners.get(learners[2].id)
    assert (dropped.dropout_date, dropped.dropout_reason) == (date(2026, 10, 2), "Found a job")
    assert store.cohorts.get(cohort.id).status == "finished"
    end = store.follow_ups.get(follow_up_id(learners[0].id, "end"))
    assert end.due_date == date(2026, 11, 20)  # on the call list from today
    assert store.follow_ups.for_learner(learners[2].id) == []


async def test_close_from_the_cohorts_screen_a_cohort_ending_later(make_app) -> None:
    """The cohort ends on 18/12/2026: closing says so and closes only once told to end it
    today; a dropout without a reason is refused next to the field."""
    app = make_app()
    store = app.store
    cohort = cohort_named(store, LILLE)
    learners = enrolled(store, cohort.id)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        await settle(pilot)
        cohorts = app.screen
        assert isinstance(cohorts, CohortsScreen)
        await pilot.press("slash", *"Lille mars 2026", "enter")
        await settle(pilot)
        assert cohorts.current_id() == cohort.id
        await pilot.press("c")
        await settle(pilot)
        closing = app.screen
        assert isinstance(closing, ClosingScreen)
        early = str(closing.query_one("#closing-early", Static).content)
        assert "ends on 2026-12-18, after today" in early

        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is closing
        assert "Not closed" in str(closing.query_one("#closing-errors", Static).content)
        assert store.cohorts.get(cohort.id).status == "running"

        await pilot.press("d")
        await settle(pilot)
        assert isinstance(app.screen, DropoutForm)
        await pilot.press(*"02/10/2026", "ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, DropoutForm)  # no reason: refused, said next to the field
        assert "dropout reason: empty" in str(
            app.screen.query_one("#error-dropout_reason", Static).content
        )
        await pilot.press(*"Moved to Lyon", "ctrl+s")  # the focus is on the reason
        await settle(pilot)
        assert app.screen is closing

        closing.query_one("#closing-end-today", Checkbox).value = True
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is cohorts

    closed = store.cohorts.get(cohort.id)
    assert (closed.status, closed.end_date) == ("finished", TODAY)
    statuses = {lr.id: lr.status for lr in store.learners.in_cohort(cohort.id)}
    assert statuses[learners[0].id] == "dropped_out"
    assert all(statuses[lr.id] == "graduated" for lr in learners[1:])
    assert any(
        m.startswith(
            f"Cohort “{LILLE}” closed: 8 learners graduated, 1 dropout; 24 follow-ups created."
        )
        for m in messages(app)
    )


async def test_setting_finished_in_the_form_opens_the_closing_flow(make_app) -> None:
    app = make_app()
    store = app.store
    cohort = ended_cohort(store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        await settle(pilot)
        await pilot.press("slash", *"Lille mars 2026", "enter")
        await settle(pilot)
        await pilot.press("e")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, FormScreen)
        form.query_one("#field-status", Select).value = "finished"
        form.query_one("#field-name", Input).value = "RH Lille 2026"
        await pilot.press("ctrl+s")
        await settle(pilot)
        closing = app.screen
        assert isinstance(closing, ClosingScreen)
        # The other changes are saved; "finished" waits for the closing.
        saved = store.cohorts.get(cohort.id)
        assert (saved.name, saved.status) == ("RH Lille 2026", "running")
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, CohortsScreen)
    assert store.cohorts.get(cohort.id).status == "running"
    assert len(enrolled(store, cohort.id)) == 9  # nobody stranded


async def test_the_cohort_form_says_how_many_follow_ups_moved_and_became_overdue(make_app) -> None:
    app = make_app()
    store = app.store
    cohort = cohort_named(
        store, "Designer web — Lille — juin 2026"
    )  # ended 20/11/2026, 19 learners
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        await settle(pilot)
        await pilot.press("slash", *"Designer Lille juin", "enter")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, CohortDetailScreen)
        await pilot.press("e")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, FormScreen)
        form.query_one("#field-end_date", Input).value = "02/10/2026"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, CohortDetailScreen)
    moved = [m for m in messages(app) if "moved with the new end date" in m]
    assert len(moved) == 1
    (message,) = moved
    assert message.endswith("became overdue (due more than 7 days ago).")
    assert store.cohorts.get(cohort.id).end_date == date(2026, 10, 2)


async def test_enrolling_beyond_capacity_warns_before_and_after_saving(make_app) -> None:
    app = make_app()
    store = app.store
    cohort = cohort_named(store, "Designer web — Lille — octobre 2026")
    store.cohorts.update(cohort.id, {"capacity": store.cohorts.seats(cohort.id)[0]})
    taken, capacity = store.cohorts.seats(cohort.id)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        await settle(pilot)
        await pilot.press("slash", *"Designer Lille octobre", "enter")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, CohortDetailScreen)
        await pilot.press("n")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, FormScreen)
        help_text = str(form.query_one(".dialog-help", Static).content)
        assert help_text.startswith(f"Cohort full: {taken}/{capacity}. You can still enrol")
        form.query_one("#field-first_name", Input).value = "Awa"
        form.query_one("#field-last_name", Input).value = "Traoré"
        form.query_one("#field-gender", Select).value = "F"
        form.query_one("#field-qualification", Select).value = "4"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, CohortDetailScreen)  # warned, never refused
    assert (
        f"Cohort full: {taken + 1}/{capacity}. Awa Traoré is enrolled beyond the planned capacity."
        in messages(app)
    )
    assert store.cohorts.seats(cohort.id) == (taken + 1, capacity)


async def test_the_import_screen_warns_beyond_capacity(make_app, monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    app = make_app()
    store = app.store
    cohort = cohort_named(store, "Designer web — Lille — octobre 2026")
    store.cohorts.update(cohort.id, {"capacity": 14})
    taken = store.cohorts.seats(cohort.id)[0]
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("0")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ImportScreen)
        screen.query_one(
            "#import-file", Input
        ).value = "fixtures/import/apprenants-windows-1252.csv"
        screen.query_one("#import-site", Select).value = cohort.site_id
        await settle(pilot)
        screen.query_one("#import-cohort", Select).value = cohort.id
        await pilot.press("ctrl+r")
        await settle(pilot)
        warning = f"This import takes the cohort “{cohort.name}” to {taken + 3}/14"
        assert warning in str(screen.query_one("#import-status", Static).content)
        await pilot.press("ctrl+s")
        await settle(pilot)
        status = str(screen.query_one("#import-status", Static).content)
        assert "4 learners imported" in status and warning in status
    assert store.cohorts.seats(cohort.id)[0] == taken + 3
