"""Read-only queries of the reports (weekly summary, personal-data export).

The weekly figures are counted in SQLite with grouped queries, never a Python loop over learners,
so a summary at 100k learners stays well under a second.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, text
from sqlmodel import col, select

from fabriqueterm.domain.enums import ENROLLED_STATUSES, LearnerStatus
from fabriqueterm.domain.models import (
    Cohort,
    FollowUp,
    FollowUpAttempt,
    Learner,
    Partner,
    Placement,
    Site,
)
from fabriqueterm.store.outbox import OutboxEntry

if TYPE_CHECKING:
    from fabriqueterm.store.db import Store


@dataclass(frozen=True)
class WeeklyActivity:
    """What happened at one site during one week (counts only)."""

    #: Learners created during the week whose status counts as enrolled (candidates excluded).
    new_enrolments: int = 0
    #: Learners whose dropout date falls in the week.
    dropouts: int = 0
    #: Placements logged (created) during the week, by kind (only kinds with at least one).
    placements: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class CohortLabel:
    """What a report shows of a cohort (no personal data)."""

    id: str
    site_id: str
    name: str
    programme: str
    start_date: date
    end_date: date
    status: str


@dataclass(frozen=True)
class PlacementRecord:
    placement: Placement
    partner_name: str | None


@dataclass(frozen=True)
class LearnerRecord:
    """Everything the local database holds about one learner, tombstoned rows included."""

    learner: Learner
    cohort: Cohort | None
    site: Site | None
    prescriber: Partner | None
    placements: list[PlacementRecord]
    follow_ups: list[FollowUp]
    outbox: list[OutboxEntry]
    attempts: list[FollowUpAttempt] = field(default_factory=list)


def _scoped(statement: str, site_ids: Sequence[str] | None) -> Any:
    sql = text(
        statement.replace(
            "{site_filter}", " AND l.site_id IN :site_ids" if site_ids is not None else ""
        ).replace("{every_site}", "NOT INDEXED" if site_ids is None else "")
    )
    if site_ids is not None:
        sql = sql.bindparams(bindparam("site_ids", expanding=True))
    return sql


_ENROLLED = ", ".join(f"'{status.value}'" for status in ENROLLED_STATUSES)

# Timestamps are stored in UTC; a row counts in the week of its UTC creation day. The week's rows
# are picked by a cheap scan first; only those are joined to their cohort. For every site, a plain
# scan ({every_site}): walking the site index instead, to skip sorting the week's few thousand rows,
# reads the table in random order (1.5 to 2.5 times slower at 100k learners, measured).
_LEARNER_WEEK = f"""
SELECT l.site_id,
       SUM(CASE WHEN l.created_at >= :start AND l.created_at < :end
                 AND l.status IN ({_ENROLLED}) THEN 1 ELSE 0 END) AS new_enrolments,
       SUM(CASE WHEN l.status = '{LearnerStatus.DROPPED_OUT.value}'
                 AND l.dropout_date BETWEEN :monday AND :sunday THEN 1 ELSE 0 END) AS dropouts
FROM learner l {{every_site}}
WHERE l.deleted_at IS NULL{{site_filter}}
  AND ((l.created_at >= :start AND l.created_at < :end) OR l.dropout_date BETWEEN :monday AND :sunday)
  AND +l.cohort_id IN (SELECT id FROM cohort WHERE deleted_at IS NULL)
GROUP BY l.site_id
"""

_PLACEMENT_WEEK = """
SELECT l.site_id, p.kind, COUNT(*) AS n
FROM placement p
JOIN learner l ON l.id = p.learner_id AND l.deleted_at IS NULL
WHERE p.deleted_at IS NULL AND p.created_at >= :start AND p.created_at < :end{site_filter}
  AND +l.cohort_id IN (SELECT id FROM cohort WHERE deleted_at IS NULL)
