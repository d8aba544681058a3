"""The coordinator's workflows, driven with the keyboard through Textual's Pilot, checked on the
screen and in the database afterwards."""

from __future__ import annotations

from datetime import date

import pytest
from textual.widgets import DataTable, Input, Select, Static
from tui_helpers import SIZE, TODAY, palette_highlights, settle, until

from fabriqueterm.config import load_config
from fabriqueterm.i18n import current_language
from fabriqueterm.tui.screens.call import CallScreen
from fabriqueterm.tui.screens.cohorts import CohortDetailScreen, CohortsScreen
from fabriqueterm.tui.screens.forms import FormScreen
from fabriqueterm.tui.screens.learners import LearnerDetailScreen, LearnersScreen
from fabriqueterm.tui.screens.queue import FollowUpQueueScreen

pytestmark = pytest.mark.anyio


def table_keys(table: DataTable) -> list[str]:
    return [str(row.key.value) for row in table.ordered_rows]


def list_ids(screen) -> list[str]:  # type: ignore[no-untyped-def]
    """The ids of the rows a list screen's table holds (its pages loaded: settle first)."""
    table = screen.table
    return [
        screen.row_id(row) for row in map(table.row_at, range(table.row_count)) if row is not None
    ]


def text_of(screen, selector: str) -> str:  # type: ignore[no-untyped-def]
    return str(screen.query_one(selector, Static).content)


async def choose(pilot, downs: int) -> None:  # type: ignore[no-untyped-def]
    """On a focused Select: open it, move ``downs`` options down, pick."""
    await pilot.press("enter", *(["down"] * downs), "enter")


async def test_work_through_two_follow_ups_logging_one_placement(make_app) -> None:
    """The core loop, keys only: a call reached with a CDI (its start date typed, no default),
    then a call not answered, which comes back in two working days."""
    app = make_app()
    store = app.store
    first, second, third = store.follow_ups.due(TODAY)[:3]
    placements_before = len(store.placements.for_learner(first.learner.id))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await settle(pilot)
        queue = app.screen
        assert isinstance(queue, FollowUpQueueScreen)
        assert table_keys(queue.table)[:2] == [first.follow_up.id, second.follow_up.id]
        assert queue.current_id() == first.follow_up.id
        assert first.learner.last_name in str(queue.query_one("#queue-card", Static).content)

        # First call: reached, they found a permanent contract started on 02/11.
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, CallScreen)
        await pilot.press("1")  # outcome: reached; the situation is asked next
        await pilot.press("1")  # they found something: the placement opens on its kind
        await settle(pilot)
        await choose(pilot, 1)  # kind: CDI
        await pilot.press("tab", *"2026-11-02")
        await pilot.press("tab", "tab", *"Support")
        await pilot.press("ctrl+s")
        await settle(pilot)

        assert app.screen is queue
        assert first.follow_up.id not in table_keys(queue.table)
        assert queue.current_id() == second.follow_up.id  # the next learner is selected

        # Second call: no answer, nothing else: back on Friday.
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("2")  # outcome: no answer
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is queue
        assert second.follow_up.id not in table_keys(queue.table)
        assert queue.current_id() == third.follow_up.id

    done = store.follow_ups.get(first.follow_up.id)
    assert (done.done_date, done.outcome, done.channel) == (TODAY, "reached", "phone")
    placements = store.placements.for_learner(first.learner.id)
    assert len(placements) == placements_before + 1
    logged = next(p for p in placements if p.source_followup_id == first.follow_up.id)
    assert (logged.kind, logged.job_title, logged.start_date) == (
        "cdi",
        "Support",
        date(2026, 11, 2),
    )
    other = store.follow_ups.get(second.follow_up.id)
    assert (other.done_date, other.outcome) == (None, None)
    [*_, attempt] = store.follow_ups.attempts.for_follow_up(second.follow_up.id)
    assert (attempt.outcome, attempt.callback_date) == ("no_answer", date(2026, 11, 27))
    assert not any(
        p.source_followup_id == second.follow_up.id
        for p in store.placements.for_learner(second.learner.id)
    )
    ops = [(e.entity, e.op) for e in store.outbox.entries()]
    assert ops == [
        ("follow_up_attempt", "create"),
        ("placement", "create"),
        ("follow_up", "update"),
        ("follow_up_attempt", "create"),
    ]


