"""Working follow-ups as coordinators do (issue 12, findings 1 and 2), driven with the keyboard:
unanswered calls come back on their call-back day, a reached learner's placement keeps the start
date they gave (and the form says which figures a late one misses), an employer is created from
the call form, a follow-up closes as unreachable only when the rule allows it, and a wrong number
corrected in the form corrects the learner."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from textual.widgets import Button, DataTable, Input, Select, Static
from tui_helpers import SIZE, TODAY, settle, until

from fabriqueterm.domain.dates import Clock
from fabriqueterm.tui.app import FabriqueApp
from fabriqueterm.tui.screens.call import CallScreen
from fabriqueterm.tui.screens.forms import FormScreen
from fabriqueterm.tui.screens.learners import LearnerDetailScreen
from fabriqueterm.tui.screens.queue import FollowUpQueueScreen
from fabriqueterm.tui.widgets.keyed_choice import KeyedChoice

pytestmark = pytest.mark.anyio

#: TODAY is Wednesday 25/11/2026: two working days later is Friday 27/11.
CALL_BACK_DAY = date(2026, 11, 27)


def queue_keys(app) -> list[str]:  # type: ignore[no-untyped-def]
    table = app.screen.query_one("#queue-table", DataTable)
    return [str(row.key.value) for row in table.ordered_rows]


def text_of(screen, selector: str) -> str:  # type: ignore[no-untyped-def]
    return str(screen.query_one(selector, Static).content)


async def open_call(pilot) -> CallScreen:  # type: ignore[no-untyped-def]
    """From the queue, Enter on the highlighted line: the call form."""
    await pilot.press("enter")
    await until(pilot, lambda: isinstance(pilot.app.screen, CallScreen), "the call form")
    await settle(pilot)
    return pilot.app.screen


def reopened(app: FabriqueApp, today: date) -> FabriqueApp:
    """The same store opened again on another day."""
    return FabriqueApp(app.store, app.config, Clock(today), paths=app.paths, demo=True)


def first_new_line(app: FabriqueApp, *, without_placements: bool = False):  # type: ignore[no-untyped-def]
    """The first line of the queue never tried (and, if asked, whose learner has no placement)."""
    for line in app.store.follow_ups.due(TODAY):
        if line.attempts.count:
            continue
        if without_placements and app.store.placements.for_learner(line.learner.id):
            continue
        return line
    raise AssertionError("no such line in the demo queue")


async def go_to(pilot, follow_up_id: str) -> None:  # type: ignore[no-untyped-def]
    await pilot.press("2")
    await settle(pilot)
    queue = pilot.app.screen
    assert isinstance(queue, FollowUpQueueScreen)
    queue.table.move_cursor(row=queue_keys(pilot.app).index(follow_up_id), animate=False)
    await settle(pilot)


async def test_no_answer_leaves_the_queue_until_the_call_back_day(make_app) -> None:
    app = make_app()
    store = app.store
    first = store.follow_ups.due(TODAY)[0]
    second = store.follow_ups.due(TODAY)[1]
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await settle(pilot)
        queue = app.screen
        assert queue_keys(app)[0] == first.follow_up.id
        call = await open_call(pilot)
        await pilot.press("2")  # no answer
        await settle(pilot)
        assert call.query_one("#part-callback").display
        assert call.query_one("#field-callback_date", Input).value == "2026-11-27"
        assert "Fri. 27/11" in text_of(call, "#callback-says")
        assert not call.query_one("#part-reached").display
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is queue
        assert first.follow_up.id not in queue_keys(app)
        assert queue.current_id() == second.follow_up.id  # the next learner is selected
    attempts = store.follow_ups.attempts.for_follow_up(first.follow_up.id)
    assert [(a.attempted_on, a.outcome, a.callback_date) for a in attempts][-1] == (
        TODAY,
        "no_answer",
        CALL_BACK_DAY,
    )
    assert store.follow_ups.get(first.follow_up.id).done_date is None

    # Thursday: still waiting. Friday: back, marked as a call-back with its attempts.
    for day, back in ((date(2026, 11, 26), False), (CALL_BACK_DAY, True)):
        later = reopened(app, day)
        async with later.run_test(size=SIZE) as pilot:
            await pilot.press("2")
            await settle(pilot)
            assert (first.follow_up.id in queue_keys(later)) is back
            if back:
                cells = later.screen.query_one("#queue-table", DataTable).get_row(
                    first.follow_up.id
                )
                assert f"{len(attempts)}× no answer" in [str(cell) for cell in cells]


async def test_the_call_back_rule_comes_from_config_toml(make_app) -> None:
    """A network that calls back after 3 working days sets callback_working_days = 3: the form
    proposes Monday 30/11 for a call on Wednesday 25/11."""
    built = make_app()
    app = FabriqueApp(
        built.store,
        replace(built.config, callback_working_days=3),
        Clock(TODAY),
        paths=built.paths,
        demo=True,
    )
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await settle(pilot)
        call = await open_call(pilot)
        await pilot.press("2")  # no answer
        await settle(pilot)
        assert call.query_one("#field-callback_date", Input).value == "2026-11-30"


async def test_reached_with_a_cdi_started_last_month_counts(make_app) -> None:
    app = make_app()
    store = app.store
    line = first_new_line(app, without_placements=True)
    positive_before = store.indicators.report(as_of=TODAY).total.counts.at("positive", 0)
    async with app.run_test(size=SIZE) as pilot:
        await go_to(pilot, line.follow_up.id)
        call = await open_call(pilot)
        await pilot.press("1")  # reached
        await settle(pilot)
        assert call.query_one("#part-reached").display
        assert not call.query_one("#placement_1").display
        call.query_one("#field-situation").focus()
        await pilot.press("1")  # found something
        await settle(pilot)
        assert call.query_one("#placement_1").display
        assert call.focused is call.query_one("#field-kind")
        assert call.query_one("#field-start_date", Input).value == ""  # no default date
        call.query_one("#field-kind", Select).value = "cdi"
        call.query_one("#field-start_date").focus()
        await pilot.press(*"2026-10-12")
        await settle(pilot)
        assert not call.query_one("#warning-start_date").display  # before the cohort's end
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, FollowUpQueueScreen)
        assert line.follow_up.id not in queue_keys(app)
    closed = store.follow_ups.get(line.follow_up.id)
    assert (closed.done_date, closed.outcome) == (TODAY, "reached")
    [placement] = store.placements.for_learner(line.learner.id)
    assert (placement.kind, placement.start_date) == ("cdi", date(2026, 10, 12))
    assert placement.source_followup_id == line.follow_up.id
    report = store.indicators.report(as_of=TODAY)
    assert report.total.counts.at("positive", 0) == positive_before + 1


async def test_a_late_start_date_says_which_exits_it_misses(make_app) -> None:
    app = make_app()
    # The Roubaix +6-month follow-up: its cohort ended on 27/03/2026, the cut-off is 27/09/2026.
    line = next(d for d in app.store.follow_ups.due(TODAY) if d.follow_up.milestone == "m6")
    assert line.cohort_end == date(2026, 3, 27)
    async with app.run_test(size=SIZE) as pilot:
        await go_to(pilot, line.follow_up.id)
        call = await open_call(pilot)
        await pilot.press("1")
        call.query_one("#field-situation").focus()
        await pilot.press("1")
        await settle(pilot)
        call.query_one("#field-start_date").focus()
        await pilot.press(*"2026-09-27")
        await settle(pilot)
        warning = call.query_one("#warning-start_date", Static)
        assert "+6 months" not in str(warning.content)
        await pilot.press("backspace", "8")  # 2026-09-28: one day too late for +6 months
        await settle(pilot)
        assert warning.display
        assert str(warning.content) == (
            "starts after 2026-09-27: does not count in the exits at "
            "end of training, +3 months, +6 months"
        )
        await pilot.press("escape")
        await settle(pilot)

        # The placement form of the learner's file says the same, and has no default date.
        app.open_learner(line.learner.id)
        await until(pilot, lambda: isinstance(app.screen, LearnerDetailScreen), "the file")
        await settle(pilot)
        await pilot.press("p")
        await until(pilot, lambda: isinstance(app.screen, FormScreen), "the placement form")
        form = app.screen
        start = form.query_one("#field-start_date", Input)
        assert start.value == ""
        start.focus()
        await pilot.press(*"15/10/2026")
        await settle(pilot)
        assert "+6 months" in str(form.query_one("#warning-start_date", Static).content)


async def test_an_employer_created_from_the_call_form(make_app) -> None:
    app = make_app()
    store = app.store
    line = first_new_line(app)
    async with app.run_test(size=SIZE) as pilot:
        await go_to(pilot, line.follow_up.id)
        call = await open_call(pilot)
        await pilot.press("1")
        call.query_one("#field-situation").focus()
        await pilot.press("1")
        await settle(pilot)
        call.query_one("#field-kind", Select).value = "cdi"
        partner = call.query_one("#field-partner_id", Select)
        partner.focus()
        await pilot.press("enter", "down", "enter")  # the first choice: a new employer…
        await until(pilot, lambda: isinstance(app.screen, FormScreen), "the partner dialog")
        await settle(pilot)
        await pilot.press(*"Boulangerie Paul")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: app.screen is call, "back to the call form")
        await settle(pilot)
        created = next(
            p for p in store.partners.for_site(line.learner.site_id) if p.name == "Boulangerie Paul"
        )
        assert created.kinds == "employer"
        assert partner.value == created.id  # selected in the form
        call.query_one("#field-start_date", Input).value = "2026-11-16"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, FollowUpQueueScreen)
    [placement] = [
        p
        for p in store.placements.for_learner(line.learner.id)
        if p.source_followup_id == line.follow_up.id
    ]
    assert placement.partner_id == created.id


def try_three_times(app: FabriqueApp, follow_up_id: str, days: list[date]) -> None:
    for day in days:
        app.store.follow_ups.log_attempt(
            follow_up_id,
            {"attempted_on": day, "channel": "phone", "outcome": "no_answer", "callback_date": day},
        )


async def test_closing_as_unreachable_only_when_the_rule_allows(make_app) -> None:
    app = make_app()
    store = app.store
    allowed, too_soon = [line for line in store.follow_ups.due(TODAY) if not line.attempts.count][
        :2
    ]
    # Three unanswered attempts over 14 days, and three over only 4 days.
    try_three_times(
        app, allowed.follow_up.id, [date(2026, 11, 2), date(2026, 11, 9), date(2026, 11, 16)]
    )
    try_three_times(
        app, too_soon.follow_up.id, [date(2026, 11, 20), date(2026, 11, 23), date(2026, 11, 24)]
    )
    async with app.run_test(size=SIZE) as pilot:
        await go_to(pilot, too_soon.follow_up.id)
        queue = app.screen
        assert not queue.check_action("close_unreachable", ())
        await pilot.press("u")  # not offered: nothing happens
        await settle(pilot)
        assert store.follow_ups.get(too_soon.follow_up.id).done_date is None
        call = await open_call(pilot)
        assert not call.query("#call-unreachable")
        assert "Close as unreachable: possible after an attempt on or after 2026-12-04" in (
            text_of(call, "#call-tried")
        )
        await pilot.press("ctrl+u")
        await settle(pilot)
        assert app.screen is call
        await pilot.press("escape")
        await settle(pilot)

        await go_to(pilot, allowed.follow_up.id)
        call = await open_call(pilot)
        assert call.query_one("#call-unreachable", Button)
        await pilot.press("ctrl+u")
        await settle(pilot)
        assert app.screen is queue
        assert allowed.follow_up.id not in queue_keys(app)
    closed = store.follow_ups.get(allowed.follow_up.id)
    assert (closed.done_date, closed.outcome) == (TODAY, "unreachable")
    assert store.follow_ups.get(too_soon.follow_up.id).done_date is None


async def test_unreachable_from_the_queue_key(make_app) -> None:
    app = make_app()
    store = app.store
    line = first_new_line(app)
    try_three_times(
        app, line.follow_up.id, [date(2026, 11, 2), date(2026, 11, 9), date(2026, 11, 16)]
    )
    async with app.run_test(size=SIZE) as pilot:
        await go_to(pilot, line.follow_up.id)
        await pilot.press("u")
        await settle(pilot)
        assert line.follow_up.id not in queue_keys(app)
    assert store.follow_ups.get(line.follow_up.id).outcome == "unreachable"


async def test_a_wrong_number_corrected_in_the_form_corrects_the_learner(make_app) -> None:
    app = make_app()
    store = app.store
    line = first_new_line(app)
    async with app.run_test(size=SIZE) as pilot:
        await go_to(pilot, line.follow_up.id)
        call = await open_call(pilot)
        assert not call.query_one("#part-callback").display
        await pilot.press("4")  # wrong number
        await settle(pilot)
        assert call.query_one("#row-phone").display
        assert call.query_one("#part-callback").display
        call.query_one("#field-phone").focus()
        await pilot.press(*"06 98 76 54 32")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, FollowUpQueueScreen)
    assert store.learners.get(line.learner.id).phone == "+33698765432"
    [attempt] = store.follow_ups.attempts.for_follow_up(line.follow_up.id)
    assert (attempt.outcome, attempt.callback_date) == ("wrong_number", CALL_BACK_DAY)


async def test_the_outcome_is_asked_and_other_needs_a_note(make_app) -> None:
    app = make_app()
    store = app.store
    line = first_new_line(app)
    async with app.run_test(size=SIZE) as pilot:
        await go_to(pilot, line.follow_up.id)
        call = await open_call(pilot)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is call
        assert "outcome" in text_of(call, "#error-outcome").lower()
        outcome = call.query_one("#field-outcome", KeyedChoice)
        outcome.focus()
        await pilot.press("1")
        call.query_one("#field-situation").focus()
        await pilot.press("3")  # other: a note is required
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is call
        assert text_of(call, "#error-notes")
        assert store.outbox.count() == 0
