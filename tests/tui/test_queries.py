"""The store's read methods the app's screens use: bounded pages with true totals, filters, and
the call log written in one transaction."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from tui_helpers import TODAY

from fabriqueterm.domain.dates import Clock
from fabriqueterm.store import Store
from fabriqueterm.store.repositories import CallLogValidationError


@pytest.fixture
def demo_store(demo_template: Path, tmp_path: Path) -> Iterator[Store]:
    path = tmp_path / "copy.sqlite3"
    shutil.copyfile(demo_template, path)
    with Store.open(path, clock=Clock(TODAY)) as store:
        yield store


def test_pages_are_bounded_and_count_everything(demo_store: Store) -> None:
    page = demo_store.learners.page(limit=50)
    assert len(page.rows) == 50 and page.total == 300 and page.has_more
    second = demo_store.learners.page(limit=50, offset=50)
    assert not {r.id for r in page.rows} & {r.id for r in second.rows}
    names = [(r.last_name.lower(), r.first_name.lower()) for r in page.rows + second.rows]
    assert names == sorted(names)


@pytest.mark.parametrize("needle", ["ma", "mar", "example.org"])  # a name prefix, then trigrams
def test_search_pages_follow_one_another_and_keep_the_total(demo_store: Store, needle: str) -> None:
    everything = demo_store.learners.page(needle, limit=500)
    assert 20 <= everything.total == len(everything.rows) < 300
    pages = [
        demo_store.learners.page(needle, limit=7, offset=offset)
        for offset in range(0, everything.total, 7)
    ]
    assert {page.total for page in pages} == {everything.total}
    assert [row.id for page in pages for row in page.rows] == [row.id for row in everything.rows]
    later = demo_store.learners.page(
        needle, limit=7, offset=7, total=12345
    )  # a known total: not counted again
    assert later.total == 12345 and [row.id for row in later.rows] == [
        row.id for row in pages[1].rows
    ]
    beyond = demo_store.learners.page(needle, limit=7, offset=everything.total)
    assert beyond.rows == [] and beyond.total == everything.total


def test_cohort_filters_by_site_status_and_text(demo_store: Store) -> None:
    everything = demo_store.cohorts.page(limit=500)
    assert everything.total == demo_store.cohorts.count()
    site_id = everything.rows[0].cohort.site_id
    of_site = demo_store.cohorts.page(site_id=site_id, limit=500)
    assert 0 < of_site.total < everything.total
    assert {line.cohort.site_id for line in of_site.rows} == {site_id}
    running = demo_store.cohorts.page(status="running", limit=500)
    assert running.total and {line.cohort.status for line in running.rows} == {"running"}
    word = everything.rows[0].cohort.programme.split()[0]
    assert all(
        word.lower() in (c.cohort.name + c.cohort.programme).lower()
        for c in demo_store.cohorts.page(word).rows
    )
    assert sum(line.learners for line in everything.rows) == demo_store.learners.count()


def test_sites_page_counts_and_like_wildcards_are_literal(demo_store: Store) -> None:
    page = demo_store.sites.page()
    assert page.total == len(demo_store.sites.all())
    assert sum(line.learners for line in page.rows) == 300
    assert demo_store.sites.page("%").total == 0
    assert demo_store.partners.page("_").total == 0


def test_count_due_agrees_with_the_indicators(demo_store: Store) -> None:
    report = demo_store.indicators.report(as_of=TODAY)
    assert demo_store.follow_ups.count_due(TODAY) == (
        report.total.followups_due,
        report.total.followups_overdue,
    )
    assert len(demo_store.follow_ups.due(TODAY)) == report.total.followups_due


def test_roster_gives_latest_placement_and_next_follow_up(demo_store: Store) -> None:
    line = next(c for c in demo_store.cohorts.page(limit=500).rows if c.learners)
    roster = demo_store.cohorts.roster(line.cohort.id)
    assert len(roster) == line.learners
    for entry in roster:
        placements = demo_store.placements.for_learner(entry.learner.id)
        assert entry.latest_placement == (placements[-1] if placements else None) or (
            entry.latest_placement.start_date == placements[-1].start_date
        )
        pending = [
            f for f in demo_store.follow_ups.for_learner(entry.learner.id) if f.done_date is None
        ]
        assert (entry.next_follow_up.id if entry.next_follow_up else None) == (
            pending[0].id if pending else None
        )


def test_log_call_saves_both_or_neither(demo_store: Store) -> None:
    first, second = demo_store.follow_ups.due(TODAY)[:2]
    call = {"done_date": TODAY, "channel": "phone", "outcome": "reached", "notes": "ok"}
    with pytest.raises(CallLogValidationError) as caught:
        demo_store.follow_ups.log_call(
            first.follow_up.id, {**call, "channel": "pigeon"}, {"kind": "cdi"}
        )
    assert {e.field for e in caught.value.call_errors} == {"channel"}
    assert {e.field for e in caught.value.placement_errors} == {"start_date"}
    assert demo_store.follow_ups.get(first.follow_up.id).done_date is None
    assert demo_store.outbox.count() == 0

    follow_up, placement = demo_store.follow_ups.log_call(
        second.follow_up.id, call, {"kind": "cdi", "start_date": TODAY, "job_title": "Support"}
    )
    assert follow_up.outcome == "reached" and placement is not None
    assert placement.source_followup_id == second.follow_up.id
    assert placement.site_id == second.learner.site_id
    assert [e.entity for e in demo_store.outbox.entries()] == ["follow_up", "placement"]


def test_partner_detail_reads(demo_store: Store) -> None:
    employer = next(
        p
        for p in demo_store.partners.page(kind="employer", limit=500).rows
        if demo_store.placements.for_partner(p.id).total
    )
    placed = demo_store.placements.for_partner(employer.id)
    assert all(line.placement.partner_id == employer.id for line in placed.rows)
    assert demo_store.partners.sites_of(employer.id)
    site = demo_store.partners.sites_of(employer.id)[0]
    demo_store.partners.unlink(employer.id, site.id)
    assert site.id not in {s.id for s in demo_store.partners.sites_of(employer.id)}
    demo_store.partners.link(employer.id, site.id)
    assert site.id in {s.id for s in demo_store.partners.sites_of(employer.id)}
