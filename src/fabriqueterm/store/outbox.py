"""The outbox: every local write leaves an entry here in the same transaction (docs/sync.md, rule
1), pushed to the commons in ``seq`` order by the sync engine."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import text
from sqlmodel import Session

from fabriqueterm.files import create_private_file

if TYPE_CHECKING:
    from fabriqueterm.store.db import Store


def to_json_value(value: Any) -> Any:
    """A column value as it travels in JSON (dates and timestamps as ISO 8601 text)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def dumps(values: dict[str, Any]) -> str:
    return json.dumps(
        {k: to_json_value(v) for k, v in values.items()}, ensure_ascii=False, sort_keys=True
    )


@dataclass(frozen=True)
class OutboxEntry:
    seq: int
    entity: str
    row_id: str
    op: str
    fields: dict[str, Any]
    base_version: int | None
    base_values: dict[str, Any]
    created_at: str
    state: str
    reason: str | None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> OutboxEntry:
        """The entry of an ``outbox`` row read as a mapping (``SELECT *``), JSON fields decoded."""
        return cls(
            seq=row["seq"],
            entity=row["entity"],
            row_id=row["row_id"],
            op=row["op"],
            fields=json.loads(row["fields"]),
            base_version=row["base_version"],
            base_values=json.loads(row["base_values"]),
            created_at=row["created_at"],
            state=row["state"],
            reason=row["reason"],
        )


class Outbox:
    """Local mutations waiting for the commons."""

    def __init__(self, store: Store):
        self._store = store

    def append(
        self,
        session: Session,
        *,
        entity: str,
        row_id: str,
        op: str,
        fields: dict[str, Any],
        base_version: int | None,
        base_values: dict[str, Any],
    ) -> None:
        """Record one mutation; call inside the transaction that made the change."""
        self.append_many(
            session,
            [
                {
                    "entity": entity,
                    "row_id": row_id,
                    "op": op,
                    "fields": fields,
                    "base_version": base_version,
                    "base_values": base_values,
                }
            ],
        )

    def append_many(self, session: Session, mutations: Sequence[Mapping[str, Any]]) -> None:
        """Record mutations in the order given (each a mapping of :meth:`append`'s keyword
        arguments) with one statement; call inside the transaction that made the changes."""
        if not mutations:
            return
        self._store.history.record_local(session, mutations)
        created_at = self._store.clock.now().isoformat()
        session.execute(
            text(
                "INSERT INTO outbox (entity, row_id, op, fields, base_version, base_values, created_at, state)"
                " VALUES (:entity, :row_id, :op, :fields, :base_version, :base_values, :created_at, 'pending')"
            ),
            [
                {
                    "entity": m["entity"],
                    "row_id": m["row_id"],
                    "op": m["op"],
                    "fields": dumps(m["fields"]),
                    "base_version": m["base_version"],
                    "base_values": dumps(m["base_values"]),
                    "created_at": created_at,
                }
                for m in mutations
            ],
        )

    def scrub(self, session: Session, *, entity: str, row_id: str, wiped: dict[str, Any]) -> int:
        """Overwrite ``wiped``'s fields in the row's unsent entries (an erasure must not leave the
        person's data waiting in the outbox). Returns how many entries were changed."""
        changed = 0
        rows = session.execute(
            text(
                "SELECT seq, fields, base_values FROM outbox WHERE entity = :e AND row_id = :r AND state <> 'done'"
            ),
            {"e": entity, "r": row_id},
        ).all()
        for seq, fields_json, base_json in rows:
            fields, base = json.loads(fields_json), json.loads(base_json)
            fields.update({k: to_json_value(v) for k, v in wiped.items() if k in fields})
            base.update({k: to_json_value(v) for k, v in wiped.items() if k in base})
            session.execute(
                text("UPDATE outbox SET fields = :f, base_values = :b WHERE seq = :s"),
                {"f": dumps(fields), "b": dumps(base), "s": seq},
            )
            changed += 1
        return changed

    def entries(
        self, *, state: str | None = "pending", limit: int = 500, after_seq: int = 0
    ) -> list[OutboxEntry]:
        """Entries in push order, at most ``limit``."""
        query = "SELECT * FROM outbox WHERE seq > :after"
        if state is not None:
            query += " AND state = :state"
        query += " ORDER BY seq LIMIT :limit"
        with self._store.read() as session:
            rows = session.execute(
                text(query), {"after": after_seq, "state": state, "limit": limit}
            ).mappings()
            return [OutboxEntry.from_row(r) for r in rows]

    def export(self, path: Path) -> int:
        """The escape hatch (docs/sync.md): write every unsent or refused entry to ``path`` as JSON,
        readable by its owner only. Returns how many entries were written."""
        entries = [asdict(e) for e in self.entries(state=None, limit=-1)]
        create_private_file(path)
        path.write_text(
            json.dumps(
                {"client_id": self._store.client_id, "entries": entries},
                ensure_ascii=False,
                indent=2,
            ),
            encoding="utf-8",
        )
        return len(entries)

    def count(self, state: str = "pending") -> int:
        with self._store.read() as session:
            return int(
                session.execute(
                    text("SELECT count(*) FROM outbox WHERE state = :s"), {"s": state}
                ).scalar()
                or 0
            )

    def pending_row_ids(self, entity: str) -> set[str]:
        """Rows with local edits not yet answered by the commons (never overwritten by a pull)."""
        with self._store.read() as session:
            rows = session.execute(
                text("SELECT DISTINCT row_id FROM outbox WHERE entity = :e AND state = 'pending'"),
                {"e": entity},
            )
            return {r[0] for r in rows}


