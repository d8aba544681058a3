"""The push itself: one client's batch in one write transaction. The client's row is locked first
(identical pushes sent concurrently are served one after the other) and holds the last mutation
number applied, so a number already seen is a duplicate and one too far is a gap; a race that
PostgreSQL resolved by rolling back is retried whole."""

from __future__ import annotations

import logging

from sqlalchemy import Connection, Engine, select, update
from sqlalchemy.exc import DBAPIError

from fabriqueterm.domain.dates import utcnow
from fabriqueterm.server.auth import Coordinator
from fabriqueterm.server.db import SYNCED_TABLES, client_table, is_postgres, write_transaction
from fabriqueterm.server.push.batch import Batch, Key
from fabriqueterm.server.push.decide import decide
from fabriqueterm.server.push.validation import is_uuid
from fabriqueterm.server.rows import REFERENCES, row_out
from fabriqueterm.sync.protocol import MutationResult, MutationStatus, PushRequest, PushResponse

log = logging.getLogger(__name__)

_RETRY_SQLSTATES = {"40001", "40P01", "23505"}
_MAX_ATTEMPTS = 6


class ClientBoundElsewhere(Exception):
    """The client_id was first pushed by another coordinator."""


def _bind_client(connection: Connection, coordinator: Coordinator, client_id: str) -> int:
    """Lock the client's row (made on first push) and return its last applied number."""
    if is_postgres(connection):
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert  # type: ignore[assignment]
    now = utcnow()
    connection.execute(
        dialect_insert(client_table)
        .values(
            client_id=client_id,
            coordinator_id=coordinator.id,
            last_seq=0,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["client_id"])
    )
    query = select(client_table.c.coordinator_id, client_table.c.last_seq).where(
        client_table.c.client_id == client_id
    )
    if is_postgres(connection):
        query = query.with_for_update()
    owner, last_seq = connection.execute(query).one()
    if owner != coordinator.id:
        raise ClientBoundElsewhere(client_id)
    return int(last_seq)


def _push_once(
    connection: Connection, coordinator: Coordinator, request: PushRequest
) -> PushResponse:
    last = _bind_client(connection, coordinator, request.client_id)
    start = last
    batch = Batch(connection, coordinator, request.client_id)
    todo = [m for m in request.mutations if m.entity in SYNCED_TABLES and is_uuid(m.id)]
    batch.prefetch([(m.entity, m.id) for m in todo], lock=True)
    references: list[Key] = []
    for m in todo:
        row = batch.rows.get((m.entity, m.id)) or {}
        for column, target in REFERENCES.get(m.entity, {}).items():
            for value in (m.fields.get(column), row.get(column)):
                if isinstance(value, str) and value:
                    references.append((target, value))
    batch.prefetch(references)
    batch.load_erasures(m.id for m in todo if m.entity == "learner")
    batch.links.load(
        [k[1] for k in batch.rows if k[0] == "partner"]
        + [r["partner_id"] for k, r in batch.rows.items() if k[0] == "partner_site" and r]
    )
    results: list[MutationResult | None] = []
    gap = False
    for mutation in request.mutations:
        if gap or mutation.seq > last + 1:
            gap = True
            results.append(
                MutationResult(
                    seq=mutation.seq,
                    status=MutationStatus.GAP,
                    entity=mutation.entity,
                    id=mutation.id,
                    expected_seq=last + 1,
                )
            )
        elif mutation.seq <= last:
            results.append(
                MutationResult(
                    seq=mutation.seq,
                    status=MutationStatus.DUPLICATE,
                    entity=mutation.entity,
                    id=mutation.id,
                )
            )
        else:
            results.append(decide(batch, mutation))
            last = mutation.seq
    batch.flush()
    if last != start:
        connection.execute(
            update(client_table)
            .where(client_table.c.client_id == request.client_id)
            .values(last_seq=last, updated_at=batch.now)
        )
    final: list[MutationResult] = []
    for result in results:
        assert result is not None
        if (
            result.status != MutationStatus.GAP
            and result.entity in SYNCED_TABLES
            and is_uuid(result.id)
        ):
            row = batch.get(result.entity, result.id)
            if batch.visible(result.entity, row):
                assert row is not None
                result.row = batch.out.get((result.entity, result.id)) or row_out(row)
        final.append(result)
    return PushResponse(client_id=request.client_id, results=final, last_applied_seq=last)


def push(engine: Engine, coordinator: Coordinator, request: PushRequest) -> PushResponse:
    """Decide and write a batch; retried whole when PostgreSQL reports a race it resolved."""
    for attempt in range(_MAX_ATTEMPTS):
        try:
            with write_transaction(engine) as connection:
                return _push_once(connection, coordinator, request)
        except DBAPIError as error:
            state = getattr(error.orig, "sqlstate", None)
            if state in _RETRY_SQLSTATES and attempt < _MAX_ATTEMPTS - 1:
                log.info("push retried after a concurrent write (sqlstate %s)", state)
                continue
            raise
    raise AssertionError("unreachable")  # pragma: no cover
