"""The follow-up schedule (docs/domain.md, "Indicators" and "Cohort lifecycle"): the follow-ups
the app generates for a completer, due at their cohort's end, +3 and +6 months, and how they move
when the cohort's end date changes. Plain values in and out: the store writes what they return."""

from __future__ import annotations

from datetime import date
from typing import Any

from fabriqueterm.domain.dates import add_months
from fabriqueterm.domain.enums import GENERATED_MILESTONES, Milestone
from fabriqueterm.domain.ids import follow_up_id


def due_date(end_date: date, milestone: Milestone | str) -> date:
    """When the follow-up at ``milestone`` of a cohort ending on ``end_date`` is due (month ends
    clamped: 31 Aug + 6 months = 28/29 Feb)."""
    return add_months(end_date, Milestone(milestone).months)


def generated_follow_ups(learner_id: str, end_date: date) -> list[tuple[str, dict[str, Any]]]:
    """The id and data of each follow-up generated for a completer of a cohort ending on
    ``end_date``; deterministic ids merge the copies two devices may make offline."""
    return [
        (
            follow_up_id(learner_id, milestone.value),
            {
                "learner_id": learner_id,
                "milestone": milestone.value,
                "due_date": due_date(end_date, milestone),
            },
        )
        for milestone in GENERATED_MILESTONES
    ]


def moved_due_date(
    row_id: str, learner_id: str, milestone: Milestone | str, current: date, end_date: date
) -> date | None:
    """The new due date of a follow-up not yet done once its cohort ends on ``end_date``, or None
    when it keeps ``current``: made by hand (its id is not the generated one, the person chose its
    date), or already due on the right day."""
    milestone = Milestone(milestone)
    if row_id != follow_up_id(learner_id, milestone.value):
        return None  # made by hand: the person chose its date
    due = due_date(end_date, milestone)
    return None if due == current else due
