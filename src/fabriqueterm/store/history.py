"""A learner's change history: what changed in their record (the learner row, their placements and
follow-ups), when, and whether on this device or received from the commons.

Written in the transaction of the change itself: local writes through :meth:`History.record_local`
(called by the outbox, which every local write goes through), changes pulled from the commons through
:func:`record_pulled` (rows this device already had; a first sync records nothing: a row's own
``created_at`` says when it was made). An erasure deletes the person's history: it holds their
personal values.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import text

from fabriqueterm.store.outbox import to_json_value

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection
    from sqlmodel import Session

    from fabriqueterm.store.db import Store

#: The tables whose changes make up a learner's record.
LEARNER_ENTITIES = ("learner", "placement", "follow_up", "follow_up_attempt")
#: Bookkeeping columns (they change with every write and say nothing to a person) and the record's
#: own key.
_BOOKKEEPING = frozenset({"id", "created_at", "updated_at", "version", "site_id", "learner_id"})

_INSERT = (
    "INSERT INTO history (learner_id, entity, row_id, op, source, at, changes)"
    " VALUES (:learner_id, :entity, :row_id, :op, :source, :at, :changes)"
)


@dataclass(frozen=True)
class HistoryEntry:
    """One change of a learner's record."""

    entity: str
    row_id: str
    #: create, update, delete or erase.
    op: str
    #: "local" (made on this device) or "commons" (received by a sync).
    source: str
    #: UTC timestamp, ISO 8601.
    at: str
    #: field -> (before, after), JSON values; ``before`` is None for a creation.
    changes: dict[str, tuple[Any, Any]]


def _changes_json(changes: Mapping[str, tuple[Any, Any]]) -> str:
    return json.dumps(
        {
            name: [to_json_value(before), to_json_value(after)]
            for name, (before, after) in changes.items()
        },
        ensure_ascii=False,
        sort_keys=True,
    )


class History:
    """Reads and local writes of the change history."""

    def __init__(self, store: Store):
        self._store = store

    def record_local(self, session: Session, mutations: Sequence[Mapping[str, Any]]) -> None:
        """Record local mutations (the outbox's mappings: entity, row_id, op, fields, base_values)
        of learners, placements and follow-ups; call inside the transaction that made them."""
        rows = []
        at = self._store.clock.now().isoformat()
        for mutation in mutations:
            entity, row_id, op = mutation["entity"], mutation["row_id"], mutation["op"]
            if entity not in LEARNER_ENTITIES:
                continue
            if op == "erase":
                session.execute(text("DELETE FROM history WHERE learner_id = :id"), {"id": row_id})
            learner_id = _learner_of(session, entity, row_id, mutation["fields"])
            if learner_id is None:
                continue
            base = mutation.get("base_values") or {}
            changes = {
                name: (base.get(name), value)
                for name, value in mutation["fields"].items()
                if name not in _BOOKKEEPING and (op == "erase" or base.get(name) != value)
            }
            if op == "erase":
                changes = {}  # the wiped values say nothing; the entry says it happened
            rows.append(
                {
                    "learner_id": learner_id,
                    "entity": entity,
                    "row_id": row_id,
                    "op": op,
                    "source": "local",
                    "at": at,
                    "changes": _changes_json(changes),
                }
            )
        if rows:
            session.execute(text(_INSERT), rows)

    def of_learner(self, learner_id: str, *, limit: int = 200) -> list[HistoryEntry]:
        """The learner's history, newest first (at most ``limit`` entries)."""
        with self._store.read() as session:
            rows = session.execute(
                text(
                    "SELECT entity, row_id, op, source, at, changes FROM history"
                    " WHERE learner_id = :id ORDER BY id DESC LIMIT :limit"
                ),
                {"id": learner_id, "limit": limit},
            ).all()
        return [
            HistoryEntry(
                entity=entity,
                row_id=row_id,
                op=op,
                source=source,
                at=at,
                changes={name: (pair[0], pair[1]) for name, pair in json.loads(changes).items()},
            )
            for entity, row_id, op, source, at, changes in rows
        ]


def _learner_of(
    session: Session, entity: str, row_id: str, fields: Mapping[str, Any]
) -> str | None:
    if entity == "learner":
        return row_id
    if fields.get("learner_id"):
        return str(fields["learner_id"])
    found = session.execute(
        text(f"SELECT learner_id FROM {entity} WHERE id = :id"), {"id": row_id}
    ).first()
    return found[0] if found else None


def record_pulled(
    connection: Connection,
    entity: str,
    columns: Sequence[str],
    incoming: Iterable[Sequence[Any]],
    at: str,
    *,
    skip: set[str] = frozenset(),  # type: ignore[assignment]
) -> None:
    """Record what rows pulled from the commons change in rows this device already had (``incoming``:
    values in ``columns`` order, as the driver stores them), before they are written; rows of the
    learners in ``skip`` (erased in the same page) are left out."""
    if entity not in LEARNER_ENTITIES:
        return
    id_index = columns.index("id")
    learner_index = columns.index("id" if entity == "learner" else "learner_id")
    incoming = [values for values in incoming if values[learner_index] not in skip]
    driver = connection.connection.driver_connection
    if driver.execute(f"SELECT 1 FROM {entity} LIMIT 1").fetchone() is None:
        return  # a first sync: nothing to compare with
    deleted_index = columns.index("deleted_at")
    rows = []
    for start in range(0, len(incoming), 500):
        chunk = incoming[start : start + 500]
        marks = ", ".join("?" for _ in chunk)
        local = {
            row[id_index]: row
            for row in driver.execute(
                f"SELECT {', '.join(columns)} FROM {entity} WHERE id IN ({marks})",
                [r[id_index] for r in chunk],
            )
        }
        for values in chunk:
            before = local.get(values[id_index])
            if before is None:
                continue
            changes = {
                name: (before[index], values[index])
                for index, name in enumerate(columns)
                if name not in _BOOKKEEPING
                and name != "deleted_at"
                and before[index] != values[index]
            }
            deleted = before[deleted_index] is None and values[deleted_index] is not None
            if not changes and not deleted:
                continue
            rows.append(
                (
                    values[learner_index],
                    entity,
                    values[id_index],
                    "delete" if deleted else "update",
                    "commons",
                    at,
                    _changes_json(changes),
                )
            )
    if rows:
        driver.executemany(
            "INSERT INTO history (learner_id, entity, row_id, op, source, at, changes) VALUES (?, ?, ?, ?, ?, ?, ?)",
            rows,
        )


def forget_learner(connection: Connection, learner_id: str) -> None:
    """An erasure came from the commons: the person's history goes (it holds their values)."""
    connection.exec_driver_sql("DELETE FROM history WHERE learner_id = ?", (learner_id,))
