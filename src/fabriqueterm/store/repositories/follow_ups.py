"""Follow-ups: the queue of calls due ("À appeler"), the attempts of each call (append-only rows),
closing a follow-up, and the follow-ups the app generates for completers. The rules (call-back
dates, when a follow-up may close as unreachable) live in :mod:`fabriqueterm.domain.followups`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import or_, text
from sqlmodel import Session, col, select

from fabriqueterm.domain.enums import Closing, Outcome, Situation
from fabriqueterm.domain.followups import (
    FollowUpRules,
    default_callback,
    generated_follow_ups,
    moved_due_date,
    unreachable_allowed,
)
from fabriqueterm.domain.models import (
    Cohort,
    FollowUp,
    FollowUpAttempt,
    Learner,
    Placement,
    Site,
)
from fabriqueterm.domain.validation import DomainValidationError, FieldError
from fabriqueterm.store.repositories.base import Repository
from fabriqueterm.store.repositories.read_models import AttemptLine, AttemptsSoFar, DueFollowUp


class CallLogValidationError(DomainValidationError):
    """A logged call that cannot be saved: what is wrong with the call and with the placements."""

    def __init__(self, call_errors: list[FieldError], placement_errors: list[FieldError]):
        self.call_errors = call_errors
        self.placement_errors = placement_errors
        super().__init__([*call_errors, *placement_errors])


@dataclass(frozen=True)
class LoggedCall:
    """What logging an attempt did."""

    follow_up: FollowUp
    attempt: FollowUpAttempt
    placements: list[Placement]

    @property
    def closed(self) -> bool:
        return self.follow_up.done_date is not None


def _latest_attempt_first() -> tuple[Any, ...]:
    return (
        col(FollowUpAttempt.attempted_on).desc(),
        col(FollowUpAttempt.created_at).desc(),
        col(FollowUpAttempt.id).desc(),
    )


def _callback_of(follow_up_id: Any) -> Any:
    """The call-back date of a follow-up: its latest attempt's (SQL scalar subquery)."""
    return (
        select(FollowUpAttempt.callback_date)
        .where(
            col(FollowUpAttempt.follow_up_id) == follow_up_id,
            col(FollowUpAttempt.deleted_at).is_(None),
        )
        .order_by(*_latest_attempt_first())
        .limit(1)
        .scalar_subquery()
    )


def attempts_so_far(
    attempts: Sequence[FollowUpAttempt], learner: Learner | None, rules: FollowUpRules
) -> AttemptsSoFar:
    """Sum up one follow-up's ``attempts`` (any order)."""
    if not attempts:
        return AttemptsSoFar()
    ordered = sorted(attempts, key=lambda a: (a.attempted_on, a.created_at, a.id))
    last = ordered[-1]
    doubtful = last.outcome == Outcome.WRONG_NUMBER and (
        learner is None or learner.updated_at <= last.created_at
    )
    return AttemptsSoFar(
        count=len(ordered),
        last_outcome=last.outcome,
        last_on=last.attempted_on,
        callback_date=last.callback_date,
        may_close_unreachable=unreachable_allowed(
            [(a.attempted_on, a.outcome) for a in ordered], rules
        ),
        contact_doubtful=doubtful,
    )


class FollowUpAttemptRepository(Repository[FollowUpAttempt]):
    """Attempts are only ever created (and tombstoned with their follow-up): never edited, so two
    devices logging calls for the same learner offline never conflict over them."""

    model = FollowUpAttempt
    entity = "follow_up_attempt"

    def _complete(self, session: Session, data: dict[str, Any]) -> dict[str, Any]:
        follow_up = self._require(session, FollowUp, "follow_up_id", data.get("follow_up_id"))
        if follow_up is not None:
            data["site_id"] = follow_up.site_id
            data["learner_id"] = follow_up.learner_id
        return data

    def update_in(self, session: Session, row_id: str, changes: dict[str, Any]) -> FollowUpAttempt:
        raise DomainValidationError([FieldError("id", row_id, "op_not_allowed")])

    def for_follow_up(self, follow_up_id: str) -> list[FollowUpAttempt]:
        """The attempts of a follow-up, oldest first."""
        with self.store.read() as session:
            return self._of(session, [follow_up_id]).get(follow_up_id, [])

    def for_learner(self, learner_id: str) -> list[AttemptLine]:
        """Every attempt made for a learner, newest first, with the follow-up's milestone."""
        with self.store.read() as session:
            query = (
                select(FollowUpAttempt, FollowUp.milestone)
                .join(FollowUp, col(FollowUp.id) == col(FollowUpAttempt.follow_up_id))
                .where(
                    col(FollowUpAttempt.learner_id) == learner_id,
                    col(FollowUpAttempt.deleted_at).is_(None),
                )
                .order_by(*_latest_attempt_first())
            )
            return [AttemptLine(a, milestone) for a, milestone in session.exec(query)]

    @staticmethod
    def _of(session: Session, follow_up_ids: Sequence[str]) -> dict[str, list[FollowUpAttempt]]:
        found: dict[str, list[FollowUpAttempt]] = {}
        ids = list(follow_up_ids)
        for start in range(0, len(ids), 500):
            query = (
                select(FollowUpAttempt)
                .where(
                    col(FollowUpAttempt.follow_up_id).in_(ids[start : start + 500]),
                    col(FollowUpAttempt.deleted_at).is_(None),
                )
                .order_by(
                    col(FollowUpAttempt.attempted_on),
                    col(FollowUpAttempt.created_at),
                    col(FollowUpAttempt.id),
                )
            )
            for attempt in session.exec(query):
                found.setdefault(attempt.follow_up_id, []).append(attempt)
        return found


