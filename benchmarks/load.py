"""Load of many devices on one commons (issue #14, item 7): N simulated devices (default 200), each
with its own client state (client_id, its own mutation numbers, its own pull cursors and the rows it
has pulled), following a coordinator's rhythm at seeded random intervals: pull, a few mutations
(creates and updates of learners, follow-ups and call attempts, with the app's field counts), push,
pull again, think, again. Against ``fabriqueterm server run`` on PostgreSQL, with 1 worker and then
2 workers, each on a fresh schema (migrated, then dropped). Setup through the admin functions:
coordinators, one site each, a grant and a token; the devices of a coordinator share its token.

The load generator (asyncio + one httpx.AsyncClient per device, one process) runs on the same
machine as the server and PostgreSQL: on a 2-core machine it competes with them for the CPU. The
table says how much CPU each side used, and the lines under it where the time went, sampled every
0.5 s during the run: what each PostgreSQL backend waited for; each blocked backend, the backend
blocking it (``pg_blocking_pids``: its statement, state, transaction age) and the relation of the
lock awaited (``pg_locks``); the deadlocks PostgreSQL detected (``pg_stat_database``, the whole
database); the share of samples where a transaction held the sequence counter (had updated
``srv_counter`` and awaited no lock), and the hold time per push it implies. At 100% the counter
is the bound: pushes commit one after the other (docs/sync.md, "Ordering on PostgreSQL").

The server's concurrency comes from ``server/app.py`` (``THREADS``, ``PUSH_SLOTS``); to measure
other values, set ``FABRIQUETERM_SERVER_THREADS`` / ``FABRIQUETERM_SERVER_PUSH_SLOTS`` for the run.
Results and what bounds them: docs/server.md, "Load".

    python benchmarks/load.py [--devices 200] [--coordinators 20] [--seconds 30] [--think 1.0]
                              [--workers 1,2] [--database-url URL] [--seed 2026]

Without ``--database-url``, ``$FABRIQUETERM_TEST_PG_URL`` (or the local test cluster) is used.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import pg_schema  # noqa: E402
from fabriqueterm.domain.ids import uuid7  # noqa: E402
from fabriqueterm.server.process import start_commons  # noqa: E402

DEFAULT_PG = "postgresql+psycopg://postgres:postgres@127.0.0.1:5432/fabriqueterm_test"
#: ODK Central's documented load: ~41 submissions/s of a 250-question form, 500 devices, 2 GB.
ODK_SUBMISSIONS = 41
ODK_VALUES = ODK_SUBMISSIONS * 250
TARGET_MUTATIONS = 1000
TARGET_P95_MS = 500.0
PULL_LIMIT = 1000
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# --- the commons: a fresh PostgreSQL schema, served with N workers --------------------------------


@dataclass
class Coordinator:
    token: str
    site: str
    cohort: str


def setup(database_url: str, coordinators: int) -> list[Coordinator]:
    """Coordinators, one site each, grants and tokens, through the admin functions (the schema is
    already at head: ``start_commons`` migrated it)."""
    from fabriqueterm.server import admin
    from fabriqueterm.server.db import make_engine

    engine = make_engine(database_url)
    people = []
    try:
        for number in range(coordinators):
            site = admin.add_site(engine, name=f"Fabrique {number}", city="Lille").value
            email = f"coordinator{number}@example.org"
            admin.add_coordinator(engine, email=email, name=f"Coordinator {number}")
            admin.grant(engine, email=email, site_id=site)
            token = admin.issue_token(engine, email=email).value
            people.append(Coordinator(token, site, uuid7()))
    finally:
        engine.dispose()
    return people


def create_cohorts(url: str, people: list[Coordinator]) -> None:
    """One running cohort per site, pushed like a device would (not measured)."""
    import httpx

    with httpx.Client(base_url=url, timeout=60) as http:
        for person in people:
            answer = http.post(
                "/v1/push",
                json={
                    "client_id": uuid7(),
                    "mutations": [
                        {
                            "seq": 1,
                            "entity": "cohort",
                            "id": person.cohort,
                            "op": "create",
                            "fields": {
                                "site_id": person.site,
                                "name": "Promo charge",
                                "programme": "Développeur·se web et web mobile",
                                "start_date": "2026-01-05",
                                "end_date": "2026-07-03",
                                "capacity": 14,
                                "funders": "Région",
                                "status": "running",
                            },
                        }
                    ],
                },
                headers={"Authorization": f"Bearer {person.token}"},
            )
            answer.raise_for_status()
            assert answer.json()["results"][0]["status"] == "applied", answer.text


# --- the devices ----------------------------------------------------------------------------------


@dataclass
class Stats:
    push_ms: list[float] = field(default_factory=list)
    pull_ms: list[float] = field(default_factory=list)
    mutations: int = 0
    values: int = 0
    syncs: int = 0
    pulled: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    rejections: Counter[str] = field(default_factory=Counter)


FIRST = ("Inès", "Karim", "Léa", "Moussa", "Chloé", "Yanis", "Awa", "Hugo", "Sarah", "Théo")
LAST = ("Martin", "Bernard", "Diallo", "Petit", "Nguyen", "Moreau", "Haddad", "Lefèvre")


class SimulatedDevice:
    """One coordinator's laptop: its own client_id, mutation numbers, cursors and pulled rows."""

    def __init__(self, http: Any, person: Coordinator, chance: random.Random, stats: Stats):
        self.http = http
        self.person = person
        self.chance = chance
        self.stats = stats
        self.client_id = uuid7()
        self.numbers = count(1)
        self.cursors: dict[str, int] = {}
        self.rows: dict[str, dict[str, dict[str, Any]]] = {}
        self.headers = {"Authorization": f"Bearer {person.token}"}
        #: Mutations whose push failed: sent again first, as the app does (same seq numbers).
        self.pending: list[dict[str, Any]] = []

    async def request(self, path: str, body: dict[str, Any], into: list[float]) -> Any:
        start = time.perf_counter()
        try:
            answer = await self.http.post(path, json=body, headers=self.headers)
        except Exception as error:  # counted: any exception is an error
            self.stats.errors[f"{path} {type(error).__name__}"] += 1
            return None
        into.append((time.perf_counter() - start) * 1000)
        if not 200 <= answer.status_code < 300:
            self.stats.errors[f"{path} HTTP {answer.status_code}"] += 1
            return None
        return answer.json()

    async def pull(self) -> None:
        for _ in range(1000):
            page = await self.request(
                "/v1/pull", {"cursors": self.cursors, "limit": PULL_LIMIT}, self.stats.pull_ms
            )
            if page is None:
                return
            for change in page["changes"]:
                self.stats.pulled += 1
                table = self.rows.setdefault(change["entity"], {})
                if change.get("row") is None:
                    table.pop(change["id"], None)
                else:
                    table[change["id"]] = change["row"]
            self.cursors = page["cursors"]
            if not page["more"]:
                return

    def mutation(self, entity: str, row_id: str, op: str, fields: dict[str, Any], **extra: Any):
        return {
            "seq": next(self.numbers),
            "entity": entity,
            "id": row_id,
            "op": op,
            "fields": fields,
            **extra,
        }

    def new_learner(self) -> dict[str, Any]:
        chance = self.chance
        return self.mutation(
            "learner",
            uuid7(),
            "create",
            {
                "site_id": self.person.site,
                "cohort_id": self.person.cohort,
                "first_name": chance.choice(FIRST),
                "last_name": chance.choice(LAST),
                "email": f"a{chance.randrange(10**9)}@example.org",
                "phone": f"+33612{chance.randrange(10**6):06d}",
                "birth_year": chance.randrange(1960, 2008),
                "gender": chance.choice(("F", "M", "X")),
                "qpv": chance.random() < 0.3,
                "qualification": chance.choice(("3", "4", "5")),
                "job_seeker": chance.random() < 0.8,
                "refugee": chance.random() < 0.05,
                "prescriber_id": None,
                "status": "enrolled",
                "dropout_date": None,
                "dropout_reason": "",
            },
        )

    def update_learner(self, row: dict[str, Any]) -> dict[str, Any]:
        changes = {
            "phone": f"+33623{self.chance.randrange(10**6):06d}",
            "job_seeker": not row.get("job_seeker"),
            "qualification": self.chance.choice(("3", "4", "5", "6")),
        }
        return self.mutation(
            "learner",
            row["id"],
            "update",
            changes,
            base_version=row["version"],
            base_values={name: row.get(name) for name in changes},
        )

    def new_follow_up(self, learner: dict[str, Any]) -> dict[str, Any]:
        return self.mutation(
            "follow_up",
            uuid7(),
            "create",
            {
                "site_id": self.person.site,
                "learner_id": learner["id"],
                "milestone": self.chance.choice(("end", "m3", "m6", "m12")),
                "due_date": "2026-10-03",
                "done_date": None,
                "channel": None,
                "outcome": None,
                "notes": "",
            },
        )

    def new_attempt(self, follow_up: dict[str, Any]) -> dict[str, Any]:
        reached = self.chance.random() < 0.4
        return self.mutation(
            "follow_up_attempt",
            uuid7(),
            "create",
            {
                "site_id": self.person.site,
                "learner_id": follow_up["learner_id"],
                "follow_up_id": follow_up["id"],
                "attempted_on": "2026-10-05",
                "channel": "phone",
                "outcome": "reached" if reached else "no_answer",
                "callback_date": None if reached else "2026-10-12",
                "situation": "still_looking" if reached else "",
                "notes": "Rappel prévu" if not reached else "Cherche un stage",
                "made_by": "Coordinator",
            },
        )

    def session_mutations(self) -> list[dict[str, Any]]:
        """3 to 8 mutations: a coordinator's few minutes of work since the last sync."""
        chance = self.chance
        learners = list(self.rows.get("learner", {}).values())
        follow_ups = list(self.rows.get("follow_up", {}).values())
        batch = []
        for _ in range(chance.randint(3, 8)):
            roll = chance.random()
            if roll < 0.35 or not learners:
                batch.append(self.new_learner())
            elif roll < 0.6:
                batch.append(self.update_learner(chance.choice(learners)))
            elif roll < 0.8 or not follow_ups:
                batch.append(self.new_follow_up(chance.choice(learners)))
            else:
                batch.append(self.new_attempt(chance.choice(follow_ups)))
        # One update per row per batch: the device's base is the pulled row.
        seen: set[str] = set()
        kept = []
        for mutation in batch:
            if mutation["op"] == "update" and mutation["id"] in seen:
                continue
            seen.add(mutation["id"])
            kept.append(mutation)
        # Renumber: the server wants a device's numbers without gaps.
        first = kept[0]["seq"] if kept else 1
        for offset, mutation in enumerate(kept):
            mutation["seq"] = first + offset
        self.numbers = count(first + len(kept))
        return kept

    async def session(self) -> None:
        await self.pull()
        mutations = self.pending or self.session_mutations()
        answer = await self.request(
            "/v1/push", {"client_id": self.client_id, "mutations": mutations}, self.stats.push_ms
        )
        if answer is None:
            self.pending = mutations
        else:
            self.pending = []
            self.stats.mutations += len(mutations)
            self.stats.values += sum(len(m["fields"]) for m in mutations)
            for result in answer["results"]:
                self.stats.statuses[result["status"]] += 1
                if result["status"] == "rejected":
                    self.stats.rejections[str(result.get("errors"))[:160]] += 1
        await self.pull()
        self.stats.syncs += 1

    async def run(self, start_at: float, deadline: float, think: float) -> None:
        await asyncio.sleep(max(0.0, start_at - time.perf_counter()))
        while time.perf_counter() < deadline:
            await self.session()
            await asyncio.sleep(self.chance.uniform(0, 2 * think))


