"""Foundation rows: the 100k-learner demo network generated and written, beside the raw SQLite
insert rate of the same rows (executemany in one transaction); all indicators for all sites, read
at once on several connections beside one after the other on one (cold: nothing is cached)."""

from __future__ import annotations

import sqlite3
from datetime import date, datetime
from pathlib import Path
from typing import Any

from common import Row, timed
from fabriqueterm import demo
from fabriqueterm.domain.dates import Clock
from fabriqueterm.domain.models import ENTITIES
from fabriqueterm.store import Store
from fabriqueterm.store.indicators import IndicatorRepository
from fabriqueterm.store.migrations import MIGRATIONS

TODAY = date(2026, 11, 25)


def _plain(value: Any) -> Any:
    """A value as SQLAlchemy stores it in SQLite (so both writes store the same bytes)."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    return value


def raw_insert(path: Path, data: demo.DemoData) -> None:
    """The baseline: plain sqlite3 executemany of the same rows into the same tables, without the
    secondary indexes and the search index the store maintains (the raw insert rate)."""
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        for statement in MIGRATIONS[0]:
            connection.execute(statement)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute("BEGIN")
        for entity in ENTITIES:
            rows = data.rows.get(entity) or []
            if not rows:
                continue
            columns = list(rows[0])
            sql = f"INSERT INTO {entity} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
            connection.executemany(sql, [tuple(_plain(r[c]) for c in columns) for r in rows])
        connection.execute("COMMIT")
    finally:
        connection.close()


def rows(workdir: Path, *, learners: int, seed: int) -> list[Row]:
    generate_seconds, data = timed(lambda: demo.generate(learners=learners, seed=seed, today=TODAY))
    assert isinstance(data, demo.DemoData)
    total_rows = sum(data.counts.values())

    raw_seconds, _ = timed(lambda: raw_insert(workdir / "raw.sqlite3", data))

    def write() -> Store:
        store = Store.open(workdir / "demo.sqlite3", clock=Clock(TODAY))
        demo.write(store, data)
        return store

    write_seconds, store = timed(write)
    assert isinstance(store, Store)
    indicator_seconds, _ = timed(lambda: store.indicators.report(TODAY), repeat=5)
    # The same statements one after the other on one connection: what a single core gives.
    one_connection = IndicatorRepository(store, parallel=False)
    one_connection_seconds, _ = timed(lambda: one_connection.report(TODAY), repeat=5)
    store.close()
    label = f"{learners:,} learners"
    return [
        Row("foundation", f"generate demo data ({label})", generate_seconds, total_rows),
        Row(
            "foundation",
            "raw sqlite3 executemany, same rows, tables only (baseline)",
            raw_seconds,
            total_rows,
        ),
        Row(
            "foundation",
            "write demo data through the store",
            write_seconds,
            total_rows,
            baseline="raw executemany",
            ratio=write_seconds / raw_seconds,
        ),
        Row(
            "foundation",
            "generate + write",
            generate_seconds + write_seconds,
            total_rows,
            baseline="raw executemany",
            ratio=(generate_seconds + write_seconds) / raw_seconds,
        ),
        Row(
            "foundation",
            f"all indicators, all sites ({label}), one connection, median of 5",
            one_connection_seconds,
        ),
        Row(
            "foundation",
            f"all indicators, all sites ({label}), median of 5",
            indicator_seconds,
            baseline="one connection",
            ratio=indicator_seconds / one_connection_seconds,
            target="< 300 ms",
        ),
    ]
