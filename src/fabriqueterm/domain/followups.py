"""The follow-up schedule (docs/domain.md, "Indicators" and "Cohort lifecycle"): the follow-ups
the app generates for a completer, due at their cohort's end, +3 and +6 months, and how they move
when the cohort's end date changes. Plain values in and out: the store writes what they return."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from fabriqueterm.domain.dates import add_months, add_working_days
from fabriqueterm.domain.enums import GENERATED_MILESTONES, Milestone, Outcome
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


# --- Working a follow-up: attempts, call-backs, closing (docs/domain.md, "Follow-ups as
# coordinators work them") --------------------------------------------------------------------

#: Defaults of the rules a network may change in config.toml ([follow_ups]).
CALLBACK_WORKING_DAYS = 2
UNREACHABLE_ATTEMPTS = 3
UNREACHABLE_DAYS = 14


@dataclass(frozen=True)
class FollowUpRules:
    """The follow-up rules a network may tune: call back after ``callback_working_days`` working
    days; may close as unreachable after ``unreachable_attempts`` unanswered attempts spread over
    at least ``unreachable_days`` days."""

    callback_working_days: int = CALLBACK_WORKING_DAYS
    unreachable_attempts: int = UNREACHABLE_ATTEMPTS
    unreachable_days: int = UNREACHABLE_DAYS


def default_callback(called_on: date, rules: FollowUpRules = FollowUpRules()) -> date:
    """The call-back date proposed after an unanswered attempt on ``called_on``."""
    return add_working_days(called_on, rules.callback_working_days)


def unreachable_allowed(
    attempts: Sequence[tuple[date, str]], rules: FollowUpRules = FollowUpRules()
) -> bool:
    """Whether a follow-up whose attempts are ``attempts`` ((date, outcome) pairs) may be closed
    as unreachable: enough unanswered attempts, the first and the last far enough apart."""
    unanswered = sorted(day for day, outcome in attempts if Outcome(outcome).unanswered)
    if len(unanswered) < max(rules.unreachable_attempts, 1):
        return False
    return (unanswered[-1] - unanswered[0]).days >= rules.unreachable_days


def milestone_cutoff(cohort_end: date, milestone: Milestone | str) -> date:
    """The last start date a placement may have to count at ``milestone`` (cohort end + N months)."""
    return add_months(cohort_end, Milestone(milestone).months)


def milestones_not_counted(start: date, cohort_end: date) -> list[tuple[Milestone, date]]:
    """The milestones (with their cut-off) a placement starting on ``start`` does not count in:
    it started after the cohort's end + N months (docs/domain.md, "Placements: dates")."""
    return [
        (milestone, cutoff)
        for milestone in Milestone
        if start > (cutoff := milestone_cutoff(cohort_end, milestone))
    ]
