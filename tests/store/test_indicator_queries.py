"""The indicators of docs/domain.md counted in SQLite (store/indicators.py) on small datasets built
through the repositories. Expected figures are worked out by hand in each test (the plain-value
rates and counts of domain/indicators.py: tests/domain/test_indicators.py)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import date, timedelta
from typing import Any

import pytest

from fabriqueterm.domain.dates import add_months
from fabriqueterm.domain.ids import follow_up_id
from fabriqueterm.domain.indicators import (
    EXIT_MONTHS,
    IndicatorCounts,
    IndicatorReport,
    Indicators,
    Rate,
)
from fabriqueterm.domain.models import Cohort, Site, SyncedRow
from fabriqueterm.domain.validation import DomainValidationError
from fabriqueterm.i18n import set_language
from fabriqueterm.store import Store
from fabriqueterm.store.indicators import IndicatorRepository, last_end_date_past, months_after_sql

# A cohort ending on 3 July 2026: +0 = 3 Jul 2026, +3 = 3 Oct 2026, +6 = 3 Jan 2027, +12 = 3 Jul 2027.
END = date(2026, 7, 3)
AS_OF = date(2026, 11, 25)  # the suite's today: +0 and +3 are past, +6 and +12 are not


# --- helpers -----------------------------------------------------------------------------------


def make_site(store: Store, name: str = "Fabrique de Roubaix") -> str:
    return store.sites.create({"name": name, "city": "Roubaix"}).id


def make_cohort(store: Store, site_id: str, **changes: Any) -> str:
    data = {
        "site_id": site_id,
        "name": "Promo 2026-A",
        "programme": "Développeur·se web et web mobile",
        "start_date": date(2026, 1, 5),
        "end_date": END,
        "status": "finished",
        **changes,
    }
    return store.cohorts.create(data).id


_counter = iter(range(1_000_000))


def make_learner(store: Store, cohort_id: str, status: str = "enrolled", **changes: Any) -> str:
    data = {
        "cohort_id": cohort_id,
        "first_name": "Aïcha",
        "last_name": f"Benali {next(_counter)}",
        "gender": "M",
        "qualification": "5",
        "status": status,
        **changes,
    }
    if status == "dropped_out":
        data.setdefault("dropout_date", date(2026, 3, 1))
    return store.learners.create(data).id


def place(store: Store, learner_id: str, kind: str, start: date) -> str:
    return store.placements.create({"learner_id": learner_id, "kind": kind, "start_date": start}).id


def tombstone(store: Store, model: type[SyncedRow], row_id: str) -> None:
    """A deletion as sync may bring it (made on another device while this one still had children
    under the row): the row stays, with ``deleted_at`` set."""
    with store.write() as session:
        row = session.get(model, row_id)
        assert row is not None
        row.deleted_at = store.clock.now()
        session.add(row)


def report(store: Store, as_of: date = AS_OF, **filters: Any) -> IndicatorReport:
    return store.indicators.report(as_of, **filters)


def total(store: Store, as_of: date = AS_OF, **filters: Any) -> Indicators:
    return report(store, as_of, **filters).total


_IS_SMALL = IndicatorRepository._is_small


@pytest.fixture(autouse=True, params=["parallel", "one-connection"])
def read_mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test runs twice: read at once on several connections (large scopes) and one
    statement after the other on one connection (small scopes), which must give the same figures."""
    small = request.param == "one-connection"
    monkeypatch.setattr(IndicatorRepository, "_is_small", staticmethod(lambda *_args: small))
    return request.param


@pytest.fixture
def site(store: Store) -> str:
    return make_site(store)


@pytest.fixture
def cohort(store: Store, site: str) -> str:
    return make_cohort(store, site)


def test_months_after_sql_matches_add_months() -> None:
    """The SQL "+N months" is add_months, month-end clamp included, for every day of 2024-2026."""
    connection = sqlite3.connect(":memory:")
    try:
        days = [date(2024, 1, 1) + timedelta(days=i) for i in range(3 * 365 + 1)]
        for n in EXIT_MONTHS:
            expression = months_after_sql(":day", n)
            got = [
                connection.execute(f"SELECT {expression}", {"day": d.isoformat()}).fetchone()[0]
                for d in days
            ]
            assert got == [add_months(d, n).isoformat() for d in days], n
    finally:
        connection.close()


