"""Call attempts through the real commons (issue 12, finding 1): append-only rows, so two devices
calling the same learner offline never conflict over them; the follow-up's call-back date is its
latest attempt's on every device; an attempt is never edited."""

from __future__ import annotations

import json
from datetime import date

from sync_helpers import COHORT, LEARNER

from fabriqueterm.domain.ids import follow_up_id


def _two_devices_with_a_completer(device, team):  # type: ignore[no-untyped-def]
    a = device("a")
    assert a.sync().ok
    cohort = a.store.cohorts.create({**COHORT, "site_id": team.site1, "status": "finished"})
    learner = a.store.learners.create({**LEARNER, "cohort_id": cohort.id, "status": "graduated"})
    assert a.sync().ok
    b = device("b")
    assert b.sync().ok
    return a, b, follow_up_id(learner.id, "end")


def test_two_devices_calling_the_same_learner_offline_both_keep_their_attempts(device, team):
    a, b, end = _two_devices_with_a_completer(device, team)
    a.store.follow_ups.log_attempt(end, {"attempted_on": "2026-07-06", "outcome": "no_answer"})
    b.store.follow_ups.log_attempt(
        end,
        {
            "attempted_on": "2026-07-07",
            "outcome": "message_left",
            "callback_date": "2026-07-10",
            "notes": "Message sur le répondeur",
        },
    )
    first, second, third = a.sync(), b.sync(), a.sync()
    assert first.ok and second.ok and third.ok, (first.errors, second.errors, third.errors)
    assert first.conflicts == second.conflicts == third.conflicts == 0
    for one in (a, b):
        attempts = one.store.follow_ups.attempts.for_follow_up(end)
        assert [(x.attempted_on, x.outcome) for x in attempts] == [
            (date(2026, 7, 6), "no_answer"),
            (date(2026, 7, 7), "message_left"),
        ]
        so_far = one.store.follow_ups.attempts_so_far(end)
        assert (so_far.count, so_far.callback_date) == (2, date(2026, 7, 10))
        assert one.store.follow_ups.get(end).done_date is None
        assert one.store.outbox.count("pending") == 0
        # Who called: the coordinator whose device sent the attempt, as the commons knows them.
        assert {x.made_by for x in attempts} == {"Camille Coordinatrice"}
    assert a.rows("follow_up_attempt") == b.rows("follow_up_attempt")


def test_a_call_that_reaches_closes_everywhere_and_a_late_attempt_does_not_reopen(device, team):
    a, b, end = _two_devices_with_a_completer(device, team)
    logged = a.store.follow_ups.log_attempt(
        end,
        {"attempted_on": "2026-07-08", "outcome": "reached"},
        [{"kind": "cdi", "start_date": "2026-07-01", "job_title": "Développeuse web"}],
    )
    assert logged.closed and logged.attempt.situation == "placements"
    # b, offline, still sees it open and tries once more.
    b.store.follow_ups.log_attempt(end, {"attempted_on": "2026-07-09", "outcome": "no_answer"})
    assert a.sync().ok
    report = b.sync()
    assert report.ok and report.conflicts == 0, report.errors
    assert a.sync().ok
    for one in (a, b):
        follow_up = one.store.follow_ups.get(end)
        assert (follow_up.done_date, follow_up.outcome) == (date(2026, 7, 8), "reached")
        assert len(one.store.follow_ups.attempts.for_follow_up(end)) == 2
        [placement] = one.store.placements.for_learner(follow_up.learner_id)
        assert (placement.source_followup_id, placement.start_date) == (end, date(2026, 7, 1))


def test_the_commons_refuses_to_edit_an_attempt_and_the_rest_goes_through(device, team):
    a, _b, end = _two_devices_with_a_completer(device, team)
    attempt = a.store.follow_ups.log_attempt(
        end, {"attempted_on": "2026-07-06", "outcome": "no_answer"}
    ).attempt
    assert a.sync().ok
    synced = a.store.follow_ups.attempts.get(attempt.id)
    with a.store.write() as session:  # what an older or faulty client might send
        a.store.outbox.append(
            session,
            entity="follow_up_attempt",
            row_id=attempt.id,
            op="update",
            fields={"outcome": "reached"},
            base_version=synced.version,
            base_values={"outcome": "no_answer"},
        )
    a.store.follow_ups.log_attempt(end, {"attempted_on": "2026-07-09", "outcome": "no_answer"})
    report = a.sync()
    assert report.rejected == 1 and report.pushed == 1  # the new attempt went through
    [entry] = a.store.outbox.entries(state="rejected")
    assert json.loads(entry.reason)[0]["code"] == "op_not_allowed"
    assert a.store.follow_ups.attempts.get(attempt.id).outcome == "no_answer"
    assert len(a.store.follow_ups.attempts.for_follow_up(end)) == 2


def test_a_site_no_longer_granted_takes_its_call_attempts_with_it(device, team):
    """Eviction removes every row of the site, the call attempts too (they carry ``site_id``)."""
    a, b, end = _two_devices_with_a_completer(device, team)
    a.store.follow_ups.log_attempt(end, {"attempted_on": "2026-07-06", "outcome": "no_answer"})
    assert a.sync().ok and b.sync().ok
    assert len(b.rows("follow_up_attempt")) == 1
    team.revoke(team.site1)
    report = b.sync()
    assert team.site1 in report.evicted_sites
    assert b.rows("follow_up_attempt") == {} and b.rows("follow_up") == {}
