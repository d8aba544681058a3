"""The synced tables as the sqlite3 driver sees them: column order, timestamp conversion and the
upsert statement of each, and the bulk upsert of learners that keeps the search index in one pass.
The replica (:mod:`fabriqueterm.store.replica`) writes pulled rows through these."""

from __future__ import annotations

import operator
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from fabriqueterm.domain.models import ENTITIES, UTCDateTime


@dataclass
class DriverTable:
    """One synced table as the driver sees it: its columns and the upsert statement."""

    name: str
    columns: list[str]
    stamps: list[tuple[int, Any]]  # (column index, converter) of the timestamp columns
    upsert: str

    def __post_init__(self) -> None:
        self._getter = operator.itemgetter(*self.columns)

    def driver_values(self, row: Mapping[str, Any]) -> list[Any]:
        try:
            values = list(self._getter(row))
        except KeyError:  # a row without some column (an older server): those are null
            values = [row.get(name) for name in self.columns]
        for index, convert in self.stamps:
            value = values[index]
            if value is not None:
                values[index] = convert(value)
        return values


def _datetime_converter(dialect: Any, column_type: Any) -> Any:
    process = column_type.dialect_impl(dialect).bind_processor(dialect)

    def convert(value: Any) -> Any:
        # The commons sends UTC ISO 8601; SQLite keeps "YYYY-MM-DD HH:MM:SS.ffffff": cut, don't parse.
        if isinstance(value, str) and value.endswith("+00:00") and value[10:11] == "T":
            if len(value) == 25:
                return f"{value[:10]} {value[11:19]}.000000"
            if len(value) == 32 and value[19] == ".":
                return f"{value[:10]} {value[11:26]}"
        stamp = datetime.fromisoformat(value) if isinstance(value, str) else value
        if stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=UTC)
        return process(stamp) if process else stamp

    return convert


def driver_tables(dialect: Any) -> dict[str, DriverTable]:
    """Every synced table by entity name, its values converted for ``dialect``."""
    tables = {}
    for entity, model in ENTITIES.items():
        table = model.__table__  # type: ignore[attr-defined]
        columns = [c.name for c in table.columns]
        # Dates travel as ISO text, which is how SQLite stores them; timestamps need converting.
        stamps = [
            (index, _datetime_converter(dialect, column.type))
            for index, column in enumerate(table.columns)
            if isinstance(column.type, UTCDateTime)
        ]
        names = ", ".join(columns)
        marks = ", ".join("?" for _ in columns)
        updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c != "id")
        tables[entity] = DriverTable(
            entity,
            columns,
            stamps,
            f"INSERT INTO {entity} ({names}) VALUES ({marks}) ON CONFLICT (id) DO UPDATE SET {updates}",
        )
    return tables


#: From this many learners in one page on, the search index is fed in one statement, not per row.
BULK_SEARCH_ROWS = 200


def upsert_learners_in_bulk(driver: Any, upsert: str, values: list[list[Any]]) -> None:
    """Upsert learners with the search index's per-row insert trigger replaced by one INSERT …
    SELECT of the new rows (about 8x cheaper), all inside the caller's transaction (DDL included:
    a failure keeps the trigger)."""
    trigger = driver.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'learner_search_ai'"
    ).fetchone()
    if trigger is None:
        driver.executemany(upsert, values)
        return
    last = driver.execute("SELECT coalesce(max(rowid), 0) FROM learner").fetchone()[0]
    driver.execute("DROP TRIGGER learner_search_ai")
    driver.executemany(upsert, values)  # updated rows still go through the update trigger
    # The index's own view computes what its triggers would (migration version 6).
    driver.execute(
        "INSERT INTO learner_search (rowid, words, phones)"
        " SELECT learner_rowid, words, phones FROM learner_search_source WHERE learner_rowid > ?",
        (last,),
    )
    driver.execute(trigger[0])


def driver_of(connection: Connection) -> Any:
    """The sqlite3 connection under ``connection`` (its executemany is the fast path), in the same
    transaction."""
    return connection.connection.driver_connection
