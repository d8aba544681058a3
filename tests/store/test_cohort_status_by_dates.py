"""A cohort's status follows its start date (docs/domain.md, "Cohort lifecycle"): a planned
cohort whose start date is reached becomes running, in one transaction, each an outbox update; a
future one stays planned, a finished one is never touched, and running it again does nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from test_store import make_cohort, make_site

from fabriqueterm.domain.dates import Clock
from fabriqueterm.domain.lifecycle import status_by_dates
from fabriqueterm.store import Store
from fabriqueterm.store.repositories.cohorts import CohortRepository

CREATED = date(2026, 11, 20)
TODAY = date(2026, 11, 25)


class MovingClock(Clock):
    """A clock whose day a test moves, as the days pass while the app runs."""

    def __init__(self, today: date):
        super().__init__(today)

    def move_to(self, today: date) -> None:
        self._today = today


@pytest.fixture
def moving_clock() -> MovingClock:
    return MovingClock(CREATED)


@pytest.fixture
def dated_store(tmp_path: Path, moving_clock: MovingClock) -> Iterator[Store]:
    opened = Store.open(tmp_path / "db.sqlite3", clock=moving_clock)
    try:
        yield opened
    finally:
        opened.close()


def planned(store: Store, site_id: str, name: str, start: str, **changes: Any) -> Any:
    return make_cohort(
        store,
        site_id,
        name=name,
        start_date=start,
        end_date="2027-06-30",
        status="planned",
        **changes,
    )


def test_the_rule() -> None:
    assert status_by_dates("planned", TODAY, TODAY) == "running"
    assert status_by_dates("planned", date(2026, 11, 26), TODAY) == "planned"
    assert status_by_dates("running", date(2026, 11, 26), TODAY) == "running"  # never back
    assert status_by_dates("finished", date(2026, 1, 5), TODAY) == "finished"


def test_planned_cohorts_whose_start_is_reached_become_running_with_their_outbox_entries(
    dated_store: Store, moving_clock: MovingClock
) -> None:
    store = dated_store
    site = make_site(store)
    started = planned(store, site.id, "Starts on the 23rd", "2026-11-23")
    today = planned(store, site.id, "Starts today", "2026-11-25")
    future = planned(store, site.id, "Starts next week", "2026-12-01")
    finished = make_cohort(store, site.id, name="Finished", status="finished")
    before = len(store.outbox.entries(limit=-1))
    assert store.cohorts.start_running() == []  # on the 20th nothing has started

    moving_clock.move_to(TODAY)
    moved = store.cohorts.start_running()

    assert [c.id for c in moved] == [started.id, today.id]
    assert {c.name: store.cohorts.get(c.id).status for c in (started, today, future, finished)} == {
        "Starts on the 23rd": "running",
        "Starts today": "running",
        "Starts next week": "planned",
        "Finished": "finished",
    }
    entries = store.outbox.entries(limit=-1)[before:]
    assert [(e.entity, e.row_id, e.op, e.fields, e.base_values) for e in entries] == [
        ("cohort", cohort.id, "update", {"status": "running"}, {"status": "planned"})
        for cohort in (started, today)
    ]
    # Idempotent: the same day again (or another device's pull already applied) does nothing.
    assert store.cohorts.start_running() == []
    assert len(store.outbox.entries(limit=-1)) == before + 2


def test_all_due_cohorts_in_one_transaction(
    dated_store: Store, moving_clock: MovingClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = dated_store
    site = make_site(store)
    first = planned(store, site.id, "First", "2026-11-23")
    second = planned(store, site.id, "Second", "2026-11-24")
    before = len(store.outbox.entries(limit=-1))
    moving_clock.move_to(TODAY)
    update_in = CohortRepository.update_in

    def fail_on_second(self: CohortRepository, session: Any, row_id: str, changes: Any) -> Any:
        if row_id == second.id:
            raise RuntimeError("disk full")
        return update_in(self, session, row_id, changes)

    monkeypatch.setattr(CohortRepository, "update_in", fail_on_second)
    with pytest.raises(RuntimeError):
        store.cohorts.start_running()
    assert store.cohorts.get(first.id).status == "planned"  # rolled back with the second
    assert len(store.outbox.entries(limit=-1)) == before


def test_deleted_cohorts_are_left_alone(dated_store: Store, moving_clock: MovingClock) -> None:
    store = dated_store
    site = make_site(store)
    gone = planned(store, site.id, "Deleted", "2026-11-23")
    store.cohorts.delete(gone.id)
    moving_clock.move_to(TODAY)
    assert store.cohorts.start_running() == []


def test_a_cohort_saved_planned_with_its_start_reached_is_running(
    dated_store: Store, moving_clock: MovingClock
) -> None:
    store = dated_store
    moving_clock.move_to(TODAY)
    site = make_site(store)
    created = planned(store, site.id, "Started last week", "2026-11-16")
    assert created.status == "running"
    [entry] = [e for e in store.outbox.entries(limit=-1) if e.row_id == created.id]
    assert entry.fields["status"] == "running"  # what syncs is what the row holds
    future = planned(store, site.id, "Next year", "2027-01-04")
    assert future.status == "planned"
    # Moving a planned cohort's start date to the past makes it running on save…
    assert store.cohorts.update(future.id, {"start_date": "2026-11-23"}).status == "running"
    # …and moving a running cohort's start to the future does not move it back.
    assert store.cohorts.update(future.id, {"start_date": "2027-01-04"}).status == "running"
