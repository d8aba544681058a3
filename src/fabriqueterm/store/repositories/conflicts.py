"""Open conflicts as a person decides them (docs/sync.md, "Conflicts"): each record with what it
is about (the learner and their cohort, or the cohort, partner or site by name), who made the
commons' value and when, and when this computer made its own.

Deciding is :meth:`fabriqueterm.store.replica.Replica.resolve_conflict`, plus a normal update
through the entity's repository when the person takes their own value.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fabriqueterm.store.db import Store


@dataclass(frozen=True)
class ConflictLine:
    """One open conflict record, with the names a person needs to decide it."""

    id: str
    row_entity: str
    row_id: str
    #: ConflictKind value: "field", "deleted" or "create".
    kind: str
    field: str
    #: Values as JSON text (None: erased, or nothing was sent).
    server_value: str | None
    client_value: str | None
    base_value: str | None
    #: Who pushed the conflicting change (on most devices: this coordinator).
    coordinator_id: str
    coordinator_name: str
    detected_at: datetime
    #: Who made the commons' value and when (None in records made by an older commons).
    server_author_id: str | None
    server_author_name: str | None
    server_changed_at: datetime | None
    #: When this computer last changed that field (its history); None when the history does not
    #: say (a cohort, partner or site has none; or the change came from another device).
    mine_changed_at: datetime | None
    #: The learner the record is about ("" for a cohort, partner or site, or an erased learner).
    learner_name: str
    #: The learner's cohort, or the cohort the record is.
    cohort_name: str
    #: The partner's or site's name when the record is one.
    other_name: str
    #: A follow-up's milestone code (M0, M3, M6), else "".
    milestone: str


_OPEN = """
SELECT c.id, c.row_entity, c.row_id, c.kind, c.field, c.server_value, c.client_value,
    c.base_value, c.coordinator_id, c.coordinator_name, c.detected_at,
    c.server_author_id, c.server_author_name, c.server_changed_at,
    (SELECT max(h.at) FROM history h
        WHERE h.entity = c.row_entity AND h.row_id = c.row_id AND h.source = 'local'
        AND json_type(h.changes, '$."' || c.field || '"') IS NOT NULL) AS mine_at,
    trim(coalesce(lr.first_name, '') || ' ' || coalesce(lr.last_name, '')) AS learner_name,
    coalesce(co.name, '') AS cohort_name,
    coalesce(pa.name, si.name, '') AS other_name,
    coalesce(f.milestone, '') AS milestone
FROM conflict c
LEFT JOIN follow_up f ON c.row_entity = 'follow_up' AND f.id = c.row_id
LEFT JOIN placement p ON c.row_entity = 'placement' AND p.id = c.row_id
LEFT JOIN learner lr ON lr.id = CASE c.row_entity
    WHEN 'learner' THEN c.row_id WHEN 'follow_up' THEN f.learner_id
    WHEN 'placement' THEN p.learner_id END
LEFT JOIN cohort co ON co.id = CASE WHEN c.row_entity = 'cohort' THEN c.row_id
    ELSE lr.cohort_id END
LEFT JOIN partner pa ON c.row_entity = 'partner' AND pa.id = c.row_id
LEFT JOIN site si ON c.row_entity = 'site' AND si.id = c.row_id
WHERE c.resolved_at IS NULL AND c.deleted_at IS NULL
ORDER BY c.detected_at, c.row_entity, c.row_id, c.field, c.id
"""

#: Tables whose ids a conflict value may hold (a reference field), and their name column.
_NAMED = {"cohort": "name", "partner": "name", "site": "name"}


def _stamp(value: Any) -> datetime | None:
    """A stored timestamp (SQLite text, or ISO 8601 from the history) as an aware UTC datetime."""
    if value is None or value == "":
        return None
    stamp = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)


class ConflictRepository:
    """Reads of the open conflict records, in one snapshot each."""

    def __init__(self, store: Store):
        self._store = store

    def open(self) -> list[ConflictLine]:
        """The open conflicts, oldest first (a record's fields together), with what each is about and who made each value."""
        with self._store.engine.connect() as connection:
            rows = connection.exec_driver_sql(_OPEN).all()
        lines = []
        for row in rows:
            values = row._mapping
            detected = _stamp(values["detected_at"])
            assert detected is not None
            lines.append(
                ConflictLine(
                    id=values["id"],
                    row_entity=values["row_entity"],
                    row_id=values["row_id"],
                    kind=values["kind"],
                    field=values["field"],
                    server_value=values["server_value"],
                    client_value=values["client_value"],
                    base_value=values["base_value"],
                    coordinator_id=values["coordinator_id"],
                    coordinator_name=values["coordinator_name"] or "",
                    detected_at=detected,
                    server_author_id=values["server_author_id"],
                    server_author_name=values["server_author_name"] or None,
                    server_changed_at=_stamp(values["server_changed_at"]),
                    mine_changed_at=_stamp(values["mine_at"]),
                    learner_name=values["learner_name"],
                    cohort_name=values["cohort_name"],
                    other_name=values["other_name"],
                    milestone=values["milestone"],
                )
            )
        return lines

    def names(self, ids: Iterable[str]) -> dict[str, str]:
        """The names of the cohorts, partners and sites among ``ids`` (reference values)."""
        wanted = sorted({i for i in ids if i})
        if not wanted:
            return {}
        marks = ", ".join("?" for _ in wanted)
        query = " UNION ALL ".join(
            f"SELECT id, {column} FROM {table} WHERE id IN ({marks})"
            for table, column in _NAMED.items()
        )
        with self._store.engine.connect() as connection:
            rows = connection.exec_driver_sql(query, tuple(wanted) * len(_NAMED)).all()
        return {row[0]: row[1] for row in rows}
