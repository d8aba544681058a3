"""The indicators of ../shared/DOMAIN.md counted in SQLite: two grouped queries per report (learners
and placements per cohort, follow-ups per cohort), never a Python loop over learners. Sites and the
total are sums of their cohorts' counts.

Statuses are the learners' current ones; dates (cohort ends, placement starts, follow-ups done) are
read as of the report's date, so a report for a past Sunday does not count what happened after it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, text

from fabriqueterm.domain.dates import week_bounds
from fabriqueterm.domain.enums import (
    COMPLETER_STATUSES,
    EMPLOYMENT_KINDS,
    ENROLLED_STATUSES,
    LEVEL_4_OR_BELOW,
    CohortStatus,
    Gender,
    LearnerStatus,
    Outcome,
    PlacementKind,
)
from fabriqueterm.domain.indicators import (
    EXIT_MONTHS,
    IndicatorCounts,
    IndicatorReport,
    Indicators,
)

if TYPE_CHECKING:
    from fabriqueterm.store.db import Store


def _values(items: Sequence[str]) -> str:
    """A SQL list of enum values (constants of the code, never user input)."""
    return ", ".join(f"'{item}'" for item in items)


def months_after_sql(day: str, months: int) -> str:
    """SQL for ``day`` + ``months`` months clamped to the month's last day, exactly like
    :func:`fabriqueterm.domain.dates.add_months` (31 Aug + 6 months = 28/29 Feb)."""
    if months == 0:
        return day
    same_day = (
        f"date({day}, 'start of month', '+{months} months', "
        f"printf('+%d days', CAST(strftime('%d', {day}) AS INTEGER) - 1))"
    )
    month_end = f"date({day}, 'start of month', '+{months + 1} months', '-1 day')"
    return f"min({same_day}, {month_end})"


_ENROLLED = _values(ENROLLED_STATUSES)
_COMPLETER = _values(COMPLETER_STATUSES)
_EMPLOYMENT = _values(EMPLOYMENT_KINDS)
_LEVEL_4_OR_BELOW = _values(LEVEL_4_OR_BELOW)

# Cohorts in scope, with their end date + N months for each exit milestone.
_COHORTS_CTE = """
scoped_cohort AS (
    SELECT id, site_id, status, start_date, {ends}
    FROM cohort
    WHERE deleted_at IS NULL {where}
)""".strip()

# Per learner: the earliest positive and employment placement starts (live placements only).
_LEARNER_QUERY = f"""
WITH {{cohorts}},
first_placement AS (
    SELECT learner_id,
           MIN(CASE WHEN kind <> '{PlacementKind.OTHER.value}' THEN start_date END) AS positive_start,
           MIN(CASE WHEN kind IN ({_EMPLOYMENT}) THEN start_date END) AS employment_start
    FROM placement
    WHERE deleted_at IS NULL
    GROUP BY learner_id
),
reached AS (
    SELECT DISTINCT learner_id
    FROM follow_up
    WHERE deleted_at IS NULL AND outcome = '{Outcome.REACHED.value}' AND done_date <= :as_of
),
scoped_learner AS (
    SELECT l.cohort_id, l.gender, l.qpv, l.qualification, l.job_seeker, l.refugee,
           l.status IN ({_ENROLLED}) AS is_enrolled,
           l.status IN ({_COMPLETER}) AS is_completer,
           fp.positive_start, fp.employment_start,
           r.learner_id IS NULL AS never_reached
    FROM learner l
    JOIN scoped_cohort c ON c.id = l.cohort_id
    LEFT JOIN first_placement fp ON fp.learner_id = l.id
    LEFT JOIN reached r ON r.learner_id = l.id
    WHERE l.deleted_at IS NULL AND l.status IN ({_ENROLLED})
)
SELECT c.id, c.site_id,
       c.status = '{CohortStatus.RUNNING.value}' AS cohorts_running,
       COUNT(sl.cohort_id) AS enrolled,
       SUM(CASE WHEN sl.gender = '{Gender.F.value}' THEN 1 ELSE 0 END) AS women,
       SUM(CASE WHEN sl.qpv THEN 1 ELSE 0 END) AS qpv,
       SUM(CASE WHEN sl.qualification IN ({_LEVEL_4_OR_BELOW}) THEN 1 ELSE 0 END) AS level_4_or_below,
       SUM(CASE WHEN sl.job_seeker THEN 1 ELSE 0 END) AS job_seekers,
       SUM(CASE WHEN sl.refugee THEN 1 ELSE 0 END) AS refugees,
       SUM(CASE WHEN sl.is_enrolled AND NOT sl.is_completer
                 AND sl.cohort_id IS NOT NULL AND c.status = '{CohortStatus.RUNNING.value}'
                 AND sl.is_enrolled THEN 0 ELSE 0 END) AS unused,
       {{per_learner}}
FROM scoped_cohort c
LEFT JOIN scoped_learner sl ON sl.cohort_id = c.id
GROUP BY c.id
"""
