"""The store's read methods the app's screens use: bounded pages with true totals, filters, and
the call log written in one transaction; and people found as they are typed in the palette and the
learners list (issue 12, finding 4)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from tui_helpers import SIZE, TODAY, palette_highlights, settle, until

from fabriqueterm.domain.dates import Clock
from fabriqueterm.store import Store
from fabriqueterm.store.repositories import CallLogValidationError
from fabriqueterm.tui.app import FabriqueApp
from fabriqueterm.tui.commands import highlight_words
from fabriqueterm.tui.screens.learners import LearnerDetailScreen, LearnersScreen


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


# Word starts of one and two letters, an email's words, the start of phone numbers.
@pytest.mark.parametrize("needle", ["m", "ma", "example.org", "06 1"])
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
    """The queue leaves out the follow-ups waiting for a call-back date after today, which the
    indicators count as due: once every call-back date has passed, the two agree."""
    due, overdue = demo_store.follow_ups.count_due(TODAY)
    assert len(demo_store.follow_ups.due(TODAY)) == due
    report = demo_store.indicators.report(as_of=TODAY)
    assert due <= report.total.followups_due and overdue <= report.total.followups_overdue
    later = date(2027, 1, 4)
    report = demo_store.indicators.report(as_of=later)
    assert demo_store.follow_ups.count_due(later) == (
        report.total.followups_due,
        report.total.followups_overdue,
    )


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


def test_log_attempt_saves_everything_or_nothing(demo_store: Store) -> None:
    first, second = demo_store.follow_ups.due(TODAY)[:2]
    call = {"attempted_on": TODAY, "channel": "phone", "outcome": "reached", "notes": "ok"}
    with pytest.raises(CallLogValidationError) as caught:
        demo_store.follow_ups.log_attempt(
            first.follow_up.id, {**call, "channel": "pigeon"}, [{"kind": "cdi"}]
        )
    assert {e.field for e in caught.value.call_errors} == {"channel"}
    assert {e.field for e in caught.value.placement_errors} == {"start_date"}
    assert demo_store.follow_ups.get(first.follow_up.id).done_date is None
    assert demo_store.outbox.count() == 0

    logged = demo_store.follow_ups.log_attempt(
        second.follow_up.id, call, [{"kind": "cdi", "start_date": TODAY, "job_title": "Support"}]
    )
    [placement] = logged.placements
    assert logged.closed and logged.follow_up.outcome == "reached"
    assert placement.source_followup_id == second.follow_up.id
    assert placement.site_id == second.learner.site_id
    assert [e.entity for e in demo_store.outbox.entries()] == [
        "follow_up_attempt",
        "placement",
        "follow_up",
    ]


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


# --- people found as they are typed, in the palette and the learners list ---------------------------


def add_people(app: FabriqueApp) -> dict[str, str]:
    """Zoé Martin (06 12 34 56 78) and Ahmed Saïdi (06 51 31 61 27) in a demo cohort: their ids."""
    cohort = app.store.cohorts.page(status="running").rows[0].cohort
    people = {}
    for first, last, phone in (
        ("Zoé", "Martin", "06 12 34 56 78"),
        ("Ahmed", "Saïdi", "06 51 31 61 27"),
    ):
        learner = app.store.learners.create(
            {
                "cohort_id": cohort.id,
                "first_name": first,
                "last_name": last,
                "phone": phone,
                "gender": "X",
                "qualification": "4",
                "status": "enrolled",
            }
        )
        people[f"{first} {last}"] = learner.id
    return people


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("typed", "name"),
    [
        ("Ahmed Saïdi", "Ahmed Saïdi"),
        ("Zoé Martin", "Zoé Martin"),
        ("saidi ahmed", "Ahmed Saïdi"),
        ("zoe mar", "Zoé Martin"),
    ],
)
async def test_the_palette_finds_a_learner_typed_as_displayed(
    make_app, typed: str, name: str
) -> None:
    app = make_app()
    people = add_people(app)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p", *typed)
        await settle(pilot)  # the search of the whole text typed is done, not one of a prefix
        await until(pilot, palette_highlights(app, name), f"the palette to offer {name}")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, LearnerDetailScreen)
        assert app.screen.learner_id == people[name]


def listed(screen: LearnersScreen) -> list[str]:
    table = screen.table
    return [
        screen.row_id(row) for row in map(table.row_at, range(table.row_count)) if row is not None
    ]


@pytest.mark.anyio
async def test_the_learners_filter_finds_names_and_numbers_as_typed(make_app) -> None:
    app = make_app()
    people = add_people(app)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, LearnersScreen)
        await pilot.press("slash", *"zoé mar")
        await settle(pilot)
        assert listed(screen) == [people["Zoé Martin"]]
        for _ in "zoé mar":
            await pilot.press("backspace")
        await pilot.press(*"SAIDI ahmed")
        await settle(pilot)
        assert listed(screen) == [people["Ahmed Saïdi"]]
        for _ in "SAIDI ahmed":
            await pilot.press("backspace")
        await pilot.press(*"0612 34")  # 06 12 34 56 78, not 06 51 31 61 27
        await settle(pilot)
        assert people["Zoé Martin"] in listed(screen)
        assert people["Ahmed Saïdi"] not in listed(screen)


def highlighted(text: str, query: str) -> tuple[str, float]:
    content, share = highlight_words(text, query, "reverse")
    return "".join(text[span.start : span.end] for span in content.spans), share


def test_palette_hits_highlight_the_words_typed_accents_and_case_ignored() -> None:
    assert highlighted("Zoé Martin", "zoe MAR") == ("ZoéMar", 6 / 9)
    assert highlighted("Ahmed Saïdi", "saidi") == ("Saïdi", 5 / 10)
    assert highlighted("Lætitia Øster", "laetitia oster") == ("LætitiaØster", 1.0)
    assert highlighted("Anna Tanner", "an") == ("An", 2 / 10)  # a word's start first
    assert highlighted("Développeur·se web", "peur") == ("peur", 4 / 16)  # else anywhere
    assert highlighted("Zoé Martin", "06 12") == ("", 0.0)  # found by the phone number