async def test_a_bad_placement_saves_neither_the_call_nor_the_placement(make_app) -> None:
    app = make_app()
    store = app.store
    first = store.follow_ups.due(TODAY)[0]
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("1", "1")  # reached, found something
        await settle(pilot)
        await choose(pilot, 1)
        app.screen.query_one("#field-start_date", Input).value = "31/02/2026"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, CallScreen)
        error = text_of(app.screen, "#error-start_date")
        assert "31/02/2026" in error
        await pilot.press("escape", "escape")  # leave the field, then cancel
        await settle(pilot)
        assert isinstance(app.screen, FollowUpQueueScreen)
    assert store.follow_ups.get(first.follow_up.id).done_date is None
    assert store.outbox.count() == 0


async def test_create_a_cohort_and_enrol_a_learner(make_app) -> None:
    app = make_app()
    store = app.store
    cohorts_before = store.cohorts.count()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        await settle(pilot)
        assert isinstance(app.screen, CohortsScreen)
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, FormScreen)
        await choose(pilot, 1)  # the first site
        await pilot.press("tab", *"Test 2027")
        await pilot.press("tab", *"Data")
        await pilot.press("tab", *"04/01/2027")
        await pilot.press("tab", *"30/06/2027")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, CohortsScreen)
        assert store.cohorts.count() == cohorts_before + 1

        await pilot.press("slash", *"test 2027")
        await settle(pilot)
        assert "1 cohort" in text_of(app.screen, "#list-count")
        await pilot.press(
            "enter", "enter"
        )  # the filter gives the table the focus; enter opens the row
        await settle(pilot)
        detail = app.screen
        assert isinstance(detail, CohortDetailScreen)

        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, FormScreen)
        await pilot.press("tab", *"Awa")
        await pilot.press("tab", *"Traoré")
        await pilot.press("tab", *"a@b.fr")
        await pilot.press("tab", *"06 11 22 33 44")
        await pilot.press("tab", *"1999")
        await pilot.press("tab")
        await choose(pilot, 1)  # gender: woman
        await pilot.press("tab")
        await choose(pilot, 3)  # qualification: level 4
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is detail
        assert "TRAORÉ Awa" in [
            str(row[0])
            for row in (detail.query_one("#roster", DataTable).get_row_at(i) for i in range(1))
        ]

    cohort = next(line.cohort for line in store.cohorts.page("test 2027").rows)
    assert (cohort.start_date, cohort.end_date, cohort.status) == (
        date(2027, 1, 4),
        date(2027, 6, 30),
        "planned",
    )
    (learner,) = store.learners.in_cohort(cohort.id)
    assert (learner.first_name, learner.last_name, learner.phone) == (
        "Awa",
        "Traoré",
        "+33611223344",
    )
    assert (learner.gender, learner.qualification, learner.status, learner.site_id) == (
        "F",
        "4",
        "enrolled",
        cohort.site_id,
    )


async def test_an_invalid_email_shows_the_message_and_saves_nothing(make_app) -> None:
    app = make_app()
    store = app.store
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, LearnersScreen)
        learner = screen.current_row().learner
        await pilot.press("e")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, FormScreen)
        email = form.query_one("#field-email", Input)
        email.value = "awa.traore@@example"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is form  # still open
        message = form.query_one("#error-email", Static)
        assert "awa.traore@@example" in str(message.content)
        assert "email" in str(message.content)
        assert message.has_class("-shown") and message.display
        assert not form.query_one("#error-phone", Static).has_class("-shown")
        await pilot.press("escape", "escape")  # leave the field, then cancel
        await settle(pilot)
        assert app.screen is screen
    assert store.learners.get(learner.id).email == learner.email
    assert store.outbox.count() == 0


async def test_search_finds_a_learner_by_part_of_a_phone_number(make_app) -> None:
    app = make_app()
    store = app.store
    wanted = next(line for line in store.learners.page(limit=300).rows if line.phone)
    national = "0" + wanted.phone.removeprefix("+33")  # 0612345678
    typed = f"{national[2:4]} {national[4:6]} {national[6:8]}"  # "12 34 56", as people read it
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        await settle(pilot)
        await pilot.press("slash", *typed)
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, LearnersScreen)
        assert wanted.id in list_ids(screen)
        assert screen.table.row_count < 5
        await pilot.press("enter", "enter")
        await settle(pilot)
        assert isinstance(app.screen, LearnerDetailScreen)
        assert app.screen.learner_id == wanted.id


