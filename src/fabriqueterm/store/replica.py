"""The local copy of the commons: the SQL side of sync (docs/sync.md).

Rows pulled or adopted from push answers are upserted here, each page together with its cursors,
and acknowledgements remove outbox entries with the rows they return, always in one local
transaction. Rows with pending local edits are rebased, never overwritten: their pending fields
stay local, the server's other fields and version are taken.

Replica transactions run with foreign-key enforcement off: the commons sends rows in the order of
their *last* write, so a learner may arrive a page before the cohort it belongs to (that cohort
was edited later). The commons checked every reference when it accepted the write.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import Connection

from fabriqueterm.domain.models import ERASED_LEARNER_VALUES, LEARNER_PERSONAL_FIELDS
from fabriqueterm.store import restored as after_restore
from fabriqueterm.store.history import forget_learner, record_pulled
from fabriqueterm.store.upserts import (
    BULK_SEARCH_ROWS,
    DriverTable,
    driver_of,
    driver_tables,
    upsert_learners_in_bulk,
)

if TYPE_CHECKING:
    from fabriqueterm.store.db import Store

_CURSOR = "cursor:"
#: The commons' restore epoch, stored with the cursors (docs/sync.md, "After a commons restore").
EPOCH_META = "sync:epoch"
#: Page cache of a replica transaction (negative: KiB), as the store's bulk load uses.
_CACHE_KIB = -131072


class ChangeLike(Protocol):
    entity: str
    id: str
    row: dict[str, Any] | None


@dataclass
class Change:
    """A row as the commons sent it: ``row`` None means it left this coordinator's scope."""

    entity: str
    id: str
    row: dict[str, Any] | None


@dataclass
class Applied:
    """What applying a page or an acknowledgement did."""

    rows: int = 0
    removed: int = 0
    rebased: int = 0
    #: Rows kept although they left scope (or their site was revoked): they have pending edits.
    kept: list[tuple[str, str]] = field(default_factory=list)
    erased: int = 0


def is_erasure(entity: str, row: Mapping[str, Any]) -> bool:
    """A learner tombstone whose personal fields the commons wiped (right to be forgotten)."""
    return (
        entity == "learner"
        and row.get("deleted_at") is not None
        and row.get("first_name") == ""
        and row.get("last_name") == ""
    )


