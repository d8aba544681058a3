"""Helpers of the app's tests (imported by the test modules; fixtures live in conftest.py)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from datetime import date

from textual.command import CommandList, CommandPalette
from textual.widgets import Input
from textual.worker import WorkerCancelled

TODAY = date(2026, 11, 25)
SIZE = (120, 40)


async def settle(pilot) -> None:  # type: ignore[no-untyped-def]
    """Wait until background queries are done and their results are on screen.

    A query's result may open another screen (a dialog), which mounts and takes the focus in its own
    turn, or move a cursor whose message starts the next query: so this goes round until a round
    changes nothing (no worker waiting to start or running, the same screen and focus before and
    after it), however slowly a busy machine gets there. A worker started during a round is still
    pending when the round ends on a busy machine: ``is_finished``, not ``is_running``, sees it."""
    app = pilot.app
    for _ in range(12):
        with contextlib.suppress(WorkerCancelled):  # a newer query replaced it: waited next round
            await app.workers.wait_for_complete()
        screen, focused = app.screen, app.focused
        await pilot.pause()
        if (
            all(worker.is_finished for worker in app.workers)
            and app.screen is screen
            and app.focused is focused
        ):
            break


def stop_blinking(app) -> None:  # type: ignore[no-untyped-def]
    """Freeze text cursors (snapshots must not depend on the blink phase)."""
    for widget in app.screen.query(Input):
        widget.cursor_blink = False


async def until(pilot, predicate: Callable[[], bool], what: str, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    """Let the app run until ``predicate()`` holds: a test waits on a condition, never on a delay.
    ``timeout`` only bounds a test that would otherwise hang; a busy machine stays well within it."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout:.0f} s for {what}")
        await pilot.pause(0.02)


def palette_highlights(app, text: str) -> Callable[[], bool]:  # type: ignore[no-untyped-def]
    """Whether the command palette is open with ``text`` in its highlighted hit (its search runs
    in the background, so its hits come after the keys)."""

    def check() -> bool:
        screen = app.screen
        if not isinstance(screen, CommandPalette):
            return False
        hits = screen.query_one(CommandList)
        if hits.highlighted is None:
            return False
        return text in str(hits.get_option_at_index(hits.highlighted).prompt)

    return check


def notifications(app) -> list:  # type: ignore[no-untyped-def]
    """Every notification raised and not cleared, expired or not: iterating ``app._notifications``
    drops the expired ones, and a loaded machine can take longer than a toast's timeout between the
    notify and the assert."""
    return list(app._notifications._notifications.values())
