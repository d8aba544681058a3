"""Sync engine benchmarks, over loopback against a real uvicorn (``fabriqueterm server run``):

- first sync of a 100k-learner scope into an empty client (pages of 5,000), beside the raw SQLite
  ``executemany`` insert rate of the same rows (target: ≥ 1/3 of it and ≥ 30,000 rows/s);
- push of 10,000 local edits (batches of 500), beside the raw insert rate of as many rows;
- a sync with nothing to do (target: one round trip, under 50 ms on loopback).

    python benchmarks/bench_sync.py [--learners 100000]
    python benchmarks/run.py --only sync
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_server import _raw_sqlite_rate, served  # noqa: E402
from common import Row, print_table  # noqa: E402

TODAY = date(2026, 11, 25)
EDITS = 10_000
PULL_PAGE = 5000


def rows(workdir: Path, *, learners: int = 100_000, seed: int = 2026) -> list[Row]:
    from fabriqueterm.demo import generate
    from fabriqueterm.server import admin
    from fabriqueterm.server.db import create_schema, make_engine
    from fabriqueterm.server.push import load_rows
    from fabriqueterm.store.db import Store
    from fabriqueterm.sync.client import CommonsClient
    from fabriqueterm.sync.engine import SyncEngine, SyncReport, sync_once

    workdir = Path(workdir)
    home = workdir / "sync-home"
    home.mkdir(parents=True, exist_ok=True)
    data = generate(learners=learners, seed=seed, today=TODAY)
    url = f"sqlite:///{workdir / 'sync-commons.sqlite3'}"
    engine = make_engine(url)
    create_schema(engine)
    admin.add_coordinator(engine, email="bench@example.org", name="Bench")
    load_rows(engine, data.rows)
    for site in data.rows["site"]:
        admin.grant(engine, email="bench@example.org", site_id=site["id"])
    token = admin.issue_token(engine, email="bench@example.org").value
    engine.dispose()
    results: list[Row] = []
    with served(url, home) as base, Store.open(workdir / "sync-client.sqlite3") as store:
        # 1. First sync into an empty client.
        start = time.perf_counter()
        report = sync_once(store, base, token, pull_limit=PULL_PAGE)
        seconds = time.perf_counter() - start
        assert report.ok, report.errors
        total = sum(len(r) for r in data.rows.values())
        raw = _raw_sqlite_rate(data.rows, workdir)
        results.append(
            Row(
                "sync",
                f"first sync of a {learners:,}-learner scope into an empty client, pages of {PULL_PAGE}",
                seconds,
                rows=report.pulled,
                baseline=f"raw sqlite executemany {total / raw:,.0f}/s",
                ratio=(report.pulled / seconds) / (total / raw),
                target="≥ 0.33x and ≥ 30,000/s",
            )
        )
        # 2. Push of 10,000 local edits (made through the repositories, not timed).
        ids = [row["id"] for row in data.rows["learner"][:EDITS]]
        with store.write() as session:
            for number, learner_id in enumerate(ids):
                store.learners.update_in(session, learner_id, {"phone": f"+3361{number:07d}"})
        edits = store.outbox.count("pending")
        with CommonsClient(base, token) as client:
            engine_ = SyncEngine(store, client)
            push_report = SyncReport()
            start = time.perf_counter()
            engine_.push(push_report)
            seconds = time.perf_counter() - start
        assert push_report.pushed == edits, push_report
        edited = [r for r in data.rows["learner"] if r["id"] in set(ids)]
        raw = _raw_sqlite_rate({"learner": edited}, workdir)
        results.append(
            Row(
                "sync",
                f"push of {edits:,} local edits, batches of 500",
                seconds,
                rows=edits,
                baseline=f"raw sqlite executemany {len(edited) / raw:,.0f}/s",
                ratio=(edits / seconds) / (len(edited) / raw),
            )
        )
        assert sync_once(store, base, token, pull_limit=PULL_PAGE).ok  # take our own edits back
        # 3. A sync with nothing to do.
        times = []
        with CommonsClient(base, token) as client:
            for _ in range(5):
                start = time.perf_counter()
                idle = sync_once(store, base, token, client=client)
                times.append(time.perf_counter() - start)
        assert idle.ok and idle.pulled == 0
        results.append(
            Row(
                "sync",
                f"sync with nothing to do ({idle.round_trips} round trip)",
                sorted(times)[2],
                target="1 round trip, < 50 ms",
            )
        )
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--learners", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="fabriqueterm-bench-sync-") as workdir:
        print_table(rows(Path(workdir), learners=args.learners, seed=args.seed))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
