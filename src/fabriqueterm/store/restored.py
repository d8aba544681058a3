"""After a commons restore: what this database holds that the restored commons lacks goes back to
it (docs/sync.md, "After a commons restore").

A pull that finds the commons restored from a backup (another restore epoch, or a cursor ahead of
its sequence) pulls the site again from 0. The site's rows are *held* first
(``held_after_restore``), not evicted, and the pull settles each one:

- brought back older than here (a lower version: the commons had acknowledged later edits, then
  lost them with its restore), the row keeps its local values, and the fields that differ are
  noted with the commons' values as their base;
- brought back as new as here or newer, it takes the commons' row like any pulled row;
- never brought back, it was created after the backup.

Once every site is whole again, :func:`send_again` turns each held row into mutations in the outbox
(an update with the commons' values as base, a delete, a create) and empties the list, in one
transaction: the next push sends them. Several devices holding the same edit send it each; base
values make the second copy "nothing to do".
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, text

from fabriqueterm.domain.models import ENTITIES

if TYPE_CHECKING:
    from fabriqueterm.store.db import Store
    from fabriqueterm.store.upserts import DriverTable

#: Entities whose rows carry ``site_id``, parents first (the replica evicts them children first).
SITE_SCOPED = (
    "partner_site",
    "cohort",
    "learner",
    "follow_up",
    "follow_up_attempt",
    "placement",
    "conflict",
)
#: The rows held for a restored site, parents first (the order their creates are sent in): its
#: partners and its rows, not the conflict records (each device's decisions, never sent again).
HELD_ENTITIES = ("partner", *(entity for entity in SITE_SCOPED if entity != "conflict"))
#: Bookkeeping the commons sets itself: never sent again.
_NOT_SENT = frozenset({"id", "created_at", "updated_at", "version"})

Key = tuple[str, str]
#: Ids per query (SQLite's limit on bound parameters is far above).
_CHUNK = 500


def hold_site(connection: Connection, site_id: str) -> None:
    """Hold every row of ``site_id`` (and the partners linked to it) until the pull settles it."""
    for entity in HELD_ENTITIES:
        if entity == "partner":
            query = (
                "INSERT OR IGNORE INTO held_after_restore (entity, row_id)"
                " SELECT DISTINCT 'partner', partner_id FROM partner_site WHERE site_id = ?"
            )
        else:
            query = (
                "INSERT OR IGNORE INTO held_after_restore (entity, row_id)"  # noqa: S608 (names)
                f" SELECT '{entity}', id FROM {entity} WHERE site_id = ?"
            )
        connection.exec_driver_sql(query, (site_id,))


def unsettled(connection: Connection, keys: Iterable[Key]) -> set[Key]:
    """Among ``keys``, the rows held and not yet brought back by the pull."""
    wanted = set(keys)
    if (
        not wanted
        or not connection.exec_driver_sql(
            "SELECT 1 FROM held_after_restore WHERE fields IS NULL LIMIT 1"
        ).first()
    ):
        return set()
    ids = sorted({row_id for _entity, row_id in wanted})
    found: set[Key] = set()
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        found.update(
            (entity, row_id)
            for entity, row_id in connection.exec_driver_sql(
                "SELECT entity, row_id FROM held_after_restore WHERE fields IS NULL"
                f" AND row_id IN ({', '.join('?' * len(chunk))})",
                tuple(chunk),
            )
        )
    return found & wanted


def settle(
    connection: Connection,
    table: DriverTable,
    row: dict[str, Any],
    incoming: list[Any],
    pending: set[str],
) -> list[Any]:
    """The values to write for a held row the pull brought back (``incoming``, already rebased on
    the ``pending`` fields): the local values of the fields the commons lost, which are noted to
    be sent again; the commons' row when it is as new as here."""
    key = (table.name, row["id"])
    columns = table.columns
    local = connection.exec_driver_sql(
        f"SELECT {', '.join(columns)} FROM {table.name} WHERE id = ?",  # noqa: S608 (names)
        (row["id"],),
    ).first()
    version = columns.index("version")
    lost: list[int] = []
    if local is not None and (incoming[version] or 0) < (local[version] or 0):
        lost = [
            index
            for index, name in enumerate(columns)
            if name not in _NOT_SENT and name not in pending and incoming[index] != local[index]
        ]
    if not lost:
        forget(connection, key)
        return incoming
    values = list(incoming)
    for index in lost:
        values[index] = local[index]
    names = [columns[index] for index in lost]
    connection.exec_driver_sql(
        "UPDATE held_after_restore SET fields = ?, base_values = ?, base_version = ?"
        " WHERE entity = ? AND row_id = ?",
        (
            json.dumps(names),
            json.dumps({name: row.get(name) for name in names}, ensure_ascii=False),
            row.get("version"),
            *key,
        ),
    )
    return values


