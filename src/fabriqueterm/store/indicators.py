"""The indicators of ../shared/DOMAIN.md counted in SQLite, never by a Python loop over learners.

One statement per report returns one row of counts per cohort in scope; sites and the total are
sums of their cohorts' rows (:class:`fabriqueterm.domain.indicators.IndicatorCounts` adds up).

Learner statuses are the current ones; dates are read as of the report's date: a cohort counts at
+N months once its end date + N months is on or before it, a placement once it has started, a
follow-up is done once its done date is on or before it (a report for a past Sunday does not count
what was done after that Sunday).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, text
from sqlalchemy.engine import RowMapping

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


def months_after_sql(day: str, months: int) -> str:
    """SQL for the date ``day`` + ``months`` months clamped to the month's last day, exactly like
    :func:`fabriqueterm.domain.dates.add_months` (31 Aug + 6 months = 28/29 Feb)."""
    if months == 0:
        return day
    same_day = (
        f"date({day}, 'start of month', '+{months} months', "
        f"printf('+%d days', CAST(strftime('%d', {day}) AS INTEGER) - 1))"
    )
    month_end = f"date({day}, 'start of month', '+{months + 1} months', '-1 day')"
    return f"min({same_day}, {month_end})"


def _sql_list(items: Sequence[str]) -> str:
    """A SQL list of enum values (constants of the code, never user input)."""
    return ", ".join(f"'{item}'" for item in items)


def _count(condition: str) -> str:
    return f"COUNT(CASE WHEN {condition} THEN 1 END)"


_COMPLETER = f"l.status IN ({_sql_list(COMPLETER_STATUSES)})"
_NOT_DONE = "(done_date IS NULL OR done_date > :as_of)"  # as of the date
_COHORT_ENDS = ", ".join(f"{months_after_sql('end_date', n)} AS end_{n}" for n in EXIT_MONTHS)
_EXIT_COUNTS = ", ".join(
    f"{_count(f'fp.{kind}_start <= c.end_{n}')} AS {kind}_{n}"
    for kind in ("positive", "employment")
    for n in EXIT_MONTHS
)

# Each CTE is MATERIALIZED so that SQLite computes it once, not once per row that reads it (the
# date arithmetic of scoped_cohort inlined into the learner scan costs seconds at 100k learners).
# {cohort_filter}: the report's filters on cohorts. {placement_source}, {follow_up_source}: the
# placement and follow-up rows read, all of them in one sequential scan for a large scope, those of
# the scope's learners through their learner_id index for a small one.
_REPORT_QUERY = f"""
WITH scoped_cohort AS MATERIALIZED (
    SELECT id, site_id, status, {_COHORT_ENDS}
    FROM cohort
    WHERE deleted_at IS NULL {{cohort_filter}}
),
scoped_learner AS MATERIALIZED (
    SELECT id FROM learner WHERE deleted_at IS NULL AND cohort_id IN (SELECT id FROM scoped_cohort)
),
enrolment AS MATERIALIZED (
    SELECT l.cohort_id,
           COUNT(*) AS enrolled,
           {_count(f"l.gender = '{Gender.F.value}'")} AS women,
           {_count("l.qpv")} AS qpv,
           {_count(f"l.qualification IN ({_sql_list(LEVEL_4_OR_BELOW)})")} AS level_4_or_below,
           {_count("l.job_seeker")} AS job_seekers,
           {_count("l.refugee")} AS refugees,
           {_count(f"l.status = '{LearnerStatus.DROPPED_OUT.value}'")} AS dropped_out,
           {_count(_COMPLETER)} AS completers,
           {_count(f"l.status = '{LearnerStatus.ENROLLED.value}'")} AS still_enrolled
    FROM learner l {{learner_hint}}
    WHERE l.deleted_at IS NULL AND l.status IN ({_sql_list(ENROLLED_STATUSES)})
      AND l.cohort_id IN (SELECT id FROM scoped_cohort)
    GROUP BY l.cohort_id
),
first_placement AS MATERIALIZED (
    SELECT learner_id,
           MIN(CASE WHEN kind <> '{PlacementKind.OTHER.value}' THEN start_date END) AS positive_start,
           MIN(CASE WHEN kind IN ({_sql_list(EMPLOYMENT_KINDS)}) THEN start_date END) AS employment_start
    FROM {{placement_source}}
    GROUP BY learner_id
),
exits AS MATERIALIZED (
    SELECT l.cohort_id,
           {_EXIT_COUNTS}
    FROM first_placement fp
    JOIN learner l ON l.id = fp.learner_id
    JOIN scoped_cohort c ON c.id = l.cohort_id
    WHERE l.deleted_at IS NULL AND {_COMPLETER}
    GROUP BY l.cohort_id
),
learner_follow_up AS MATERIALIZED (
    SELECT learner_id,
           {_count(f"due_date <= :as_of AND {_NOT_DONE}")} AS due,
           {_count(f"due_date < :overdue_before AND {_NOT_DONE}")} AS overdue,
           {_count("done_date BETWEEN :monday AND :as_of")} AS done_this_week,
           {_count("done_date <= :as_of")} AS done,
           {_count(f"done_date <= :as_of AND outcome = '{Outcome.REACHED.value}'")} AS reached
    FROM {{follow_up_source}}
    GROUP BY learner_id
),
follow_ups AS MATERIALIZED (
    SELECT l.cohort_id,
           SUM(lf.due) AS due, SUM(lf.overdue) AS overdue, SUM(lf.done_this_week) AS done_this_week,
           SUM(lf.done) AS done, SUM(lf.reached) AS reached,
           {_count(f"{_COMPLETER} AND lf.reached > 0")} AS completers_reached
    FROM learner_follow_up lf
    JOIN learner l ON l.id = lf.learner_id
    JOIN scoped_cohort c ON c.id = l.cohort_id
    WHERE l.deleted_at IS NULL
    GROUP BY l.cohort_id
)
SELECT c.id AS cohort_id, c.site_id,
       c.status = '{CohortStatus.RUNNING.value}' AS running,
       {", ".join(f"c.end_{n} <= :as_of AS past_{n}" for n in EXIT_MONTHS)},
       e.enrolled, e.women, e.qpv, e.level_4_or_below, e.job_seekers, e.refugees, e.dropped_out,
       e.completers, e.still_enrolled,
       {", ".join(f"x.positive_{n}, x.employment_{n}" for n in EXIT_MONTHS)},
       f.due, f.overdue, f.done_this_week, f.done, f.reached, f.completers_reached