# --- salvage: the outbox of a damaged file ---------------------------------------------------------

_OUTBOX_COLUMNS = (
    "seq, entity, row_id, op, fields, base_version, base_values, created_at, state, reason"
)
#: Rows read per range query before falling back to one row at a time around a broken page.
_CHUNK = 256
#: When the highest ``seq`` cannot be read, how many missing rows in a row end the search.
_GIVE_UP_AFTER = 2000


class SalvageError(Exception):
    """Nothing of the outbox could be read: the message says why."""


@dataclass
class Salvage:
    """What could be read of a database's outbox: entries as :meth:`Outbox.export` writes them, how
    many rows could not be read (``unreadable_is_lower_bound`` when the end of the table was
    unreadable too), and the database's client id when it could be read."""

    entries: list[dict[str, Any]]
    unreadable: int = 0
    unreadable_is_lower_bound: bool = False
    client_id: str | None = None
    header_rebuilt: bool = False


def salvage_outbox(path: Path) -> Salvage:
    """Read the outbox of the database at ``path`` as far as SQLite can, never writing to it.

    A sound file is read in place, read-only. Otherwise a private copy is read: its header rebuilt
    when it is not SQLite's (a file whose first bytes were overwritten), then the table read by
    ranges of ``seq`` and, around a page SQLite cannot read, one ``seq`` at a time, so that every
    row outside the broken pages is kept and the ones inside are counted.
    """
    import shutil
    import sqlite3
    import tempfile

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(2, "No such file", str(path))
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return _salvage(connection, strict=True)
        finally:
            connection.close()
    except (sqlite3.Error, ValueError, SalvageError):
        pass
    with tempfile.TemporaryDirectory(prefix="fabriqueterm-salvage-") as folder:
        copy = Path(folder) / "copy.sqlite3"
        shutil.copyfile(path, copy)
        wal = path.with_name(path.name + "-wal")
        if wal.exists():
            shutil.copyfile(wal, copy.with_name(copy.name + "-wal"))
        rebuilt = _rebuild_header(copy)
        connection = sqlite3.connect(copy)
        try:
            # Load what can be loaded of a damaged schema instead of refusing all of it.
            connection.execute("PRAGMA writable_schema = ON")
            salvage = _salvage(connection, strict=False)
        finally:
            connection.close()
        salvage.header_rebuilt = rebuilt
        return salvage


