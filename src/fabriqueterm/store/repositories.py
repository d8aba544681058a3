"""Repositories: the only way the app reads and writes its data.

Every write validates its input at the boundary (:mod:`fabriqueterm.domain.validation`), checks the
rules that span rows (a placement does not start before its cohort…), changes the row and records
its outbox mutation, all in one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from sqlalchemy import func, text
from sqlmodel import Session, col, select

from fabriqueterm.domain.dates import add_months
from fabriqueterm.domain.enums import (
    COMPLETER_STATUSES,
    GENERATED_MILESTONES,
    Milestone,
)
from fabriqueterm.domain.ids import follow_up_id, partner_site_id, uuid7
from fabriqueterm.domain.models import (
    LEARNER_PERSONAL_FIELDS,
    Cohort,
    FollowUp,
    Learner,
    Partner,
    PartnerSite,
    Placement,
    Site,
    SyncedRow,
)
from fabriqueterm.domain.validation import DomainValidationError, FieldError, validate

if TYPE_CHECKING:
    from fabriqueterm.store.db import Store

T = TypeVar("T", bound=SyncedRow)

_SYNC_FIELDS = frozenset({"id", "created_at", "updated_at", "version", "deleted_at"})


class NotFound(LookupError):
    """No live row with that id (never existed, deleted, or outside this coordinator's scope)."""


def row_values(row: SyncedRow) -> dict[str, Any]:
    """The editable fields of a row, as a dict."""
    return {k: v for k, v in row.model_dump().items() if k not in _SYNC_FIELDS}


class Repository(Generic[T]):
    """Reads and writes of one synced entity."""

    model: ClassVar[type[SyncedRow]]
    entity: ClassVar[str]

    def __init__(self, store: Store):
        self.store = store

    # --- reads -----------------------------------------------------------------------------

    def get(self, row_id: str) -> T:
        with self.store.read() as session:
            return self._get(session, row_id)

    def _get(self, session: Session, row_id: str) -> T:
        row = session.get(self.model, row_id)
        if row is None or row.deleted_at is not None:
            raise NotFound(f"{self.entity} {row_id}")
        return row  # type: ignore[return-value]

    def count(self) -> int:
        with self.store.read() as session:
            return int(
                session.exec(
                    select(func.count()).select_from(self.model).where(col(self.model.deleted_at).is_(None))
                ).one()
            )

    # --- writes ----------------------------------------------------------------------------

    def create(self, data: dict[str, Any], *, row_id: str | None = None) -> T:
        """Validate ``data``, insert the row and its outbox mutation in one transaction."""
        with self.store.write() as session:
            return self._create(session, data, row_id=row_id)

    def update(self, row_id: str, changes: dict[str, Any]) -> T:
        """Apply ``changes`` (only the fields given) after validating the whole resulting row."""
        with self.store.write() as session:
            return self._update(session, row_id, changes)

    def delete(self, row_id: str) -> None:
        """Write a tombstone: the row disappears from every list and the deletion syncs."""
        with self.store.write() as session:
            self._delete(session, row_id)

    def _complete(self, session: Session, data: dict[str, Any]) -> dict[str, Any]:
        """Fill derived fields (the denormalised site) before validation."""
        return data

    def _check(self, session: Session, values: dict[str, Any], current: T | None) -> None:
        """Rules spanning rows; raise DomainValidationError."""

    def _after_write(self, session: Session, row: T, before: dict[str, Any] | None) -> None:
        """Consequences of a write (generated follow-ups…), in the same transaction."""

    def _create(self, session: Session, data: dict[str, Any], *, row_id: str | None = None) -> T:
        values = validate(self.entity, self._complete(session, dict(data)))
        self._check(session, values, None)
        now = self.store.clock.now()
        row = self.model(id=row_id or uuid7(), created_at=now, updated_at=now, **values)
        session.add(row)
        session.flush()
        self.store.outbox.append(
            session,
            entity=self.entity,
            row_id=row.id,
            op="create",
            fields=values,
            base_version=None,
            base_values={},
        )
        self._after_write(session, row, None)  # type: ignore[arg-type]
        return row  # type: ignore[return-value]

    def _update(self, session: Session, row_id: str, changes: dict[str, Any]) -> T:
        row = self._get(session, row_id)
        before = row_values(row)
        unknown = [k for k in changes if k not in before]
        if unknown:
            raise DomainValidationError([FieldError(k, changes[k], "unknown_field") for k in unknown])
        values = validate(self.entity, self._complete(session, {**before, **changes}))
        self._check(session, values, row)
        changed = {k: v for k, v in values.items() if before.get(k) != v}
        if not changed:
            return row
        for key, value in changed.items():
            setattr(row, key, value)
        row.updated_at = self.store.clock.now()
        session.add(row)
        session.flush()
        self.store.outbox.append(
            session,
            entity=self.entity,
            row_id=row.id,
            op="update",
            fields=changed,
            base_version=row.version,
            base_values={k: before[k] for k in changed},
        )
        self._after_write(session, row, before)
        return row

    def _delete(self, session: Session, row_id: str) -> None:
        row = self._get(session, row_id)
        row.deleted_at = row.updated_at = self.store.clock.now()
        session.add(row)
        session.flush()
        self.store.outbox.append(
            session,
            entity=self.entity,
            row_id=row.id,
            op="delete",
            fields={},
            base_version=row.version,
            base_values={},
        )

    def _require(self, session: Session, model: type[SyncedRow], field: str, row_id: str | None) -> Any:
        """The live row ``row_id`` refers to, or a validation error on ``field``."""
        if row_id is None:
            return None
        row = session.get(model, row_id)
        if row is None or row.deleted_at is not None:
            raise DomainValidationError([FieldError(field, row_id, "unknown_reference")])
        return row


class SiteRepository(Repository[Site]):
    model = Site
    entity = "site"

    def all(self, *, include_inactive: bool = True) -> list[Site]:
        with self.store.read() as session:
            query = select(Site).where(col(Site.deleted_at).is_(None))
            if not include_inactive:
                query = query.where(col(Site.active).is_(True))
            return list(session.exec(query.order_by(col(Site.name))))


class PartnerRepository(Repository[Partner]):
    model = Partner
    entity = "partner"

    def create_for_sites(self, data: dict[str, Any], site_ids: Sequence[str]) -> Partner:
        """Create a partner and link it to ``site_ids``, in one transaction."""
        with self.store.write() as session:
            partner = self._create(session, data)
            for site_id in site_ids:
                self._link(session, partner.id, site_id)
            return partner

    def link(self, partner_id: str, site_id: str) -> None:
        with self.store.write() as session:
            self._get(session, partner_id)
            self._link(session, partner_id, site_id)

    def _link(self, session: Session, partner_id: str, site_id: str) -> None:
        self._require(session, Site, "site_id", site_id)
        link_id = partner_site_id(partner_id, site_id)
        existing = session.get(PartnerSite, link_id)
        if existing is not None and existing.deleted_at is None:
            return
        values = validate("partner_site", {"partner_id": partner_id, "site_id": site_id})
        now = self.store.clock.now()
        if existing is None:
            session.add(PartnerSite(id=link_id, created_at=now, updated_at=now, **values))
            op, base = "create", None
        else:  # a link removed earlier and made again
            existing.deleted_at, existing.updated_at, base = None, now, existing.version
            session.add(existing)
            op = "update"
        session.flush()
        self.store.outbox.append(
            session, entity="partner_site", row_id=link_id, op=op, fields=values, base_version=base, base_values={}
        )

    def for_site(self, site_id: str) -> list[Partner]:
        with self.store.read() as session:
            query = (
                select(Partner)
                .join(PartnerSite, col(PartnerSite.partner_id) == col(Partner.id))
                .where(
                    col(PartnerSite.site_id) == site_id,
                    col(PartnerSite.deleted_at).is_(None),
                    col(Partner.deleted_at).is_(None),
                )
                .order_by(col(Partner.name))
            )
            return list(session.exec(query))

    def all(self) -> list[Partner]:
        with self.store.read() as session:
            return list(
                session.exec(select(Partner).where(col(Partner.deleted_at).is_(None)).order_by(col(Partner.name)))
            )


class CohortRepository(Repository[Cohort]):
    model = Cohort
    entity = "cohort"

    def _check(self, session: Session, values: dict[str, Any], current: Cohort | None) -> None:
        self._require(session, Site, "site_id", values["site_id"])
        if current is not None and current.site_id != values["site_id"]:
            count = session.exec(
                select(func.count()).select_from(Learner).where(col(Learner.cohort_id) == current.id)
            ).one()
            if count:
                raise DomainValidationError([FieldError("site_id", values["site_id"], "unknown_reference")])
        if current is not None and values["start_date"] != current.start_date:
            earliest = session.exec(
                select(func.min(Placement.start_date))
                .join(Learner, col(Learner.id) == col(Placement.learner_id))
                .where(col(Learner.cohort_id) == current.id, col(Placement.deleted_at).is_(None))
            ).one()
            if earliest is not None and earliest < values["start_date"]:
                raise DomainValidationError(
                    [FieldError("start_date", values["start_date"], "not_before_cohort", (("start", earliest.isoformat()),))]
                )

    def _after_write(self, session: Session, row: Cohort, before: dict[str, Any] | None) -> None:
        if before is not None and before["end_date"] != row.end_date:
            self.store.follow_ups._move_generated_due_dates(session, row)

    def for_site(self, site_id: str, status: str | None = None) -> list[Cohort]:
        with self.store.read() as session:
            query = select(Cohort).where(col(Cohort.site_id) == site_id, col(Cohort.deleted_at).is_(None))
            if status:
                query = query.where(col(Cohort.status) == status)
            return list(session.exec(query.order_by(col(Cohort.start_date).desc())))


class LearnerRepository(Repository[Learner]):
    model = Learner
    entity = "learner"

    def _complete(self, session: Session, data: dict[str, Any]) -> dict[str, Any]:
        cohort = self._require(session, Cohort, "cohort_id", data.get("cohort_id") or None)
        if cohort is not None:
            data["site_id"] = cohort.site_id
        return data

    def _check(self, session: Session, values: dict[str, Any], current: Learner | None) -> None:
        self._require(session, Partner, "prescriber_id", values.get("prescriber_id"))

    def _after_write(self, session: Session, row: Learner, before: dict[str, Any] | None) -> None:
        if row.status in COMPLETER_STATUSES:
            self.store.follow_ups._generate_for_completer(session, row)

    def erase(self, row_id: str) -> None:
        """Right to be forgotten: wipe the personal fields and write a tombstone, in one transaction
        with its outbox mutation, so the erasure reaches the commons and every other device."""
        with self.store.write() as session:
            row = session.get(Learner, row_id)
            if row is None:
                raise NotFound(f"learner {row_id}")
            wiped = {"first_name": "", "last_name": "", "email": None, "phone": None, "birth_year": None, "dropout_reason": ""}
            assert set(wiped) == set(LEARNER_PERSONAL_FIELDS)
            for key, value in wiped.items():
                setattr(row, key, value)
            row.deleted_at = row.updated_at = self.store.clock.now()
            session.add(row)
            for model in (FollowUp, Placement):
                for child in session.exec(select(model).where(col(model.learner_id) == row_id)):
                    child.notes = ""
                    session.add(child)
            session.flush()
            self.store.outbox.append(
                session, entity="learner", row_id=row_id, op="erase", fields=wiped, base_version=row.version, base_values={}
            )

    def in_cohort(self, cohort_id: str) -> list[Learner]:
        with self.store.read() as session:
            query = (
                select(Learner)
                .where(col(Learner.cohort_id) == cohort_id, col(Learner.deleted_at).is_(None))
                .order_by(func.lower(Learner.last_name), func.lower(Learner.first_name))
            )
            return list(session.exec(query))

    def search(self, needle: str, *, limit: int = 50) -> tuple[list[Learner], int]:
        """Learners whose name, email or phone contains ``needle``: (first ``limit`` by name, total).

        Uses the FTS5 trigram index for 3 characters or more, a NOCASE name-prefix index below.
        Phone digits typed with spaces or dots ("06 12") match the stored E.164 form.
        """
        needle = needle.strip()
        if not needle:
            return [], 0
        digits = "".join(ch for ch in needle if ch.isdigit())
        terms = [needle]
        if digits and len(digits) >= 3 and len(digits) >= len(needle.replace(" ", "").replace(".", "")) - 1:
            terms.append(digits[1:] if digits.startswith("0") else digits)
        with self.store.read() as session:
            if len(needle) >= 3:
                match = " OR ".join('"' + t.replace('"', '""') + '"' for t in terms if len(t) >= 3)
                where = (
                    "rowid IN (SELECT rowid FROM learner_search WHERE learner_search MATCH :match)"
                    " AND deleted_at IS NULL"
                )
                params: dict[str, Any] = {"match": match}
            else:
                where = (
                    "(last_name LIKE :prefix OR first_name LIKE :prefix) AND deleted_at IS NULL"
                )
                params = {"prefix": needle.replace("%", r"\%").replace("_", r"\_") + "%"}
            total = session.execute(text(f"SELECT count(*) FROM learner WHERE {where}"), params).scalar() or 0
            ids = [
                r[0]
                for r in session.execute(
                    text(
                        f"SELECT id FROM learner WHERE {where}"
                        " ORDER BY last_name COLLATE NOCASE, first_name COLLATE NOCASE LIMIT :limit"
                    ),
                    {**params, "limit": limit},
                )
            ]
            rows = {r.id: r for r in session.exec(select(Learner).where(col(Learner.id).in_(ids)))}
            return [rows[i] for i in ids if i in rows], int(total)


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


@dataclass(frozen=True)
class DueFollowUp:
    """A line of the follow-up queue ("À appeler")."""

    follow_up: FollowUp
    learner: Learner
    site_name: str
    cohort_name: str


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
            query = select(FollowUp).where(col(FollowUp.learner_id) == learner_id, col(FollowUp.deleted_at).is_(None))
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

    def _generate_for_completer(self, session: Session, learner: Learner) -> None:
        """The follow-ups due at the end, +3 and +6 months; deterministic ids merge the copies
        two devices may make offline."""
        cohort = session.get(Cohort, learner.cohort_id)
        if cohort is None:
            return
        for milestone in GENERATED_MILESTONES:
            row_id = follow_up_id(learner.id, milestone.value)
            if session.get(FollowUp, row_id) is not None:
                continue
            self._create(
                session,
                {
                    "learner_id": learner.id,
                    "milestone": milestone.value,
                    "due_date": add_months(cohort.end_date, milestone.months),
                },
                row_id=row_id,
            )

    def _move_generated_due_dates(self, session: Session, cohort: Cohort) -> None:
        """When a cohort's end date changes, so do the generated follow-ups not yet done."""
        query = (
            select(FollowUp)
            .join(Learner, col(Learner.id) == col(FollowUp.learner_id))
            .where(
                col(Learner.cohort_id) == cohort.id,
                col(FollowUp.done_date).is_(None),
                col(FollowUp.deleted_at).is_(None),
            )
        )
        for follow_up in list(session.exec(query)):
            milestone = Milestone(follow_up.milestone)
            if follow_up.id != follow_up_id(follow_up.learner_id, milestone.value):
                continue  # made by hand: the person chose its date
            due = add_months(cohort.end_date, milestone.months)
            if follow_up.due_date != due:
                self._update(session, follow_up.id, {"due_date": due})
