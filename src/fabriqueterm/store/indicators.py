"""The indicators of docs/domain.md counted in SQLite, never by a Python loop over learners.

Four grouped statements count per cohort, each reading covering indexes (schema versions 5 and
7) and aggregating straight to cohorts, never to learners first:

- the cohorts: their learners' statuses and profiles, completers reached by a follow-up, and
  every count derived from those (one row per cohort of the scope, in the report's order);
- the follow-ups of their learners;
- the attempts of the follow-ups reached after more than one (attempts per reached follow-up);
- the exits: completers' placements, each learner counted once.

Python lays each cohort's rows side by side, in the flat order of
:meth:`IndicatorCounts.flat_names`; sites and the total are sums of their cohorts. For a large
scope the four statements run at once, on four connections reading one snapshot.

Learner statuses are the current ones; dates are read as of the report's date: a cohort counts at
+N months once its end date + N months is on or before it, a placement once it has started, a
follow-up is done once its done date is on or before it (a report for a past Sunday does not count
what was done after that Sunday).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from fabriqueterm.domain.dates import add_months, week_bounds
from fabriqueterm.domain.enums import (
    COMPLETER_STATUSES,
    EMPLOYMENT_KINDS,
    ENROLLED_STATUSES,
    LEVEL_4_OR_BELOW,
    Closing,
    CohortStatus,
    Gender,
    LearnerStatus,
    Outcome,
    PlacementKind,
)
from fabriqueterm.domain.indicators import (
    EXIT_MONTHS,
    CohortIndicators,
    IndicatorCounts,
    IndicatorReport,
    Indicators,
)

if TYPE_CHECKING:
    import sqlite3

    from fabriqueterm.store.db import Store

Rows = list[tuple[Any, ...]]
Statement = tuple[str, dict[str, Any]]


def months_after_sql(day: str, months: int) -> str:
    """SQL for the date ``day`` + ``months`` months clamped to the month's last day, exactly like
    :func:`fabriqueterm.domain.dates.add_months` (31 Aug + 6 months = 28/29 Feb)."""
    if months == 0:
        return day
    # SQLite rolls 31 Aug + 6 months over to 3 Mar; the month's last day is then the earlier one.
    return f"min(date({day}, '+{months} months'), date({day}, 'start of month', '+{months + 1} months', '-1 day'))"


def last_end_date_past(as_of: date, months: int) -> date:
    """The latest end date whose + ``months`` months is on or before ``as_of``: a cohort's exit
    figures at +``months`` count in a report as of ``as_of`` when it ended on or before that day."""
    day = add_months(as_of, -months)  # add_months(day, months) <= as_of: the clamp only moves down
    # A few later days may clamp to the same month end (28, 29, 30 and 31 Aug + 6 = 28 Feb).
    while add_months(day + timedelta(days=1), months) <= as_of:
        day += timedelta(days=1)
    return day


def _sql_list(items: Sequence[str]) -> str:
    """A SQL list of enum values (constants of the code, never user input)."""
    return ", ".join(f"'{item}'" for item in items)


def _count(condition: str) -> str:
    return f"COUNT(*) FILTER (WHERE {condition})"


def _if_past(months: int, value: str) -> str:
    """``value`` once the cohort's end + ``months`` months is on or before the report's date, else 0."""
    return f"CASE WHEN c.end_date <= :past_{months} THEN {value} ELSE 0 END"


_COMPLETER = f"l.status IN ({_sql_list(COMPLETER_STATUSES)})"
# Dates are stored as ISO text; the unary + compares them as text, without SQLite first trying to
# read each one as a number (the DATE columns' affinity): that attempt was a third of a pass.
_NOT_DONE = "(f.done_date IS NULL OR +f.done_date > :as_of)"
_REACHED = f"+f.done_date <= :as_of AND f.outcome = '{Closing.REACHED.value}'"

# {cohort_scope}: the report's cohorts (a condition on the cohort table). {learner_scope}: empty
# for every site (every live learner is counted; cohorts of deleted sites are never read back), or
# the scope's cohorts, whose learners are then sought through the index.

# One row per cohort of the scope, in the report's order: its site, then the flat counts from
# enrolled to exit_denominator_12, and from never_reached_0 to completers_never_reached.
_COHORTS = f"""
WITH people AS MATERIALIZED (
    SELECT l.cohort_id,
           COUNT(*) AS enrolled,
           {_count(f"l.gender = '{Gender.F.value}'")} AS women,
           {_count("l.qpv")} AS qpv,
           {_count(f"l.qualification IN ({_sql_list(LEVEL_4_OR_BELOW)})")} AS level_4_or_below,
           {_count("l.job_seeker")} AS job_seekers,
           {_count("l.refugee")} AS refugees,
           {_count(f"l.status = '{LearnerStatus.DROPPED_OUT.value}'")} AS dropped_out,
           {_count(_COMPLETER)} AS completers,
           {_count(f"l.status = '{LearnerStatus.ENROLLED.value}'")} AS still_enrolled,
           -- once per completer, however many calls reached them
           {
    _count(f'''{_COMPLETER} AND EXISTS (
               SELECT 1 FROM follow_up f INDEXED BY ix_follow_up_learner_cover
               WHERE f.learner_id = l.id AND f.deleted_at IS NULL AND {_REACHED})''')
} AS completers_reached
    FROM learner l INDEXED BY ix_learner_cohort_cover
    WHERE l.deleted_at IS NULL AND l.status IN ({_sql_list(ENROLLED_STATUSES)}){{learner_scope}}
    GROUP BY l.cohort_id
)
SELECT c.id, c.site_id,
       {
    ", ".join(
        f"COALESCE(p.{name}, 0)"
        for name in (
            "enrolled",
            "women",
            "qpv",
            "level_4_or_below",
            "job_seekers",
            "refugees",
            "dropped_out",
            "completers",
        )
    )
},
       CASE WHEN c.status = '{
    CohortStatus.RUNNING.value
}' THEN COALESCE(p.still_enrolled, 0) ELSE 0 END,
       c.status = '{CohortStatus.RUNNING.value}',
       {", ".join(_if_past(n, "COALESCE(p.completers, 0)") for n in EXIT_MONTHS)},
       {
    ", ".join(_if_past(n, "COALESCE(p.completers - p.completers_reached, 0)") for n in EXIT_MONTHS)
},
       COALESCE(p.completers - p.completers_reached, 0)
