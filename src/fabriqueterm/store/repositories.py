"""Repositories: the only way the app reads and writes its data.

Every write validates its input at the boundary (:mod:`fabriqueterm.domain.validation`), checks the
rules that span rows (a placement does not start before its cohort…), changes the row and records
its outbox mutation, all in one transaction.
"""

from __future__ import annotations

import json
import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from sqlalchemy import func, insert, or_, text
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
from fabriqueterm.domain.validation import INPUT_MODELS, DomainValidationError, FieldError, validate
from fabriqueterm.i18n import N_, _

if TYPE_CHECKING:
    from fabriqueterm.store.db import Store

T = TypeVar("T", bound=SyncedRow)
R = TypeVar("R")

_SYNC_FIELDS = frozenset({"id", "created_at", "updated_at", "version", "deleted_at"})


# --- read models of the app's lists (bounded pages with their total) -------------------------


@dataclass(frozen=True)
class Page(Generic[R]):
    """A bounded slice of a list and how many rows the whole list holds."""

    rows: list[R]
    total: int
    offset: int = 0
    limit: int = 0

    @property
    def has_more(self) -> bool:
        return self.offset + len(self.rows) < self.total


def _contains(needle: str) -> str:
    """A LIKE pattern matching ``needle`` anywhere (``%`` and ``_`` taken literally, escape ``\\``)."""
    escaped = needle.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class DeleteRefused(Exception):
    """A row that still has live children (a cohort with learners…): nothing was deleted."""

    def __init__(self, entity: str, child: str, count: int):
        self.entity, self.child, self.count = entity, child, count
        super().__init__(str(self))

    def __str__(self) -> str:
        return _(
            "This record still has {count} linked record(s) ({child}): delete or move them first."
        ).format(count=self.count, child=_(_CHILD_LABELS.get(self.child, self.child)))


_CHILD_LABELS = {"cohort": N_("cohorts"), "learner": N_("learners")}


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
                    select(func.count())
                    .select_from(self.model)
                    .where(col(self.model.deleted_at).is_(None))
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
            raise DomainValidationError(
                [FieldError(k, changes[k], "unknown_field") for k in unknown]
            )
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

    #: Child rows that must be deleted first: (model, column naming this row). A tombstone on a
    #: parent would otherwise leave live children nobody can reach.
    dependents: ClassVar[tuple[tuple[type[SyncedRow], str], ...]] = ()

    def _delete(self, session: Session, row_id: str) -> None:
        row = self._get(session, row_id)
        for model, column in self.dependents:
            live = session.exec(
                select(func.count())
                .select_from(model)
                .where(getattr(model, column) == row_id, col(model.deleted_at).is_(None))
            ).one()
            if live:
                raise DeleteRefused(self.entity, model.__tablename__, int(live))
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

    def _require(
        self, session: Session, model: type[SyncedRow], field: str, row_id: str | None
    ) -> Any:
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
    dependents = ((Cohort, "site_id"),)

    def all(self, *, include_inactive: bool = True) -> list[Site]:
        with self.store.read() as session:
            query = select(Site).where(col(Site.deleted_at).is_(None))
            if not include_inactive:
                query = query.where(col(Site.active).is_(True))
            return list(session.exec(query.order_by(col(Site.name))))

    def page(self, needle: str = "", *, limit: int = 200, offset: int = 0) -> Page[SiteLine]:
        """Sites whose name, city or region contains ``needle``, by name, with their running
        cohorts and live learners counted."""
        with self.store.read() as session:
            where: list[Any] = [col(Site.deleted_at).is_(None)]
            if needle.strip():
                pattern = _contains(needle)
                where.append(
                    or_(
                        *(
                            col(c).like(pattern, escape="\\")
                            for c in (Site.name, Site.city, Site.region)
                        )
                    )
                )
            total = session.exec(select(func.count()).select_from(Site).where(*where)).one()
            running = (
                select(func.count())
                .select_from(Cohort)
                .where(
                    col(Cohort.site_id) == col(Site.id),
                    col(Cohort.deleted_at).is_(None),
                    col(Cohort.status) == "running",
                )
                .scalar_subquery()
            )
            learners = (
                select(func.count())
                .select_from(Learner)
                .where(col(Learner.site_id) == col(Site.id), col(Learner.deleted_at).is_(None))
                .scalar_subquery()
            )
            query = (
                select(Site, running, learners)
                .where(*where)
                .order_by(col(Site.name), col(Site.id))
                .limit(limit)
                .offset(offset)
            )
            rows = [SiteLine(site, int(r), int(n)) for site, r, n in session.exec(query)]
            return Page(rows, int(total), offset, limit)

    def names(self) -> dict[str, str]:
        """Every live site's name by id (a coordinator has a handful of sites)."""
        with self.store.read() as session:
            query = select(Site.id, Site.name).where(col(Site.deleted_at).is_(None))
            return {row_id: name for row_id, name in session.exec(query)}