class FollowUpRepository(Repository[FollowUp]):
    model = FollowUp
    entity = "follow_up"
    dependents = ((FollowUpAttempt, "follow_up_id"),)

    def _complete(self, session: Session, data: dict[str, Any]) -> dict[str, Any]:
        learner = self._require(session, Learner, "learner_id", data.get("learner_id") or None)
        if learner is not None:
            data["site_id"] = learner.site_id
        return data

    @property
    def attempts(self) -> FollowUpAttemptRepository:
        return FollowUpAttemptRepository(self.store)

    def delete_in(self, session: Session, row_id: str) -> None:
        """A follow-up deleted by hand takes its attempts with it (tombstones)."""
        for attempt in self.attempts._of(session, [row_id]).get(row_id, []):
            self.attempts.delete_in(session, attempt.id)
        super().delete_in(session, row_id)

    def for_learner(self, learner_id: str) -> list[FollowUp]:
        with self.store.read() as session:
            query = select(FollowUp).where(
                col(FollowUp.learner_id) == learner_id, col(FollowUp.deleted_at).is_(None)
            )
            return list(session.exec(query.order_by(col(FollowUp.due_date))))

    def due(
        self, today: date, *, limit: int = 500, rules: FollowUpRules = FollowUpRules()
    ) -> list[DueFollowUp]:
        """The work list: follow-ups open, due on or before ``today`` and not waiting for a
        call-back date after ``today``, grouped by site, oldest first; each with its attempts."""
        with self.store.read() as session:
            callback = _callback_of(FollowUp.id)
            query = (
                select(FollowUp, Learner, Site.name, Cohort.name, Cohort.end_date)
                .join(Learner, col(Learner.id) == col(FollowUp.learner_id))
                .join(Cohort, col(Cohort.id) == col(Learner.cohort_id))
                .join(Site, col(Site.id) == col(FollowUp.site_id))
                .where(
                    col(FollowUp.done_date).is_(None),
                    col(FollowUp.deleted_at).is_(None),
                    col(FollowUp.due_date) <= today,
                    col(Learner.deleted_at).is_(None),
                    or_(callback.is_(None), callback <= today),
                )
                .order_by(col(Site.name), col(FollowUp.due_date), col(Learner.last_name))
                .limit(limit)
            )
            rows = list(session.exec(query))
            attempts = self.attempts._of(session, [f.id for f, *_ in rows])
            return [
                DueFollowUp(
                    f,
                    learner,
                    site,
                    cohort,
                    attempts_so_far(attempts.get(f.id, []), learner, rules),
                    end,
                )
                for f, learner, site, cohort, end in rows
            ]

    def count_due(self, today: date) -> tuple[int, int]:
        """How many follow-ups are in the work list on ``today`` (see :meth:`due`), and how many
        of them are overdue (due more than 7 days before ``today``)."""
        with self.store.read() as session:
            row = session.execute(
                text(
                    "SELECT count(*), coalesce(sum(f.due_date < :overdue_before), 0) FROM follow_up f"
                    " JOIN learner l ON l.id = f.learner_id"
                    " WHERE f.done_date IS NULL AND f.deleted_at IS NULL AND f.due_date <= :today"
                    " AND l.deleted_at IS NULL AND coalesce((SELECT a.callback_date"
                    " FROM follow_up_attempt a WHERE a.follow_up_id = f.id AND a.deleted_at IS NULL"
                    " ORDER BY a.attempted_on DESC, a.created_at DESC, a.id DESC LIMIT 1), :today)"
                    " <= :today"
                ),
                {
                    "today": today.isoformat(),
                    "overdue_before": (today - timedelta(days=7)).isoformat(),
                },
            ).one()
            return int(row[0]), int(row[1])

    def attempts_so_far(
        self, follow_up_id: str, rules: FollowUpRules = FollowUpRules()
    ) -> AttemptsSoFar:
        with self.store.read() as session:
            follow_up = self._get(session, follow_up_id)
            learner = session.get(Learner, follow_up.learner_id)
            found = self.attempts._of(session, [follow_up_id]).get(follow_up_id, [])
            return attempts_so_far(found, learner, rules)

    def log_attempt(
        self,
        follow_up_id: str,
        attempt: dict[str, Any],
        placements: Sequence[dict[str, Any]] = (),
        *,
        phone: str | None = None,
        rules: FollowUpRules = FollowUpRules(),
    ) -> LoggedCall:
        """Record one attempt (``attempted_on``, ``channel``, ``outcome``, ``callback_date``,
        ``situation``, ``notes``, ``made_by``) and its consequences, in one transaction: reached
        closes the follow-up with the ``placements`` learned (each saved with this follow-up as
        its source), declined closes it, an unanswered attempt keeps it open until its call-back
        date (by default ``rules.callback_working_days`` working days later), and a wrong number
        with a corrected ``phone`` corrects the learner's. All of it is saved or none
        (:class:`CallLogValidationError` lists what is wrong with the call and the placements)."""
        with self.store.write() as session:
            follow_up = self._get(session, follow_up_id)
            call_errors: list[FieldError] = []
            placement_errors: list[FieldError] = []
            data = {**attempt, "follow_up_id": follow_up.id}
            if follow_up.done_date is not None:
                raise CallLogValidationError(
                    [FieldError("follow_up_id", follow_up.id, "follow_up_closed")], []
                )
            try:
                outcome = Outcome(data.get("outcome") or "")
            except ValueError:
                outcome = None
            if placements and (outcome is None or outcome == Outcome.REACHED):
                data["situation"] = Situation.PLACEMENTS.value
            if (
                outcome is not None
                and outcome.calls_back
                and not data.get("callback_date")
                and data.get("attempted_on")
            ):
                try:
                    called = date.fromisoformat(str(data["attempted_on"]))
                    data["callback_date"] = default_callback(called, rules)
                except ValueError:
                    pass  # validation names the bad call date
            created = None
            try:
                created = self.attempts.create_in(session, data)
            except DomainValidationError as error:
                call_errors = error.errors
            made: list[Placement] = []
            if outcome is not None and outcome != Outcome.REACHED and placements:
                call_errors.append(FieldError("outcome", outcome.value, "placements_when_reached"))
            for placement in placements:
                try:
                    made.append(
                        self.store.placements.create_in(
                            session,
                            {
                                **placement,
                                "learner_id": follow_up.learner_id,
                                "source_followup_id": follow_up.id,
                            },
                        )
                    )
                except DomainValidationError as error:
                    placement_errors.extend(error.errors)
            if outcome == Outcome.WRONG_NUMBER and phone:
                try:
                    self.store.learners.update_in(session, follow_up.learner_id, {"phone": phone})
                except DomainValidationError as error:
                    call_errors.extend(error.errors)
            if call_errors or placement_errors or created is None:
                raise CallLogValidationError(call_errors, placement_errors)  # rolls back all
            closing = outcome.closing if outcome is not None else None
            if closing is not None:
                follow_up = self.update_in(
                    session,
                    follow_up.id,
                    {
                        "done_date": created.attempted_on,
                        "outcome": closing.value,
                        "channel": created.channel,
                    },
                )
            return LoggedCall(follow_up, created, made)

    def close_unreachable(
        self, follow_up_id: str, on: date, *, rules: FollowUpRules = FollowUpRules()
    ) -> FollowUp:
        """Close a follow-up as unreachable on ``on``: only after enough unanswered attempts
        spread over enough days (``rules``). The learner stays in every denominator."""
        with self.store.write() as session:
            follow_up = self._get(session, follow_up_id)
            if follow_up.done_date is not None:
                raise DomainValidationError(
                    [FieldError("follow_up_id", follow_up.id, "follow_up_closed")]
                )
            found = self.attempts._of(session, [follow_up_id]).get(follow_up_id, [])
            if not unreachable_allowed([(a.attempted_on, a.outcome) for a in found], rules):
                raise DomainValidationError(
                    [
                        FieldError(
                            "outcome",
                            Closing.UNREACHABLE.value,
                            "unreachable_too_soon",
                            (
                                ("attempts", rules.unreachable_attempts),
                                ("days", rules.unreachable_days),
                            ),
                        )
                    ]
                )
            return self.update_in(
                session,
                follow_up_id,
                {"done_date": on, "outcome": Closing.UNREACHABLE.value, "channel": None},
            )

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
