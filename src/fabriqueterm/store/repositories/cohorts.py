"""Cohorts: one run of a programme at a site, their rosters, and their lifecycle (docs/domain.md,
"Cohort lifecycle"): closing a finished cohort, an end date that moves its follow-ups, capacity."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from fabriqueterm.domain.enums import CohortStatus, LearnerStatus
from fabriqueterm.domain.lifecycle import status_by_dates
from fabriqueterm.domain.models import Cohort, FollowUp, Learner, Placement, Site
from fabriqueterm.domain.validation import DomainValidationError, FieldError
from fabriqueterm.store.repositories.base import Page, Repository
from fabriqueterm.store.repositories.read_models import CohortLine, RosterLine
from fabriqueterm.store.repositories.sites import words_found

#: Where update_in's consequences leave the follow-ups an end date change moved (session.info).
_MOVED = "fabriqueterm.cohort_moved_follow_ups"
#: The final statuses a closing may give (an enrolled learner's last status in the cohort).
FINAL_STATUSES = (LearnerStatus.GRADUATED, LearnerStatus.CERTIFIED, LearnerStatus.DROPPED_OUT)
#: Learners who take a seat of the planned capacity: everyone but candidates.
_SEATED = col(Learner.status) != LearnerStatus.CANDIDATE.value


@dataclass(frozen=True)
class FollowUpsMoved:
    """What an end date change did to the cohort's generated follow-ups not yet done."""

    moved: int
    became_overdue: int


@dataclass(frozen=True)
class CohortEdit:
    """A saved cohort and, when its end date changed, what that did to its follow-ups."""

    cohort: Cohort
    follow_ups: FollowUpsMoved | None = None


@dataclass(frozen=True)
class CohortToClose:
    """A cohort whose end date is reached (or set finished) with learners still enrolled."""

    cohort: Cohort
    site_name: str
    enrolled: int


@dataclass(frozen=True)
class Closing:
    """What the closing flow shows: the cohort and its learners still enrolled, by name."""

    cohort: Cohort
    site_name: str
    enrolled: list[Learner]


@dataclass(frozen=True)
class FinalStatus:
    """The status an enrolled learner leaves the cohort with (an exception to "graduated")."""

    status: str
    dropout_date: date | str | None = None
    dropout_reason: str = ""


@dataclass(frozen=True)
class ClosingResult:
    """What :meth:`CohortRepository.close` wrote."""

    graduated: int
    certified: int
    dropped_out: int
    follow_ups_created: int
    #: Set when the end date was brought to today to close the cohort.
    end_date_moved: FollowUpsMoved | None = None


class CohortNotEnded(Exception):
    """The cohort's end date is after today: it cannot be closed (nothing was written)."""

    def __init__(self, end_date: date, today: date):
        self.end_date, self.today = end_date, today
        super().__init__(f"cohort ends on {end_date}, after {today}")


class ClosingRefused(DomainValidationError):
    """Some final statuses are invalid (a dropout without date or reason…): nothing was written.
    ``by_learner`` holds each learner's problems."""

    def __init__(self, by_learner: dict[str, list[FieldError]]):
        self.by_learner = by_learner
        super().__init__([error for errors in by_learner.values() for error in errors])


