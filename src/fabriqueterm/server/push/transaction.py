"""The push itself: one client's batch in one write transaction. The client's row is locked first
(identical pushes sent concurrently are served one after the other) and holds the last mutation
number applied, so a number already seen is a duplicate and one too far is a gap; a race that
PostgreSQL resolved by rolling back is retried whole.

A client is a ``client_id`` *of a coordinator*: the same id sent by another coordinator is
another client with its own numbering, answered exactly as a fresh id (no existence oracle).

Each mutation is answered on its own (docs/sync.md, "Each mutation on its own"):

- an item that is not a valid mutation was already set apart by :class:`PushRequest`
  (:class:`InvalidMutation`): rejected with its reasons; with no usable ``seq`` it is answered
  with seq 0 and moves no number;
- each decision runs under an in-memory mark (:class:`~.batch.Mark`): a rejection or any
  exception puts the batch back as if that mutation had not been tried (:mod:`.decide`);
- the client's number is recorded, then the batch is written at once, the sequence counter
  taken last (:meth:`~.batch.Batch.flush`): under the counter's lock, held until commit, only
  the writes and the commit. If the database refuses a write for a reason the data can cause (a
  constraint, a value a column cannot hold), the transaction is rolled back and the batch
  decided again in a new one, each mutation decided and written in a savepoint of its own: the
  refused one is rolled back and rejected (``invalid``), the others are written. (No savepoint
  around the fast write: its release would be one more round trip under the counter's lock.)
  The database's own trouble (busy, disk full, a lost connection, a serialisation failure) is
  never blamed on a mutation: the whole batch fails or is retried, nothing taken.
"""

from __future__ import annotations

import logging

from sqlalchemy import Connection, Engine, select, update
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, ProgrammingError

from fabriqueterm.domain.dates import utcnow
from fabriqueterm.server.auth import Coordinator
from fabriqueterm.server.db import (
    SYNCED_TABLES,
    client_table,
    is_postgres,
    restore_epoch,
    write_transaction,
)
from fabriqueterm.server.push.batch import Batch, Key
from fabriqueterm.server.push.decide import decide, rejected
from fabriqueterm.server.push.validation import invalid_item, invalid_mutation, is_uuid
from fabriqueterm.server.rows import REFERENCES, row_out
from fabriqueterm.sync.protocol import (
    InvalidMutation,
    Mutation,
    MutationResult,
    MutationStatus,
    PushRequest,
    PushResponse,
)

log = logging.getLogger(__name__)

_RETRY_SQLSTATES = {"40001", "40P01", "23505"}
_MAX_ATTEMPTS = 6


def _bind_client(connection: Connection, coordinator: Coordinator, client_id: str) -> int:
    """Lock this coordinator's client row (made on first push) and return its last applied
    number. Another coordinator's row with the same client_id is neither read nor told of."""
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
        .on_conflict_do_nothing(index_elements=["coordinator_id", "client_id"])
    )
    query = select(client_table.c.last_seq).where(
        client_table.c.coordinator_id == coordinator.id, client_table.c.client_id == client_id
    )
    if is_postgres(connection):
        query = query.with_for_update()
    return int(connection.execute(query).scalar_one())


def _invalid_result(item: InvalidMutation) -> MutationResult:
    return MutationResult(
        seq=item.seq,
        status=MutationStatus.REJECTED,
        entity=item.entity,
        id=item.id,
        errors=invalid_item(item.problems),
    )


def _prepare(
    connection: Connection, coordinator: Coordinator, client_id: str, mutations: list[Mutation]
) -> Batch:
    """A batch with the rows the mutations touch read (and locked) up front."""
    batch = Batch(connection, coordinator, client_id)
    todo = [m for m in mutations if m.entity in SYNCED_TABLES and is_uuid(m.id)]
    batch.prefetch([(m.entity, m.id) for m in todo], lock=True)
    references: list[Key] = []
    for m in todo:
        row = batch.rows.get((m.entity, m.id)) or {}
        for column, target in REFERENCES.get(m.entity, {}).items():
            for value in (m.fields.get(column), row.get(column)):
                if isinstance(value, str) and is_uuid(value):
                    references.append((target, value))
    batch.prefetch(references)
    batch.load_erasures(m.id for m in todo if m.entity == "learner")
    batch.links.load(
        [k[1] for k in batch.rows if k[0] == "partner"]
        + [r["partner_id"] for k, r in batch.rows.items() if k[0] == "partner_site" and r]
    )
    return batch


def _isolable(error: Exception, attempt: int) -> bool:
    """A failure one mutation's values can cause: a database refusal (a constraint, a value the
    column cannot hold) or an exception of ours while writing its row, as opposed to the
    database's own trouble (busy, disk full, connection lost, a serialisation failure), which is
    never blamed on a mutation. A unique violation is first taken for a racing insert of the same
    id and the batch retried; met again, it is the data's."""
    if not isinstance(error, DBAPIError):
        return True
    if not isinstance(error, IntegrityError | DataError | ProgrammingError):
        return False
    return not (getattr(error.orig, "sqlstate", None) == "23505" and attempt == 0)


def _kind(error: Exception) -> str:
    """What failed, for the log: the driver's error class, never its message (it may quote values)."""
    return type(getattr(error, "orig", None) or error).__name__