def test_last_end_date_past_is_the_last_day_whose_milestone_is_past() -> None:
    """For every report date of 2024-2026: a cohort ended that day has its +N milestone past, one
    ended the next day has not (month ends included: 28 Feb 2027 is +6 of 28 to 31 Aug 2026)."""
    for as_of in (date(2024, 1, 1) + timedelta(days=i) for i in range(3 * 365 + 1)):
        for n in EXIT_MONTHS:
            last = last_end_date_past(as_of, n)
            assert add_months(last, n) <= as_of < add_months(last + timedelta(days=1), n), (
                as_of,
                n,
            )
    assert last_end_date_past(date(2027, 2, 28), 6) == date(2026, 8, 31)


# --- who: enrolled and shares ----------------------------------------------------------------


def test_enrolled_excludes_candidates(store: Store, cohort: str) -> None:
    make_learner(store, cohort, "candidate")
    make_learner(store, cohort, "enrolled")
    make_learner(store, cohort, "dropped_out")
    make_learner(store, cohort, "graduated")
    make_learner(store, cohort, "certified")
    t = total(store)
    assert t.enrolled == 4  # enrolled + dropped out + graduated + certified
    assert t.completers == 2  # graduated + certified


def test_shares_of_enrolled(store: Store, cohort: str) -> None:
    make_learner(store, cohort, gender="F", qpv=True, qualification="none", job_seeker=True)
    make_learner(store, cohort, gender="F", qualification="3", refugee=True)
    make_learner(store, cohort, gender="X", qpv=True, qualification="4", job_seeker=True)
    make_learner(store, cohort, gender="M", qualification="5")
    # a candidate with every trait is not in any share
    make_learner(
        store,
        cohort,
        "candidate",
        gender="F",
        qpv=True,
        qualification="none",
        job_seeker=True,
        refugee=True,
    )
    t = total(store)
    assert t.enrolled == 4
    assert t.women_pct == Rate(2, 4)
    assert t.qpv_pct == Rate(2, 4)
    assert t.level_4_or_below_pct == Rate(3, 4)  # none, 3, 4 (not 5)
    assert t.job_seekers_pct == Rate(2, 4)
    assert t.refugees_pct == Rate(1, 4)


def test_dropout_rate(store: Store, cohort: str) -> None:
    make_learner(store, cohort, "dropped_out")
    make_learner(store, cohort, "enrolled")
    make_learner(store, cohort, "graduated")
    make_learner(store, cohort, "candidate")
    assert total(store).dropout_rate == Rate(1, 3)


def test_in_training_and_cohorts_running(store: Store, site: str) -> None:
    running = make_cohort(store, site, name="Running", status="running", end_date=date(2027, 1, 29))
    finished = make_cohort(store, site, name="Finished")
    make_cohort(store, site, name="Running, empty", status="running", end_date=date(2027, 3, 1))
    make_cohort(
        store,
        site,
        name="Planned",
        status="planned",
        start_date=date(2027, 1, 4),
        end_date=date(2027, 6, 1),
    )
    make_learner(store, running, "enrolled")
    make_learner(store, running, "enrolled")
    make_learner(store, running, "dropped_out")
    make_learner(store, running, "candidate")
    make_learner(store, finished, "enrolled")  # enrolled, but not in a running cohort
    t = total(store)
    assert t.in_training == 2
    assert t.cohorts_running == 2
    assert t.enrolled == 4


def test_no_completers_gives_rates_not_available(store: Store, cohort: str) -> None:
    make_learner(store, cohort, "enrolled")
    make_learner(store, cohort, "dropped_out")
    t = total(store)
    assert t.completers == 0
    for n in EXIT_MONTHS:
        assert t.positive_exit_rate(n) == Rate(0, 0)
        assert t.employment_rate(n) == Rate(0, 0)
        assert t.never_reached_share(n) == Rate(0, 0)
    assert t.completers_never_reached_share == Rate(0, 0)
    set_language("en")
    try:
        assert str(t.positive_exit_rate(0)) == "n/a"
    finally:
        set_language("fr")


def test_empty_store(store: Store) -> None:
    r = report(store)
    assert r.as_of == AS_OF
    assert r.by_cohort == {} and r.by_site == {}
    assert r.total.enrolled == 0
    assert r.total.positive_exit_rate(6).value is None


# --- exits ------------------------------------------------------------------------------------