# --- CPU of each side -----------------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    found = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            text = (task / "children").read_text().split()
            found += [int(child) for child in text]
    except OSError:
        return []
    return found + [grand for child in found for grand in _children(child)]


def _cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / CLOCK_TICKS


def _machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, from /proc/stat."""
    ticks = [int(n) for n in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = ticks[3] + ticks[4]  # idle, iowait
    return (sum(ticks) - idle) / CLOCK_TICKS, sum(ticks) / CLOCK_TICKS


def _cpu_by_pid(pids: list[int]) -> dict[int, float]:
    return {pid: _cpu_seconds([pid]) for pid in pids}


def _postgres_pids() -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


@dataclass
class Waits:
    """What the database's backends were doing, sampled every 0.5 s during the run."""

    #: Each non-idle backend's wait event and state.
    states: Counter[str] = field(default_factory=Counter)
    #: Each blocked backend: "its statement <- the statement (state) of the backend blocking it".
    blocked: Counter[str] = field(default_factory=Counter)
    #: Each blocking backend's transaction age (now - xact_start), in ms.
    holder_ms: list[float] = field(default_factory=list)
    #: Each blocking backend's time since its last statement began (now - query_start), in ms.
    holder_statement_ms: list[float] = field(default_factory=list)
    #: Deadlocks PostgreSQL detected in the database during the run (pg_stat_database; each
    #: costs deadlock_timeout, 1 s by default, before it is found). Database-wide: another user
    #: of the same database during the run would count too.
    deadlocks: int = 0
    #: Samples taken, and those where a transaction held the sequence counter (had updated
    #: srv_counter and waited for no lock): the counter's utilisation.
    samples: int = 0
    counter_held: int = 0