GROUP BY l.site_id, p.kind
"""


class ReportRepository:
    """Queries behind the weekly summary and the personal-data export."""

    def __init__(self, store: Store):
        self.store = store

    def weekly_activity(
        self, monday: date, sunday: date, *, site_ids: Sequence[str] | None = None
    ) -> dict[str, WeeklyActivity]:
        """New enrolments, dropouts and placements logged from ``monday`` to ``sunday`` (inclusive)
        per site id, for live learners of live cohorts; sites without activity are absent."""
        params: dict[str, Any] = {
            "monday": monday.isoformat(),
            "sunday": sunday.isoformat(),
            # Stored as "YYYY-MM-DD HH:MM:SS.ffffff": text comparison on day bounds is exact.
            "start": monday.isoformat(),
            "end": (sunday + timedelta(days=1)).isoformat(),
        }
        if site_ids is not None:
            params["site_ids"] = list(site_ids)
        learners: dict[str, tuple[int, int]] = {}
        placements: dict[str, dict[str, int]] = {}
        with self.store.read() as session:
            for row in session.execute(_scoped(_LEARNER_WEEK, site_ids), params).mappings():
                learners[row["site_id"]] = (
                    int(row["new_enrolments"] or 0),
                    int(row["dropouts"] or 0),
                )
            for row in session.execute(_scoped(_PLACEMENT_WEEK, site_ids), params).mappings():
                placements.setdefault(row["site_id"], {})[row["kind"]] = int(row["n"])
        return {
            site_id: WeeklyActivity(
                new_enrolments=learners.get(site_id, (0, 0))[0],
                dropouts=learners.get(site_id, (0, 0))[1],
                placements=placements.get(site_id, {}),
            )
            for site_id in set(learners) | set(placements)
        }

    def sites(self, site_ids: Sequence[str] | None = None) -> list[Site]:
        """Live sites, by name (all of them, or those of ``site_ids``)."""
        with self.store.read() as session:
            query = select(Site).where(col(Site.deleted_at).is_(None))
            if site_ids is not None:
                query = query.where(col(Site.id).in_(list(site_ids)))
            return list(session.exec(query.order_by(col(Site.name), col(Site.id))))

    def cohorts(
        self,
        site_ids: Sequence[str] | None = None,
        *,
        ended_by: date | None = None,
        limit: int | None = None,
    ) -> list[CohortLabel]:
        """Live cohorts (of ``site_ids``; ended on or before ``ended_by``), most recently ended
        first, at most ``limit``."""
        with self.store.read() as session:
            query = select(
                Cohort.id,
                Cohort.site_id,
                Cohort.name,
                Cohort.programme,
                Cohort.start_date,
                Cohort.end_date,
                Cohort.status,
            ).where(col(Cohort.deleted_at).is_(None))
            if site_ids is not None:
                query = query.where(col(Cohort.site_id).in_(list(site_ids)))
            if ended_by is not None:
                query = query.where(col(Cohort.end_date) <= ended_by)
            query = query.order_by(col(Cohort.end_date).desc(), col(Cohort.name), col(Cohort.id))
            if limit is not None:
                query = query.limit(limit)
            return [CohortLabel(*row) for row in session.execute(query)]

    def learner_record(self, learner_id: str) -> LearnerRecord | None:
        """Everything held about one learner (even a tombstoned one), or None if no such row."""
        with self.store.read() as session:
            learner = session.get(Learner, learner_id)
            if learner is None:
                return None
            cohort = session.get(Cohort, learner.cohort_id)
            site = session.get(Site, learner.site_id)
            prescriber = (
                session.get(Partner, learner.prescriber_id) if learner.prescriber_id else None
            )
            placement_rows = session.exec(
                select(Placement, Partner.name)
                .join(Partner, col(Partner.id) == col(Placement.partner_id), isouter=True)
                .where(col(Placement.learner_id) == learner_id)
                .order_by(col(Placement.start_date), col(Placement.id))
            ).all()
            follow_ups = list(
                session.exec(
                    select(FollowUp)
                    .where(col(FollowUp.learner_id) == learner_id)
                    .order_by(col(FollowUp.due_date), col(FollowUp.id))
                )
            )
            attempts = list(
                session.exec(
                    select(FollowUpAttempt)
                    .where(col(FollowUpAttempt.learner_id) == learner_id)
                    .order_by(col(FollowUpAttempt.attempted_on), col(FollowUpAttempt.id))
                )
            )
            placements = [PlacementRecord(p, name) for p, name in placement_rows]
            rows_by_entity = {
                "learner": [learner_id],
                "placement": [r.placement.id for r in placements],
                "follow_up": [f.id for f in follow_ups],
                "follow_up_attempt": [a.id for a in attempts],
            }
            outbox: list[OutboxEntry] = []
            for entity, ids in rows_by_entity.items():
                if not ids:
                    continue
                statement = text(
                    "SELECT * FROM outbox WHERE entity = :entity AND row_id IN :ids ORDER BY seq"
                ).bindparams(bindparam("ids", expanding=True))
                for r in session.execute(statement, {"entity": entity, "ids": ids}).mappings():
                    outbox.append(OutboxEntry.from_row(r))
            outbox.sort(key=lambda entry: entry.seq)
            return LearnerRecord(
                learner, cohort, site, prescriber, placements, follow_ups, outbox, attempts
            )