class PartnerRepository(Repository[Partner]):
    model = Partner
    entity = "partner"

    def page(
        self, needle: str = "", *, kind: str | None = None, limit: int = 200, offset: int = 0
    ) -> Page[Partner]:
        """Partners whose name, city or contact contains ``needle`` (of ``kind`` when given), by name."""
        with self.store.read() as session:
            where: list[Any] = [col(Partner.deleted_at).is_(None)]
            if needle.strip():
                pattern = _contains(needle)
                where.append(
                    or_(
                        *(
                            col(c).like(pattern, escape="\\")
                            for c in (Partner.name, Partner.city, Partner.contact_name)
                        )
                    )
                )
            if kind:
                where.append(col(Partner.kinds).like(f"%{kind}%"))
            total = session.exec(select(func.count()).select_from(Partner).where(*where)).one()
            query = select(Partner).where(*where).order_by(col(Partner.name), col(Partner.id))
            rows = list(session.exec(query.limit(limit).offset(offset)))
            return Page(rows, int(total), offset, limit)

    def sites_of(self, partner_id: str) -> list[Site]:
        """The live sites ``partner_id`` is linked to, by name."""
        with self.store.read() as session:
            query = (
                select(Site)
                .join(PartnerSite, col(PartnerSite.site_id) == col(Site.id))
                .where(
                    col(PartnerSite.partner_id) == partner_id,
                    col(PartnerSite.deleted_at).is_(None),
                    col(Site.deleted_at).is_(None),
                )
                .order_by(col(Site.name))
            )
            return list(session.exec(query))

    def unlink(self, partner_id: str, site_id: str) -> None:
        """Remove the link between a partner and a site (a tombstone on the link row)."""
        with self.store.write() as session:
            link = session.get(PartnerSite, partner_site_id(partner_id, site_id))
            if link is None or link.deleted_at is not None:
                return
            self._delete_link(session, link)

    def _delete_link(self, session: Session, link: PartnerSite) -> None:
        link.deleted_at = link.updated_at = self.store.clock.now()
        session.add(link)
        session.flush()
        self.store.outbox.append(
            session,
            entity="partner_site",
            row_id=link.id,
            op="delete",
            fields={},
            base_version=link.version,
            base_values={},
        )

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
            session,
            entity="partner_site",
            row_id=link_id,
            op=op,
            fields=values,
            base_version=base,
            base_values={},
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
                session.exec(
                    select(Partner)
                    .where(col(Partner.deleted_at).is_(None))
                    .order_by(col(Partner.name))
                )
            )


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
            self.store.follow_ups._move_generated_due_dates(session, row)

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
        """Cohorts whose name or programme contains ``needle``, optionally of one site and one
        status, newest first, with their site's name and their learners counted."""
        with self.store.read() as session:
            where: list[Any] = [col(Cohort.deleted_at).is_(None)]
            if needle.strip():
                pattern = _contains(needle)
                where.append(
                    or_(
                        *(
                            col(c).like(pattern, escape="\\")
                            for c in (Cohort.name, Cohort.programme)
                        )
                    )
                )
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