class Replica:
    """The sync engine's access to the local database (every method one transaction)."""

    def __init__(self, store: Store):
        self._store = store
        self._tables = driver_tables(store.engine.dialect)

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        """One IMMEDIATE write transaction with foreign keys unenforced (see the module doc)."""
        with self._store.engine.connect() as connection:
            raw = connection.connection.driver_connection
            assert raw is not None
            raw.execute("PRAGMA foreign_keys = OFF")  # outside any transaction: takes effect
            # Pages of thousands of rows touch every index of big tables: a larger page cache, kept
            # on this pooled connection so the next page finds it warm (memory is taken as used).
            raw.execute(f"PRAGMA cache_size = {_CACHE_KIB}")
            # No checkpoint at every page's commit: one at the end of the pull (``checkpoint``).
            raw.execute("PRAGMA wal_autocheckpoint = 0")
            try:
                writer = connection.execution_options(sqlite_begin="IMMEDIATE")
                with writer.begin():
                    yield writer
            finally:
                raw.execute("PRAGMA foreign_keys = ON")
                raw.execute("PRAGMA wal_autocheckpoint = 1000")

    # --- reads -----------------------------------------------------------------------------------

    def cursors(self) -> dict[str, int]:
        """The cursor of every site pulled so far."""
        with self._store.engine.connect() as connection:
            rows = connection.exec_driver_sql(
                "SELECT key, value FROM meta WHERE key LIKE 'cursor:%'"
            ).all()
        return {key[len(_CURSOR) :]: int(value) for key, value in rows}

    def get_meta(self, key: str) -> str | None:
        return self._store.get_meta(key)

    def counts(self) -> dict[str, int]:
        """Pending and rejected outbox entries, and open conflicts."""
        with self._store.engine.connect() as connection:
            outbox = dict(
                connection.exec_driver_sql(
                    "SELECT state, count(*) FROM outbox GROUP BY state"
                ).all()
            )
            conflicts = connection.exec_driver_sql(
                "SELECT count(*) FROM conflict WHERE resolved_at IS NULL AND deleted_at IS NULL"
            ).scalar()
        return {
            "pending": int(outbox.get("pending", 0)),
            "rejected": int(outbox.get("rejected", 0)),
            "conflicts": int(conflicts or 0),
        }

    def rows(self, entity: str) -> dict[str, dict[str, Any]]:
        """Every local row of ``entity`` (tombstones included) as JSON-like values (tests, checks)."""
        table = self._tables[entity]
        with self._store.engine.connect() as connection:
            result = connection.exec_driver_sql(
                f"SELECT {', '.join(table.columns)} FROM {entity}"
            ).all()
        return {r[0]: dict(zip(table.columns, r, strict=True)) for r in result}

    def open_conflicts(self) -> list[dict[str, Any]]:
        """Conflicts not yet resolved, oldest first, values as JSON text (see :class:`Conflict`)."""
        table = self._tables["conflict"]
        with self._store.engine.connect() as connection:
            result = connection.exec_driver_sql(
                f"SELECT {', '.join(table.columns)} FROM conflict"
                " WHERE resolved_at IS NULL AND deleted_at IS NULL ORDER BY detected_at, id"
            ).all()
        return [dict(zip(table.columns, r, strict=True)) for r in result]

    # --- writes ----------------------------------------------------------------------------------

    def checkpoint(self) -> None:
        """Copy the write-ahead log into the database file (after a pull of many pages)."""
        with self._store.engine.connect() as connection:
            raw = connection.connection.driver_connection
            assert raw is not None
            raw.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def rebind_client(self, client_id: str, seq_offset: int) -> None:
        """Push under a new ``client_id`` from now on, local outbox numbers minus ``seq_offset``
        being its mutation numbers (the commons lost the old numbering)."""
        with self._transaction() as connection:
            self._store.set_meta(connection, "client_id", client_id)
            self._store.set_meta(connection, "sync:seq_offset", str(int(seq_offset)))

    def resolve_conflict(self, conflict_id: str, resolution: str) -> None:
        """Mark a conflict resolved (``kept_server``, ``took_client`` or ``edited``) with its outbox
        mutation, in one transaction. The value chosen, if it differs from the row's, is a normal
        update made through the repositories."""
        from fabriqueterm.domain.models import Conflict

        with self._store.write() as session:
            conflict = session.get(Conflict, conflict_id)
            if conflict is None or conflict.deleted_at is not None:
                raise LookupError(f"conflict {conflict_id}")
            now = self._store.clock.now()
            before = {"resolution": conflict.resolution, "resolved_at": conflict.resolved_at}
            conflict.resolution = resolution
            conflict.resolved_at = now
            conflict.updated_at = now
            session.add(conflict)
            session.flush()
            self._store.outbox.append(
                session,
                entity="conflict",
                row_id=conflict_id,
                op="update",
                fields={"resolution": resolution, "resolved_at": now.astimezone(UTC)},
                base_version=conflict.version,
                base_values=before,
            )

    def record_outcome(self, values: Mapping[str, str]) -> None:
        """Remember the last sync's outcome (``sync:*`` meta keys) in one transaction."""
        with self._transaction() as connection:
            for key, value in values.items():
                self._store.set_meta(connection, key, value)

    def apply_page(
        self,
        changes: Iterable[ChangeLike],
        cursors: Mapping[str, int],
        *,
        evict: Iterable[str] = (),
        resync: Iterable[str] = (),
        restored: Iterable[str] = (),
        backfilling: Iterable[str] = (),
        epoch: str | None = None,
    ) -> Applied:
        """Apply one pull page and store its cursors, in one transaction.

        ``evict``: sites no longer granted (rows removed except those with pending edits, cursor
        forgotten). ``resync``: sites to pull again from 0 (rows removed except those with pending
        edits, cursor 0), so rows whose tombstones the commons purged do not linger.
        ``restored``: among those, the sites pulled again because the commons was restored from a
        backup: their rows are held, not removed, until the pull settles them
        (:mod:`.restored`). ``epoch``: the commons' restore epoch, stored with the cursors.
        ``backfilling``: sites being pulled from the start, whose rows are not recorded in the
        learners' histories (they are not changes this device saw happen).
        """
        applied = Applied()
        with self._transaction() as connection:
            for site in evict:
                applied.kept += _evict_site(connection, site, applied)
                connection.exec_driver_sql("DELETE FROM meta WHERE key = ?", (_CURSOR + site,))
            held = set(restored)
            for site in resync:
                if site in held:
                    after_restore.hold_site(connection, site)
                else:
                    applied.kept += _evict_site(connection, site, applied)
            self._apply(
                connection, changes, applied, leaving_scope=True, backfilling=set(backfilling)
            )
            evicted = set(evict)
            for site, cursor in cursors.items():
                if site not in evicted:
                    self._store.set_meta(connection, _CURSOR + site, str(int(cursor)))
            if epoch is not None:
                self._store.set_meta(connection, EPOCH_META, epoch)
        return applied

    def known_epoch(self) -> str | None:
        """The commons' restore epoch to send: the one stored; "" for a database that pulled
        before epochs existed (its commons had none then); None before the first pull."""
        epoch = self.get_meta(EPOCH_META)
        if epoch is None and self.cursors():
            return ""
        return epoch

    def send_again_after_restore(self) -> int:
        """Queue what a restored commons lacks (:func:`.restored.send_again`); how many mutations."""
        return after_restore.send_again(self._store)

    def acknowledge(
        self,
        done: Iterable[int],
        rejected: Mapping[int, str],
        rows: Iterable[Change],
    ) -> Applied:
        """A push answer: remove the acknowledged entries, set rejected ones aside with their reason,
        and adopt the rows the commons returned, in one transaction."""
        applied = Applied()
        with self._transaction() as connection:
            acknowledged = [(seq,) for seq in done]
            if acknowledged:
                driver_of(connection).executemany("DELETE FROM outbox WHERE seq = ?", acknowledged)
            for seq, reason in rejected.items():
                connection.exec_driver_sql(
                    "UPDATE outbox SET state = 'rejected', reason = ? WHERE seq = ?", (reason, seq)
                )
            self._apply(
                connection, [r for r in rows if r.row is not None], applied, leaving_scope=False
            )
        return applied

    def _apply(
        self,
        connection: Connection,
        changes: Iterable[ChangeLike],
        applied: Applied,
        *,
        leaving_scope: bool,
        backfilling: set[str] = frozenset(),  # type: ignore[assignment]
    ) -> None:
        changes = list(changes)
        keys = {(c.entity, c.id) for c in changes}
        pending = _pending_keys(connection, keys)
        # Rows held after a commons restore: settled as a pull brings them back; a push answer's
        # row is not taken for them (the pull compares them with the commons first).
        held = after_restore.unsettled(connection, keys)
        unsent: set[tuple[str, str]] | None = None
        batches: dict[str, list[list[Any]]] = {}
        erased: list[str] = []
        for change in changes:
            key = (change.entity, change.id)
            table = self._tables.get(change.entity)
            if table is None:
                continue  # an entity this version does not know: ignored, not fatal
            if change.row is None:
                if not leaving_scope:
                    continue
                if key in held:
                    after_restore.forget(connection, key)
                if unsent is None:
                    unsent = _unsent_keys(connection)
                if key in unsent:
                    applied.kept.append(key)
                else:
                    applied.removed += connection.exec_driver_sql(
                        f"DELETE FROM {change.entity} WHERE id = ?", (change.id,)
                    ).rowcount
                continue
            row = change.row
            if key in held and not leaving_scope:
                continue
            if is_erasure(change.entity, row):
                applied.erased += 1
                _scrub_outbox(connection, change.id)
                _wipe_children(connection, change.id)
                erased.append(change.id)
            if key in pending:
                values = self._rebased(connection, table, row, pending[key])
                applied.rebased += 1
            else:
                values = table.driver_values(row)
            if key in held:
                fields = pending[key].fields if key in pending else set()
                values = after_restore.settle(connection, table, row, values, fields)
            batches.setdefault(change.entity, []).append(values)
            applied.rows += 1
        if leaving_scope:  # a pull (a push's answer only echoes this device's own edits)
            self._record_history(connection, batches, erased, backfilling)
        driver = driver_of(connection)
        for entity, values in batches.items():
            if entity == "learner" and len(values) >= BULK_SEARCH_ROWS:
                upsert_learners_in_bulk(driver, self._tables[entity].upsert, values)
            else:
                driver.executemany(self._tables[entity].upsert, values)

    def _record_history(
        self,
        connection: Connection,
        batches: Mapping[str, list[list[Any]]],
        erased: list[str],
        backfilling: set[str],
    ) -> None:
        """What the pulled rows change in the learners' histories (before they are written)."""
        at = self._store.clock.now().isoformat()
        for learner_id in erased:  # their history holds their personal values: it goes
            forget_learner(connection, learner_id)
        for entity, values in batches.items():
            columns = self._tables[entity].columns
            if backfilling and "site_id" in columns:
                site = columns.index("site_id")
                values = [v for v in values if v[site] not in backfilling]
            record_pulled(connection, entity, columns, values, at, skip=set(erased))
        for learner_id in erased:
            connection.exec_driver_sql(
                "INSERT INTO history (learner_id, entity, row_id, op, source, at, changes)"
                " VALUES (?, 'learner', ?, 'erase', 'commons', ?, '{}')",
                (learner_id, learner_id, at),
            )

    def _rebased(
        self, connection: Connection, table: DriverTable, row: Mapping[str, Any], pending: _Pending
    ) -> list[Any]:
        """The server's row with the local values of the fields that still have pending edits."""
        incoming = table.driver_values(row)
        local = connection.exec_driver_sql(
            f"SELECT {', '.join(table.columns)} FROM {table.name} WHERE id = ?", (row["id"],)
        ).first()
        if local is None:
            return incoming
        keep = set(pending.fields)
        if pending.deleted:
            keep.add("deleted_at")
        keep.add("updated_at")
        if is_erasure(table.name, row):
            keep -= set(
                LEARNER_PERSONAL_FIELDS
            )  # an erasure wins over any local edit of the person
        for index, name in enumerate(table.columns):
            if name in keep:
                incoming[index] = local[index]
        return incoming


