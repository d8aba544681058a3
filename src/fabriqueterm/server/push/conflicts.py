"""Conflict records: what the server keeps when a mutation meets a change it did not see (the
server's, the client's and the base value of each field), and dropping them when the mutation is
refused after all."""

from __future__ import annotations

from typing import Any

from fabriqueterm.domain.ids import uuid7
from fabriqueterm.server.push.batch import Batch
from fabriqueterm.server.rows import json_text, json_value, site_of
from fabriqueterm.sync.protocol import ConflictKind, ConflictOut


class _NoValue:
    """A value that was not there (no base value, nothing sent), unlike ``None``."""

    def __repr__(self) -> str:
        return "<no value>"


NONE: Any = _NoValue()


def add_conflict(
    batch: Batch,
    entity: str,
    row: dict[str, Any],
    kind: ConflictKind,
    field: str,
    server: Any,
    client: Any,
    base: Any,
) -> ConflictOut | None:
    """Record a conflict on ``row`` in the batch (None for a partner no site of which is held)."""
    site = site_of(entity, row)
    if site is None:  # a partner: the conflict goes to one of its sites this coordinator holds
        shared = sorted(batch.links.sites(row["id"]) & batch.granted) or sorted(batch.granted)
        if not shared:
            return None
        site = shared[0]
    conflict = {
        "id": uuid7(),
        "created_at": batch.now,
        "updated_at": batch.now,
        "version": None,
        "deleted_at": None,
        "site_id": site,
        "row_entity": entity,
        "row_id": row["id"],
        "kind": kind.value,
        "field": field,
        "server_value": None if server is NONE else json_text(server),
        "client_value": None if client is NONE else json_text(client),
        "base_value": None if base is NONE else json_text(base),
        "coordinator_id": batch.coordinator.id,
        "coordinator_name": batch.coordinator.name,
        "detected_at": batch.now,
        "resolved_at": None,
        "resolution": "",
    }
    batch.put("conflict", conflict)
    return ConflictOut(
        id=conflict["id"],
        kind=kind,
        field=field,
        server_value=None if server is NONE else json_value(server),
        client_value=None if client is NONE else json_value(client),
        base_value=None if base is NONE else json_value(base),
    )


def drop_conflicts(batch: Batch, conflicts: list[ConflictOut]) -> None:
    """Forget the conflict records of a mutation that is refused after all."""
    for conflict in conflicts:
        if conflict is not None:
            batch.rows.pop(("conflict", conflict.id), None)
            batch.dirty.pop(("conflict", conflict.id), None)
            batch.original.pop(("conflict", conflict.id), None)
    conflicts.clear()