def _statement(query: str | None) -> str:
    """A statement's first words: enough to tell which table it locks, never its values."""
    words = " ".join((query or "").split())
    return words[:60]


_BLOCKED_QUERY = """
SELECT waiter.query, holder.query,
       holder.state || coalesce(', ' || holder.wait_event_type || ':' || holder.wait_event, ''),
       extract(epoch FROM clock_timestamp() - holder.xact_start) * 1000,
       extract(epoch FROM clock_timestamp() - holder.query_start) * 1000,
       coalesce(relation.relname, '-')
FROM pg_stat_activity AS waiter
CROSS JOIN LATERAL unnest(pg_blocking_pids(waiter.pid)) AS blocking(pid)
JOIN pg_stat_activity AS holder ON holder.pid = blocking.pid
LEFT JOIN pg_locks AS lock ON lock.pid = waiter.pid AND NOT lock.granted
LEFT JOIN pg_class AS relation ON relation.oid = lock.relation
WHERE waiter.datname = current_database()
"""


_COUNTER_HELD = """
SELECT count(*) FROM pg_locks AS lock
WHERE lock.relation = 'srv_counter'::regclass AND lock.mode = 'RowExclusiveLock' AND lock.granted
  AND NOT EXISTS (SELECT FROM pg_locks AS other WHERE other.pid = lock.pid AND NOT other.granted)
"""