def test_positive_and_employment_rates(store: Store, cohort: str) -> None:
    cdi = make_learner(store, cohort, "graduated")
    training = make_learner(store, cohort, "certified")
    make_learner(store, cohort, "graduated")  # no news: stays in the denominator
    make_learner(store, cohort, "graduated")
    place(store, cdi, "cdi", END)  # on the end date itself: counts at +0
    place(store, training, "further_training", END - timedelta(days=10))  # during the training
    t = total(store)
    assert t.exit_denominator(0) == 4
    assert t.positive_exit_rate(0) == Rate(2, 4)  # cdi + further training
    assert t.employment_rate(0) == Rate(1, 4)  # further training is not employment
    assert t.positive_exit_rate(3) == Rate(2, 4)


def test_every_employment_kind_counts_as_employment(store: Store, cohort: str) -> None:
    kinds = ["cdi", "cdd_6m_plus", "cdd_short", "interim", "apprenticeship", "business_creation"]
    for kind in kinds:
        place(store, make_learner(store, cohort, "graduated"), kind, END)
    make_learner(store, cohort, "graduated")
    t = total(store)
    assert t.employment_rate(0) == Rate(6, 7)
    assert t.positive_exit_rate(0) == Rate(6, 7)


def test_cohort_not_yet_six_months_old_is_out_of_the_six_month_denominator(
    store: Store, site: str
) -> None:
    old = make_cohort(store, site, name="Old", end_date=date(2026, 3, 6))  # +6 = 6 Sep 2026 <= D
    young = make_cohort(store, site, name="Young")  # ends 3 Jul 2026: +6 = 3 Jan 2027 > D
    place(store, make_learner(store, old, "graduated"), "cdi", date(2026, 4, 1))
    make_learner(store, old, "graduated")
    place(store, make_learner(store, young, "graduated"), "cdi", date(2026, 8, 1))
    t = total(store)
    assert t.exit_denominator(0) == 3 and t.positive_exit_rate(0) == Rate(0, 3)
    assert t.positive_exit_rate(3) == Rate(2, 3)  # both cohorts are 3 months past their end
    assert t.exit_denominator(6) == 2  # only the old cohort's completers
    assert t.positive_exit_rate(6) == Rate(1, 2)
    assert t.exit_denominator(12) == 0 and t.positive_exit_rate(12).value is None


def test_learner_with_several_placements_is_counted_once(store: Store, cohort: str) -> None:
    busy = make_learner(store, cohort, "graduated")
    make_learner(store, cohort, "graduated")
    place(store, busy, "interim", date(2026, 7, 10))
    place(store, busy, "cdd_short", date(2026, 8, 1))
    place(store, busy, "cdi", date(2026, 9, 1))
    t = total(store)
    assert t.positive_exit_rate(3) == Rate(1, 2)
    assert t.employment_rate(3) == Rate(1, 2)


def test_employment_counts_from_the_first_job_even_after_an_earlier_training(
    store: Store, site: str
) -> None:
    """The first positive placement (a training) and the first job are different rows: each rate
    counts from its own first placement, and the learner once."""
    cohort = make_cohort(
        store, site, start_date=date(2025, 1, 6), end_date=date(2025, 6, 30)
    )  # +3 = 30 Sep 2025
    learner = make_learner(store, cohort, "graduated")
    place(store, learner, "further_training", date(2025, 7, 1))
    place(store, learner, "interim", date(2025, 10, 15))  # after +3, before +6
    place(store, learner, "cdi", date(2025, 11, 1))
    make_learner(store, cohort, "certified")
    t = total(store)
    assert [t.positive_exit_rate(n) for n in EXIT_MONTHS] == [
        Rate(0, 2),
        Rate(1, 2),
        Rate(1, 2),
        Rate(1, 2),
    ]
    assert [t.employment_rate(n) for n in EXIT_MONTHS] == [
        Rate(0, 2),
        Rate(0, 2),
        Rate(1, 2),
        Rate(1, 2),
    ]


def test_placements_of_the_same_day_count_once(store: Store, cohort: str) -> None:
    learner = make_learner(store, cohort, "graduated")
    place(store, learner, "cdi", date(2026, 7, 6))
    place(store, learner, "cdi", date(2026, 7, 6))  # entered twice
    assert total(store).employment_rate(3) == Rate(1, 1)


def test_placement_of_kind_other_is_not_positive(store: Store, cohort: str) -> None:
    other = make_learner(store, cohort, "graduated")
    place(store, other, "other", date(2026, 7, 10))
    t = total(store)
    assert t.positive_exit_rate(3) == Rate(0, 1)
    assert t.employment_rate(3) == Rate(0, 1)