FROM scoped_cohort c
LEFT JOIN enrolment e ON e.cohort_id = c.id
LEFT JOIN exits x ON x.cohort_id = c.id
LEFT JOIN follow_ups f ON f.cohort_id = c.id
ORDER BY c.site_id, c.id
"""

_SOURCES = {
    # A large scope: one sequential scan of each table beats a lookup per learner.
    "scan": {
        "learner_hint": "NOT INDEXED",
        "placement_source": "placement NOT INDEXED WHERE deleted_at IS NULL",
        "follow_up_source": "follow_up NOT INDEXED WHERE deleted_at IS NULL",
    },
    # A small scope (a cohort, a site or two): only the scope's rows, through the indexes.
    "lookup": {
        "learner_hint": "",
        "placement_source": "placement WHERE deleted_at IS NULL AND learner_id IN (SELECT id FROM scoped_learner)",
        "follow_up_source": "follow_up WHERE deleted_at IS NULL AND learner_id IN (SELECT id FROM scoped_learner)",
    },
}

#: Below this share of all cohorts, a scope is read through the indexes.
_LOOKUP_SHARE = 0.2


def _int(value: Any) -> int:
    return int(value or 0)


def _counts(row: RowMapping) -> IndicatorCounts:
    """The counts of one cohort from its row; per-milestone figures only once the milestone is past."""
    completers = _int(row["completers"])
    never_reached = completers - _int(row["completers_reached"])
    past = [bool(row[f"past_{n}"]) for n in EXIT_MONTHS]

    def per_milestone(values: Sequence[int]) -> tuple[int, int, int, int]:
        a, b, c, d = (value if is_past else 0 for value, is_past in zip(values, past, strict=True))
        return (a, b, c, d)

    return IndicatorCounts(
        enrolled=_int(row["enrolled"]),
        women=_int(row["women"]),
        qpv=_int(row["qpv"]),
        level_4_or_below=_int(row["level_4_or_below"]),
        job_seekers=_int(row["job_seekers"]),
        refugees=_int(row["refugees"]),
        dropped_out=_int(row["dropped_out"]),
        completers=completers,
        in_training=_int(row["still_enrolled"]) if row["running"] else 0,
        cohorts_running=1 if row["running"] else 0,
        exit_denominator=per_milestone([completers] * len(EXIT_MONTHS)),
        positive=per_milestone([_int(row[f"positive_{n}"]) for n in EXIT_MONTHS]),
        employment=per_milestone([_int(row[f"employment_{n}"]) for n in EXIT_MONTHS]),
        never_reached=per_milestone([never_reached] * len(EXIT_MONTHS)),
        completers_never_reached=never_reached,
        followups_due=_int(row["due"]),
        followups_overdue=_int(row["overdue"]),
        followups_done_this_week=_int(row["done_this_week"]),
        followups_done=_int(row["done"]),
        followups_reached=_int(row["reached"]),
    )


class IndicatorRepository:
    """Indicators as of a date for cohorts, sites and their total, counted in the local store."""

    def __init__(self, store: Store):
        self.store = store

    def report(
        self,
        as_of: date,
        *,
        site_ids: Sequence[str] | None = None,
        cohort_id: str | None = None,
    ) -> IndicatorReport:
        """The indicators as of ``as_of`` of every live cohort of live sites, or only those of
        ``site_ids`` and/or of ``cohort_id``: per cohort, per site (every live site in scope, even
        without cohorts, by name; only the cohort's site when ``cohort_id`` is given) and in total."""
        cohort_filter, params = "AND site_id IN (SELECT id FROM site WHERE deleted_at IS NULL)", {}
        if site_ids is not None:
            cohort_filter += " AND site_id IN :site_ids"
            params["site_ids"] = list(site_ids)
        if cohort_id is not None:
            cohort_filter += " AND id = :cohort_id"
            params["cohort_id"] = cohort_id
        monday, _sunday = week_bounds(as_of)
        params |= {
            "as_of": as_of.isoformat(),
            "overdue_before": (as_of - timedelta(days=7)).isoformat(),
            "monday": monday.isoformat(),
        }

        with self.store.read() as session:
            mode = "lookup" if self._is_small(session, site_ids, cohort_id) else "scan"
            statement = text(_REPORT_QUERY.format(cohort_filter=cohort_filter, **_SOURCES[mode]))
            if site_ids is not None:
                statement = statement.bindparams(bindparam("site_ids", expanding=True))
            rows = session.execute(statement, params).mappings().all()
            site_order = [] if cohort_id is not None else self._site_ids(session, site_ids)

        by_cohort: dict[str, IndicatorCounts] = {}
        by_site: dict[str, IndicatorCounts] = {site_id: IndicatorCounts() for site_id in site_order}
        for row in rows:  # one row per cohort
            counts = _counts(row)
            by_cohort[row["cohort_id"]] = counts
            by_site[row["site_id"]] = by_site.get(row["site_id"], IndicatorCounts()) + counts
        return IndicatorReport(
            as_of=as_of,
            by_cohort={key: Indicators(counts) for key, counts in by_cohort.items()},
            by_site={key: Indicators(counts) for key, counts in by_site.items()},
            total=Indicators(sum(by_site.values(), IndicatorCounts())),
        )

    @staticmethod
    def _is_small(session: Any, site_ids: Sequence[str] | None, cohort_id: str | None) -> bool:
        """Whether the scope holds few enough cohorts to read its rows through the indexes."""
        if cohort_id is not None:
            return True
        if site_ids is None:
            return False
        statement = text(
            "SELECT COUNT(*), COUNT(CASE WHEN site_id IN :site_ids THEN 1 END) FROM cohort WHERE deleted_at IS NULL"
        ).bindparams(bindparam("site_ids", expanding=True))
        every, in_scope = session.execute(statement, {"site_ids": list(site_ids)}).one()
        return in_scope <= every * _LOOKUP_SHARE

    @staticmethod
    def _site_ids(session: Any, site_ids: Sequence[str] | None) -> list[str]:
        """The live sites of the report, by name."""
        sql = "SELECT id FROM site WHERE deleted_at IS NULL"
        if site_ids is None:
            return [row[0] for row in session.execute(text(sql + " ORDER BY name, id"))]
        statement = text(sql + " AND id IN :site_ids ORDER BY name, id").bindparams(
            bindparam("site_ids", expanding=True)
        )
        return [row[0] for row in session.execute(statement, {"site_ids": list(site_ids)})]