#: Rows per INSERT statement of LearnerRepository.create_many (and per progress report).
_BULK_BATCH = 500
_LEARNER_FIELDS = frozenset(INPUT_MODELS["learner"].model_fields)
_FROM_COHORT = frozenset({"cohort_id", "site_id"})
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
_LEARNER_TABLE: Any = Learner.__table__  # type: ignore[attr-defined]
_FOLLOW_UP_TABLE: Any = FollowUp.__table__  # type: ignore[attr-defined]


def _bulk_learner_values(values: Mapping[str, Any], cohort: Cohort) -> dict[str, Any]:
    """``values`` (validated) placed in ``cohort``; ValueError for values not shaped by
    ``validate("learner", …)`` or meant for another cohort: a caller's mistake, not bad input."""
    missing = _LEARNER_FIELDS - _FROM_COHORT - values.keys()
    unknown = values.keys() - _LEARNER_FIELDS
    if missing or unknown:
        raise ValueError(
            f"not validated learner values: missing {sorted(missing)}, unknown {sorted(unknown)}"
        )
    if values.get("cohort_id", cohort.id) != cohort.id:
        raise ValueError(
            f"values of cohort {values['cohort_id']} given to create learners in cohort {cohort.id}"
        )
    return {**values, "cohort_id": cohort.id, "site_id": cohort.site_id}


def _create_mutation(entity: str, row_id: str, values: dict[str, Any]) -> dict[str, Any]:
    """The outbox mutation of a created row, as Repository._create appends it."""
    return {
        "entity": entity,
        "row_id": row_id,
        "op": "create",
        "fields": values,
        "base_version": None,
        "base_values": {},
    }


