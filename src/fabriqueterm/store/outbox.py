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
