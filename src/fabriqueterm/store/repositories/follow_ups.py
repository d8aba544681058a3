"""Follow-ups: the queue of calls due ("À appeler"), logging a call, and the follow-ups the app
generates for completers (their schedule is :mod:`fabriqueterm.domain.followups`)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import text
from sqlmodel import Session, col, select

from fabriqueterm.domain.followups import generated_follow_ups, moved_due_date
from fabriqueterm.domain.models import Cohort, FollowUp, Learner, Placement, Site
from fabriqueterm.domain.validation import DomainValidationError, FieldError
from fabriqueterm.store.repositories.base import Repository
from fabriqueterm.store.repositories.read_models import DueFollowUp


class CallLogValidationError(DomainValidationError):
    """A logged call that cannot be saved: what is wrong with the call and with the placement."""

    def __init__(self, call_errors: list[FieldError], placement_errors: list[FieldError]):
        self.call_errors = call_errors
        self.placement_errors = placement_errors
        super().__init__([*call_errors, *placement_errors])


class FollowUpRepository(Repository[FollowUp]):
    model = FollowUp
    entity = "follow_up"

    def _complete(self, session: Session, data: dict[str, Any]) -> dict[str, Any]:
        learner = self._require(session, Learner, "learner_id", data.get("learner_id") or None)
        if learner is not None:
            data["site_id"] = learner.site_id
        return data

    def for_learner(self, learner_id: str) -> list[FollowUp]:
        with self.store.read() as session:
            query = select(FollowUp).where(
                col(FollowUp.learner_id) == learner_id, col(FollowUp.deleted_at).is_(None)
            )
            return list(session.exec(query.order_by(col(FollowUp.due_date))))

    def due(self, today: date, *, limit: int = 500) -> list[DueFollowUp]:
        """Follow-ups due on or before ``today`` and not done, grouped by site, oldest first."""
        with self.store.read() as session:
            query = (
                select(FollowUp, Learner, Site.name, Cohort.name)
                .join(Learner, col(Learner.id) == col(FollowUp.learner_id))
                .join(Cohort, col(Cohort.id) == col(Learner.cohort_id))
                .join(Site, col(Site.id) == col(FollowUp.site_id))
                .where(
                    col(FollowUp.done_date).is_(None),
                    col(FollowUp.deleted_at).is_(None),
                    col(FollowUp.due_date) <= today,
                    col(Learner.deleted_at).is_(None),
                )
                .order_by(col(Site.name), col(FollowUp.due_date), col(Learner.last_name))
                .limit(limit)
            )
            return [DueFollowUp(f, learner, s, c) for f, learner, s, c in session.exec(query)]

    def count_due(self, today: date) -> tuple[int, int]:
        """How many follow-ups are due on or before ``today`` and not done, and how many of them
        are overdue (due more than 7 days before ``today``)."""
        with self.store.read() as session:
            row = session.execute(
                text(
                    "SELECT count(*), coalesce(sum(f.due_date < :overdue_before), 0) FROM follow_up f"
                    " JOIN learner l ON l.id = f.learner_id"
                    " WHERE f.done_date IS NULL AND f.deleted_at IS NULL AND f.due_date <= :today"
                    " AND l.deleted_at IS NULL"
                ),
                {
                    "today": today.isoformat(),
                    "overdue_before": (today - timedelta(days=7)).isoformat(),
                },
            ).one()
            return int(row[0]), int(row[1])

    def log_call(
        self,
        follow_up_id: str,
        call: dict[str, Any],
        placement: dict[str, Any] | None = None,
    ) -> tuple[FollowUp, Placement | None]:
        """Record a follow-up call (``done_date``, ``channel``, ``outcome``, ``notes``) and, when
        the learner found something, the placement learned from it, in one transaction: both are
        saved or neither (:class:`CallLogValidationError` lists what is wrong with each)."""
        with self.store.write() as session:
            follow_up = self._get(session, follow_up_id)
            call_errors: list[FieldError] = []
            placement_errors: list[FieldError] = []
            try:
                follow_up = self.update_in(session, follow_up_id, call)
            except DomainValidationError as error:
                call_errors = error.errors
            created = None
            if placement is not None:
                data = {
                    **placement,
                    "learner_id": follow_up.learner_id,
                    "source_followup_id": follow_up.id,
                }
                try:
                    created = self.store.placements.create_in(session, data)
                except DomainValidationError as error:
                    placement_errors = error.errors
            if call_errors or placement_errors:
                raise CallLogValidationError(
                    call_errors, placement_errors
                )  # rolls the call back too
            return follow_up, created

    def generate_for_completer(self, session: Session, learner: Learner) -> None:
        """The follow-ups due at the end, +3 and +6 months; deterministic ids merge the copies
        two devices may make offline."""
        cohort = session.get(Cohort, learner.cohort_id)
        if cohort is None:
            return
        for row_id, data in generated_follow_ups(learner.id, cohort.end_date):
            if session.get(FollowUp, row_id) is not None:
                continue
            self.create_in(session, data, row_id=row_id)

    def move_generated_due_dates(self, session: Session, cohort: Cohort) -> tuple[int, int]:
        """When a cohort's end date changes, so do the generated follow-ups not yet done. Returns
        how many moved, and how many of those became overdue (due more than 7 days before today,
        and not before the move)."""
        overdue_before = self.store.clock.today() - timedelta(days=7)
        query = (
            select(FollowUp)
            .join(Learner, col(Learner.id) == col(FollowUp.learner_id))
            .where(
                col(Learner.cohort_id) == cohort.id,
                col(FollowUp.done_date).is_(None),
                col(FollowUp.deleted_at).is_(None),
            )
        )
        moved = became_overdue = 0
        for follow_up in list(session.exec(query)):
            due = moved_due_date(
                follow_up.id,
                follow_up.learner_id,
                follow_up.milestone,
                follow_up.due_date,
                cohort.end_date,
            )
            if due is not None:
                was_overdue = follow_up.due_date < overdue_before
                self.update_in(session, follow_up.id, {"due_date": due})
                moved += 1
                became_overdue += due < overdue_before and not was_overdue
        return moved, became_overdue
