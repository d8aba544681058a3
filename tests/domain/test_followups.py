"""The follow-up schedule (domain/followups.py): the follow-ups generated for a completer and how
their due dates follow the cohort's end date. Pure functions: no database."""

from __future__ import annotations

from datetime import date

from fabriqueterm.domain.enums import Milestone
from fabriqueterm.domain.followups import due_date, generated_follow_ups, moved_due_date
from fabriqueterm.domain.ids import follow_up_id

LEARNER = "0199a8a0-0000-7000-8000-00000000d001"


def test_a_completer_gets_follow_ups_at_the_end_plus_three_and_plus_six_months() -> None:
    generated = generated_follow_ups(LEARNER, date(2026, 6, 30))
    assert generated == [
        (
            follow_up_id(LEARNER, "end"),
            {"learner_id": LEARNER, "milestone": "end", "due_date": date(2026, 6, 30)},
        ),
        (
            follow_up_id(LEARNER, "m3"),
            {"learner_id": LEARNER, "milestone": "m3", "due_date": date(2026, 9, 30)},
        ),
        (
            follow_up_id(LEARNER, "m6"),
            {"learner_id": LEARNER, "milestone": "m6", "due_date": date(2026, 12, 30)},
        ),
    ]


def test_due_dates_are_clamped_to_the_end_of_shorter_months() -> None:
    assert due_date(date(2026, 8, 31), Milestone.END) == date(2026, 8, 31)
    assert due_date(date(2026, 8, 31), "m3") == date(2026, 11, 30)
    assert due_date(date(2026, 8, 31), Milestone.M6) == date(2027, 2, 28)
    assert due_date(date(2027, 8, 31), "m6") == date(2028, 2, 29)
    assert due_date(date(2026, 11, 30), "m12") == date(2027, 11, 30)


def test_generated_ids_are_the_same_on_every_device() -> None:
    once = generated_follow_ups(LEARNER, date(2026, 6, 30))
    again = generated_follow_ups(LEARNER, date(2026, 7, 3))
    assert [row_id for row_id, _data in once] == [row_id for row_id, _data in again]


def test_a_generated_follow_up_moves_with_the_cohorts_end_date() -> None:
    row_id = follow_up_id(LEARNER, "m3")
    # The cohort now ends on 31 July 2026 instead of 30 June: +3 months is 31 October.
    assert moved_due_date(row_id, LEARNER, "m3", date(2026, 9, 30), date(2026, 7, 31)) == date(
        2026, 10, 31
    )
    assert moved_due_date(
        follow_up_id(LEARNER, "end"), LEARNER, Milestone.END, date(2026, 6, 30), date(2026, 7, 31)
    ) == date(2026, 7, 31)


def test_a_follow_up_already_on_the_right_date_does_not_move() -> None:
    row_id = follow_up_id(LEARNER, "m6")
    assert moved_due_date(row_id, LEARNER, "m6", date(2026, 12, 30), date(2026, 6, 30)) is None


def test_a_follow_up_made_by_hand_keeps_the_date_the_person_chose() -> None:
    by_hand = "0199a8a0-0000-7000-8000-00000000f0f0"
    assert moved_due_date(by_hand, LEARNER, "m3", date(2026, 10, 15), date(2026, 7, 31)) is None
    # an m12 follow-up is never generated, but one with the deterministic id would move like the rest
    assert moved_due_date(
        follow_up_id(LEARNER, "m12"), LEARNER, "m12", date(2027, 6, 30), date(2026, 7, 31)
    ) == date(2027, 7, 31)
