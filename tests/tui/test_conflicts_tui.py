"""The conflict view as a coordinator reads it: what it is about (the learner and their cohort),
each field by its form label, each value in words (never a code), who made each value and when
(the colleague whose write is on the commons, not the person looking), and the keys that decide
each conflict with the next one highlighted.

Conflict records are put in the local store as a pull brings them (the replica's page), on the
demo network; one is an older record without its author ("a colleague")."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from textual.widgets import DataTable, Label, Static
from tui_helpers import SIZE, TODAY, settle

from fabriqueterm.domain.ids import uuid7
from fabriqueterm.store.replica import Change, Replica
from fabriqueterm.store.repositories.conflicts import ConflictRepository
from fabriqueterm.tui.app import FabriqueApp
from fabriqueterm.tui.screens.conflicts import ConflictScreen
from fabriqueterm.tui.screens.sync import SyncScreen

pytestmark = pytest.mark.anyio

COLLEAGUE = "Camille Martin"
#: Codes that must never be on screen.
CODES = ("declined", "reached", "follow_up", "done_date", "phone_", "kept_server", "null")


@pytest.fixture(autouse=True)
def paris_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Times are shown in local time: the same one on every machine."""
    monkeypatch.setenv("TZ", "Europe/Paris")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def _conflict(site: str, entity: str, row_id: str, field: str, values: tuple, **extra) -> dict:
    base, theirs, mine = (json.dumps(v) for v in values)
    return {
        "id": uuid7(),
        "created_at": "2026-11-25T12:05:00+00:00",
        "updated_at": "2026-11-25T12:05:00+00:00",
        "version": 1,
        "deleted_at": None,
        "site_id": site,
        "row_entity": entity,
        "row_id": row_id,
        "kind": "field",
        "field": field,
        "server_value": theirs,
        "client_value": mine,
        "base_value": base,
        "coordinator_id": "coordinator-demo",
        "coordinator_name": "Dominique Demo",
        "detected_at": "2026-11-25T12:05:00+00:00",
        "resolved_at": None,
        "resolution": "",
        **extra,
    }


def seed_conflicts(app: FabriqueApp) -> dict[str, Any]:
    """The first learner of "À appeler": their phone changed here and by a colleague, and their
    follow-up logged on both sides with different outcomes and dates (one record without author)."""
    store = app.store
    due = store.follow_ups.due(TODAY, limit=1)[0]
    learner, follow_up = due.learner, due.follow_up
    store.learners.update(learner.id, {"phone": "+33622222222"})  # mine, made here at 12:00 UTC
    store.follow_ups.log_attempt(  # reached: closes it here
        follow_up.id,
        {"attempted_on": "2026-11-25", "outcome": "reached", "situation": "still_looking"},
    )
    author = {
        "server_author_id": "coordinator-camille",
        "server_author_name": COLLEAGUE,
        "server_changed_at": "2026-11-25T11:40:00+00:00",
    }
    rows = [
        _conflict(
            learner.site_id,
            "learner",
            learner.id,
            "phone",
            (learner.phone, "+33611111111", "+33622222222"),
            **author,
        ),
        _conflict(
            learner.site_id,
            "follow_up",
            follow_up.id,
            "outcome",
            (None, "declined", "reached"),
            **author,
        ),
        _conflict(  # made by an older commons: no author
            learner.site_id,
            "follow_up",
            follow_up.id,
            "done_date",
            (None, "2026-11-24", "2026-11-25"),
        ),
    ]
    Replica(store).apply_page([Change("conflict", r["id"], r) for r in rows], {})
    return {"learner": learner, "due": due, "rows": rows}


def _cells(table: DataTable, row: int) -> list[str]:
    return [str(cell) for cell in table.get_row_at(row)]


def _no_code(text: str) -> None:
    for code in CODES:
        assert code not in text, (code, text)