def test_dropped_out_learner_with_placement_is_not_in_the_denominator(
    store: Store, cohort: str
) -> None:
    dropped = make_learner(store, cohort, "dropped_out")
    place(store, dropped, "cdi", date(2026, 3, 15))  # left the training for a job
    make_learner(store, cohort, "graduated")
    t = total(store)
    assert t.exit_denominator(3) == 1
    assert t.positive_exit_rate(3) == Rate(0, 1)


def test_placement_after_the_cutoff_counts_only_at_later_milestones(
    store: Store, site: str
) -> None:
    cohort = make_cohort(
        store, site, start_date=date(2025, 1, 6), end_date=date(2025, 6, 30)
    )  # +3 = 30 Sep 2025, +6 = 30 Dec 2025
    late = make_learner(store, cohort, "graduated")
    place(store, late, "cdi", date(2025, 10, 1))  # one day after the +3 cutoff
    t = total(store)
    assert t.exit_denominator(12) == 1  # +12 = 30 Jun 2026 <= D
    assert t.positive_exit_rate(0) == Rate(0, 1)
    assert t.positive_exit_rate(3) == Rate(0, 1)
    assert t.positive_exit_rate(6) == Rate(1, 1)
    assert t.positive_exit_rate(12) == Rate(1, 1)


def test_placement_starting_after_twelve_months_is_never_counted(store: Store, site: str) -> None:
    cohort = make_cohort(store, site, start_date=date(2025, 1, 6), end_date=date(2025, 6, 30))
    place(
        store, make_learner(store, cohort, "graduated"), "cdi", date(2026, 7, 1)
    )  # +12 = 30 Jun 2026
    assert total(store).positive_exit_rate(12) == Rate(0, 1)


def test_deleted_placement_is_ignored(store: Store, cohort: str) -> None:
    learner = make_learner(store, cohort, "graduated")
    store.placements.delete(place(store, learner, "cdi", date(2026, 8, 1)))
    assert total(store).positive_exit_rate(3) == Rate(0, 1)
    place(store, learner, "interim", date(2026, 8, 1))
    assert total(store).positive_exit_rate(3) == Rate(1, 1)


def test_deleted_learner_is_ignored(store: Store, cohort: str) -> None:
    kept = make_learner(store, cohort, "graduated", gender="F")
    gone = make_learner(store, cohort, "graduated", gender="F")
    place(store, gone, "cdi", date(2026, 8, 1))
    store.follow_ups.update(
        follow_up_id(gone, "end"), {"done_date": date(2026, 7, 6), "outcome": "reached"}
    )
    store.learners.delete(gone)
    t = total(store)
    assert t.enrolled == 1 and t.completers == 1
    assert t.women_pct == Rate(1, 1)
    assert t.positive_exit_rate(3) == Rate(0, 1)
    # the deleted learner's follow-ups are gone too: kept's end and +3 are due, none done
    assert t.followups_due == 2
    assert t.reach_rate == Rate(0, 0)
    assert [learner.id for learner in store.learners.in_cohort(cohort)] == [kept]


def test_deleted_cohort_is_ignored(store: Store, site: str) -> None:
    gone = make_cohort(store, site, name="Gone")
    make_learner(store, gone, "graduated")
    tombstone(store, Cohort, gone)
    r = report(store)
    assert gone not in r.by_cohort
    assert r.total.enrolled == 0 and r.total.followups_due == 0


def test_cohorts_of_a_deleted_site_are_ignored(store: Store) -> None:
    kept, gone = make_site(store, "Fabrique de Lyon"), make_site(store, "Fabrique de Lille")
    make_learner(store, make_cohort(store, kept), "graduated")
    gone_cohort = make_cohort(store, gone)
    make_learner(store, gone_cohort, "graduated")
    tombstone(store, Site, gone)
    r = report(store)
    assert list(r.by_site) == [kept]
    assert gone_cohort not in r.by_cohort
    assert r.total.enrolled == 1


def test_month_end_clamp(store: Store, site: str) -> None:
    """A cohort ending on 31 August: +6 months is 28 February, not 3 March."""
    cohort = make_cohort(store, site, start_date=date(2026, 3, 2), end_date=date(2026, 8, 31))
    on_cutoff = make_learner(store, cohort, "graduated")
    after_cutoff = make_learner(store, cohort, "graduated")
    place(store, on_cutoff, "cdi", date(2027, 2, 28))
    place(store, after_cutoff, "cdi", date(2027, 3, 1))
    before = total(store, date(2027, 2, 27))
    assert before.exit_denominator(6) == 0  # +6 not reached yet on 27 Feb
    at_cutoff = total(store, date(2027, 2, 28))
    assert at_cutoff.exit_denominator(6) == 2
    assert at_cutoff.positive_exit_rate(6) == Rate(1, 2)  # 1 Mar is after 28 Feb
    later = total(store, date(2027, 8, 30))
    assert later.positive_exit_rate(6) == Rate(1, 2)
    assert later.positive_exit_rate(12) == Rate(0, 0)  # +12 = 31 Aug 2027: not yet
    assert total(store, date(2027, 8, 31)).positive_exit_rate(12) == Rate(2, 2)