class LearnerRepository(Repository[Learner]):
    model = Learner
    entity = "learner"

    def _complete(self, session: Session, data: dict[str, Any]) -> dict[str, Any]:
        cohort = self._require(session, Cohort, "cohort_id", data.get("cohort_id") or None)
        if cohort is not None:
            data["site_id"] = cohort.site_id
        return data

    def _check(self, session: Session, values: dict[str, Any], current: Learner | None) -> None:
        # create_many checks the same for a whole batch in one query: change both together.
        self._require(session, Partner, "prescriber_id", values.get("prescriber_id"))

    def _after_write(self, session: Session, row: Learner, before: dict[str, Any] | None) -> None:
        # create_many makes the same follow-ups in bulk (FollowUpRepository._generated).
        if row.status in COMPLETER_STATUSES:
            self.store.follow_ups._generate_for_completer(session, row)

    def create_many(
        self,
        cohort_id: str,
        validated: Sequence[Mapping[str, Any]],
        *,
        progress: Callable[[int, int], None] | None = None,
    ) -> list[str]:
        """Create learners of the cohort ``cohort_id`` in bulk, in one transaction: each row, its
        outbox mutation and a completer's generated follow-ups are what :meth:`create` makes, and
        the search index is kept by its trigger.

        ``validated`` holds values returned by ``validate("learner", …)`` (an importer checks every
        row to show its preview): they are not validated again, and their ``site_id`` is set from the
        cohort. The rules spanning rows are checked for the whole batch: the cohort and every
        prescriber must be live records, else :class:`DomainValidationError`. All or nothing: when
        any row cannot be written, nothing is. ``progress(done, total)`` is called after each batch
        of rows written. Returns the new learners' ids in the order given (ids, not rows: reading
        10,000 rows back as objects costs more than writing them).
        """
        total = len(validated)
        with self.store.write() as session:
            cohort = self._require(session, Cohort, "cohort_id", cohort_id)
            rows = [_bulk_learner_values(values, cohort) for values in validated]
            prescribers = sorted(
                {v["prescriber_id"] for v in rows if v["prescriber_id"] is not None}
            )
            if prescribers:
                live = set(
                    session.exec(
                        select(Partner.id).where(
                            col(Partner.id).in_(prescribers), col(Partner.deleted_at).is_(None)
                        )
                    )
                )
                unknown = [p for p in prescribers if p not in live]
                if unknown:
                    raise DomainValidationError(
                        [FieldError("prescriber_id", p, "unknown_reference") for p in unknown]
                    )
            now = self.store.clock.now()
            created: list[str] = []
            for start in range(0, total, _BULK_BATCH):
                batch = rows[start : start + _BULK_BATCH]
                learners: list[dict[str, Any]] = []
                follow_ups: list[dict[str, Any]] = []
                mutations: list[dict[str, Any]] = []  # in the order create() would append them
                for values in batch:
                    row_id = uuid7()
                    created.append(row_id)
                    learners.append({**values, "id": row_id, "created_at": now, "updated_at": now})
                    mutations.append(_create_mutation("learner", row_id, values))
                    if values["status"] not in COMPLETER_STATUSES:
                        continue
                    # A new learner's follow-ups cannot exist yet: no lookup, unlike _generate_for_completer.
                    for follow_up_row_id, data in self.store.follow_ups._generated(row_id, cohort):
                        checked = validate("follow_up", {**data, "site_id": values["site_id"]})
                        follow_ups.append(
                            {
                                **checked,
                                "id": follow_up_row_id,
                                "created_at": now,
                                "updated_at": now,
                            }
                        )
                        mutations.append(_create_mutation("follow_up", follow_up_row_id, checked))
                # RETURNING makes SQLAlchemy send the batch as multi-row INSERTs, and FTS5 writes its
                # pending index once per statement: the search trigger costs ten times less than row by row.
                session.execute(
                    insert(_LEARNER_TABLE).returning(_LEARNER_TABLE.c.id), learners
                ).all()
                if follow_ups:
                    session.execute(insert(_FOLLOW_UP_TABLE), follow_ups)
                self.store.outbox.append_many(session, mutations)
                if progress is not None:
                    progress(start + len(batch), total)
            return created

    def holding_contacts(self, emails: Sequence[str], phones: Sequence[str]) -> list[Learner]:
        """Live learners whose email is one of ``emails`` (ignoring the case of ASCII letters, as
        SQLite's lower() does) or whose phone (E.164) is one of ``phones``, oldest first: one pass
        over the table whatever the number of values, instead of reading every contact."""
        if not emails and not phones:
            return []
        held = text(
            "lower(email) IN (SELECT value FROM json_each(:emails))"
            " OR phone IN (SELECT value FROM json_each(:phones))"
        ).bindparams(
            emails=json.dumps([e.translate(_ASCII_LOWER) for e in emails]),
            phones=json.dumps(list(phones)),
        )
        with self.store.read() as session:
            query = (
                select(Learner)
                .where(col(Learner.deleted_at).is_(None), held)
                .order_by(col(Learner.created_at), col(Learner.id))
            )
            return list(session.exec(query))

    def erase(self, row_id: str) -> None:
        """Right to be forgotten: wipe the personal fields and write a tombstone, in one transaction
        with its outbox mutation, so the erasure reaches the commons and every other device."""
        with self.store.write() as session:
            row = session.get(Learner, row_id)
            if row is None:
                raise NotFound(f"learner {row_id}")
            wiped = {
                "first_name": "",
                "last_name": "",
                "email": None,
                "phone": None,
                "birth_year": None,
                "dropout_reason": "",
            }
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
            self.store.outbox.scrub(session, entity="learner", row_id=row_id, wiped=wiped)
            self.store.outbox.append(
                session,
                entity="learner",
                row_id=row_id,
                op="erase",
                fields=wiped,
                base_version=row.version,
                base_values={},
            )

    def in_cohort(self, cohort_id: str) -> list[Learner]:
        with self.store.read() as session:
            query = (
                select(Learner)
                .where(col(Learner.cohort_id) == cohort_id, col(Learner.deleted_at).is_(None))
                .order_by(func.lower(Learner.last_name), func.lower(Learner.first_name))
            )
            return list(session.exec(query))

    def search(
        self, needle: str, *, limit: int = 50, offset: int = 0, total: int | None = None
    ) -> tuple[list[Learner], int]:
        """Learners whose name, email or phone contains ``needle``: (``limit`` of them by name from
        ``offset``, total). A ``total`` already known (a later page) is not counted again.

        Uses the FTS5 trigram index for 3 characters or more, a NOCASE name-prefix index below.
        Phone digits typed with spaces or dots ("06 12") match the stored E.164 form.
        """
        needle = needle.strip()
        if not needle:
            return [], 0
        digits = "".join(ch for ch in needle if ch.isdigit())
        terms = [needle]
        if (
            digits
            and len(digits) >= 3
            and len(digits) >= len(needle.replace(" ", "").replace(".", "")) - 1
        ):
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
                    "(last_name LIKE :prefix ESCAPE '\\' OR first_name LIKE :prefix ESCAPE '\\')"
                    " AND deleted_at IS NULL"
                )
                params = {"prefix": needle.replace("%", r"\%").replace("_", r"\_") + "%"}
            # Trigram matches are all sorted anyway: counting them in that same pass reads each match
            # once, not twice. The name-prefix walk stops early in its index: it is counted apart.
            count_in_page = total is None and len(needle) >= 3
            if total is None and not count_in_page:
                total = (
                    session.execute(
                        text(f"SELECT count(*) FROM learner WHERE {where}"), params
                    ).scalar()
                    or 0
                )
            # rowid breaks ties between namesakes, so consecutive pages never overlap.
            found = session.execute(
                text(
                    f"SELECT id{', count(*) OVER ()' if count_in_page else ''} FROM learner WHERE {where}"
                    " ORDER BY last_name COLLATE NOCASE, first_name COLLATE NOCASE, rowid"
                    " LIMIT :limit OFFSET :offset"
                ),
                {**params, "limit": limit, "offset": offset},
            ).all()
            ids = [r[0] for r in found]
            if count_in_page:
                total = found[0][1] if found else 0
                if not found and offset:  # past the end: the window saw no row to count
                    total = (
                        session.execute(
                            text(f"SELECT count(*) FROM learner WHERE {where}"), params
                        ).scalar()
                        or 0
                    )
            rows = {r.id: r for r in session.exec(select(Learner).where(col(Learner.id).in_(ids)))}
            return [rows[i] for i in ids if i in rows], int(total)

    def page(
        self, needle: str = "", *, limit: int = 200, offset: int = 0, total: int | None = None
    ) -> Page[Learner]:
        """Learners matching ``needle`` (see :meth:`search`), or everyone by name when it is
        empty: a bounded page and the total (``total`` when given: not counted again)."""
        if needle.strip():
            rows, total = self.search(needle, limit=limit, offset=offset, total=total)
            return Page(rows, total, offset, limit)
        with self.store.read() as session:
            if total is None:
                total = session.exec(
                    select(func.count())
                    .select_from(Learner)
                    .where(col(Learner.deleted_at).is_(None))
                ).one()
            ids = [
                r[0]
                for r in session.execute(
                    text(
                        "SELECT id FROM learner WHERE deleted_at IS NULL"
                        " ORDER BY last_name COLLATE NOCASE, first_name COLLATE NOCASE, rowid LIMIT :limit OFFSET :offset"
                    ),
                    {"limit": limit, "offset": offset},
                )
            ]
            found = {r.id: r for r in session.exec(select(Learner).where(col(Learner.id).in_(ids)))}
            return Page([found[i] for i in ids if i in found], int(total), offset, limit)

    def profile(self, learner_id: str) -> LearnerProfile:
        """A learner with everything their detail screen shows, read in one snapshot."""
        with self.store.read() as session:
            learner = self._get(session, learner_id)
            cohort = session.get(Cohort, learner.cohort_id)
            site = session.get(Site, learner.site_id)
            prescriber = (
                session.get(Partner, learner.prescriber_id) if learner.prescriber_id else None
            )
            placements = list(
                session.exec(
                    select(Placement)
                    .where(
                        col(Placement.learner_id) == learner_id, col(Placement.deleted_at).is_(None)
                    )
                    .order_by(col(Placement.start_date), col(Placement.id))
                )
            )
            partner_ids = [p.partner_id for p in placements if p.partner_id]
            partner_names = (
                {
                    row_id: name
                    for row_id, name in session.exec(
                        select(Partner.id, Partner.name).where(col(Partner.id).in_(partner_ids))
                    )
                }
                if partner_ids
                else {}
            )
            follow_ups = list(
                session.exec(
                    select(FollowUp)
                    .where(
                        col(FollowUp.learner_id) == learner_id, col(FollowUp.deleted_at).is_(None)
                    )
                    .order_by(col(FollowUp.due_date), col(FollowUp.id))
                )
            )
            changes = [
                LocalChange(r["seq"], r["op"], r["created_at"], r["state"], r["fields"])
                for r in session.execute(
                    text(
                        "SELECT seq, op, created_at, state, fields FROM outbox"
                        " WHERE entity = 'learner' AND row_id = :id ORDER BY seq DESC LIMIT 20"
                    ),
                    {"id": learner_id},
                ).mappings()
            ]
            return LearnerProfile(
                learner=learner,
                cohort_name=cohort.name if cohort else "",
                site_name=site.name if site else "",
                prescriber_name=prescriber.name if prescriber else "",
                placements=placements,
                partner_names=partner_names,
                follow_ups=follow_ups,
                local_changes=changes,
            )


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