@dataclass
class _Pending:
    fields: set[str] = field(default_factory=set)
    deleted: bool = False


def _unsent_keys(connection: Connection) -> set[tuple[str, str]]:
    """Rows holding local work the commons has not taken: pending or rejected entries."""
    return {
        (entity, row_id)
        for entity, row_id in connection.exec_driver_sql(
            "SELECT DISTINCT entity, row_id FROM outbox WHERE state IN ('pending', 'rejected')"
        )
    }


def _pending_keys(
    connection: Connection, among: set[tuple[str, str]] | None = None
) -> dict[tuple[str, str], _Pending]:
    """Rows with pending entries (only those ``among`` when given) and the fields they change."""
    pending: dict[tuple[str, str], _Pending] = {}
    for entity, row_id, op, fields in connection.exec_driver_sql(
        "SELECT entity, row_id, op, fields FROM outbox WHERE state = 'pending'"
    ):
        if among is not None and (entity, row_id) not in among:
            continue
        entry = pending.setdefault((entity, row_id), _Pending())
        if op in ("delete", "erase"):
            entry.deleted = True
        if op != "delete":
            entry.fields.update(json.loads(fields))
    return pending


def _scrub_outbox(connection: Connection, learner_id: str) -> None:
    """An erased person's values leave the outbox too (their edits can no longer apply)."""
    rows = connection.exec_driver_sql(
        "SELECT seq, fields, base_values FROM outbox WHERE entity = 'learner' AND row_id = ?",
        (learner_id,),
    ).all()
    for seq, fields_json, base_json in rows:
        fields, base = json.loads(fields_json), json.loads(base_json)
        fields.update({k: v for k, v in ERASED_LEARNER_VALUES.items() if k in fields})
        base.update({k: v for k, v in ERASED_LEARNER_VALUES.items() if k in base})
        connection.exec_driver_sql(
            "UPDATE outbox SET fields = ?, base_values = ? WHERE seq = ?",
            (json.dumps(fields, sort_keys=True), json.dumps(base, sort_keys=True), seq),
        )
    connection.exec_driver_sql(
        "UPDATE conflict SET server_value = NULL, client_value = NULL, base_value = NULL WHERE row_id = ?",
        (learner_id,),
    )


def _wipe_children(connection: Connection, learner_id: str) -> None:
    for table in ("follow_up", "placement"):
        connection.exec_driver_sql(
            f"UPDATE {table} SET notes = '' WHERE learner_id = ? AND notes <> ''", (learner_id,)
        )


def _evict_site(connection: Connection, site_id: str, applied: Applied) -> list[tuple[str, str]]:
    """Remove a site's rows, except those with unsent local edits (returned)."""
    pending = _unsent_keys(connection)
    kept: list[tuple[str, str]] = []
    for entity in (*reversed(after_restore.SITE_SCOPED), "site"):
        column = "id" if entity == "site" else "site_id"
        ids = [
            r[0]
            for r in connection.exec_driver_sql(
                f"SELECT id FROM {entity} WHERE {column} = ?", (site_id,)
            )
        ]
        gone = []
        for row_id in ids:
            if (entity, row_id) in pending:
                kept.append((entity, row_id))
            else:
                gone.append((row_id,))
        if gone:
            driver_of(connection).executemany(f"DELETE FROM {entity} WHERE id = ?", gone)
            applied.removed += len(gone)
    return kept