FROM cohort c
LEFT JOIN people p ON p.cohort_id = c.id
WHERE {{cohort_scope}}
ORDER BY c.site_id, c.id
"""

# One row per cohort: followups_due, _overdue, _done_this_week, _done, _reached, _unreachable.
# The follow-ups of every live learner count, whatever the learner's status.
_FOLLOW_UPS = f"""
SELECT l.cohort_id,
       {_count(f"{_NOT_DONE} AND +f.due_date <= :as_of")},
       {_count(f"{_NOT_DONE} AND +f.due_date < :overdue_before")},
       {_count("+f.done_date BETWEEN :monday AND :as_of")},
       {_count("+f.done_date <= :as_of")},
       {_count(_REACHED)},
       {_count(f"+f.done_date <= :as_of AND f.outcome = '{Closing.UNREACHABLE.value}'")}
FROM learner l INDEXED BY ix_learner_cohort_cover
JOIN follow_up f INDEXED BY ix_follow_up_learner_cover ON f.learner_id = l.id AND f.deleted_at IS NULL
WHERE l.deleted_at IS NULL{{learner_scope}}
GROUP BY l.cohort_id
"""

# One row per cohort: the follow-ups closed as reached after 2, 3, and 4 or more attempts made by
# the report's date. Read from the attempts' covering index (schema 7), grouped per follow-up,
# keeping only those with two attempts or more, one of them reached: the few rows then looked up.
# Those reached in one attempt (or with none recorded) are the rest of the reached follow-ups.
_ATTEMPTS = f"""
SELECT l.cohort_id, {_count("a.n = 2")}, {_count("a.n = 3")}, {_count("a.n >= 4")}
FROM (
    SELECT follow_up_id, COUNT(*) AS n
    FROM follow_up_attempt INDEXED BY ix_attempt_follow_up
    WHERE deleted_at IS NULL AND +attempted_on <= :as_of
    GROUP BY follow_up_id
    HAVING COUNT(*) >= 2 AND MAX(outcome = '{Outcome.REACHED.value}')
) a
JOIN follow_up f ON f.id = a.follow_up_id AND f.deleted_at IS NULL AND {_REACHED}
JOIN learner l ON l.id = f.learner_id AND l.deleted_at IS NULL{{learner_scope}}
GROUP BY l.cohort_id
"""

_POSITIVE = f"p.kind <> '{PlacementKind.OTHER.value}'"
_EMPLOYMENT = f"p.kind IN ({_sql_list(EMPLOYMENT_KINDS)})"

# One row per cohort ended by the report's date: positive_N then employment_N for N in EXIT_MONTHS,
# completers with a placement of that kind started by end + N months, each learner counted once;
# 0 while end + N months is still ahead.
_EXITS = f"""
WITH ended_cohort AS MATERIALIZED (
    SELECT id, end_date, {
    ", ".join(f"{months_after_sql('+end_date', n)} AS end_{n}" for n in EXIT_MONTHS)
}
    FROM cohort c
    WHERE {{cohort_scope}} AND c.end_date <= :as_of
)
SELECT l.cohort_id,
       {
    ", ".join(
        _if_past(n, f"COUNT(DISTINCT l.rowid) FILTER (WHERE +p.start_date <= c.end_{n}{extra})")
        for extra in ("", f" AND {_EMPLOYMENT}")
        for n in EXIT_MONTHS
    )
}
FROM learner l INDEXED BY ix_learner_cohort_cover
CROSS JOIN placement p INDEXED BY ix_placement_learner_cover ON p.learner_id = l.id AND p.deleted_at IS NULL
CROSS JOIN ended_cohort c ON c.id = l.cohort_id
WHERE l.deleted_at IS NULL AND {_COMPLETER} AND {_POSITIVE}{{learner_scope}}
GROUP BY l.cohort_id
"""

# A scope with fewer cohorts than this share of the network is read on one connection: three
# connections and threads would cost more than they save.
_LOOKUP_SHARE = 0.4

_NO_FOLLOW_UPS, _NO_EXITS, _NO_ATTEMPTS = (0,) * 6, (0,) * (2 * len(EXIT_MONTHS)), (0,) * 3


class IndicatorRepository:
    """Indicators as of a date for cohorts, sites and their total, counted in the local store.
    ``parallel``: a large scope's statements run at once on several connections (False: one after
    the other on one connection, for comparison)."""

    def __init__(self, store: Store, *, parallel: bool = True):
        self.store = store
        self.parallel = parallel

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
        cohort_scope = (
            "c.deleted_at IS NULL AND c.site_id IN (SELECT id FROM site WHERE deleted_at IS NULL)"
        )
        site_scope = ""
        params: dict[str, Any] = {}
        if site_ids is not None:
            # A JSON array: one parameter whatever the number of sites.
            site_scope = " AND id IN (SELECT value FROM json_each(:site_ids))"
            cohort_scope += " AND c.site_id IN (SELECT value FROM json_each(:site_ids))"
            params["site_ids"] = json.dumps(list(site_ids))
        if cohort_id is not None:
            cohort_scope += " AND c.id = :cohort_id"
            params["cohort_id"] = cohort_id
        monday, _sunday = week_bounds(as_of)
        params |= {
            "as_of": as_of.isoformat(),
            "overdue_before": (as_of - timedelta(days=7)).isoformat(),
            "monday": monday.isoformat(),
        }
        params |= {f"past_{n}": last_end_date_past(as_of, n).isoformat() for n in EXIT_MONTHS}
        learner_scope = ""
        if site_ids is not None or cohort_id is not None:
            learner_scope = f" AND l.cohort_id IN (SELECT c.id FROM cohort c WHERE {cohort_scope})"

        def statement(template: str) -> Statement:
            return template.format(cohort_scope=cohort_scope, learner_scope=learner_scope), params

        sites = f"SELECT id FROM site WHERE deleted_at IS NULL{site_scope} ORDER BY name, id"
        # Each group on its own connection, the longest first.
        [attempts], [exits], [follow_ups], [cohorts, site_rows] = self._read(
            [
                [statement(_ATTEMPTS)],
                [statement(_EXITS)],
                [statement(_FOLLOW_UPS)],
                [statement(_COHORTS), (sites, params)],
            ],
            together=self.parallel and not self._is_small(site_ids, cohort_id),
        )
        return _assemble(
            as_of,
            cohorts,
            follow_ups={row[0]: row[1:] for row in follow_ups},
            attempts={row[0]: row[1:] for row in attempts},
            exits={row[0]: row[1:] for row in exits},
            site_order=[] if cohort_id is not None else [row[0] for row in site_rows],
        )

    def _is_small(self, site_ids: Sequence[str] | None, cohort_id: str | None) -> bool:
        """Whether the scope holds few enough cohorts to be read on one connection."""
        if cohort_id is not None:
            return True
        if site_ids is None:
            return False
        with self._connection() as connection:
            every, in_scope = connection.execute(
                "SELECT COUNT(*), COUNT(*) FILTER (WHERE site_id IN (SELECT value FROM json_each(?)))"
                " FROM cohort WHERE deleted_at IS NULL",
                (json.dumps(list(site_ids)),),
            ).fetchone()
        return bool(in_scope <= every * _LOOKUP_SHARE)

    def _read(self, groups: list[list[Statement]], *, together: bool) -> list[list[Rows]]:
        """The rows of each statement, all read from one snapshot of the database. ``together``:
        each group of statements on its own connection, at once (SQLite lets go of Python's lock
        while it counts, so each core counts a group); otherwise one after the other."""

        def run(connection: sqlite3.Connection, group: list[Statement]) -> list[Rows]:
            return [connection.execute(sql, params).fetchall() for sql, params in group]

        if together:
            with ExitStack() as stack:
                readers = self._readers(stack, len(groups))
                if readers is not None:
                    with ThreadPoolExecutor(max_workers=len(groups) - 1) as pool:
                        pairs = zip(readers[1:], groups[1:], strict=True)
                        others = [pool.submit(run, reader, group) for reader, group in pairs]
                        first = run(readers[0], groups[0])
                        return [first, *(future.result() for future in others)]
        with ExitStack() as stack:
            readers = self._readers(stack, 1)
            assert readers is not None  # one connection always reads one snapshot
            return [run(readers[0], group) for group in groups]

    def _readers(self, stack: ExitStack, count: int) -> list[sqlite3.Connection] | None:
        """``count`` connections in read transactions on the same snapshot, closed with ``stack``;
        None when a write was committed while they were being opened.

        ``PRAGMA data_version`` on a connection outside any transaction changes whenever another
        connection commits: unchanged around the opening of the readers, they all read the state
        it saw (a reader takes its snapshot on its first read)."""
        witness = stack.enter_context(self._connection()) if count > 1 else None
        before = witness.execute("PRAGMA data_version").fetchone()[0] if witness else None
        readers = []
        for _ in range(count):
            reader = stack.enter_context(self._connection())
            reader.execute("BEGIN")
            stack.callback(reader.execute, "ROLLBACK")
            reader.execute("SELECT 1 FROM site LIMIT 1").fetchall()
            readers.append(reader)
        if witness is not None and witness.execute("PRAGMA data_version").fetchone()[0] != before:
            return None
        return readers

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        """A pooled connection of the store, with its pragmas, returned to the pool afterwards."""
        proxy = self.store.engine.raw_connection()
        try:
            yield proxy.driver_connection  # type: ignore[misc]
        finally:
            proxy.close()


def _assemble(
    as_of: date,
    cohorts: Rows,
    *,
    follow_ups: dict[str, tuple[int, ...]],
    attempts: dict[str, tuple[int, ...]],
    exits: dict[str, tuple[int, ...]],
    site_order: list[str],
) -> IndicatorReport:
    """The report from the rows of the four statements (the cohorts of ``cohorts`` only)."""
    split = 2 + 10 + len(EXIT_MONTHS)  # cohort, site, the counts up to exit_denominator_12
    flat_rows: dict[str, tuple[int, ...]] = {}
    per_site: dict[str, list[tuple[int, ...]]] = {site_id: [] for site_id in site_order}
    for row in cohorts:
        cohort_id = row[0]
        counted = follow_ups.get(cohort_id, _NO_FOLLOW_UPS)
        in_2, in_3, in_4_or_more = attempts.get(cohort_id, _NO_ATTEMPTS)
        reached = counted[4]  # followups_reached: the rest took one attempt (or none recorded)
        flat = (
            row[2:split]
            + exits.get(cohort_id, _NO_EXITS)
            + row[split:]
            + counted
            + (reached - in_2 - in_3 - in_4_or_more, in_2, in_3, in_4_or_more)
        )
        flat_rows[cohort_id] = flat
        per_site.setdefault(row[1], []).append(flat)
    by_site = {site: IndicatorCounts.sum_of_flat(rows) for site, rows in per_site.items()}
    return IndicatorReport(
        as_of=as_of,
        by_cohort=CohortIndicators(flat_rows),
        by_site={site: Indicators(counts) for site, counts in by_site.items()},
        total=Indicators(IndicatorCounts.sum_of(by_site.values())),
    )