class CohortRepository(Repository[Cohort]):
    model = Cohort
    entity = "cohort"
    dependents = ((Learner, "cohort_id"),)

    def _check(self, session: Session, values: dict[str, Any], current: Cohort | None) -> None:
        self._require(session, Site, "site_id", values["site_id"])
        # A cohort saved "planned" with its start date reached is running: the rule of
        # start_running, applied on save so the form and the import cannot contradict it.
        values["status"] = status_by_dates(
            values["status"], values["start_date"], self.store.clock.today()
        )
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
            moved, overdue = self.store.follow_ups.move_generated_due_dates(session, row)
            session.info[_MOVED] = FollowUpsMoved(moved, overdue)

    def edit(self, row_id: str, changes: dict[str, Any]) -> CohortEdit:
        """:meth:`update`, saying how many follow-ups an end date change moved and how many of
        them became overdue."""
        with self.store.write() as session:
            session.info.pop(_MOVED, None)
            row = self.update_in(session, row_id, changes)
            return CohortEdit(row, session.info.pop(_MOVED, None))

    # --- the lifecycle ---------------------------------------------------------------------

    def start_running(self) -> list[Cohort]:
        """Set running every live planned cohort whose start date is reached (``store.clock``),
        in one transaction, each an outbox update like a save from the form. Returns them (none
        when run again the same day: nothing to do). Never moves a cohort back, never touches
        finished ones. Two devices doing it offline push the same value, which the commons
        takes as nothing to do."""
        today = self.store.clock.today()
        with self.store.write() as session:
            due = list(
                session.exec(
                    select(Cohort)
                    .where(
                        col(Cohort.deleted_at).is_(None),
                        col(Cohort.status) == CohortStatus.PLANNED.value,
                        col(Cohort.start_date) <= today,
                    )
                    .order_by(col(Cohort.start_date), col(Cohort.id))
                )
            )
            return [
                self.update_in(
                    session,
                    cohort.id,
                    {"status": status_by_dates(cohort.status, cohort.start_date, today)},
                )
                for cohort in due
            ]

    def seats(self, cohort_id: str) -> tuple[int, int]:
        """How many learners take a seat in the cohort (everyone live but candidates), and its
        planned capacity (0: none planned). Beyond capacity the app warns, never refuses."""
        with self.store.read() as session:
            cohort = self._get(session, cohort_id)
            return self._seated(session, cohort_id), cohort.capacity

    def _seated(self, session: Session, cohort_id: str) -> int:
        return int(
            session.exec(
                select(func.count())
                .select_from(Learner)
                .where(
                    col(Learner.cohort_id) == cohort_id,
                    col(Learner.deleted_at).is_(None),
                    _SEATED,
                )
            ).one()
        )

    def enrolled_count(self, cohort_id: str) -> int:
        """How many live learners of the cohort are still "enrolled"."""
        with self.store.read() as session:
            return len(self._enrolled(session, cohort_id))

    def _enrolled(self, session: Session, cohort_id: str) -> list[Learner]:
        return list(
            session.exec(
                select(Learner)
                .where(
                    col(Learner.cohort_id) == cohort_id,
                    col(Learner.deleted_at).is_(None),
                    col(Learner.status) == LearnerStatus.ENROLLED.value,
                )
                .order_by(
                    func.lower(Learner.last_name), func.lower(Learner.first_name), col(Learner.id)
                )
            )
        )

    def to_close(self, today: date) -> list[CohortToClose]:
        """Cohorts to close: end date on or before ``today`` (or set finished) with learners
        still enrolled, oldest end first, each with how many."""
        with self.store.read() as session:
            enrolled = func.count(col(Learner.id))
            query = (
                select(Cohort, Site.name, enrolled)
                .join(Site, col(Site.id) == col(Cohort.site_id))
                .join(Learner, col(Learner.cohort_id) == col(Cohort.id))
                .where(
                    col(Cohort.deleted_at).is_(None),
                    (col(Cohort.end_date) <= today)
                    | (col(Cohort.status) == CohortStatus.FINISHED.value),
                    col(Learner.deleted_at).is_(None),
                    col(Learner.status) == LearnerStatus.ENROLLED.value,
                )
                .group_by(col(Cohort.id))
                .order_by(col(Cohort.end_date), col(Cohort.name), col(Cohort.id))
            )
            return [CohortToClose(c, name, int(n)) for c, name, n in session.exec(query)]

    def closing(self, cohort_id: str) -> Closing:
        """The cohort and its learners still enrolled, for the closing flow."""
        with self.store.read() as session:
            cohort = self._get(session, cohort_id)
            site = session.get(Site, cohort.site_id)
            return Closing(cohort, site.name if site else "", self._enrolled(session, cohort_id))

    def close(
        self,
        cohort_id: str,
        exceptions: Mapping[str, FinalStatus] | None = None,
        *,
        end_today: bool = False,
    ) -> ClosingResult:
        """Close a cohort in one transaction: every learner still enrolled gets a final status
        (graduated, unless ``exceptions`` gives them certified or dropped out with a date and a
        reason), the completers get their generated follow-ups, and the cohort becomes finished.
        All or nothing.

        A cohort whose end date is after today raises :class:`CohortNotEnded`, unless
        ``end_today``: its end date then becomes today (moving its generated follow-ups) in the
        same transaction. Invalid final statuses raise :class:`ClosingRefused`."""
        exceptions = dict(exceptions or {})
        with self.store.write() as session:
            cohort = self._get(session, cohort_id)
            today = self.store.clock.today()
            moved = None
            if cohort.end_date > today:
                if not end_today:
                    raise CohortNotEnded(cohort.end_date, today)
                session.info.pop(_MOVED, None)
                cohort = self.update_in(session, cohort_id, {"end_date": today})
                moved = session.info.pop(_MOVED, None)
            enrolled = self._enrolled(session, cohort_id)
            ids = [learner.id for learner in enrolled]
            strangers = set(exceptions) - set(ids)
            if strangers:
                raise ValueError(f"not enrolled in cohort {cohort_id}: {sorted(strangers)}")
            follow_ups_before = self._follow_ups_of(session, ids)
            counts = dict.fromkeys(FINAL_STATUSES, 0)
            problems: dict[str, list[FieldError]] = {}
            for learner in enrolled:
                final = exceptions.get(learner.id, FinalStatus(LearnerStatus.GRADUATED.value))
                try:
                    status = LearnerStatus(final.status)
                    if status not in FINAL_STATUSES:
                        raise ValueError(status)
                except ValueError:
                    problems[learner.id] = [
                        FieldError("status", final.status, "choice", (("enum", "LearnerStatus"),))
                    ]
                    continue
                changes: dict[str, Any] = {"status": status.value}
                if status is LearnerStatus.DROPPED_OUT:
                    changes["dropout_date"] = final.dropout_date
                    changes["dropout_reason"] = final.dropout_reason
                    if not (final.dropout_reason or "").strip():
                        problems[learner.id] = [FieldError("dropout_reason", "", "missing")]
                try:
                    self.store.learners.update_in(session, learner.id, changes)
                except DomainValidationError as error:
                    problems.setdefault(learner.id, []).extend(error.errors)
                    continue
                counts[status] += 1
            if problems:
                raise ClosingRefused(problems)  # rolls back every learner written above
            if cohort.status != CohortStatus.FINISHED.value:
                self.update_in(session, cohort_id, {"status": CohortStatus.FINISHED.value})
            created = self._follow_ups_of(session, ids) - follow_ups_before
            return ClosingResult(
                graduated=counts[LearnerStatus.GRADUATED],
                certified=counts[LearnerStatus.CERTIFIED],
                dropped_out=counts[LearnerStatus.DROPPED_OUT],
                follow_ups_created=created,
                end_date_moved=moved,
            )

    @staticmethod
    def _follow_ups_of(session: Session, learner_ids: Sequence[str]) -> int:
        if not learner_ids:
            return 0
        return int(
            session.exec(
                select(func.count())
                .select_from(FollowUp)
                .where(col(FollowUp.learner_id).in_(list(learner_ids)))
            ).one()
        )

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