def test_never_reached_share(store: Store, site: str) -> None:
    cohort = make_cohort(store, site, end_date=date(2026, 3, 6))  # +6 = 6 Sep 2026 <= D
    reached = make_learner(store, cohort, "graduated")
    no_answer = make_learner(store, cohort, "graduated")
    make_learner(store, cohort, "certified")  # never called
    # a dropped-out learner reached by phone is no completer: changes nothing
    dropped = make_learner(store, cohort, "dropped_out")
    store.follow_ups.create(
        {
            "learner_id": dropped,
            "milestone": "end",
            "due_date": date(2026, 3, 6),
            "done_date": date(2026, 3, 6),
            "outcome": "reached",
        }
    )
    store.follow_ups.update(
        follow_up_id(reached, "m3"), {"done_date": date(2026, 6, 8), "outcome": "reached"}
    )
    store.follow_ups.log_attempt(  # an unanswered call reaches nobody: the follow-up stays open
        follow_up_id(no_answer, "end"), {"attempted_on": date(2026, 3, 9), "outcome": "no_answer"}
    )
    t = total(store)
    assert t.never_reached_share(6) == Rate(2, 3)
    assert t.never_reached_share(12) == Rate(0, 0)  # +12 = 6 Mar 2027: nobody in that denominator
    assert t.completers_never_reached_share == Rate(2, 3)
    # as of a day before the call, nobody had been reached yet
    assert total(store, date(2026, 6, 7)).completers_never_reached_share == Rate(3, 3)


def test_completer_reached_twice_is_reached_once(store: Store, site: str) -> None:
    cohort = make_cohort(store, site, end_date=date(2026, 3, 6))
    twice = make_learner(store, cohort, "graduated")
    make_learner(store, cohort, "graduated")  # never called
    for milestone, day in (("end", date(2026, 3, 9)), ("m3", date(2026, 6, 8))):
        store.follow_ups.update(
            follow_up_id(twice, milestone), {"done_date": day, "outcome": "reached"}
        )
    t = total(store)
    assert t.completers_never_reached_share == Rate(1, 2)
    assert t.never_reached_share(6) == Rate(1, 2)
    assert t.reach_rate == Rate(2, 2)  # both calls count as follow-ups done


# --- follow-ups -------------------------------------------------------------------------------


def test_follow_up_counts(store: Store, site: str) -> None:
    """D = Wed 25 Nov 2026: its ISO week starts Mon 23 Nov; overdue means due before 18 Nov."""
    cohort = make_cohort(store, site, start_date=date(2026, 3, 2), end_date=date(2026, 8, 20))
    a = make_learner(store, cohort, "graduated")  # generated: end 20 Aug, +3 20 Nov, +6 20 Feb 2027
    b = make_learner(store, cohort, "certified")
    fu = store.follow_ups
    fu.update(
        follow_up_id(a, "end"),
        {"done_date": date(2026, 8, 21), "outcome": "reached", "channel": "phone"},
    )
    fu.update(
        follow_up_id(a, "m3"),
        {"done_date": date(2026, 11, 23), "outcome": "reached", "channel": "phone"},
    )
    fu.update(
        follow_up_id(b, "m3"),
        {"done_date": date(2026, 11, 25), "outcome": "declined", "channel": "sms"},
    )
    # done after D: still to do as of D, and not done this week
    fu.update(follow_up_id(b, "end"), {"done_date": date(2026, 11, 26), "outcome": "reached"})
    # a hand-made follow-up due on D itself, and one due within the last 7 days
    fu.create({"learner_id": a, "milestone": "m12", "due_date": date(2026, 11, 25)})
    fu.create({"learner_id": b, "milestone": "m12", "due_date": date(2026, 11, 18)})
    fu.delete(fu.create({"learner_id": b, "milestone": "m12", "due_date": date(2026, 1, 1)}).id)
    t = total(store)
    # not done as of D and due by D: b/end (20 Aug), a/m12 (25 Nov), b/m12 (18 Nov); +6 are due in Feb
    assert t.followups_due == 3
    # due before 18 Nov and not done: only b/end (b/m12 is due on 18 Nov, not before)
    assert t.followups_overdue == 1
    # done from Mon 23 to Wed 25 Nov: a/m3 (23), b/m3 (25)
    assert t.followups_done_this_week == 2
    # done by D: a/end, a/m3, b/m3; reached: a/end, a/m3
    assert t.followups_done == 3
    assert t.reach_rate == Rate(2, 3)
    # the week before: a/end was done, nothing else; everything due by 18 Nov was to do
    week_before = total(store, date(2026, 11, 18))
    assert week_before.followups_done_this_week == 0
    assert week_before.reach_rate == Rate(1, 1)
    assert week_before.followups_due == 2  # b/end and b/m12 (due 18 Nov); the +3 are due 20 Nov


