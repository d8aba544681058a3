"""Ordering (docs/sync.md, "Ordering on PostgreSQL"): concurrent writers, each on its own
connection, and a reader pulling all along never misses a row, even when commits are slow. The same
test on a deliberately broken build (sequence numbers taken outside the write transaction, as a
database sequence would) does miss rows: the test can fail."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from commons_helpers import COHORT, LEARNER, World

from fabriqueterm.domain.ids import uuid7
from fabriqueterm.server import db as server_db
from fabriqueterm.server.auth import Coordinator
from fabriqueterm.server.pull import pull
from fabriqueterm.server.push import batch as push_batch
from fabriqueterm.server.push import push
from fabriqueterm.sync.protocol import Mutation, PullRequest, PushRequest

WRITERS = 4
BATCHES = 12
BATCH_SIZE = 5


def coordinator_a(world: World) -> Coordinator:
    from sqlalchemy import select

    with world.engine.connect() as connection:
        row = connection.execute(
            select(server_db.coordinator_table).where(
                server_db.coordinator_table.c.email == world.email_a
            )
        ).one()
    return Coordinator(row.id, row.email, row.name)


def race(world: World) -> tuple[set[str], set[str]]:
    """Writers push learners while a reader pulls; returns (written ids, ids the reader saw)."""
    engine = world.engine
    who = coordinator_a(world)
    cohort = uuid7()
    setup = push(
        engine,
        who,
        PushRequest(
            client_id=uuid7(),
            mutations=[
                Mutation(
                    seq=1,
                    entity="cohort",
                    id=cohort,
                    op="create",
                    fields={**COHORT, "site_id": world.site_a1},
                )
            ],
        ),
    )
    assert setup.results[0].status == "applied"
    written: set[str] = set()
    lock = threading.Lock()
    done = threading.Event()
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            client = uuid7()
            number = 0
            for _ in range(BATCHES):
                mutations = []
                for _ in range(BATCH_SIZE):
                    number += 1
                    mutations.append(
                        Mutation(
                            seq=number,
                            entity="learner",
                            id=uuid7(),
                            op="create",
                            fields={
                                **LEARNER,
                                "site_id": world.site_a1,
                                "cohort_id": cohort,
                                "email": None,
                            },
                        )
                    )
                answer = push(engine, who, PushRequest(client_id=client, mutations=mutations))
                assert {r.status for r in answer.results} == {"applied"}
                with lock:
                    written.update(m.id for m in mutations)
        except BaseException as error:  # reported by the main thread
            errors.append(error)

    seen: set[str] = set()
    cursors: dict[str, int] = {}

    def read_once() -> None:
        nonlocal cursors
        while True:
            page = pull(engine, who, PullRequest(cursors=cursors, limit=1000))
            seen.update(c.id for c in page.changes if c.entity == "learner")
            cursors = page.cursors
            if not page.more:
                return

    def reader() -> None:
        try:
            while not done.is_set():
                read_once()
                time.sleep(0.001)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=writer) for _ in range(WRITERS)]
    reading = threading.Thread(target=reader)
    reading.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    done.set()
    reading.join(60)
    if errors:
        raise errors[0]
    read_once()  # what the reader's cursors still lead to once everything is committed
    return written, seen


def slow_commits(original: Callable[..., int]) -> Callable[..., int]:
    """Hold the transaction open a little after taking the numbers, like a busy server."""

    def taking(connection: Any, count: int) -> int:
        value = original(connection, count)
        time.sleep(random.uniform(0.0, 0.01))
        return value

    return taking


def test_reader_never_misses_a_row_written_concurrently(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(push_batch, "take_sequence", slow_commits(server_db.take_sequence))
    written, seen = race(world)
    assert len(written) == WRITERS * BATCHES * BATCH_SIZE
    assert written - seen == set()


def test_the_race_test_catches_numbers_taken_outside_the_transaction(
    world: World, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not backend.startswith("postgresql"):
        pytest.skip("SQLite serialises writers: numbers cannot commit out of order there")
    engine = world.engine

    def broken_take(connection: Any, count: int) -> int:
        # Like nextval(): committed at once, outside the write transaction and its lock.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as own:
            value = server_db.take_sequence(own, count)
        time.sleep(random.uniform(0.0, 0.01))
        return value

    monkeypatch.setattr(push_batch, "take_sequence", broken_take)
    written, seen = race(world)
    assert written - seen, "the broken build lost nothing: the race test is too weak"
