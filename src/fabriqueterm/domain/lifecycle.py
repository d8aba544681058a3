"""A cohort's status and its dates (docs/domain.md, "Cohort lifecycle").

planned → running follows the start date by itself; running → finished does not: a cohort whose
end date is reached is *to close*, and the closing flow sets it finished once every learner has a
final status.
"""

from __future__ import annotations

from datetime import date

from fabriqueterm.domain.enums import CohortStatus


def status_by_dates(status: str, start_date: date, today: date) -> str:
    """The status a cohort should hold on ``today``: a planned cohort whose start date is reached
    is running. Any other status is kept (a cohort never moves back, and finished is set by
    closing, not by the end date)."""
    if status == CohortStatus.PLANNED.value and start_date <= today:
        return CohortStatus.RUNNING.value
    return status


def is_to_close(status: str, end_date: date, today: date) -> bool:
    """Whether a cohort not closed yet has reached its end date: it is shown "to close" until the
    closing flow sets it finished (the dashboard lists those with learners still enrolled)."""
    return status != CohortStatus.FINISHED.value and end_date <= today