@dataclass(frozen=True)
class DueFollowUp:
    """A line of the follow-up queue ("À appeler")."""

    follow_up: FollowUp
    learner: Learner
    site_name: str
    cohort_name: str


@dataclass(frozen=True)
class SiteLine:
    """A line of the sites list."""

    site: Site
    cohorts_running: int
    learners: int


@dataclass(frozen=True)
class CohortLine:
    """A line of the cohorts list."""

    cohort: Cohort
    site_name: str
    learners: int


@dataclass(frozen=True)
class RosterLine:
    """A learner of a cohort with their latest placement and next follow-up not done."""

    learner: Learner
    latest_placement: Placement | None
    next_follow_up: FollowUp | None


@dataclass(frozen=True)
class PlacedLine:
    """A placement at a partner, with who was placed."""

    placement: Placement
    learner: Learner
    cohort_name: str


@dataclass(frozen=True)
class LocalChange:
    """A local edit of a row still in the outbox (not yet answered by the commons)."""

    seq: int
    op: str
    created_at: str
    state: str
    fields: str


@dataclass(frozen=True)
class LearnerProfile:
    """Everything the learner detail screen shows."""

    learner: Learner
    cohort_name: str
    site_name: str
    prescriber_name: str
    placements: list[Placement]
    partner_names: dict[str, str]
    follow_ups: list[FollowUp]
    local_changes: list[LocalChange]


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
                follow_up = self._update(session, follow_up_id, call)
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
                    created = self.store.placements._create(session, data)
                except DomainValidationError as error:
                    placement_errors = error.errors
            if call_errors or placement_errors:
                raise CallLogValidationError(
                    call_errors, placement_errors
                )  # rolls the call back too
            return follow_up, created

    def _generate_for_completer(self, session: Session, learner: Learner) -> None:
        """The follow-ups due at the end, +3 and +6 months; deterministic ids merge the copies
        two devices may make offline."""
        cohort = session.get(Cohort, learner.cohort_id)
        if cohort is None:
            return
        for row_id, data in self._generated(learner.id, cohort):
            if session.get(FollowUp, row_id) is not None:
                continue
            self._create(session, data, row_id=row_id)

    @staticmethod
    def _generated(learner_id: str, cohort: Cohort) -> list[tuple[str, dict[str, Any]]]:
        """The id and data of each follow-up generated for a completer of ``cohort``."""
        return [
            (
                follow_up_id(learner_id, milestone.value),
                {
                    "learner_id": learner_id,
                    "milestone": milestone.value,
                    "due_date": add_months(cohort.end_date, milestone.months),
                },
            )
            for milestone in GENERATED_MILESTONES
        ]

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
