"""Placements: what a learner found (a job, a training…) and where."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from fabriqueterm.domain.models import Cohort, FollowUp, Learner, Partner, Placement
from fabriqueterm.domain.validation import DomainValidationError, FieldError
from fabriqueterm.store.repositories.base import Page, Repository
from fabriqueterm.store.repositories.read_models import PlacedLine


class PlacementRepository(Repository[Placement]):
    model = Placement
    entity = "placement"

    def _complete(self, session: Session, data: dict[str, Any]) -> dict[str, Any]:
        learner = self._require(session, Learner, "learner_id", data.get("learner_id") or None)
        if learner is not None:
            data["site_id"] = learner.site_id
        return data

    def _check(self, session: Session, values: dict[str, Any], current: Placement | None) -> None:
        learner = self._require(session, Learner, "learner_id", values["learner_id"])
        self._require(session, Partner, "partner_id", values.get("partner_id"))
        self._require(session, FollowUp, "source_followup_id", values.get("source_followup_id"))
        cohort = session.get(Cohort, learner.cohort_id)
        if cohort is not None and values["start_date"] < cohort.start_date:
            raise DomainValidationError(
                [
                    FieldError(
                        "start_date",
                        values["start_date"],
                        "not_before_cohort",
                        (("start", cohort.start_date.isoformat()),),
                    )
                ]
            )

    def for_learner(self, learner_id: str) -> list[Placement]:
        with self.store.read() as session:
            query = select(Placement).where(
                col(Placement.learner_id) == learner_id, col(Placement.deleted_at).is_(None)
            )
            return list(session.exec(query.order_by(col(Placement.start_date))))

    def for_partner(self, partner_id: str, *, limit: int = 200) -> Page[PlacedLine]:
        """The placements at ``partner_id`` (an employer or a training body), newest first, with
        the learner and their cohort's name."""
        with self.store.read() as session:
            where = [
                col(Placement.partner_id) == partner_id,
                col(Placement.deleted_at).is_(None),
                col(Learner.deleted_at).is_(None),
            ]
            total = session.exec(
                select(func.count())
                .select_from(Placement)
                .join(Learner, col(Learner.id) == col(Placement.learner_id))
                .where(*where)
            ).one()
            query = (
                select(Placement, Learner, Cohort.name)
                .join(Learner, col(Learner.id) == col(Placement.learner_id))
                .join(Cohort, col(Cohort.id) == col(Learner.cohort_id))
                .where(*where)
                .order_by(col(Placement.start_date).desc(), col(Placement.id))
                .limit(limit)
            )
            rows = [
                PlacedLine(p, learner, cohort_name)
                for p, learner, cohort_name in session.exec(query)
            ]
            return Page(rows, int(total), 0, limit)
