"""The cohort lifecycle in the store (docs/domain.md, "Cohort lifecycle"; issue 12, finding 3):
closing a cohort in one transaction, the cohorts to close, the follow-ups an end date change moves
and makes overdue, and the seats taken against the planned capacity."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from test_store import make_cohort, make_learner, make_site

from fabriqueterm.domain.ids import follow_up_id
from fabriqueterm.store import Store
from fabriqueterm.store.repositories.cohorts import (
    ClosingRefused,
    CohortNotEnded,
    FinalStatus,
    FollowUpsMoved,
)

TODAY = date(2026, 11, 25)


def cohort_with(store: Store, **changes: Any) -> tuple[Any, list[Any]]:
    """A running cohort ended on 20 November 2026 with three enrolled learners and a candidate."""
    site = make_site(store)
    cohort = make_cohort(store, site.id, status="running", end_date="2026-11-20", **changes)
    learners = [
        make_learner(
            store,
            cohort.id,
            first_name=first,
            last_name=last,
            email=f"{first}@example.org",
            phone="",
        )
        for first, last in (("Aïcha", "Benali"), ("Bruno", "Costa"), ("Chloé", "Dubois"))
    ]
    make_learner(
        store, cohort.id, first_name="Dan", email="dan@example.org", phone="", status="candidate"
    )
    return cohort, learners


def statuses(store: Store, cohort_id: str) -> dict[str, str]:
    return {learner.first_name: learner.status for learner in store.learners.in_cohort(cohort_id)}


def test_close_gives_final_statuses_follow_ups_and_finishes_the_cohort(store: Store) -> None:
    cohort, (aicha, bruno, chloe) = cohort_with(store)
    assert [c.cohort.id for c in store.cohorts.to_close(TODAY)] == [cohort.id]
    assert store.cohorts.to_close(TODAY)[0].enrolled == 3

    result = store.cohorts.close(
        cohort.id,
        {
            bruno.id: FinalStatus("certified"),
            chloe.id: FinalStatus("dropped_out", "2026-10-02", "a job found"),
        },
    )

    assert (result.graduated, result.certified, result.dropped_out) == (1, 1, 1)
    assert result.follow_ups_created == 6  # end, +3, +6 months for the two completers
    assert statuses(store, cohort.id) == {
        "Aïcha": "graduated",
        "Bruno": "certified",
        "Chloé": "dropped_out",
        "Dan": "candidate",  # a candidate never joined: not the closing's business
    }
    dropped = store.learners.get(chloe.id)
    assert (dropped.dropout_date, dropped.dropout_reason) == (date(2026, 10, 2), "a job found")
    assert store.cohorts.get(cohort.id).status == "finished"
    follow_ups = {f.id: f.due_date for f in store.follow_ups.for_learner(aicha.id)}
    assert follow_ups == {  # deterministic ids: another device closing offline makes the same
        follow_up_id(aicha.id, "end"): date(2026, 11, 20),
        follow_up_id(aicha.id, "m3"): date(2027, 2, 20),
        follow_up_id(aicha.id, "m6"): date(2027, 5, 20),
    }
    assert store.follow_ups.for_learner(chloe.id) == []
    assert store.cohorts.to_close(TODAY) == []


def test_close_is_all_or_nothing(store: Store) -> None:
    cohort, (aicha, bruno, chloe) = cohort_with(store)
    outbox = store.outbox.count()

    with pytest.raises(ClosingRefused) as refused:
        store.cohorts.close(
            cohort.id,
            {
                bruno.id: FinalStatus("dropped_out", None, "moved away"),  # no date
                chloe.id: FinalStatus("dropped_out", "2026-10-02", "  "),  # no reason
            },
        )

    assert set(refused.value.by_learner) == {bruno.id, chloe.id}
    assert [e.field for e in refused.value.by_learner[bruno.id]] == ["dropout_date"]
    assert [e.field for e in refused.value.by_learner[chloe.id]] == ["dropout_reason"]
    # Aïcha, graduated before the bad rows were met, was rolled back with them.
    assert statuses(store, cohort.id)["Aïcha"] == "enrolled"
    assert store.follow_ups.for_learner(aicha.id) == []
    assert store.cohorts.get(cohort.id).status == "running"
    assert store.outbox.count() == outbox


def test_a_cohort_ending_after_today_is_not_closed_unless_it_ends_today(store: Store) -> None:
    cohort, (aicha, *_rest) = cohort_with(store, start_date="2026-06-01")
    store.cohorts.update(cohort.id, {"end_date": "2027-01-29"})
    assert store.cohorts.to_close(TODAY) == []

    with pytest.raises(CohortNotEnded):
        store.cohorts.close(cohort.id)
    assert statuses(store, cohort.id)["Aïcha"] == "enrolled"

    result = store.cohorts.close(cohort.id, end_today=True)
    closed = store.cohorts.get(cohort.id)
    assert (closed.end_date, closed.status) == (TODAY, "finished")
    assert result.graduated == 3 and result.follow_ups_created == 9
    assert store.follow_ups.get(follow_up_id(aicha.id, "end")).due_date == TODAY


def test_a_cohort_set_finished_with_enrolled_learners_is_to_close(store: Store) -> None:
    cohort, _learners = cohort_with(store, start_date="2026-06-01")
    store.cohorts.update(cohort.id, {"end_date": "2027-01-29", "status": "finished"})
    assert [c.cohort.id for c in store.cohorts.to_close(TODAY)] == [cohort.id]


def test_an_end_date_change_says_how_many_follow_ups_moved_and_became_overdue(
    store: Store,
) -> None:
    cohort, (aicha, bruno, _chloe) = cohort_with(store)
    store.cohorts.close(cohort.id)  # 9 follow-ups due 20/11/2026, 20/02 and 20/05/2027
    store.follow_ups.update(
        follow_up_id(bruno.id, "end"),
        {"done_date": "2026-11-24", "channel": "phone", "outcome": "reached"},
    )

    # 20/11 → 02/10: the 2 end follow-ups not done become overdue (more than 7 days ago); the
    # +3 and +6 months ones move but stay ahead; the done one stays where it is.
    edit = store.cohorts.edit(cohort.id, {"end_date": "2026-10-02"})
    assert edit.follow_ups == FollowUpsMoved(moved=8, became_overdue=2)
    assert store.follow_ups.get(follow_up_id(aicha.id, "end")).due_date == date(2026, 10, 2)

    # Back to 20/11: they move again and none becomes overdue.
    assert store.cohorts.edit(cohort.id, {"end_date": "2026-11-20"}).follow_ups == FollowUpsMoved(
        8, 0
    )
    # No end date change: nothing said.
    assert store.cohorts.edit(cohort.id, {"name": "Promo B"}).follow_ups is None


def test_seats_count_everyone_but_candidates(store: Store) -> None:
    cohort, _learners = cohort_with(store, capacity=3)
    assert store.cohorts.seats(cohort.id) == (3, 3)
    make_learner(store, cohort.id, first_name="Eve", email="eve@example.org", phone="")
    assert store.cohorts.seats(cohort.id) == (4, 3)  # beyond capacity: allowed, said elsewhere