@contextmanager
def sample_waits(base: str, into: Waits) -> Iterator[None]:
    """Every 0.5 s, what each backend of the database is doing (pg_stat_activity's wait event
    and state), and for each blocked backend which backend blocks it (pg_blocking_pids), that
    one's statement, state and transaction age, and the relation of the lock awaited (pg_locks;
    none for a wait on a transaction id): where the time goes when the CPU is idle."""
    import threading

    from sqlalchemy import create_engine, text

    engine = create_engine(base)
    stop = threading.Event()
    deadlocks = text("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")
    with engine.connect() as connection:
        deadlocks_before = int(connection.execute(deadlocks).scalar_one())

    def sample() -> None:
        with engine.connect() as connection:
            while not stop.wait(0.5):
                for (what,) in connection.execute(
                    text(
                        "SELECT coalesce(wait_event_type || ':' || wait_event, 'running') "
                        "|| ' (' || state || ')' FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                        "AND state <> 'idle'"
                    )
                ):
                    into.states[what] += 1
                connection.rollback()  # a fresh pg_stat_activity snapshot for the locks
                into.samples += 1
                if connection.execute(text(_COUNTER_HELD)).scalar_one():
                    into.counter_held += 1
                seen_holders: set[tuple[str, float]] = set()
                for waiter, holder, state, age, statement_age, relation in connection.execute(
                    text(_BLOCKED_QUERY)
                ):
                    into.blocked[
                        f"{_statement(waiter)} [lock on {relation}] <- "
                        f"{_statement(holder)} ({state})"
                    ] += 1
                    if (holder, age) not in seen_holders:
                        seen_holders.add((holder, age))
                        into.holder_ms.append(float(age or 0))
                        into.holder_statement_ms.append(float(statement_age or 0))
                connection.rollback()

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(5)
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_stat_clear_snapshot()"))
            # The statistics collector reports at most every second: wait for the last ones.
            time.sleep(1.5)
            into.deadlocks = int(connection.execute(deadlocks).scalar_one()) - deadlocks_before
        engine.dispose()


