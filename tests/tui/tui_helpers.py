"""Helpers of the app's tests (imported by the test modules; fixtures live in conftest.py)."""

from __future__ import annotations

import contextlib
from datetime import date

from textual.widgets import Input
from textual.worker import WorkerCancelled

TODAY = date(2026, 11, 25)
SIZE = (120, 40)


async def settle(pilot) -> None:  # type: ignore[no-untyped-def]
    """Wait until background queries are done and their results are on screen."""
    for _ in range(4):
        with contextlib.suppress(WorkerCancelled):  # a newer query replaced it: waited next round
            await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        if not any(worker.is_running for worker in pilot.app.workers):
            break


def stop_blinking(app) -> None:  # type: ignore[no-untyped-def]
    """Freeze text cursors (snapshots must not depend on the blink phase)."""
    for widget in app.screen.query(Input):
        widget.cursor_blink = False