def test_reach_rate_unreachable_and_attempts_per_reached(store: Store, site: str) -> None:
    """Issue 12, finding 1: a follow-up is worked in attempts. D = Wed 25 Nov 2026. Reach rate =
    closed as reached / closed; unreachable = closed as unreachable; attempts per reached
    follow-up = the median of the attempts made (by D) on the follow-ups closed as reached."""
    cohort = make_cohort(store, site, start_date=date(2026, 3, 2), end_date=date(2026, 8, 20))
    a, b, c = (make_learner(store, cohort, "graduated") for _ in range(3))
    fu = store.follow_ups

    def call(learner: str, milestone: str, day: date, outcome: str) -> None:
        situation = "still_looking" if outcome == "reached" else ""
        fu.log_attempt(
            follow_up_id(learner, milestone),
            {"attempted_on": day, "outcome": outcome, "situation": situation},
        )

    call(a, "end", date(2026, 8, 21), "reached")  # reached in 1
    for day, outcome in ((date(2026, 8, 21), "no_answer"), (date(2026, 8, 25), "message_left")):
        call(b, "end", day, outcome)
    call(b, "end", date(2026, 8, 28), "reached")  # reached in 3
    for day in (date(2026, 11, 20), date(2026, 11, 23)):
        call(a, "m3", day, "no_answer")
    call(a, "m3", date(2026, 11, 24), "reached")  # reached in 3
    # c: three unanswered calls over 15 days, then closed as unreachable
    for day in (date(2026, 8, 21), date(2026, 8, 28), date(2026, 9, 5)):
        call(c, "end", day, "no_answer")
    fu.close_unreachable(follow_up_id(c, "end"), date(2026, 9, 7))
    # an attempt after D does not count: b/m3 reached on 26 Nov
    call(b, "m3", date(2026, 11, 26), "reached")
    t = total(store)
    assert t.followups_done == 4  # a/end, b/end, a/m3 reached; c/end unreachable
    assert t.reach_rate == Rate(3, 4)
    assert t.followups_unreachable == 1
    assert (t.attempts_per_reached.value, t.attempts_per_reached.at_least) == (3.0, False)
    # as of 1 Sep: a/end (1 attempt) and b/end (3) reached, c/end still open
    before = total(store, date(2026, 9, 1))
    assert before.reach_rate == Rate(2, 2) and before.followups_unreachable == 0
    assert before.attempts_per_reached.value == 2.0  # the median of 1 and 3
    assert total(store, date(2026, 8, 20)).attempts_per_reached.value is None


def test_a_follow_up_may_close_as_unreachable_only_after_the_rule(store: Store, site: str) -> None:
    cohort = make_cohort(store, site, end_date=date(2026, 8, 20))
    learner = make_learner(store, cohort, "graduated")
    row_id = follow_up_id(learner, "end")
    for day in (date(2026, 8, 21), date(2026, 8, 28), date(2026, 9, 3)):  # 13 days apart
        store.follow_ups.log_attempt(row_id, {"attempted_on": day, "outcome": "no_answer"})
    with pytest.raises(DomainValidationError) as refused:
        store.follow_ups.close_unreachable(row_id, date(2026, 9, 4))
    assert refused.value.errors[0].code == "unreachable_too_soon"
    assert store.follow_ups.get(row_id).done_date is None
    store.follow_ups.log_attempt(row_id, {"attempted_on": date(2026, 9, 4), "outcome": "no_answer"})
    assert store.follow_ups.close_unreachable(row_id, date(2026, 9, 4)).outcome == "unreachable"