# --- one configuration ----------------------------------------------------------------------------


@dataclass
class Result:
    label: str
    workers: int
    seconds: float
    stats: Stats
    cpu_server: float
    cpu_postgres: float
    cpu_generator: float
    waits: Waits
    server_warnings: list[str]
    #: Share of the machine's CPU busy during the run, whoever used it.
    machine_busy: float

    @property
    def mutations_per_s(self) -> float:
        return self.stats.mutations / self.seconds

    @property
    def errors(self) -> int:
        return sum(self.stats.errors.values())


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(share * 100) - 1]


async def drive(url: str, people: list[Coordinator], args: argparse.Namespace) -> Stats:
    import httpx

    stats = Stats()
    chance = random.Random(args.seed)
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    clients = [
        httpx.AsyncClient(base_url=url, timeout=60, limits=limits) for _ in range(args.devices)
    ]
    try:
        start = time.perf_counter()
        deadline = start + args.seconds
        devices = [
            SimulatedDevice(
                clients[n], people[n % len(people)], random.Random(chance.random()), stats
            )
            for n in range(args.devices)
        ]
        # Devices arrive over the first think interval, not all in the same millisecond.
        await asyncio.gather(
            *(
                device.run(start + chance.uniform(0, args.think), deadline, args.think)
                for device in devices
            )
        )
    finally:
        await asyncio.gather(*(client.aclose() for client in clients))
    return stats


def run_configuration(base: str, workers: int, args: argparse.Namespace, home: Path) -> Result:
    with (
        pg_schema(base, "load") as database_url,
        start_commons(
            database_url,
            home=home,
            log_file=home / f"server-{workers}.log",
            workers=workers,
            timeout=120,
        ) as commons,
    ):
        people = setup(database_url, args.coordinators)
        create_cohorts(commons.url, people)
        server_pids = [commons.process.pid, *_children(commons.process.pid)]
        postgres = _postgres_pids()
        before = (
            _cpu_seconds(server_pids),
            _cpu_by_pid(postgres),
            sum(os.times()[:2]),
            _machine_busy(),
        )
        start = time.perf_counter()
        waits = Waits()
        with sample_waits(database_url, waits):
            stats = asyncio.run(drive(commons.url, people, args))
        seconds = time.perf_counter() - start
        server_pids = [commons.process.pid, *_children(commons.process.pid)]
        after = (
            _cpu_seconds(server_pids),
            _cpu_by_pid(_postgres_pids()),
            sum(os.times()[:2]),
            _machine_busy(),
        )
        log_text = (home / f"server-{workers}.log").read_text(errors="replace")
    postgres_cpu = sum(cpu - before[1].get(pid, 0.0) for pid, cpu in after[1].items())
    return Result(
        f"PostgreSQL, {workers} worker{'s' if workers > 1 else ''}",
        workers,
        seconds,
        stats,
        cpu_server=after[0] - before[0],
        cpu_postgres=postgres_cpu,
        machine_busy=(after[3][0] - before[3][0]) / max(after[3][1] - before[3][1], 1e-9),
        waits=waits,
        server_warnings=[line for line in log_text.splitlines() if "WARNING" in line.upper()],
        cpu_generator=after[2] - before[2],
    )


