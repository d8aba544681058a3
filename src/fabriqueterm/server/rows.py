"""Rows as the API carries them, and the scope rules shared by push and pull."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, select

from fabriqueterm.server.db import SYNCED_TABLES, partner_origin_table

#: Columns every synced row has, that a mutation never sets.
SYNC_COLUMNS = frozenset({"id", "created_at", "updated_at", "version", "deleted_at"})

#: Entities whose rows carry ``site_id`` (their scope is that site).
SITE_SCOPED = frozenset(
    {"cohort", "partner_site", "learner", "follow_up", "follow_up_attempt", "placement", "conflict"}
)

#: Reference columns and the entity they point to.
REFERENCES: dict[str, dict[str, str]] = {
    "cohort": {"site_id": "site"},
    "partner_site": {"partner_id": "partner", "site_id": "site"},
    "learner": {"site_id": "site", "cohort_id": "cohort", "prescriber_id": "partner"},
    "follow_up": {"site_id": "site", "learner_id": "learner"},
    "follow_up_attempt": {"site_id": "site", "learner_id": "learner", "follow_up_id": "follow_up"},
    "placement": {
        "site_id": "site",
        "learner_id": "learner",
        "partner_id": "partner",
        "source_followup_id": "follow_up",
    },
    "conflict": {"site_id": "site"},
}

#: Rows whose site is their parent's: (reference column, parent entity).
SITE_FROM_PARENT: dict[str, tuple[str, str]] = {
    "learner": ("cohort_id", "cohort"),
    "follow_up": ("learner_id", "learner"),
    "follow_up_attempt": ("follow_up_id", "follow_up"),
    "placement": ("learner_id", "learner"),
}

#: Entities whose rows are only ever created (and deleted): an update is refused.
APPEND_ONLY = frozenset({"follow_up_attempt"})

#: Editable columns per entity, in table order.
EDITABLE: dict[str, tuple[str, ...]] = {
    name: tuple(c.name for c in table.columns if c.name not in SYNC_COLUMNS)
    for name, table in SYNCED_TABLES.items()
}


_PLAIN = frozenset({str, int, bool, type(None)})


def json_value(value: Any) -> Any:
    """A column value as JSON carries it: ISO 8601 dates and UTC timestamps, finite numbers."""
    if type(value) in _PLAIN:
        return value
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    return value


def json_text(value: Any) -> str:
    return json.dumps(json_value(value), ensure_ascii=False, sort_keys=True)


def row_out(row: dict[str, Any]) -> dict[str, Any]:
    return {key: json_value(value) for key, value in row.items()}


def row_json(row: dict[str, Any], out: dict[str, Any] | None = None) -> str:
    """The row as the change log keeps it and pulls send it (compact JSON); ``out`` is the row's
    :func:`row_out` when already made."""
    return json.dumps(
        out if out is not None else row_out(row), ensure_ascii=False, separators=(",", ":")
    )


def site_of(entity: str, row: dict[str, Any]) -> str | None:
    """The site a row belongs to (None for partners: they are seen through their links)."""
    if entity == "site":
        return row["id"]
    if entity in SITE_SCOPED:
        return row["site_id"]
    return None


def chunks(items: list[Any], size: int = 900) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class PartnerLinks:
    """Live partner ↔ site links and partner creators, loaded on demand, with the batch's own
    changes on top."""

    def __init__(self, connection: Connection):
        self._connection = connection
        self._links: dict[str, set[str]] = {}
        self._origins: dict[str, str | None] = {}

    def load(self, partner_ids: Iterable[str]) -> None:
        missing = sorted({p for p in partner_ids if p not in self._links})
        if not missing:
            return
        table = SYNCED_TABLES["partner_site"]
        for part in chunks(missing):
            for pid in part:
                self._links[pid] = set()
            rows = self._connection.execute(
                select(table.c.partner_id, table.c.site_id).where(
                    table.c.partner_id.in_(part), table.c.deleted_at.is_(None)
                )
            )
            for pid, sid in rows:
                self._links[pid].add(sid)
            for pid, coordinator_id in self._connection.execute(
                select(
                    partner_origin_table.c.partner_id, partner_origin_table.c.coordinator_id
                ).where(partner_origin_table.c.partner_id.in_(part))
            ):
                self._origins[pid] = coordinator_id

    def sites(self, partner_id: str) -> set[str]:
        self.load([partner_id])
        return self._links[partner_id]

    def origin(self, partner_id: str) -> str | None:
        self.load([partner_id])
        return self._origins.get(partner_id)

    def set_origin(self, partner_id: str, coordinator_id: str) -> None:
        self.load([partner_id])
        self._origins[partner_id] = coordinator_id

    def visible(self, partner_id: str, granted: frozenset[str], coordinator_id: str) -> bool:
        """Linked to one of ``granted``, or linked nowhere and created by this coordinator."""
        links = self.sites(partner_id)
        if links & granted:
            return True
        return not links and self.origin(partner_id) == coordinator_id