def test_follow_ups_of_learners_who_did_not_complete_count(store: Store, cohort: str) -> None:
    """Follow-ups are counted whatever the learner's status; only the completers' reach is a share."""
    dropped = make_learner(store, cohort, "dropped_out")
    candidate = make_learner(store, cohort, "candidate")
    fu = store.follow_ups
    done = {"done_date": date(2026, 11, 24), "outcome": "reached"}
    fu.create({"learner_id": dropped, "milestone": "end", "due_date": date(2026, 7, 3), **done})
    fu.create({"learner_id": candidate, "milestone": "end", "due_date": date(2026, 11, 2)})
    t = total(store)
    assert t.followups_done == 1 and t.followups_done_this_week == 1 and t.reach_rate == Rate(1, 1)
    assert t.followups_due == 1 and t.followups_overdue == 1  # the candidate's, due 2 Nov
    assert t.completers == 0 and t.completers_never_reached_share == Rate(0, 0)


# --- scopes -----------------------------------------------------------------------------------


def _two_sites(store: Store) -> dict[str, str]:
    lyon = make_site(store, "Fabrique de Lyon")
    lille = make_site(store, "Fabrique de Lille")
    empty = make_site(store, "Fabrique de Nantes")
    lyon_a = make_cohort(store, lyon, name="Lyon A")
    lyon_b = make_cohort(store, lyon, name="Lyon B", status="running", end_date=date(2027, 2, 26))
    lille_a = make_cohort(store, lille, name="Lille A")
    place(store, make_learner(store, lyon_a, "graduated", gender="F"), "cdi", date(2026, 8, 1))
    make_learner(store, lyon_a, "graduated")
    make_learner(store, lyon_b, "enrolled", gender="F")
    make_learner(store, lyon_b, "dropped_out")
    place(
        store,
        make_learner(store, lille_a, "certified", gender="F"),
        "further_training",
        date(2026, 9, 1),
    )
    place(store, make_learner(store, lille_a, "graduated"), "interim", date(2026, 7, 20))
    make_learner(store, lille_a, "graduated", gender="F")
    return {
        "lyon": lyon,
        "lille": lille,
        "empty": empty,
        "lyon_a": lyon_a,
        "lyon_b": lyon_b,
        "lille_a": lille_a,
    }


def test_site_and_total_are_sums_of_cohorts(store: Store) -> None:
    ids = _two_sites(store)
    r = report(store)
    assert set(r.by_cohort) == {ids["lyon_a"], ids["lyon_b"], ids["lille_a"]}
    assert list(r.by_site) == [ids["lille"], ids["lyon"], ids["empty"]]  # by site name
    lyon, lille = r.by_site[ids["lyon"]], r.by_site[ids["lille"]]
    assert lyon.enrolled == 2 + 2 and lille.enrolled == 3 and r.total.enrolled == 4 + 3
    assert lyon.women_pct == Rate(2, 4)
    assert lille.women_pct == Rate(2, 3)
    assert r.total.women_pct == Rate(2 + 2, 4 + 3)
    assert lyon.dropout_rate == Rate(1, 4) and r.total.dropout_rate == Rate(1, 7)
    assert lyon.positive_exit_rate(3) == Rate(1, 2)
    assert lille.positive_exit_rate(3) == Rate(2, 3)
    assert lille.employment_rate(3) == Rate(1, 3)
    assert r.total.positive_exit_rate(3) == Rate(1 + 2, 2 + 3)
    assert r.total.employment_rate(3) == Rate(1 + 1, 2 + 3)
    assert r.total.cohorts_running == 1 and r.total.in_training == 1
    # 5 completers, each with end and +3 generated, due by D (3 Jul and 3 Oct 2026)
    assert r.total.followups_due == 5 * 2
    assert r.by_site[ids["empty"]].enrolled == 0
    assert r.by_site[ids["empty"]].women_pct.value is None
    assert r.by_cohort[ids["lyon_b"]].completers == 0
    assert r.by_cohort[ids["lyon_a"]].counts + r.by_cohort[ids["lyon_b"]].counts == lyon.counts


def test_site_ids_filter(store: Store) -> None:
    ids = _two_sites(store)
    r = report(store, site_ids=[ids["lille"], ids["empty"]])
    assert set(r.by_cohort) == {ids["lille_a"]}
    assert list(r.by_site) == [ids["lille"], ids["empty"]]
    assert r.total.enrolled == 3
    assert r.total.positive_exit_rate(3) == Rate(2, 3)
    assert report(store, site_ids=[]).total.enrolled == 0


