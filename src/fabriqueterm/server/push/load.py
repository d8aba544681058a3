"""Bulk-loading rows already valid (the demo network, an import) into the commons."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, insert

from fabriqueterm.server.db import (
    SYNCED_TABLES,
    change_table,
    is_postgres,
    take_sequence,
    write_transaction,
)
from fabriqueterm.server.push.changelog import upsert_changes
from fabriqueterm.server.rows import chunks, row_json, site_of


def load_rows(engine: Engine, rows_by_entity: dict[str, list[dict[str, Any]]]) -> int:
    """Bulk-load rows already valid (the demo network, an import) as if each had been pushed once:
    new versions from the counter and change-log entries. Returns the number of rows."""
    total = sum(len(rows) for rows in rows_by_entity.values())
    if not total:
        return 0
    with write_transaction(engine) as connection:
        links: dict[str, set[str]] = {}
        for link in rows_by_entity.get("partner_site", ()):
            if link.get("deleted_at") is None:
                links.setdefault(link["partner_id"], set()).add(link["site_id"])
        last = take_sequence(connection, total)
        seq = last - total
        partner_texts: dict[str, str] = {}
        for entity in SYNCED_TABLES:
            rows = rows_by_entity.get(entity) or []
            if not rows:
                continue
            table = SYNCED_TABLES[entity]
            columns = [c.name for c in table.columns]
            prepared, changes = [], []
            for row in rows:
                seq += 1
                record = {c: row.get(c) for c in columns}
                record["version"] = seq
                prepared.append(record)
                text = row_json(record)
                row_site = site_of(entity, row)
                if entity == "partner":
                    partner_texts[row["id"]] = text
                sites = links.get(row["id"], set()) if entity == "partner" else {row_site}
                for site in sites:
                    changes.append(
                        {
                            "entity": entity,
                            "row_id": row["id"],
                            "site_id": site,
                            "seq": seq,
                            "client_id": None,
                            "coordinator_id": None,
                            "row_site": row_site,
                            "row_json": text,
                        }
                    )
                if entity == "partner_site" and row["partner_id"] in partner_texts:
                    changes.append(
                        {
                            "entity": "partner",
                            "row_id": row["partner_id"],
                            "site_id": row["site_id"],
                            "seq": seq,
                            "client_id": None,
                            "coordinator_id": None,
                            "row_site": None,
                            "row_json": partner_texts[row["partner_id"]],
                        }
                    )
            for part in chunks(prepared, 5000):
                connection.execute(insert(table), part)
            upsert_changes(connection, changes)
    if is_postgres(engine):
        # Fresh statistics after a bulk load, or the planner walks the change log the slow way.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            for table in (
                change_table,
                *(SYNCED_TABLES[e] for e in rows_by_entity if e in SYNCED_TABLES),
            ):
                connection.exec_driver_sql(f"ANALYZE {table.name}")
    return total