# --- the report -----------------------------------------------------------------------------------


def print_report(results: list[Result], args: argparse.Namespace) -> None:
    cores = os.cpu_count() or 1
    print(
        f"# load: {args.devices} devices, {args.coordinators} coordinators, {args.seconds:g} s per "
        f"configuration, think time uniform(0, {2 * args.think:g}) s, seed {args.seed}"
    )
    print(
        f"# machine: {cores} cores ({platform.machine()}), Python {platform.python_version()}; "
        "the load generator (one process), the server and PostgreSQL share it"
    )
    header = (
        "configuration",
        "mutations/s",
        "values/s",
        "syncs/s",
        "push p50/p95/p99 ms",
        "pull p50/p95/p99 ms",
        "rows pulled/s",
        "errors",
        "CPU s server/postgres/generator",
    )
    lines = []
    for r in results:
        s = r.stats

        def trio(values: list[float]) -> str:
            return "/".join(f"{percentile(values, q):,.0f}" for q in (0.5, 0.95, 0.99))

        lines.append(
            (
                r.label,
                f"{r.mutations_per_s:,.0f}",
                f"{s.values / r.seconds:,.0f}",
                f"{s.syncs / r.seconds:,.1f}",
                trio(s.push_ms),
                trio(s.pull_ms),
                f"{s.pulled / r.seconds:,.0f}",
                str(r.errors),
                f"{r.cpu_server:.0f}/{r.cpu_postgres:.0f}/{r.cpu_generator:.0f}"
                f" of {r.seconds * cores:.0f}",
            )
        )
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(header)]
    print(" | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("-|-".join("-" * w for w in widths))
    for line in lines:
        print(" | ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)))
    print(f"# anchor: ODK Central ~{ODK_SUBMISSIONS} submissions/s of a 250-question form")
    print(f"#         (~{ODK_VALUES:,} values/s), 500 devices, a 2 GB machine")
    for r in results:
        statuses = ", ".join(f"{k} {v:,}" for k, v in sorted(r.stats.statuses.items()))
        print(f"# {r.label}: mutation results: {statuses or 'none'}")
        if r.errors:
            print(f"#   errors: {dict(r.stats.errors)}")
        for reason, number in r.stats.rejections.most_common(3):
            print(f"#   rejected x{number}: {reason}")
        if r.server_warnings:
            print(f"#   server log: {len(r.server_warnings)} warnings, e.g. {r.server_warnings[0]}")
    by_workers = {r.workers: r for r in results}
    if 1 in by_workers and 2 in by_workers and by_workers[1].mutations_per_s:
        ratio = by_workers[2].mutations_per_s / by_workers[1].mutations_per_s
        print(f"# 2 workers vs 1 worker: {ratio:.2f}x mutations/s")
    best = max(results, key=lambda r: r.mutations_per_s)
    p95 = max(percentile(best.stats.push_ms, 0.95), percentile(best.stats.pull_ms, 0.95))
    met = best.mutations_per_s >= TARGET_MUTATIONS and p95 < TARGET_P95_MS and best.errors == 0
    print(
        f"# target: >= {TARGET_MUTATIONS:,} mutations/s, p95 < {TARGET_P95_MS:.0f} ms, 0 errors: "
        f"{'MET' if met else 'NOT MET'} (best: {best.label}, {best.mutations_per_s:,.0f} "
        f"mutations/s, p95 {p95:,.0f} ms, {best.errors} errors)"
    )
    for r in results:
        ours = (r.cpu_server + r.cpu_postgres + r.cpu_generator) / (r.seconds * cores)
        print(
            f"# {r.label}: machine CPU {r.machine_busy:.0%} busy; of it ours {ours:.0%} "
            f"(server {r.cpu_server / r.seconds:.2f} cores, PostgreSQL "
            f"{r.cpu_postgres / r.seconds:.2f}, generator {r.cpu_generator / r.seconds:.2f}); "
            f"others {max(r.machine_busy - ours, 0):.0%}"
        )
        samples = sum(r.waits.states.values())
        if samples:
            busiest = ", ".join(f"{k} {v / samples:.0%}" for k, v in r.waits.states.most_common(4))
            print(f"#   non-idle PostgreSQL backends, sampled every 0.5 s: {busiest}")
        print(f"#   deadlocks detected by PostgreSQL: {r.waits.deadlocks}")
        if r.waits.samples:
            held = r.waits.counter_held / r.waits.samples
            pushes = len(r.stats.push_ms)
            hold = held * r.seconds / pushes * 1000 if pushes else float("nan")
            print(
                f"#   sequence counter held in {held:.0%} of {r.waits.samples} samples: about "
                f"{hold:,.0f} ms per push ({pushes:,} pushes; at 100% pushes queue on it)"
            )
        blocked = sum(r.waits.blocked.values())
        if blocked:
            print(
                f"#   blocked backends ({blocked} samples): waiter [lock awaited] <- holder (state)"
            )
            for what, number in r.waits.blocked.most_common(4):
                print(f"#     {number / blocked:.0%} {what}")
            trio = "/".join(f"{percentile(r.waits.holder_ms, q):,.0f}" for q in (0.5, 0.95, 0.99))
            statement = "/".join(
                f"{percentile(r.waits.holder_statement_ms, q):,.0f}" for q in (0.5, 0.95, 0.99)
            )
            print(
                f"#   blocking transactions open for p50/p95/p99 {trio} ms "
                f"(their last statement began {statement} ms before)"
            )
    if not met:
        counter = best.waits.counter_held / best.waits.samples if best.waits.samples else 0.0
        if best.waits.deadlocks:
            bound = (
                f"deadlocks ({best.waits.deadlocks} in {best.seconds:.0f} s, each found after "
                "deadlock_timeout with the pushes behind it stalled)"
            )
        elif counter > 0.85:
            bound = (
                f"the sequence counter (held {counter:.0%} of the time: pushes commit one after "
                "the other, docs/sync.md, 'Ordering on PostgreSQL')"
            )
        elif best.machine_busy > 0.85:
            bound = (
                f"the machine's CPU ({best.machine_busy:.0%} busy; the generator and any other "
                f"work take it from the server; the counter held {counter:.0%} of the time)"
            )
        else:
            bound = (
                f"neither the CPU nor the counter (held {counter:.0%} of the time): the "
                "devices' think time limits the offered load"
            )
        print(f"# bound: {bound}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--coordinators", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30.0, help="per configuration")
    parser.add_argument("--think", type=float, default=1.0, help="mean seconds between syncs")
    parser.add_argument("--workers", default="1,2", help="configurations, e.g. 1,2")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)
    base = args.database_url or os.environ.get("FABRIQUETERM_TEST_PG_URL") or DEFAULT_PG
    results = []
    with tempfile.TemporaryDirectory(prefix="fabriqueterm-load-") as workdir:
        for workers in (int(w) for w in args.workers.split(",")):
            results.append(run_configuration(base, workers, args, Path(workdir)))
    print_report(results, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
