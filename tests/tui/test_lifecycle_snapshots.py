"""What the cohort lifecycle looks like (issue 12, finding 3): the dashboard with a cohort to
close, and the closing flow with exceptions at 120x40 and 80x24 (English, demo network)."""

from __future__ import annotations

from datetime import date
from typing import Any

from test_cohort_lifecycle import ended_cohort
from test_snapshots import steps
from textual.widgets import DataTable
from tui_helpers import SIZE

from fabriqueterm.tui.screens.closing import FinalStatus


async def with_exceptions(pilot: Any) -> None:
    """The second learner certified and the third dropped out, as the keys c and d would."""
    screen = pilot.app.screen
    learners = screen.closing.enrolled
    screen.set_final(learners[1].id, FinalStatus("certified"))
    screen.set_final(learners[2].id, FinalStatus("dropped_out", date(2026, 10, 2), "Found a job"))
    screen.query_one("#closing-learners", DataTable).move_cursor(row=2)


def test_dashboard_with_a_cohort_to_close(snap_compare, make_app) -> None:
    app = make_app()
    ended_cohort(app.store)
    assert snap_compare(app, terminal_size=SIZE, run_before=steps())


def test_closing_flow(snap_compare, make_app) -> None:
    app = make_app()
    ended_cohort(app.store)
    assert snap_compare(app, terminal_size=SIZE, run_before=steps("t", "enter", with_exceptions))


def test_closing_flow_80x24(snap_compare, make_app) -> None:
    app = make_app()
    ended_cohort(app.store)
    run = steps("t", "enter", with_exceptions)
    assert snap_compare(app, terminal_size=(80, 24), run_before=run)
