"""The indicators of ../shared/DOMAIN.md counted in SQLite, never by a Python loop over learners.

One statement per report returns one row of counts per cohort in scope, already in the flat order
of :meth:`IndicatorCounts.flat_names`; sites and the total are sums of their cohorts' rows.

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
_NOT_DONE = "(done_date IS NULL OR done_date > :as_of)"  # not done *as of* the date
_COHORT_ENDS = ", ".join(f"{months_after_sql('end_date', n)} AS end_{n}" for n in EXIT_MONTHS)
_EXIT_COUNTS = ", ".join(
    f"{_count(f'fp.{kind}_start <= c.end_{n}')} AS {kind}_{n}"
    for kind in ("positive", "employment")
    for n in EXIT_MONTHS
)


def _cohort_columns() -> str:
    """The final SELECT list: one expression per flat count, in IndicatorCounts' flat order."""
    never_reached = "COALESCE(e.completers, 0) - COALESCE(f.completers_reached, 0)"
    columns = {
        "enrolled": "e.enrolled",
        "women": "e.women",
        "qpv": "e.qpv",
        "level_4_or_below": "e.level_4_or_below",
        "job_seekers": "e.job_seekers",
        "refugees": "e.refugees",
        "dropped_out": "e.dropped_out",
        "completers": "e.completers",
        "in_training": f"CASE WHEN c.status = '{CohortStatus.RUNNING.value}' THEN e.still_enrolled END",
        "cohorts_running": f"c.status = '{CohortStatus.RUNNING.value}'",
        "completers_never_reached": never_reached,
        "followups_due": "f.due",
        "followups_overdue": "f.overdue",
        "followups_done_this_week": "f.done_this_week",
        "followups_done": "f.done",
        "followups_reached": "f.reached",
    }
    for n in EXIT_MONTHS:  # exit figures at +N only once the cohort's end + N months is past
        past = f"c.end_{n} <= :as_of"
        columns |= {
            f"exit_denominator_{n}": f"CASE WHEN {past} THEN e.completers END",
            f"positive_{n}": f"CASE WHEN {past} THEN x.positive_{n} END",
            f"employment_{n}": f"CASE WHEN {past} THEN x.employment_{n} END",
            f"never_reached_{n}": f"CASE WHEN {past} THEN {never_reached} END",
        }
    return ",\n       ".join(f"COALESCE({columns[name]}, 0) AS {name}" for name in IndicatorCounts.flat_names())


# Each CTE is MATERIALIZED so that SQLite computes it once, not once per row that reads it (the
# date arithmetic of scoped_cohort inlined into the learner scan costs seconds at 100k learners).
# {cohort_filter}: the report's filters on cohorts. {learner_hint}, {placement_source},
# {follow_up_source}: see _SOURCES.
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
    SELECT l.cohort_id, {_EXIT_COUNTS}
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
       {_cohort_columns()}
FROM scoped_cohort c
LEFT JOIN enrolment e ON e.cohort_id = c.id
LEFT JOIN exits x ON x.cohort_id = c.id
LEFT JOIN follow_ups f ON f.cohort_id = c.id
ORDER BY c.site_id, c.id
"""

# Where the per-learner CTEs read their rows. Measured at 100k learners: through the indexes costs
# about twice a full scan for every learner, so indexes pay below about 40 % of the cohorts.
_SOURCES = {
    # A large scope: one sequential scan of each table (NOT INDEXED: the planner would rather walk
    # an index to skip a sort, at the price of a random read per row).
    "scan": {
        "learner_hint": "NOT INDEXED",
        "placement_source": "placement NOT INDEXED WHERE deleted_at IS NULL",
        "follow_up_source": "follow_up NOT INDEXED WHERE deleted_at IS NULL",
    },
    # A small scope (a cohort, a few sites): only the scope's rows, through the learner_id indexes.
    "lookup": {
        "learner_hint": "",
        "placement_source": "placement WHERE deleted_at IS NULL AND learner_id IN (SELECT id FROM scoped_learner)",
        "follow_up_source": "follow_up WHERE deleted_at IS NULL AND learner_id IN (SELECT id FROM scoped_learner)",
    },
}
_LOOKUP_SHARE = 0.4


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
        cohort_filter = "AND site_id IN (SELECT id FROM site WHERE deleted_at IS NULL)"
        params: dict[str, Any] = {}
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
            rows = session.execute(statement, params).all()
            site_order = [] if cohort_id is not None else self._site_ids(session, site_ids)

        by_cohort: dict[str, Indicators] = {}
        per_site: dict[str, list[Sequence[int]]] = {site_id: [] for site_id in site_order}
        for cohort, site, *values in rows:  # one row per cohort
            by_cohort[cohort] = Indicators(IndicatorCounts.from_flat(values))
            per_site.setdefault(site, []).append(values)
        by_site = {site: IndicatorCounts.sum_of_flat(values) for site, values in per_site.items()}
        return IndicatorReport(
            as_of=as_of,
            by_cohort=by_cohort,
            by_site={site: Indicators(counts) for site, counts in by_site.items()},
            total=Indicators(IndicatorCounts.sum_of(by_site.values())),
        )

    @staticmethod
    def _is_small(session: Any, site_ids: Sequence[str] | None, cohort_id: str | None) -> bool:
        """Whether the scope holds few enough cohorts to read its rows through the indexes."""
        if cohort_id is not None:
            return True
        if site_ids is None:
            return False
        statement = text(
            "SELECT COUNT(*), COUNT(CASE WHEN site_id IN :site_ids THEN 1 END)"
            " FROM cohort WHERE deleted_at IS NULL"
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
