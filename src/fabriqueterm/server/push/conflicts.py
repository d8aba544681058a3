"""Conflict records: what the server keeps when a mutation meets a change it did not see (the
server's, the client's and the base value of each field, and who made the server's value). A
mutation refused after all forgets its records with the rest of its changes (decide's mark)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from fabriqueterm.domain.ids import uuid7
from fabriqueterm.server.db import change_table, coordinator_table
from fabriqueterm.server.push.batch import Batch
from fabriqueterm.server.rows import json_text, json_value, site_of
from fabriqueterm.sync.protocol import ConflictKind, ConflictOut


class _NoValue:
    """A value that was not there (no base value, nothing sent), unlike ``None``."""

    def __repr__(self) -> str:
        return "<no value>"


NONE: Any = _NoValue()


def last_author(batch: Batch, entity: str, row_id: str) -> tuple[str, str] | None:
    """The coordinator (id, name) whose client made the row's last write on the commons: the
    change log keeps that write's coordinator beside its ``client_id`` (a client_id alone may be
    used by two coordinators). None for a row last written by an admin load."""
    found = batch.connection.execute(
        select(coordinator_table.c.id, coordinator_table.c.name)
        .select_from(change_table)
        .join(coordinator_table, coordinator_table.c.id == change_table.c.coordinator_id)
        .where(change_table.c.entity == entity, change_table.c.row_id == row_id)
        .order_by(change_table.c.seq.desc())
        .limit(1)
    ).first()
    return (found[0], found[1]) if found else None


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
    author = last_author(batch, entity, row["id"])
    changed_at: datetime | None = row.get("updated_at")  # the commons' time of that last write
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
        "server_author_id": author[0] if author else None,
        "server_author_name": author[1] if author else None,
        "server_changed_at": changed_at,
    }
    batch.put("conflict", conflict)
    return ConflictOut(
        id=conflict["id"],
        kind=kind,
        field=field,
        server_value=None if server is NONE else json_value(server),
        client_value=None if client is NONE else json_value(client),
        base_value=None if base is NONE else json_value(base),
        server_author_id=conflict["server_author_id"],
        server_author_name=conflict["server_author_name"],
        server_changed_at=json_value(changed_at),
    )
