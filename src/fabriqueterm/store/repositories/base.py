"""What every repository shares: reads and writes of one synced entity (:class:`Repository`), the
bounded pages lists come in, and the errors a read or a delete can raise.

Every write validates its input at the boundary (:mod:`fabriqueterm.domain.validation`), checks the
rules that span rows (a placement does not start before its cohort…), changes the row and records
its outbox mutation, all in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from sqlalchemy import func
from sqlmodel import Session, col, select

from fabriqueterm.domain.ids import uuid7
from fabriqueterm.domain.models import SyncedRow
from fabriqueterm.domain.validation import DomainValidationError, FieldError, validate
from fabriqueterm.i18n import N_, _

if TYPE_CHECKING:
    from fabriqueterm.store.db import Store

T = TypeVar("T", bound=SyncedRow)
R = TypeVar("R")

_SYNC_FIELDS = frozenset({"id", "created_at", "updated_at", "version", "deleted_at"})


# --- the app's lists come in bounded pages with their total ----------------------------------


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


def contains_pattern(needle: str) -> str:
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
            return self.create_in(session, data, row_id=row_id)

    def update(self, row_id: str, changes: dict[str, Any]) -> T:
        """Apply ``changes`` (only the fields given) after validating the whole resulting row."""
        with self.store.write() as session:
            return self.update_in(session, row_id, changes)

    def delete(self, row_id: str) -> None:
        """Write a tombstone: the row disappears from every list and the deletion syncs."""
        with self.store.write() as session:
            self.delete_in(session, row_id)

    def _complete(self, session: Session, data: dict[str, Any]) -> dict[str, Any]:
        """Fill derived fields (the denormalised site) before validation."""
        return data

    def _check(self, session: Session, values: dict[str, Any], current: T | None) -> None:
        """Rules spanning rows; raise DomainValidationError."""

    def _after_write(self, session: Session, row: T, before: dict[str, Any] | None) -> None:
        """Consequences of a write (generated follow-ups…), in the same transaction."""

    def create_in(self, session: Session, data: dict[str, Any], *, row_id: str | None = None) -> T:
        """:meth:`create` inside the caller's write transaction ``session``."""
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

    def update_in(self, session: Session, row_id: str, changes: dict[str, Any]) -> T:
        """:meth:`update` inside the caller's write transaction ``session``."""
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

    def delete_in(self, session: Session, row_id: str) -> None:
        """:meth:`delete` inside the caller's write transaction ``session``."""
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


def create_mutation(entity: str, row_id: str, values: dict[str, Any]) -> dict[str, Any]:
    """The outbox mutation of a created row, as :meth:`Repository.create_in` appends it."""
    return {
        "entity": entity,
        "row_id": row_id,
        "op": "create",
        "fields": values,
        "base_version": None,
        "base_values": {},
    }
