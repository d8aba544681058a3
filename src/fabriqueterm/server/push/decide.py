"""Deciding one mutation of a push against the batch: create, update (merged field by field, or
a conflict), delete; erasure is :mod:`.erasure`. A refused mutation is rejected with its reasons.

Each decision runs under a :class:`~.batch.Mark`: a rejection, or any exception while deciding
(a value Python cannot represent, a bug), puts the batch back as it was before this mutation and
answers it ``rejected`` (``invalid`` when unexpected, logged without values: they may be
personal). Database errors are not caught here: they are the transaction's (:mod:`.transaction`)."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.exc import DBAPIError

from fabriqueterm.server.db import SYNCED_TABLES
from fabriqueterm.server.push.batch import Batch
from fabriqueterm.server.push.conflicts import NONE, add_conflict
from fabriqueterm.server.push.erasure import erase
from fabriqueterm.server.push.validation import (
    Rejected,
    checked,
    checked_conflict,
    invalid_mutation,
    is_uuid,
    reject,
)
from fabriqueterm.server.rows import (
    APPEND_ONLY,
    EDITABLE,
    REFERENCES,
    SITE_FROM_PARENT,
    json_value,
)
from fabriqueterm.sync.protocol import (
    ConflictKind,
    ConflictOut,
    Mutation,
    MutationResult,
    MutationStatus,
    Op,
)

log = logging.getLogger(__name__)


def _same(a: Any, b: Any) -> bool:
    return json_value(a) == json_value(b)


def decide(batch: Batch, mutation: Mutation) -> MutationResult:
    """Decide ``mutation`` in ``batch``: applied, a duplicate, conflicts, or rejected with reasons
    (and then the batch is as if it had not been tried)."""
    conflicts: list[ConflictOut] = []
    mark = batch.mark()
    try:
        if mutation.entity not in SYNCED_TABLES:
            raise reject("entity", "unknown_entity")
        if not is_uuid(mutation.id):
            raise reject("id", "bad_id")
        handler = {
            Op.CREATE: _create,
            Op.UPDATE: _update,
            Op.DELETE: _delete,
            Op.ERASE: erase,
        }[mutation.op]
        status = handler(batch, mutation, conflicts)
    except Rejected as rejection:
        batch.rollback_to(mark)
        return rejected(mutation, rejection)
    except DBAPIError:
        raise  # the database's trouble, not this mutation's: see transaction.py
    except Exception as error:
        batch.rollback_to(mark)
        log.warning(
            "push: deciding a %s %s raised %s; that mutation is refused",
            mutation.entity if mutation.entity in SYNCED_TABLES else "?",
            mutation.op.value,
            type(error).__name__,
        )  # no values: they may be personal
        return rejected(mutation, invalid_mutation())
    batch.release(mark)
    return MutationResult(
        seq=mutation.seq,
        status=status,
        entity=mutation.entity,
        id=mutation.id,
        conflicts=[c for c in conflicts if c is not None],
    )


def rejected(mutation: Mutation, rejection: Rejected) -> MutationResult:
    return MutationResult(
        seq=mutation.seq,
        status=MutationStatus.REJECTED,
        entity=mutation.entity,
        id=mutation.id,
        errors=rejection.reasons,
    )


def _check_row(
    batch: Batch, entity: str, row: dict[str, Any], before: dict[str, Any] | None
) -> None:
    """References exist and are in scope; the row's site is granted and matches its parent's."""
    refs = REFERENCES.get(entity, {})
    for column, target in refs.items():
        value = row.get(column)
        if value is None:
            continue
        if before is not None and before.get(column) == value and column != "site_id":
            continue  # unchanged references stay valid even if their target was deleted since
        if not batch.visible(target, batch.get(target, value)):
            raise reject(column, "unknown_reference")
    if entity in SITE_FROM_PARENT:
        column, parent_entity = SITE_FROM_PARENT[entity]
        parent = batch.get(parent_entity, row[column])
        if parent is None or not batch.visible(parent_entity, parent):
            raise reject(column, "unknown_reference")
        if parent["site_id"] != row["site_id"]:
            raise reject("site_id", "site_mismatch")


def _create(batch: Batch, mutation: Mutation, conflicts: list[ConflictOut]) -> MutationStatus:
    entity = mutation.entity
    if entity in ("site", "conflict"):
        raise reject("op", "op_not_allowed")
    current = batch.get(entity, mutation.id)
    if current is not None and not batch.visible(entity, current):
        raise reject("id", "id_unavailable")
    if current is None and entity == "learner" and batch.is_erased(mutation.id):
        raise reject("id", "id_unavailable")  # an erased person never comes back
    values = checked(entity, mutation.fields)
    if entity in APPEND_ONLY and not values.get("made_by"):
        # Who made a call attempt: the coordinator whose device sent it, as the commons knows them
        # (copies of one attempt sent by two devices still merge: see below).
        values = {**values, "made_by": batch.coordinator.name}
    if current is None:
        row = {
            "id": mutation.id,
            "created_at": batch.now,
            "updated_at": batch.now,
            "version": None,
            "deleted_at": None,
            **values,
        }
        _check_row(batch, entity, row, None)
        if entity == "partner":
            # (A create undone by its mark leaves this origin behind: harmless, the row is absent.)
            batch.links.set_origin(mutation.id, batch.coordinator.id)
            batch.new_origins[mutation.id] = batch.coordinator.id
        batch.put(entity, row)
        return MutationStatus.APPLIED
    # A row with this id exists: same content is the same row made twice (generated rows).
    differing = [
        k
        for k, v in values.items()
        if not _same(current.get(k), v) and not (entity in APPEND_ONLY and k == "made_by")
    ]
    if current["deleted_at"] is not None:
        for name in differing or list(values)[:1]:
            conflicts.append(
                add_conflict(
                    batch,
                    entity,
                    current,
                    ConflictKind.DELETED,
                    name,
                    current.get(name),
                    values[name],
                    NONE,
                )
            )
        return MutationStatus.CONFLICT
    if not differing:
        return MutationStatus.DUPLICATE
    for name in differing:
        conflicts.append(
            add_conflict(
                batch,
                entity,
                current,
                ConflictKind.CREATE,
                name,
                current.get(name),
                values[name],
                NONE,
            )
        )
    return MutationStatus.CONFLICT


def _update(batch: Batch, mutation: Mutation, conflicts: list[ConflictOut]) -> MutationStatus:
    entity = mutation.entity
    current = batch.get(entity, mutation.id)
    if not batch.visible(entity, current):
        raise reject("id", "not_found")
    assert current is not None
    if entity in APPEND_ONLY:
        raise reject("op", "op_not_allowed")
    if entity == "conflict":
        values = checked_conflict(mutation.fields)
        changed = {k: v for k, v in values.items() if not _same(current.get(k), v)}
        if changed:
            batch.put(entity, {**current, **changed, "updated_at": batch.now})
        return MutationStatus.APPLIED
    if entity == "learner" and batch.is_erased(mutation.id):
        # Nothing the client sent is kept: it may hold the person's data.
        conflicts.append(
            add_conflict(batch, entity, current, ConflictKind.DELETED, "*", NONE, NONE, NONE)
        )
        return MutationStatus.CONFLICT
    editable = {k: current[k] for k in EDITABLE[entity]}
    normalised = checked(entity, {**editable, **mutation.fields})
    new_values = {k: normalised[k] for k in mutation.fields}
    key = (entity, mutation.id)
    restoring = False
    if current["deleted_at"] is not None:
        if mutation.base_version == current["version"] or batch.written_last_by_this_client(key):
            restoring = True  # the client saw the tombstone (or made it) and brings the row back
        else:
            for name, value in new_values.items():
                conflicts.append(
                    add_conflict(
                        batch,
                        entity,
                        current,
                        ConflictKind.DELETED,
                        name,
                        current.get(name),
                        value,
                        mutation.base_values.get(name, NONE),
                    )
                )
            return MutationStatus.CONFLICT
    apply: dict[str, Any] = {}
    if restoring or mutation.base_version == current["version"]:
        apply = {k: v for k, v in new_values.items() if not _same(current.get(k), v)}
    else:
        for name, value in new_values.items():
            server = current.get(name)
            if _same(server, value):
                continue
            if name in mutation.base_values and _same(server, mutation.base_values[name]):
                apply[name] = value
                continue
            conflicts.append(
                add_conflict(
                    batch,
                    entity,
                    current,
                    ConflictKind.FIELD,
                    name,
                    server,
                    value,
                    mutation.base_values.get(name, NONE),
                )
            )
    if apply or restoring:
        merged = {**editable, **apply}
        if conflicts:  # (a rejection here also forgets the conflict records: decide's mark)
            merged = checked(entity, merged)
        row = {**current, **merged, "updated_at": batch.now}
        if restoring:
            row["deleted_at"] = None
        _check_row(batch, entity, row, current)
        batch.put(entity, row)
    return MutationStatus.CONFLICT if conflicts else MutationStatus.APPLIED


def _delete(batch: Batch, mutation: Mutation, conflicts: list[ConflictOut]) -> MutationStatus:
    entity = mutation.entity
    if entity in ("site", "conflict"):
        raise reject("op", "op_not_allowed")
    current = batch.get(entity, mutation.id)
    if not batch.visible(entity, current):
        raise reject("id", "not_found")
    assert current is not None
    if current["deleted_at"] is None:
        batch.put(entity, {**current, "deleted_at": batch.now, "updated_at": batch.now})
    return MutationStatus.APPLIED
