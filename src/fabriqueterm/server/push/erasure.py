"""Erasing a learner (the right to be forgotten): their personal fields wiped, the notes about them
gone, every conflict record that holds their values emptied, and their id never usable again."""

from __future__ import annotations

from sqlalchemy import select

from fabriqueterm.domain.models import ERASED_LEARNER_VALUES
from fabriqueterm.server.db import SYNCED_TABLES
from fabriqueterm.server.push.batch import Batch
from fabriqueterm.server.push.validation import reject
from fabriqueterm.server.rows import chunks
from fabriqueterm.sync.protocol import ConflictOut, Mutation, MutationStatus

# The same values on the commons as on every device (one definition, in the domain).
_WIPED = ERASED_LEARNER_VALUES


def erase(batch: Batch, mutation: Mutation, conflicts: list[ConflictOut]) -> MutationStatus:
    """Erase the learner ``mutation`` names: the right to be forgotten."""
    if mutation.entity != "learner":
        raise reject("op", "op_not_allowed")
    current = batch.get("learner", mutation.id)
    if not batch.visible("learner", current):
        raise reject("id", "not_found")
    assert current is not None
    wiped = {
        **current,
        **_WIPED,
        "deleted_at": current["deleted_at"] or batch.now,
        "updated_at": batch.now,
    }
    if wiped != current:
        batch.put("learner", wiped)
    if not batch.is_erased(mutation.id):
        batch.erased[mutation.id] = True
        batch.new_erasures.append(mutation.id)
    # Notes about the person go too, and every conflict record that holds their values.
    touched = {("learner", mutation.id)}
    for child in ("follow_up", "follow_up_attempt", "placement"):
        table = SYNCED_TABLES[child]
        ids = batch.connection.execute(
            select(table.c.id).where(table.c.learner_id == mutation.id)
        ).scalars()
        ids = sorted(
            set(ids)
            | {
                rid
                for (e, rid), r in batch.rows.items()
                if e == child and r and r["learner_id"] == mutation.id
            }
        )
        batch.prefetch([(child, i) for i in ids], lock=True)
        for child_id in ids:
            row = batch.rows[(child, child_id)]
            touched.add((child, child_id))
            if row is not None and row["notes"] != "":
                batch.put(child, {**row, "notes": "", "updated_at": batch.now})
    table = SYNCED_TABLES["conflict"]
    row_ids = sorted({rid for _e, rid in touched})
    conflict_ids: set[str] = set()
    for part in chunks(row_ids):
        conflict_ids |= set(
            batch.connection.execute(select(table.c.id).where(table.c.row_id.in_(part))).scalars()
        )
    batch.prefetch([("conflict", i) for i in sorted(conflict_ids)], lock=True)
    for (entity, _rid), row in list(batch.rows.items()):
        if entity != "conflict" or row is None or (row["row_entity"], row["row_id"]) not in touched:
            continue
        if (
            row["server_value"] is None
            and row["client_value"] is None
            and row["base_value"] is None
        ):
            continue
        batch.put(
            "conflict",
            {
                **row,
                "server_value": None,
                "client_value": None,
                "base_value": None,
                "updated_at": batch.now,
            },
        )
    return MutationStatus.APPLIED