def _decide_batch(
    connection: Connection,
    coordinator: Coordinator,
    request: PushRequest,
    last: int,
    *,
    one_by_one: bool,
    attempt: int,
) -> tuple[Batch, list[MutationResult], int]:
    """Decide every item in order. Fast (``one_by_one`` false): all in memory, written by the
    caller in one flush. One by one: each mutation decided and written in its own database
    savepoint, so a write the database refuses is rolled back and rejects that mutation alone."""
    items = request.items()
    batch = _prepare(
        connection, coordinator, request.client_id, [m for m in items if isinstance(m, Mutation)]
    )
    results: list[MutationResult] = []
    gap = False
    for item in items:
        if isinstance(item, InvalidMutation) and item.seq == 0:
            results.append(_invalid_result(item))  # no usable number: it moves none
            continue
        if gap or item.seq > last + 1:
            gap = True
            results.append(
                MutationResult(
                    seq=item.seq,
                    status=MutationStatus.GAP,
                    entity=item.entity,
                    id=item.id,
                    expected_seq=last + 1,
                )
            )
            continue
        if item.seq <= last:
            results.append(
                MutationResult(
                    seq=item.seq, status=MutationStatus.DUPLICATE, entity=item.entity, id=item.id
                )
            )
            continue
        last = item.seq
        if isinstance(item, InvalidMutation):
            results.append(_invalid_result(item))
            continue
        if not one_by_one:
            results.append(decide(batch, item))
            continue
        mark = batch.mark()
        try:
            with connection.begin_nested():
                result = decide(batch, item)
                batch.flush()
        except Exception as error:
            if not _isolable(error, attempt):
                raise
            batch.rollback_to(mark)
            log.warning(
                "push: the database refused a %s %s (%s); that mutation is refused",
                item.entity if item.entity in SYNCED_TABLES else "?",
                item.op.value,
                _kind(error),
            )  # no values: they may be personal
            result = rejected(item, invalid_mutation())
        else:
            batch.settle()
        results.append(result)
    return batch, results, last


class _WriteOneByOne(Exception):  # noqa: N818 (a signal, not an error)
    """The batch's single write failed for a reason one mutation's values can cause: decide it
    again, in a new transaction, each mutation written in a savepoint of its own."""


def _record_client(
    connection: Connection, coordinator: Coordinator, client_id: str, last: int, batch: Batch
) -> None:
    connection.execute(
        update(client_table)
        .where(
            client_table.c.coordinator_id == coordinator.id, client_table.c.client_id == client_id
        )
        .values(last_seq=last, updated_at=batch.now)
    )


def _push_once(
    connection: Connection,
    coordinator: Coordinator,
    request: PushRequest,
    attempt: int = 0,
    *,
    one_by_one: bool = False,
) -> PushResponse:
    """One try. Fast (``one_by_one`` false): decided in memory, the client's number recorded, then
    the batch written at once, the counter taken last (:meth:`Batch.flush`); nothing but the writes
    and the commit happen under the counter's lock, and no savepoint (one round trip less each way
    under it): when the database refuses the write for a reason the data can cause, the
    transaction is rolled back whole and :func:`push` decides the batch again one mutation at a
    time (:class:`_WriteOneByOne`)."""
    if request.epoch is not None and request.epoch != restore_epoch(connection):
        # Restored since this device last pulled: nothing applied, it pulls first (docs/sync.md).
        return PushResponse(
            client_id=request.client_id, results=[], last_applied_seq=0, restored=True
        )
    start = _bind_client(connection, coordinator, request.client_id)
    if one_by_one:
        batch, results, last = _decide_batch(
            connection, coordinator, request, start, one_by_one=True, attempt=attempt
        )
        if last != start:
            _record_client(connection, coordinator, request.client_id, last, batch)
    else:
        batch, results, last = _decide_batch(
            connection, coordinator, request, start, one_by_one=False, attempt=attempt
        )
        if last != start:  # before the counter: it needs no number
            _record_client(connection, coordinator, request.client_id, last, batch)
        try:
            batch.flush()
        except Exception as error:
            if not _isolable(error, attempt):
                raise
            # Nothing of the batch stays: the transaction is rolled back. Decide it again, each
            # mutation written in a savepoint of its own, to find the one(s) the database refuses.
            log.warning(
                "push: a write of the batch failed (%s); writing it one mutation at a time",
                _kind(error),
            )
            raise _WriteOneByOne from error
    for result in results:
        if (
            result.status != MutationStatus.GAP
            and result.entity in SYNCED_TABLES
            and is_uuid(result.id)
        ):
            row = batch.get(result.entity, result.id)
            if batch.visible(result.entity, row):
                assert row is not None
                result.row = batch.out.get((result.entity, result.id)) or row_out(row)
    return PushResponse(client_id=request.client_id, results=results, last_applied_seq=last)


def push(engine: Engine, coordinator: Coordinator, request: PushRequest) -> PushResponse:
    """Decide and write a batch; retried whole when PostgreSQL reports a race it resolved."""
    attempt, one_by_one = 0, False
    while True:
        try:
            with write_transaction(engine) as connection:
                return _push_once(connection, coordinator, request, attempt, one_by_one=one_by_one)
        except _WriteOneByOne:
            one_by_one = True  # the same attempt, decided again one mutation at a time
        except DBAPIError as error:
            state = getattr(error.orig, "sqlstate", None)
            if state in _RETRY_SQLSTATES and attempt < _MAX_ATTEMPTS - 1:
                log.info("push retried after a concurrent write (sqlstate %s)", state)
                attempt, one_by_one = attempt + 1, False
                continue
            raise
