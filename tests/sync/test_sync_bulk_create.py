"""Learners created in bulk (the CSV import's path) sync like learners created one by one."""

from __future__ import annotations

from sync_helpers import COHORT, LEARNER

from fabriqueterm.domain.validation import validate


def test_learners_created_in_bulk_reach_the_commons_and_the_other_device(device, team):
    a = device("a")
    assert a.sync().ok
    # Ended in July: a graduate gets the follow-ups at the end, +3 and +6 months.
    cohort = a.store.cohorts.create({**COHORT, "site_id": team.site1, "status": "finished"})
    rows = [
        validate(
            "learner",
            {
                **LEARNER,
                "cohort_id": cohort.id,
                "site_id": team.site1,
                "first_name": f"Vrillette{i}",
                "email": f"vrillette.{i}@example.org",
                "phone": f"+3361234560{i}",
                "status": "graduated" if i == 0 else "enrolled",
            },
        )
        for i in range(4)
    ]
    created = a.store.learners.create_many(cohort.id, rows)
    report = a.sync()
    assert report.ok, report.errors
    assert (report.pushed, report.rejected) == (1 + 4 + 3, 0)
    assert a.store.outbox.count("pending") == 0
    b = device("b")
    assert b.sync().ok
    for learner_id in created:
        assert b.rows("learner")[learner_id] == a.rows("learner")[learner_id]
    assert b.store.learners.get(created[0]).version is not None
    assert len(b.store.follow_ups.for_learner(created[0])) == 3
    assert b.store.learners.search("Vrillette")[1] == 4
