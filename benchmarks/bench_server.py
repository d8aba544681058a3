"""Commons server benchmarks, over loopback against a real uvicorn (``fabriqueterm server run``):

- push of 10,000 learner creations in batches of 500;
- full pull of a 100k-learner scope (the demo network loaded on the server), pages of 5,000;

each beside the raw SQLite ``executemany`` insert rate of the same rows (the ratio says how much the
protocol costs over writing the rows). On SQLite always; on PostgreSQL too when
``$FABRIQUETERM_TEST_PG_URL`` is set (a fresh schema, two workers).

    python benchmarks/bench_server.py [--learners 100000]
    python benchmarks/run.py --only server
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import Row, pg_schema, print_table  # noqa: E402
from fabriqueterm.server.process import start_commons  # noqa: E402

PUSH_MUTATIONS = 10_000
PUSH_BATCH = 500
PULL_PAGE = 5000
TODAY = date(2026, 11, 25)


@contextmanager
def served(database_url: str, home: Path, workers: int = 1) -> Iterator[str]:
    """uvicorn on 127.0.0.1 at a free port, stopped on exit."""
    with start_commons(
        database_url, home=home, log_file=home / "server.log", workers=workers
    ) as commons:
        yield commons.url


@contextmanager
def pg_database() -> Iterator[str | None]:
    """A fresh schema on ``$FABRIQUETERM_TEST_PG_URL``, dropped afterwards (None without it)."""
    base = os.environ.get("FABRIQUETERM_TEST_PG_URL")
    if not base:
        yield None
        return
    with pg_schema(base) as url:
        yield url


def _prepare(database_url: str) -> tuple[Any, str, list[str]]:
    """Schema, one coordinator with a token; returns (engine, token, [site id])."""
    from fabriqueterm.server import admin
    from fabriqueterm.server.db import create_schema, make_engine

    engine = make_engine(database_url)
    create_schema(engine)
    site = admin.add_site(engine, name="Fabrique Bench", city="Lille").value
    admin.add_coordinator(engine, email="bench@example.org", name="Bench")
    admin.grant(engine, email="bench@example.org", site_id=site)
    return engine, admin.issue_token(engine, email="bench@example.org").value, [site]


def _raw_sqlite_rate(rows_by_entity: dict[str, list[dict[str, Any]]], workdir: Path) -> float:
    """Seconds to insert the same rows with sqlite3's executemany into the same tables."""
    from sqlalchemy import create_engine

    from fabriqueterm.server.db import SYNCED_TABLES

    path = workdir / f"raw-{uuid.uuid4().hex[:8]}.sqlite3"
    engine = create_engine(f"sqlite:///{path}")
    tables = list(SYNCED_TABLES.values())
    tables[0].metadata.create_all(engine, tables=tables)
    engine.dispose()
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    start = time.perf_counter()
    with connection:
        for entity, rows in rows_by_entity.items():
            if not rows:
                continue
            columns = [c.name for c in SYNCED_TABLES[entity].columns]
            statement = f"INSERT INTO {entity} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"
            connection.executemany(
                statement, [tuple(_sqlite_value(row.get(c)) for c in columns) for row in rows]
            )
    seconds = time.perf_counter() - start
    connection.close()
    path.unlink(missing_ok=True)
    return seconds


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    return value


