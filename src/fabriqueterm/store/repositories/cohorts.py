"""Cohorts: one run of a programme at a site, and their rosters."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from fabriqueterm.domain.models import Cohort, FollowUp, Learner, Placement, Site
from fabriqueterm.domain.validation import DomainValidationError, FieldError
from fabriqueterm.store.repositories.base import Page, Repository
from fabriqueterm.store.repositories.read_models import CohortLine, RosterLine
from fabriqueterm.store.repositories.sites import words_found


class CohortRepository(Repository[Cohort]):
    model = Cohort
    entity = "cohort"
    dependents = ((Learner, "cohort_id"),)

    def _check(self, session: Session, values: dict[str, Any], current: Cohort | None) -> None:
        self._require(session, Site, "site_id", values["site_id"])
        if current is not None and current.site_id != values["site_id"]:
            count = session.exec(
                select(func.count())
                .select_from(Learner)
                .where(col(Learner.cohort_id) == current.id)
            ).one()
            if count:
                raise DomainValidationError(
                    [FieldError("site_id", values["site_id"], "unknown_reference")]
                )
        if current is not None and values["start_date"] != current.start_date:
            earliest = session.exec(
                select(func.min(Placement.start_date))
                .join(Learner, col(Learner.id) == col(Placement.learner_id))
                .where(col(Learner.cohort_id) == current.id, col(Placement.deleted_at).is_(None))
            ).one()
            if earliest is not None and earliest < values["start_date"]:
                raise DomainValidationError(
                    [
                        FieldError(
                            "start_date",
                            values["start_date"],
                            "not_before_cohort",
                            (("start", earliest.isoformat()),),
                        )
                    ]
                )

    def _after_write(self, session: Session, row: Cohort, before: dict[str, Any] | None) -> None:
        if before is not None and before["end_date"] != row.end_date:
            self.store.follow_ups.move_generated_due_dates(session, row)

    def for_site(self, site_id: str, status: str | None = None) -> list[Cohort]:
        with self.store.read() as session:
            query = select(Cohort).where(
                col(Cohort.site_id) == site_id, col(Cohort.deleted_at).is_(None)
            )
            if status:
                query = query.where(col(Cohort.status) == status)
            return list(session.exec(query.order_by(col(Cohort.start_date).desc())))

    def page(
        self,
        needle: str = "",
        *,
        site_id: str | None = None,
        status: str | None = None,
        limit: int = 200,
        offset: int = 0,
    ) -> Page[CohortLine]:
        """Cohorts whose name or programme holds each word of ``needle`` (accents and case
        ignored), optionally of one site and one status, newest first, with their site's name and
        their learners counted."""
        with self.store.read() as session:
            where: list[Any] = [col(Cohort.deleted_at).is_(None)]
            if needle.strip():
                where.append(words_found(session, (Cohort.name, Cohort.programme), needle))
            if site_id:
                where.append(col(Cohort.site_id) == site_id)
            if status:
                where.append(col(Cohort.status) == status)
            total = session.exec(select(func.count()).select_from(Cohort).where(*where)).one()
            learners = (
                select(func.count())
                .select_from(Learner)
                .where(col(Learner.cohort_id) == col(Cohort.id), col(Learner.deleted_at).is_(None))
                .scalar_subquery()
            )
            query = (
                select(Cohort, Site.name, learners)
                .join(Site, col(Site.id) == col(Cohort.site_id))
                .where(*where)
                .order_by(col(Cohort.start_date).desc(), col(Cohort.name), col(Cohort.id))
                .limit(limit)
                .offset(offset)
            )
            rows = [
                CohortLine(cohort, site_name, int(n))
                for cohort, site_name, n in session.exec(query)
            ]
            return Page(rows, int(total), offset, limit)

    def roster(self, cohort_id: str) -> list[RosterLine]:
        """The cohort's learners by name, each with their latest placement and next follow-up
        not done (a cohort holds a few dozen learners: three small queries)."""
        with self.store.read() as session:
            learners = list(
                session.exec(
                    select(Learner)
                    .where(col(Learner.cohort_id) == cohort_id, col(Learner.deleted_at).is_(None))
                    .order_by(
                        func.lower(Learner.last_name),
                        func.lower(Learner.first_name),
                        col(Learner.id),
                    )
                )
            )
            ids = [learner.id for learner in learners]
            latest: dict[str, Placement] = {}
            for placement in session.exec(
                select(Placement)
                .where(col(Placement.learner_id).in_(ids), col(Placement.deleted_at).is_(None))
                .order_by(col(Placement.start_date), col(Placement.id))
            ):
                latest[placement.learner_id] = placement
            upcoming: dict[str, FollowUp] = {}
            for follow_up in session.exec(
                select(FollowUp)
                .where(
                    col(FollowUp.learner_id).in_(ids),
                    col(FollowUp.deleted_at).is_(None),
                    col(FollowUp.done_date).is_(None),
                )
                .order_by(col(FollowUp.due_date).desc(), col(FollowUp.id))
            ):
                upcoming[follow_up.learner_id] = follow_up
            return [
                RosterLine(learner, latest.get(learner.id), upcoming.get(learner.id))
                for learner in learners
            ]

    def names(self, ids: Sequence[str]) -> dict[str, str]:
        """The names of the cohorts ``ids`` by id."""
        if not ids:
            return {}
        with self.store.read() as session:
            query = select(Cohort.id, Cohort.name).where(col(Cohort.id).in_(list(set(ids))))
            return {row_id: name for row_id, name in session.exec(query)}
