"""The push's row locks and the sequence counter's lock (docs/server.md, "Load"), on PostgreSQL.

A push locks the rows it writes, then takes the counter and holds it until commit; foreign keys
are checked at commit (deferred), each check a ``FOR KEY SHARE`` of the parent row. One push
updating a learner while another adds a follow-up to that learner must not deadlock: with the
rows locked ``FOR UPDATE`` the second push's commit (holding the counter) waited for the first
push's row lock while the first waited for the counter, until PostgreSQL found the deadlock a
second later and one push was rolled back and retried, every other push stalled meanwhile.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest
from commons_helpers import COHORT, LEARNER, World
from sqlalchemy import select, text

from fabriqueterm.domain.ids import uuid7
from fabriqueterm.server.auth import Coordinator
from fabriqueterm.server.db import coordinator_table
from fabriqueterm.server.push import batch as push_batch
from fabriqueterm.server.push import push
from fabriqueterm.sync.protocol import Mutation, MutationStatus, PushRequest

#: Bound on every wait of the test (never reached when the pushes behave).
WAIT = 20.0


def coordinator_a(world: World) -> Coordinator:
    with world.engine.connect() as connection:
        row = connection.execute(
            select(coordinator_table).where(coordinator_table.c.email == world.email_a)
        ).one()
    return Coordinator(row.id, row.email, row.name)


def test_an_update_and_a_child_insert_of_one_row_do_not_deadlock(
    world: World, backend: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    if not backend.startswith("postgresql"):
        pytest.skip("SQLite serialises writers: one push at a time holds no row lock")
    who = coordinator_a(world)
    cohort, learner = uuid7(), uuid7()
    setup = push(
        world.engine,
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
                ),
                Mutation(
                    seq=2,
                    entity="learner",
                    id=learner,
                    op="create",
                    fields={**LEARNER, "site_id": world.site_a1, "cohort_id": cohort},
                ),
            ],
        ),
    )
    assert [r.status for r in setup.results] == [MutationStatus.APPLIED] * 2
    version = setup.results[1].row["version"]  # type: ignore[index]

    # The order: the updater has locked the learner; the creator takes the counter and commits
    # (its foreign-key check reads the learner); only then does the updater ask for the counter.
    updater_locked = threading.Event()
    creator_numbered = threading.Event()
    take_sequence = push_batch.take_sequence

    def ordered_take_sequence(connection: Any, count: int) -> int:
        name = threading.current_thread().name
        if name == "updater" and not updater_locked.is_set():
            updater_locked.set()
            assert creator_numbered.wait(WAIT)
        elif name == "creator" and not creator_numbered.is_set():
            assert updater_locked.wait(WAIT)
            number = take_sequence(connection, count)
            creator_numbered.set()
            return number
        return take_sequence(connection, count)

    monkeypatch.setattr(push_batch, "take_sequence", ordered_take_sequence)
    answers: dict[str, Any] = {}

    def run(name: str, mutation: Mutation) -> None:
        try:
            answers[name] = push(
                world.engine, who, PushRequest(client_id=uuid7(), mutations=[mutation])
            )
        except BaseException as error:  # reported below
            answers[name] = error

    update = Mutation(
        seq=1,
        entity="learner",
        id=learner,
        op="update",
        fields={"phone": "+33600000000"},
        base_version=version,
        base_values={"phone": LEARNER["phone"]},
    )
    create = Mutation(
        seq=1,
        entity="follow_up",
        id=uuid7(),
        op="create",
        fields={
            "site_id": world.site_a1,
            "learner_id": learner,
            "milestone": "m3",
            "due_date": "2026-10-03",
            "done_date": None,
            "channel": None,
            "outcome": None,
            "notes": "",
        },
    )
    caplog.set_level(logging.INFO, logger="fabriqueterm.server.push.transaction")
    threads = [
        threading.Thread(target=run, args=("updater", update), name="updater"),
        threading.Thread(target=run, args=("creator", create), name="creator"),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    assert not any(thread.is_alive() for thread in threads), "a push never finished"
    for name in ("updater", "creator"):
        answer = answers[name]
        assert not isinstance(answer, BaseException), f"{name}: {answer!r}"
        assert answer.results[0].status == MutationStatus.APPLIED, (name, answer.results[0])
    retried = [r.getMessage() for r in caplog.records if "retried" in r.getMessage()]
    assert retried == [], "a push was rolled back and retried: " + "; ".join(retried)


def test_a_refusal_read_at_the_end_of_the_pipelined_writes_rejects_that_mutation_only(
    world: World, backend: str
) -> None:
    """The writes under the counter go in psycopg's pipeline mode: a refusal of the last of them
    (the change log's) is read when the pipeline ends, not when the statement is sent. It is the
    same refusal as any other: that mutation rejected, the others written."""
    if not backend.startswith("postgresql"):
        pytest.skip("the pipeline is PostgreSQL's")
    with world.engine.begin() as connection:
        connection.execute(
            text(
                "CREATE OR REPLACE FUNCTION refuse_boom_log() RETURNS trigger AS $$ BEGIN "
                "IF NEW.row_json LIKE '%boom-log%' THEN RAISE check_violation USING MESSAGE = "
                "'boom'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql"
            )
        )
        connection.execute(
            text(
                "CREATE TRIGGER refuse_boom_log BEFORE INSERT OR UPDATE ON srv_change "
                "FOR EACH ROW EXECUTE FUNCTION refuse_boom_log()"
            )
        )
    try:
        device = world.device("a")
        good1, bad, good2 = uuid7(), uuid7(), uuid7()
        response = device.push_raw(
            [
                device.mutation("cohort", good1, "create", {**COHORT, "site_id": world.site_a1}),
                device.mutation(
                    "cohort",
                    bad,
                    "create",
                    {**COHORT, "name": "boom-log", "site_id": world.site_a1},
                ),
                device.mutation("cohort", good2, "create", {**COHORT, "site_id": world.site_a1}),
            ]
        )
        assert response.status_code == 200, response.text
        answer = response.json()
        assert [r["status"] for r in answer["results"]] == ["applied", "rejected", "applied"]
        assert answer["results"][1]["errors"][0]["code"] == "invalid"
        state, _ = device.pull_all()
        assert ("cohort", bad) not in state
        assert ("cohort", good1) in state and ("cohort", good2) in state
    finally:
        with world.engine.begin() as connection:
            connection.execute(text("DROP TRIGGER IF EXISTS refuse_boom_log ON srv_change"))