async def test_the_conflict_view_in_french_says_everything_in_words(make_app) -> None:
    app = make_app(language="fr")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        seeded = seed_conflicts(app)
        learner = seeded["learner"]
        name = f"{learner.first_name} {learner.last_name}"
        await pilot.press("7")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, SyncScreen)
        table = screen.query_one("#conflicts", DataTable)
        assert table.row_count == 3 and app.focused is table  # focus on the list
        rows = [_cells(table, i) for i in range(3)]
        for row in rows:
            _no_code(" ".join(row))
            assert row[0].startswith(name)
        phone = next(r for r in rows if r[1] == "téléphone")
        assert phone[2:4] == ["06 11 11 11 11", "06 22 22 22 22"]
        assert phone[4].startswith(COLLEAGUE)
        outcome = next(r for r in rows if r[1] == "résultat")
        assert outcome[2:4] == ["refus", "joint·e"]  # by their labels
        dated = next(r for r in rows if "24/11/2026" in r[2])
        assert dated[3] == "25/11/2026"

        # enter: the record's conflicts side by side, with who made each value and when.
        table.move_cursor(row=rows.index(phone))
        await pilot.press("enter")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, ConflictScreen)
        title = str(dialog.query_one("#conflict-title", Label).content)
        assert name in title and learner.cohort_id not in title
        fields = dialog.query_one("#conflict-fields", DataTable)
        assert _cells(fields, 0)[0] == "téléphone"
        assert _cells(fields, 0)[2:] == ["06 11 11 11 11", "06 22 22 22 22"]
        who = str(dialog.query_one("#conflict-who", Static).content)
        _no_code(title + who + " ".join(_cells(fields, 0)))
        assert f"{COLLEAGUE} (" in who and "25/11" in who
        assert "12:40" in who and "13:00" in who  # theirs at 11:40 UTC, mine at 12:00 UTC
        assert "Dominique Demo" not in who  # the person looking is not the author of theirs


async def test_each_conflict_is_decided_with_a_key_and_the_next_is_highlighted(make_app) -> None:
    app = make_app(language="en")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        seeded = seed_conflicts(app)
        learner = seeded["learner"]
        await pilot.press("7")
        await settle(pilot)
        table = app.screen.query_one("#conflicts", DataTable)
        assert app.focused is table and table.cursor_row == 0
        first, second, third = (_cells(table, i) for i in range(3))
        assert [first[1], second[1], third[1]] == ["done date", "outcome", "phone"]
        assert first[4] == "a colleague"  # the record without its author

        await pilot.press("e")  # type another date
        await settle(pilot)
        field = app.screen.query_one("#field-done_date")
        field.value = "23/11/2026"  # type: ignore[attr-defined]
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, SyncScreen)
        assert table.row_count == 2 and table.cursor_row == 0
        assert _cells(table, 0) == second and app.focused is table
        await pilot.press("t")  # take theirs (the outcome)
        await settle(pilot)
        assert table.row_count == 1 and _cells(table, 0) == third
        await pilot.press("m")  # keep mine (the phone)
        await settle(pilot)
        assert not table.display

    assert ConflictRepository(app.store).open() == []
    resolutions = {
        r["field"]: r["resolution"] for r in Replica(app.store).rows("conflict").values()
    }
    assert resolutions == {"phone": "took_client", "outcome": "kept_server", "done_date": "edited"}
    assert app.store.learners.get(learner.id).phone == "+33622222222"
    assert str(app.store.follow_ups.get(seeded["due"].follow_up.id).done_date) == "2026-11-23"


def _conflict_view(*keys: str) -> Callable[[Any], Any]:
    """The sync screen with the seeded conflicts, ``keys`` pressed on its list, then enter."""

    async def run_before(pilot: Any) -> None:
        await settle(pilot)
        seed_conflicts(pilot.app)
        await pilot.press("7")
        await settle(pilot)
        await pilot.press(*keys, "enter")
        await settle(pilot)

    return run_before


def test_conflict_view_120x40(snap_compare, make_app) -> None:
    """The learner's phone: Camille Martin's value and mine."""
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=_conflict_view("down", "down"))


def test_conflict_view_80x24(snap_compare, make_app) -> None:
    """The learner's follow-up: two fields, one record without its author."""
    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=_conflict_view())


def test_conflict_list_80x24(snap_compare, make_app) -> None:
    async def run_before(pilot: Any) -> None:
        await settle(pilot)
        seed_conflicts(pilot.app)
        await pilot.press("7")
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=run_before)