def _rebuild_header(copy: Path) -> bool:
    """If ``copy`` does not start as a SQLite file, write the 100-byte header SQLite needs, trying
    each page size until the schema reads. Returns whether it did."""
    import sqlite3
    import struct

    data = copy.read_bytes()
    if data[:16] == b"SQLite format 3\x00":
        return False
    for page_size in (4096, 1024, 2048, 8192, 16384, 32768, 65536, 512):
        pages = max(1, len(data) // page_size)
        header = bytearray(100)
        header[0:16] = b"SQLite format 3\x00"
        header[16:18] = struct.pack(">H", 1 if page_size == 65536 else page_size)
        header[18:24] = bytes([1, 1, 0, 64, 32, 32])
        struct.pack_into(">IIIIIIIIIIII", header, 24, 1, pages, 0, 0, 1, 4, 0, 0, 1, 0, 0, 0)
        struct.pack_into(">II", header, 92, 1, 3045000)
        copy.write_bytes(bytes(header) + data[100:])
        try:
            connection = sqlite3.connect(copy)
            try:
                names = {r[0] for r in connection.execute("SELECT name FROM sqlite_master")}
            finally:
                connection.close()
        except sqlite3.Error:
            continue
        if "outbox" in names:
            return True
    copy.write_bytes(data)
    return False


def _salvage(connection: Any, *, strict: bool) -> Salvage:
    """Read the outbox through ``connection``; ``strict``: any unreadable part raises (the caller
    then reads a copy the careful way)."""
    import sqlite3

    def entry(row: tuple[Any, ...]) -> dict[str, Any]:
        names = [c.strip() for c in _OUTBOX_COLUMNS.split(",")]
        values = dict(zip(names, row, strict=True))
        return asdict(OutboxEntry.from_row(values))

    try:
        connection.execute("SELECT 1 FROM outbox LIMIT 0").fetchall()
    except sqlite3.Error as error:
        raise SalvageError(str(error)) from None
    salvage = Salvage(entries=[])
    try:
        found = connection.execute("SELECT value FROM meta WHERE key = 'client_id'").fetchone()
        salvage.client_id = found[0] if found else None
    except sqlite3.Error:
        if strict:
            raise
    last: int | None = None
    for query in (
        "SELECT seq FROM sqlite_sequence WHERE name = 'outbox'",
        "SELECT coalesce(max(seq), 0) FROM outbox",
    ):
        try:
            found = connection.execute(query).fetchone()
        except sqlite3.Error:
            if strict:
                raise
            continue
        if found and found[0] is not None:
            last = max(last or 0, int(found[0]))
    if last is None:
        salvage.unreadable_is_lower_bound = True
    select = f"SELECT {_OUTBOX_COLUMNS} FROM outbox"
    seq = 0  # every seq up to this one is read or counted
    missing_in_a_row = 0
    while last is None or seq < last:
        chunk: list[dict[str, Any]] = []
        try:  # a range first: fast while the pages are sound
            rows = connection.execute(
                f"{select} WHERE seq > ? AND seq <= ? ORDER BY seq", (seq, seq + _CHUNK)
            ).fetchall()
            chunk = [entry(row) for row in rows]
        except (sqlite3.Error, ValueError):
            if strict:
                raise
            chunk = []
            end = seq + _CHUNK if last is None else min(seq + _CHUNK, last)
            for one in range(seq + 1, end + 1):  # around the broken page, one at a time
                try:
                    row = connection.execute(f"{select} WHERE seq = ?", (one,)).fetchone()
                    if row is not None:
                        chunk.append(entry(row))
                except (sqlite3.Error, ValueError):
                    salvage.unreadable += 1
        salvage.entries.extend(chunk)
        seq += _CHUNK
        if last is None:  # the end is unknown: stop after a long run of nothing readable
            missing_in_a_row = 0 if chunk else missing_in_a_row + _CHUNK
            if missing_in_a_row >= _GIVE_UP_AFTER:
                break
    if last is not None:
        salvage.entries = [e for e in salvage.entries if e["seq"] <= last]
    return salvage