def test_cohort_id_filter(store: Store) -> None:
    ids = _two_sites(store)
    r = report(store, cohort_id=ids["lyon_a"])
    assert list(r.by_cohort) == [ids["lyon_a"]]
    assert list(r.by_site) == [ids["lyon"]]
    assert r.total.enrolled == 2
    assert r.total.positive_exit_rate(3) == Rate(1, 2)
    assert r.total.followups_due == 2 * 2
    # a cohort outside the sites asked for gives nothing
    assert report(store, cohort_id=ids["lyon_a"], site_ids=[ids["lille"]]).total.enrolled == 0


def test_one_cohort_site_and_total_agree(store: Store, cohort: str) -> None:
    """With a single cohort, its site and the total carry exactly its counts."""
    for status in ("graduated", "graduated", "enrolled"):
        make_learner(store, cohort, status)
    r = report(store)
    assert r.total.counts == r.by_cohort[cohort].counts == r.by_site[next(iter(r.by_site))].counts


def test_small_scopes_are_read_on_one_connection(store: Store) -> None:
    big, small = make_site(store, "Fabrique de Lyon"), make_site(store, "Fabrique de Lille")
    for i in range(4):
        make_cohort(store, big, name=f"Lyon {i}")
    make_cohort(store, small, name="Lille")
    repository = store.indicators
    assert _IS_SMALL(repository, None, "any cohort id") is True
    assert _IS_SMALL(repository, None, None) is False  # every site
    assert _IS_SMALL(repository, [small], None) is True  # 1 cohort of 5
    assert _IS_SMALL(repository, [big], None) is False  # 4 of 5
    assert _IS_SMALL(repository, [big, small], None) is False


# --- reading at once on several connections -----------------------------------------------------


def test_one_connection_or_several_give_the_same_report(store: Store) -> None:
    ids = _two_sites(store)
    reached = store.learners.in_cohort(ids["lyon_a"])[0].id
    store.follow_ups.update(
        follow_up_id(reached, "end"), {"done_date": date(2026, 7, 6), "outcome": "reached"}
    )
    together, alone = report(store), IndicatorRepository(store, parallel=False).report(AS_OF)

    def counts(by_id: Any) -> dict[str, IndicatorCounts]:
        return {key: indicators.counts for key, indicators in by_id.items()}

    assert list(together.by_cohort) == list(alone.by_cohort)
    assert counts(together.by_cohort) == counts(alone.by_cohort)
    assert counts(together.by_site) == counts(alone.by_site)
    assert together.total.counts == alone.total.counts
    assert together.total.completers_never_reached_share == Rate(4, 5)


def test_readers_keep_their_snapshot_while_another_connection_writes(
    store: Store, cohort: str
) -> None:
    make_learner(store, cohort, "graduated")
    with ExitStack() as stack:
        readers = store.indicators._readers(stack, 3)
        assert readers is not None
        make_learner(store, cohort, "graduated")  # committed once the readers took their snapshot
        assert [r.execute("SELECT COUNT(*) FROM learner").fetchone()[0] for r in readers] == [
            1,
            1,
            1,
        ]
    assert total(store).enrolled == 2


class _WriteWhileOpeningReaders(IndicatorRepository):
    """Commits a learner (through the store, on another connection) once the first reader is open:
    the moment a sync could land between two readers taking their snapshots."""

    def __init__(self, store: Store, cohort_id: str):
        super().__init__(store)
        self.cohort_id, self.opened = cohort_id, 0

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        with super()._connection() as connection:
            self.opened += 1
            if self.opened == 3:  # the witness, the first reader, then the second reader
                make_learner(self.store, self.cohort_id, "graduated")
            yield connection


def test_a_write_between_two_readers_makes_the_report_read_on_one_connection(
    store: Store, cohort: str, read_mode: str
) -> None:
    make_learner(store, cohort, "graduated")
    repository = _WriteWhileOpeningReaders(store, cohort)
    with ExitStack() as stack:
        assert repository._readers(stack, 3) is None  # two snapshots: not used together
    repository.opened = 0
    r = repository.report(AS_OF)
    # a large scope opened its readers, saw the write, then read everything on one connection
    # (the witness, a reader per statement group (four), then the one connection)
    assert repository.opened == (6 if read_mode == "parallel" else 1)
    assert r.total.enrolled == r.by_cohort[cohort].enrolled == (3 if read_mode == "parallel" else 2)