async def test_the_palette_finds_a_learner_by_phone_and_opens_them(make_app) -> None:
    app = make_app()
    wanted = next(line for line in app.store.learners.page(limit=300).rows if line.phone)
    digits = wanted.phone.removeprefix("+33")[1:7]
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p", *digits)
        name = f"{wanted.first_name} {wanted.last_name}"
        await until(pilot, palette_highlights(app, name), f"the palette to offer {name}")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, LearnerDetailScreen)
        assert app.screen.learner_id == wanted.id


async def test_switching_language_changes_the_screens(make_app, paths) -> None:
    app = make_app(language="en")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await settle(pilot)
        assert "2026-11-20" in [
            str(cell) for cell in app.screen.query_one("#queue-table", DataTable).get_column("due")
        ]
        await pilot.press("8")
        await settle(pilot)
        await pilot.press("enter")  # Français, the first choice
        await settle(pilot)
        assert current_language() == "fr"
        assert load_config(paths.config_file).language == "fr"
        assert "Aujourd" in str(app.screen.query_one("#status-where", Static).content)
        await pilot.press("2")
        await settle(pilot)
        queue = app.screen.query_one("#queue-table", DataTable)
        assert "20/11/2026" in [
            str(cell) for cell in queue.get_column("due")
        ]  # dates the French way
        assert "+6 mois" in [str(cell) for cell in queue.get_column("milestone")]
        await pilot.press("8")
        await settle(pilot)
        await pilot.press("down", "enter")  # back to English
        await settle(pilot)
        assert current_language() == "en"
        await pilot.press("2")
        await settle(pilot)
        queue = app.screen.query_one("#queue-table", DataTable)
        assert "+6 months" in [str(cell) for cell in queue.get_column("milestone")]
    assert load_config(paths.config_file).language == "en"


async def test_sync_status_is_truthful_and_fed_by_the_hook(make_app) -> None:
    from fabriqueterm.tui.messages import SyncPhase, SyncState

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        slot = app.screen.query_one("#sync-status", Static)
        assert str(slot.content) == "sync not configured"
        app.report_sync_status(SyncState(SyncPhase.OFFLINE, pending=3))
        await settle(pilot)
        assert str(slot.content) == "offline · 3 local changes to send"
        assert slot.has_class("-offline")


async def test_select_filters_cohorts_by_site_from_the_dashboard(make_app) -> None:
    app = make_app()
    store = app.store
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        dashboard = app.screen
        site_id = dashboard.current_site_id()
        await pilot.press("c")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, CohortsScreen)
        assert screen.query_one("#filter-site", Select).value == site_id
        expected = store.cohorts.page(site_id=site_id).total
        assert screen.table.row_count == len(list_ids(screen)) == expected
        assert expected < store.cohorts.count()


async def test_a_learners_file_shows_the_history_of_their_record(make_app) -> None:
    app = make_app(language="fr")
    store = app.store
    learner = next(line for line in store.learners.page(limit=300).rows if line.phone)
    async with app.run_test(size=SIZE) as pilot:
        app.open_learner(learner.id)
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, LearnerDetailScreen)
        history = screen.query_one("#learner-history", DataTable)
        # The demo's rows came in bulk, not as edits: nothing to tell yet, and the screen says so.
        assert [str(cell) for cell in history.get_row_at(0)][
            3
        ] == "Aucune modification enregistrée sur cet appareil"
        await pilot.press("e")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, FormScreen)
        form.query_one("#field-phone", Input).value = "06 11 22 33 44"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is screen
        row = [str(cell) for cell in history.get_row_at(0)]
        assert row[0].startswith("25/11/2026 ")  # the injected clock: noon UTC that day
        assert row[1:3] == ["cet appareil", "Apprenant·e modifié·e"]
        assert row[3].startswith("téléphone : ") and row[3].endswith("→ 06 11 22 33 44")