def bench_push(database_url: str, label: str, workdir: Path, home: Path, workers: int) -> list[Row]:
    import httpx

    from fabriqueterm.domain.ids import uuid7

    engine, token, [site] = _prepare(database_url)
    cohort = uuid7()
    fields = {
        "first_name": "Inès",
        "last_name": "Martin",
        "gender": "F",
        "qualification": "4",
        "status": "enrolled",
        "job_seeker": True,
        "qpv": False,
        "refugee": False,
        "birth_year": 1999,
        "email": None,
        "phone": None,
        "prescriber_id": None,
        "dropout_date": None,
        "dropout_reason": "",
    }
    mutations = [
        {
            "seq": 1,
            "entity": "cohort",
            "id": cohort,
            "op": "create",
            "fields": {
                "site_id": site,
                "name": "Promo bench",
                "programme": "Data analyst",
                "start_date": "2026-01-05",
                "end_date": "2026-09-30",
                "capacity": 500,
                "funders": "",
                "status": "running",
            },
        }
    ]
    for number in range(2, PUSH_MUTATIONS + 2):
        mutations.append(
            {
                "seq": number,
                "entity": "learner",
                "id": uuid7(),
                "op": "create",
                "fields": {
                    **fields,
                    "site_id": site,
                    "cohort_id": cohort,
                    "last_name": f"Martin {number}",
                },
            }
        )
    headers = {"Authorization": f"Bearer {token}"}
    client_id = uuid7()
    with (
        served(database_url, home, workers) as base,
        httpx.Client(base_url=base, timeout=120) as http,
    ):
        start = time.perf_counter()
        for offset in range(0, len(mutations), PUSH_BATCH):
            answer = http.post(
                "/v1/push",
                json={"client_id": client_id, "mutations": mutations[offset : offset + PUSH_BATCH]},
                headers=headers,
            )
            answer.raise_for_status()
            assert all(r["status"] == "applied" for r in answer.json()["results"])
        seconds = time.perf_counter() - start
    engine.dispose()
    now = "2026-11-25T12:00:00+00:00"
    raw_rows = [
        {"id": m["id"], "created_at": now, "updated_at": now, "version": i + 1, **m["fields"]}
        for i, m in enumerate(mutations[1:])
    ]
    raw = _raw_sqlite_rate({"learner": raw_rows}, workdir)
    return [
        Row(
            "server",
            f"push {PUSH_MUTATIONS:,} mutations, batches of {PUSH_BATCH} ({label})",
            seconds,
            rows=PUSH_MUTATIONS,
            baseline=f"raw sqlite executemany {PUSH_MUTATIONS / raw:,.0f}/s",
            ratio=seconds / raw,
        )
    ]


def bench_pull(
    database_url: str, label: str, workdir: Path, home: Path, workers: int, data: Any
) -> list[Row]:
    import httpx

    from fabriqueterm.server import admin
    from fabriqueterm.server.db import create_schema, make_engine
    from fabriqueterm.server.push import load_rows

    engine = make_engine(database_url)
    create_schema(engine)
    admin.add_coordinator(engine, email="bench@example.org", name="Bench")
    load_start = time.perf_counter()
    total = load_rows(engine, data.rows)
    load_seconds = time.perf_counter() - load_start
    for site in data.rows["site"]:
        admin.grant(engine, email="bench@example.org", site_id=site["id"])
    token = admin.issue_token(engine, email="bench@example.org").value
    engine.dispose()
    headers = {"Authorization": f"Bearer {token}"}
    received = 0
    with (
        served(database_url, home, workers) as base,
        httpx.Client(base_url=base, timeout=120) as http,
    ):
        start = time.perf_counter()
        cursors: dict[str, int] = {}
        while True:
            page = http.post(
                "/v1/pull", json={"cursors": cursors, "limit": PULL_PAGE}, headers=headers
            )
            page.raise_for_status()
            body = page.json()
            received += len(body["changes"])
            cursors = body["cursors"]
            if not body["more"]:
                break
        seconds = time.perf_counter() - start
    raw = _raw_sqlite_rate(data.rows, workdir)
    learners = len(data.rows["learner"])
    return [
        Row(
            "server",
            f"bulk load of the {learners:,}-learner demo ({label})",
            load_seconds,
            rows=total,
            baseline=f"raw sqlite executemany {total / raw:,.0f}/s",
            ratio=load_seconds / raw,
        ),
        Row(
            "server",
            f"full pull of a {learners:,}-learner scope, pages of {PULL_PAGE} ({label})",
            seconds,
            rows=received,
            baseline=f"raw sqlite executemany {total / raw:,.0f}/s",
            ratio=seconds / raw,
            target="< 15 s",
        ),
    ]


def rows(workdir: Path, *, learners: int = 100_000, seed: int = 2026) -> list[Row]:
    from fabriqueterm.demo import generate

    workdir = Path(workdir)
    home = workdir / "server-home"
    home.mkdir(parents=True, exist_ok=True)
    data = generate(learners=learners, seed=seed, today=TODAY)
    results: list[Row] = []
    results += bench_push(f"sqlite:///{workdir / 'push.sqlite3'}", "SQLite", workdir, home, 1)
    results += bench_pull(f"sqlite:///{workdir / 'pull.sqlite3'}", "SQLite", workdir, home, 1, data)
    with pg_database() as url:
        if url:
            results += bench_push(url, "PostgreSQL, 2 workers", workdir, home, 2)
    with pg_database() as url:
        if url:
            results += bench_pull(url, "PostgreSQL, 2 workers", workdir, home, 2, data)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--learners", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="fabriqueterm-bench-server-") as workdir:
        print_table(rows(Path(workdir), learners=args.learners, seed=args.seed))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