def forget(connection: Connection, key: Key) -> None:
    """The row needs nothing sent again (the commons has it as new, or it left this scope)."""
    connection.exec_driver_sql(
        "DELETE FROM held_after_restore WHERE entity = ? AND row_id = ?", key
    )


def send_again(store: Store) -> int:
    """Queue what the restored commons lacks, in one transaction; returns how many mutations."""
    from fabriqueterm.store.outbox import dumps
    from fabriqueterm.store.repositories.base import create_mutation, row_values

    order = {entity: index for index, entity in enumerate(HELD_ENTITIES)}
    with store.write() as session:
        held = session.execute(
            text("SELECT entity, row_id, fields, base_values, base_version FROM held_after_restore")
        ).all()
        if not held:
            return 0
        mutations: list[dict[str, Any]] = []
        rewritten = 0
        for entity, row_id, fields, base_json, base_version in sorted(
            held, key=lambda h: (order.get(h[0], len(order)), h[1])
        ):
            model = ENTITIES.get(entity)
            row = session.get(model, row_id) if model is not None else None
            if row is None:
                continue
            values = row_values(row)
            if fields is None:  # created after the backup: the commons never had it
                unsent = (
                    session.execute(
                        text(
                            "SELECT op FROM outbox WHERE entity = :entity AND row_id = :row_id"
                            " AND state = 'pending'"
                        ),
                        {"entity": entity, "row_id": row_id},
                    )
                    .scalars()
                    .all()
                )
                if "create" in unsent:
                    continue  # never sent: its own create goes with the push
                if unsent and row.deleted_at is None:
                    # Its pending edits would reach the commons before a create put last (outbox
                    # order, whose numbers cannot change): each becomes the create of the row as
                    # it is here, edits included (the first makes it, the others are the same
                    # row made twice: nothing to do).
                    session.execute(
                        text(
                            "UPDATE outbox SET op = 'create', fields = :fields,"
                            " base_version = NULL, base_values = '{}'"
                            " WHERE entity = :entity AND row_id = :row_id AND state = 'pending'"
                        ),
                        {"fields": dumps(values), "entity": entity, "row_id": row_id},
                    )
                    rewritten += 1
                    continue
                if row.deleted_at is None:
                    mutations.append(create_mutation(entity, row_id, values))
                continue
            names = json.loads(fields)
            base = json.loads(base_json)
            changed = {name: values[name] for name in names if name in values}
            if changed:
                mutations.append(
                    {
                        "entity": entity,
                        "row_id": row_id,
                        "op": "update",
                        "fields": changed,
                        "base_version": base_version,
                        "base_values": {name: base.get(name) for name in changed},
                    }
                )
            if "deleted_at" in names and row.deleted_at is not None:
                mutations.append(
                    {
                        "entity": entity,
                        "row_id": row_id,
                        "op": "delete",
                        "fields": {},
                        "base_version": base_version,
                        "base_values": {},
                    }
                )
        store.outbox.append_many(session, mutations)
        session.execute(text("DELETE FROM held_after_restore"))
    return len(mutations) + rewritten
