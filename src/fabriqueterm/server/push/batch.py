"""One push's batch: the rows it touches, read once (and locked) at the start, changed in memory
as each mutation is decided (the batch sees its own earlier writes), then written at once with
one sequence number per row.

Each mutation is decided under a :class:`Mark` (the "savepoint" of the in-memory state): every
change :meth:`Batch.put` makes after it is journalled, so :meth:`Batch.rollback_to` leaves the
batch exactly as if that mutation had never been tried (docs/sync.md, "Each mutation on its
own"). :meth:`Batch.flush` writes what is pending; :meth:`Batch.settle` then makes the written
state the new starting point, so a batch can also be flushed one mutation at a time."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.exc import DBAPIError

from fabriqueterm.domain.dates import utcnow
from fabriqueterm.server.auth import Coordinator, granted_sites
from fabriqueterm.server.db import (
    SYNCED_TABLES,
    change_table,
    erasure_table,
    is_postgres,
    partner_origin_table,
    take_sequence,
)
from fabriqueterm.server.push.changelog import upsert_changes
from fabriqueterm.server.rows import PartnerLinks, chunks, row_json, row_out, site_of

Key = tuple[str, str]

_MISSING: Any = object()

#: The version a row carries while its JSON is made, before its number is taken: no row holds it
#: (versions are sequence numbers, never negative), and in the compact JSON ``"version":`` followed
#: by it can only be the row's own key (a quote inside a string value is escaped).
_VERSION_MARK = -7_365_018_246_913_552
_VERSION_JSON = f'"version":{_VERSION_MARK}'


class Mark:
    """The batch's in-memory state before one mutation: what :meth:`Batch.rollback_to` restores.
    Rows and their originals are journalled as :meth:`Batch.put` changes them (the previous value
    of each key, once); the small collections are copied."""

    def __init__(self, batch: Batch):
        self.rows: dict[Key, Any] = {}
        self.original: dict[Key, Any] = {}
        self.links: dict[str, set[str]] = {}
        self.dirty = list(batch.dirty)
        self.partner_changes = len(batch.partner_changes)
        self.new_erasures = len(batch.new_erasures)
        self.new_origins = dict(batch.new_origins)
        self.erased = dict(batch.erased)


class Batch:
    """One push, decided in memory over the rows it touches, then written at once."""

    def __init__(self, connection: Connection, coordinator: Coordinator, client_id: str):
        self.connection = connection
        self.coordinator = coordinator
        self.client_id = client_id
        self.granted = granted_sites(connection, coordinator.id)
        self.now = utcnow()
        self.rows: dict[Key, dict[str, Any] | None] = {}
        self.original: dict[Key, dict[str, Any] | None] = {}
        self.dirty: dict[Key, None] = {}  # ordered set of rows to write
        self.links = PartnerLinks(connection)
        self.partner_changes: list[tuple[str, str, Key]] = []  # (partner id, site id, link row)
        self.new_origins: dict[str, str] = {}
        self.erased: dict[str, bool] = {}
        self.new_erasures: list[str] = []
        self.last_writer: dict[Key, tuple[str | None, str | None]] = {}
        self.for_update = is_postgres(connection)
        self.out: dict[Key, dict[str, Any]] = {}  # rows written, as the API carries them
        self._marks: list[Mark] = []  # the marks still open (a write is journalled in each)

    # --- one mutation's savepoint -------------------------------------------------------------

    def mark(self) -> Mark:
        """Start journalling: the state before the next mutation (marks nest)."""
        mark = Mark(self)
        self._marks.append(mark)
        return mark

    def release(self, mark: Mark) -> None:
        """Keep what was done since ``mark`` and stop journalling for it."""
        if mark in self._marks:
            self._marks.remove(mark)

    def rollback_to(self, mark: Mark) -> None:
        """Forget every in-memory change made since ``mark`` (a refused or failed mutation)."""
        for key, value in mark.rows.items():
            if value is _MISSING:
                self.rows.pop(key, None)
            else:
                self.rows[key] = value
        for key, value in mark.original.items():
            if value is _MISSING:
                self.original.pop(key, None)
            else:
                self.original[key] = value
        for partner_id, sites in mark.links.items():
            live = self.links.sites(partner_id)
            live.clear()
            live.update(sites)
        self.dirty = dict.fromkeys(mark.dirty)
        del self.partner_changes[mark.partner_changes :]
        del self.new_erasures[mark.new_erasures :]
        self.new_origins = dict(mark.new_origins)
        self.erased = dict(mark.erased)
        if mark in self._marks:  # it, and the marks opened after it, are done
            del self._marks[self._marks.index(mark) :]

    def _journal(self, key: Key) -> None:
        for mark in self._marks:
            mark.rows.setdefault(key, self.rows.get(key, _MISSING))
            mark.original.setdefault(key, self.original.get(key, _MISSING))

    def _journal_links(self, partner_id: str) -> None:
        for mark in self._marks:
            if partner_id not in mark.links:
                mark.links[partner_id] = set(self.links.sites(partner_id))

    # --- reading ----------------------------------------------------------------------------

    def prefetch(self, keys: Iterable[Key], *, lock: bool = False) -> None:
        by_entity: dict[str, set[str]] = {}
        for entity, row_id in keys:
            if (entity, row_id) not in self.rows and entity in SYNCED_TABLES:
                by_entity.setdefault(entity, set()).add(row_id)
        for entity in SYNCED_TABLES:  # a fixed order, so two batches lock in the same order
            ids = sorted(by_entity.get(entity, ()))
            table = SYNCED_TABLES[entity]
            for part in chunks(ids):
                query = select(table).where(table.c.id.in_(part)).order_by(table.c.id)
                if lock and self.for_update:
                    # FOR NO KEY UPDATE, not FOR UPDATE: two pushes writing one row still queue,
                    # but another push's (deferred) foreign-key check of a child pointing at it,
                    # a FOR KEY SHARE run at its commit, under the counter's lock, does not wait
                    # for this one, which waits for that counter: a deadlock, found only after
                    # deadlock_timeout (1 s) with every push stalled (docs/server.md, "Load").
                    query = query.with_for_update(key_share=True)
                found = {r["id"]: dict(r) for r in self.connection.execute(query).mappings()}
                for row_id in part:
                    row = found.get(row_id)
                    self.rows[(entity, row_id)] = row
                    self.original[(entity, row_id)] = dict(row) if row else None

    def get(self, entity: str, row_id: str) -> dict[str, Any] | None:
        key = (entity, row_id)
        if key not in self.rows:
            self.prefetch([key])
        return self.rows[key]

    def visible(self, entity: str, row: dict[str, Any] | None) -> bool:
        if row is None:
            return False
        if entity == "partner":
            return self.links.visible(row["id"], self.granted, self.coordinator.id)
        return site_of(entity, row) in self.granted

    def load_erasures(self, row_ids: Iterable[str]) -> None:
        missing = sorted({r for r in row_ids if r not in self.erased})
        for part in chunks(missing):
            found = set(
                self.connection.execute(
                    select(erasure_table.c.row_id).where(erasure_table.c.row_id.in_(part))
                ).scalars()
            )
            for row_id in part:
                self.erased[row_id] = row_id in found

    def is_erased(self, row_id: str) -> bool:
        if row_id not in self.erased:
            self.erased[row_id] = (
                self.connection.execute(
                    select(erasure_table.c.row_id).where(erasure_table.c.row_id == row_id)
                ).first()
                is not None
            )
        return self.erased[row_id]

    def written_last_by_this_client(self, key: Key) -> bool:
        if key in self.dirty:
            return True
        if key not in self.last_writer:
            found = self.connection.execute(
                select(change_table.c.client_id, change_table.c.coordinator_id)
                .where(change_table.c.entity == key[0], change_table.c.row_id == key[1])
                .order_by(change_table.c.seq.desc())
                .limit(1)
            ).first()
            self.last_writer[key] = (found[0], found[1]) if found else (None, None)
        # A client_id names a client only with its coordinator (srv_client's key).
        return self.last_writer[key] == (self.client_id, self.coordinator.id)

    # --- writing (in memory until flush) ----------------------------------------------------

    def put(self, entity: str, row: dict[str, Any]) -> None:
        key = (entity, row["id"])
        self._journal(key)
        if entity == "partner_site":
            self._journal_links(row["partner_id"])
            before = self.rows.get(key)
            if before is not None:
                self._journal_links(before["partner_id"])
        if key not in self.original:
            self.original[key] = None
        before = self.rows.get(key)
        self.rows[key] = row
        self.dirty.pop(key, None)
        self.dirty[key] = None  # written last: its sequence number comes last
        if entity == "partner_site":
            links = self.links.sites(row["partner_id"])
            if before is not None and before["deleted_at"] is None:
                self.links.sites(before["partner_id"]).discard(before["site_id"])
                if (before["partner_id"], before["site_id"]) != (row["partner_id"], row["site_id"]):
                    self.partner_changes.append((before["partner_id"], before["site_id"], key))
            if row["deleted_at"] is None:
                links.add(row["site_id"])
            self.partner_changes.append((row["partner_id"], row["site_id"], key))

    def settle(self) -> None:
        """After a flush: what was written is the new starting point (a later put updates it)."""
        for key in self.dirty:
            row = self.rows[key]
            self.original[key] = dict(row) if row is not None else None
            self.last_writer[key] = (self.client_id, self.coordinator.id)
        self.dirty = {}
        self.partner_changes = []
        self.new_origins = {}
        self.new_erasures = []
        self._marks = []

    def flush(self) -> None:
        """Take the sequence numbers and write every changed row, its change-log entries, the
        partners' creators and the erasures. ``out`` gets the rows only once all is written.

        Everything but the numbers is made first (the rows as the API carries them, their JSON,
        the change-log entries, every read the partners' links need); only then is the counter
        taken, the numbers filled in (a string replace in each JSON), and the rows written. The
        counter's row lock, held until commit, then covers only the writes (docs/sync.md,
        "Ordering on PostgreSQL")."""
        if not self.dirty:
            return
        keys = list(self.dirty)
        position = {key: offset for offset, key in enumerate(keys)}
        out: dict[Key, dict[str, Any]] = {}
        texts: dict[Key, str] = {}
        inserts: dict[str, list[dict[str, Any]]] = {}
        updates: dict[str, list[dict[str, Any]]] = {}
        changes: dict[tuple[str, str, str], Key] = {}  # change-log entry -> the row it numbers
        for key in keys:
            entity, row_id = key
            row = self.rows[key]
            assert row is not None
            row["version"] = _VERSION_MARK
            original = self.original.get(key)
            if original is None:
                inserts.setdefault(entity, []).append(row)
            else:
                updates.setdefault(entity, []).append({f"b_{k}": v for k, v in row.items()})
            sites = {site_of(entity, row)}
            if original is not None:
                sites.add(site_of(entity, original))
            if entity == "partner":
                sites = set(self.links.sites(row_id))
            for site in sites - {None}:
                changes[(entity, row_id, site)] = key  # type: ignore[index]
            out[key] = row_out(row)
            texts[key] = row_json(row, out[key])
        for partner_id, site_id, link_key in self.partner_changes:
            index = ("partner", partner_id, site_id)
            # The entry moves to the latest of the links written (numbers follow ``keys``).
            if index not in changes or position.get(changes[index], -1) < position[link_key]:
                changes[index] = link_key
            if ("partner", partner_id) not in texts:
                partner = self.get("partner", partner_id)
                if partner is not None:
                    texts[("partner", partner_id)] = row_json(partner)
        entries = [(e, r, s, source) for (e, r, s), source in changes.items() if (e, r) in texts]
        # The numbers: from here to commit, no read and no decision, only writes.
        last = take_sequence(self.connection, len(keys))
        first = last - len(keys) + 1
        seqs = {key: first + offset for offset, key in enumerate(keys)}
        for key in keys:
            seq = seqs[key]
            self.rows[key]["version"] = seq  # type: ignore[index]
            out[key]["version"] = seq
            texts[key] = texts[key].replace(_VERSION_JSON, f'"version":{seq}', 1)
        for entity, entity_updates in updates.items():
            for values in entity_updates:
                values["b_version"] = seqs[(entity, values["b_id"])]
        with self._pipelined():
            self._write(inserts, updates, entries, seqs, texts)
        self.out.update(out)

    @contextmanager
    def _pipelined(self) -> Iterator[None]:
        """On PostgreSQL the writes are sent without waiting for each answer (psycopg's pipeline
        mode; an ``executemany`` still waits for its own at its end): fewer round trips under the
        counter's lock, each of them also a wait for the interpreter when the process is busy. A
        refusal met only when the pipeline ends is raised as SQLAlchemy's own error, as a write's
        would be (the refusals tested here surface at their statement already)."""
        if not self.for_update:
            yield
            return
        import psycopg

        driver = self.connection.connection.driver_connection
        assert isinstance(driver, psycopg.Connection)
        try:
            with driver.pipeline():
                yield
        except psycopg.Error as error:
            raise DBAPIError.instance(None, None, error, psycopg.Error) from error

    def _write(
        self,
        inserts: dict[str, list[dict[str, Any]]],
        updates: dict[str, list[dict[str, Any]]],
        entries: list[tuple[str, str, str, Key]],
        seqs: dict[Key, int],
        texts: dict[Key, str],
    ) -> None:
        for entity in SYNCED_TABLES:
            table = SYNCED_TABLES[entity]
            if inserts.get(entity):
                self.connection.execute(insert(table), inserts[entity])
            if updates.get(entity):
                columns = [c.name for c in table.columns if c.name != "id"]
                statement = (
                    update(table)
                    .where(table.c.id == bindparam("b_id"))
                    .values({c: bindparam(f"b_{c}") for c in columns})
                )
                self.connection.execute(statement, updates[entity])
        upsert_changes(
            self.connection,
            [
                {
                    "entity": e,
                    "row_id": r,
                    "site_id": s,
                    "seq": seqs[source],
                    "client_id": self.client_id,
                    "coordinator_id": self.coordinator.id,
                    "row_site": site_of(e, self.rows[(e, r)]),  # type: ignore[arg-type]
                    "row_json": texts[(e, r)],
                }
                for e, r, s, source in entries
            ],
        )
        if self.new_origins:
            self.connection.execute(
                insert(partner_origin_table),
                [{"partner_id": p, "coordinator_id": c} for p, c in self.new_origins.items()],
            )
        if self.new_erasures:
            self.connection.execute(
                insert(erasure_table),
                [{"row_id": r, "erased_at": self.now} for r in self.new_erasures],
            )
