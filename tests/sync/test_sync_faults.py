"""Failure is normal: a lost answer, 500, a timeout, a refused connection, broken JSON, a bad token."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select, text
from sync_helpers import COHORT, LEARNER, FaultProxy, free_port

from fabriqueterm.server.db import client_table
from fabriqueterm.sync.engine import sync_status


@pytest.fixture
def proxy(commons) -> Iterator[FaultProxy]:
    made = FaultProxy(int(commons.url.rsplit(":", 1)[1]))
    yield made
    made.close()


def _snapshot(device) -> tuple:
    return (
        [(e.seq, e.state, e.fields) for e in device.store.outbox.entries(state=None)],
        device.rows("learner"),
        device.rows("cohort"),
        device.replica.cursors(),
    )


def _server_count(commons, table: str, row_id: str) -> int:
    with commons.engine.connect() as connection:
        return int(
            connection.execute(
                text(f"SELECT count(*) FROM {table} WHERE id = :i"), {"i": row_id}
            ).scalar()
            or 0
        )


def test_lost_push_answer_is_retried_without_duplicate(device, team, commons, proxy):
    a = device("a", proxy.url)
    assert a.sync().ok
    cohort = a.store.cohorts.create({**COHORT, "site_id": team.site1})
    learner = a.store.learners.create({**LEARNER, "cohort_id": cohort.id})
    a.store.learners.update(learner.id, {"phone": "+33655555555"})
    # Replayed, this edit would conflict with the next one (its base is no longer the server's).
    a.store.learners.update(learner.id, {"phone": "+33644444444"})
    proxy.fault("drop", "/v1/push")
    report = a.sync()
    assert report.ok, report.errors
    assert proxy.forwarded.count("/v1/push") == 2  # the first one was committed, its answer lost
    assert report.pushed == 4 and report.conflicts == 0
    assert _server_count(commons, "learner", learner.id) == 1
    with commons.engine.connect() as connection:
        last_seq = connection.execute(
            select(client_table.c.last_seq).where(client_table.c.client_id == a.store.client_id)
        ).scalar()
        conflicts = connection.execute(
            text("SELECT count(*) FROM conflict WHERE row_id = :i"), {"i": learner.id}
        ).scalar()
    assert last_seq == 4
    assert conflicts == 0
    assert a.rows("conflict") == {}
    assert a.store.outbox.count("pending") == 0
    got = a.store.learners.get(learner.id)
    assert got.phone == "+33644444444" and got.version is not None


@pytest.mark.parametrize("fault", ["500", "hang", "garbage", "refused"])
def test_a_failed_sync_changes_nothing_locally_and_says_why(device, team, proxy, fault):
    a = device("a", proxy.url)
    assert a.sync().ok
    cohort = a.store.cohorts.create({**COHORT, "site_id": team.site1})
    a.store.learners.create({**LEARNER, "cohort_id": cohort.id})
    before = _snapshot(a)
    url = proxy.url
    if fault == "refused":
        url = f"http://127.0.0.1:{free_port()}"
    else:
        for _ in range(
            1 if fault == "garbage" else 3
        ):  # every retry meets the fault (none for garbage)
            proxy.fault(fault, "/v1/push")
    # Only the hang is meant to time out; the other faults answer, however busy the machine is.
    report = a.sync(url=url, timeout=0.5 if fault == "hang" else 30)
    assert not report.ok
    assert report.pushed == 0
    assert (
        report.error_kind
        == {"500": "server", "hang": "timeout", "garbage": "malformed", "refused": "network"}[fault]
    )
    assert _snapshot(a) == before
    status = sync_status(a.store)
    assert status.pending == 2
    assert status.last_error and status.last_error_kind == report.error_kind
    assert status.online is (fault not in ("hang", "refused"))
    # Once the commons answers again, everything goes through.
    assert a.sync().ok
    assert sync_status(a.store).pending == 0 and sync_status(a.store).last_error is None


def test_malformed_pull_page_is_not_applied(device, team, proxy):
    a = device("a", proxy.url)
    before = _snapshot(a)
    proxy.fault("garbage", "/v1/pull")
    report = a.sync()
    assert report.error_kind == "malformed"
    assert _snapshot(a) == before
    assert a.sync().ok and a.replica.cursors()


def test_a_transient_500_is_retried(device, team, proxy):
    a = device("a", proxy.url)
    proxy.fault("500", "/v1/pull")
    report = a.sync()
    assert report.ok, report.errors
    assert report.round_trips == 2


def test_a_revoked_token_stops_and_keeps_the_outbox(device, team, commons):
    from fabriqueterm.server import admin

    a = device("a")
    assert a.sync().ok
    a.store.cohorts.create({**COHORT, "site_id": team.site1})
    admin.revoke_token(commons.engine, token_or_id=team.token)
    report = a.sync()
    assert report.error_kind == "auth"
    assert report.round_trips == 1  # no retry on 401
    assert a.store.outbox.count("pending") == 1


def test_a_commons_that_lost_this_client_takes_the_outbox_again_under_a_new_id(
    device, team, commons
):
    """A commons restored from a backup no longer knows this client's numbers: the client starts
    a new numbering under a new client_id and nothing is lost or duplicated."""
    a = device("a")
    assert a.sync().ok
    cohort = a.store.cohorts.create({**COHORT, "site_id": team.site1})
    assert a.sync().ok
    old_id = a.store.client_id
    with commons.engine.begin() as connection:  # the commons "forgets" this client
        connection.execute(client_table.delete().where(client_table.c.client_id == old_id))
    a.store.cohorts.update(cohort.id, {"name": "Promo 2"})
    learner = a.store.learners.create({**LEARNER, "cohort_id": cohort.id})
    report = a.sync()
    assert report.ok, report.errors
    assert report.rebound and report.pushed == 2
    assert a.store.client_id != old_id
    assert _server_count(commons, "learner", learner.id) == 1
    with commons.engine.connect() as connection:
        name = connection.execute(
            text("SELECT name FROM cohort WHERE id = :i"), {"i": cohort.id}
        ).scalar()
    assert name == "Promo 2"
    a.store.learners.update(learner.id, {"phone": "+33699999999"})
    assert a.sync().ok and not a.sync().rebound
