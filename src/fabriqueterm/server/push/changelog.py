"""The change log (``srv_change``): one entry per row and site it shows in, moved forward by every
write of the row; pulls read it in sequence order."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from fabriqueterm.server.db import change_table, is_postgres
from fabriqueterm.server.rows import chunks


def upsert_changes(connection: Connection, entries: list[dict[str, Any]]) -> None:
    """Insert or move forward the change-log entries (one per row and site)."""
    if not entries:
        return
    if is_postgres(connection):
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert  # type: ignore[assignment]
    statement = dialect_insert(change_table)
    statement = statement.on_conflict_do_update(
        index_elements=["entity", "row_id", "site_id"],
        set_={
            "seq": statement.excluded.seq,
            "client_id": statement.excluded.client_id,
            "coordinator_id": statement.excluded.coordinator_id,
            "row_site": statement.excluded.row_site,
            "row_json": statement.excluded.row_json,
        },
    )
    for part in chunks(entries, 2000):
        connection.execute(statement, part)
