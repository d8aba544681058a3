"""The API over a real network: ``fabriqueterm server run`` in a subprocess (uvicorn on 127.0.0.1 at
a free port; two workers on PostgreSQL), called with httpx, stopped in the fixture's teardown."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from commons_helpers import COHORT, Device, World, make_world

from fabriqueterm.domain.ids import uuid7
from fabriqueterm.server.db import create_schema, make_engine
from fabriqueterm.server.process import CommonsStartError, start_commons
from fabriqueterm.sync.protocol import MAX_PUSH_BYTES


@pytest.fixture(scope="module")
def server(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of a commons served by uvicorn in a subprocess."""
    home = tmp_path_factory.mktemp("server-home")
    workers = 2 if backend.startswith("postgresql") else 1
    try:
        commons = start_commons(backend, home=home, log_file=home / "server.log", workers=workers)
    except CommonsStartError:
        raise AssertionError(
            f"the server did not start: {(home / 'server.log').read_text()}"
        ) from None
    with commons:
        yield commons.url


@pytest.fixture(scope="module")
def http(server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server, timeout=30) as client:
        yield client


@pytest.fixture
def net_world(backend: str, http: httpx.Client) -> Iterator[World]:
    engine = make_engine(backend)
    create_schema(engine)
    yield make_world(engine, http)
    engine.dispose()


def test_health_and_me(net_world: World) -> None:
    assert net_world.http.get("/v1/health").json()["status"] == "ok"
    device = net_world.device()
    me = net_world.http.get("/v1/me", headers=device.headers).json()
    assert me["coordinator"]["email"] == net_world.email_a
    assert {s["id"] for s in me["sites"]} == {net_world.site_a1, net_world.site_a2}
    assert net_world.http.get("/v1/me").status_code == 401


def test_push_pull_round_trip_and_retry(net_world: World) -> None:
    device = net_world.device()
    cohort = uuid7()
    batch = [device.mutation("cohort", cohort, "create", {**COHORT, "site_id": net_world.site_a1})]
    assert device.push(*batch)[0]["status"] == "applied"
    assert device.push(*batch)[0]["status"] == "duplicate"
    state, cursors = device.pull_all()
    assert state[("cohort", cohort)]["name"] == "Promo 1"
    other = net_world.device("b")
    assert ("cohort", cohort) not in other.pull_all()[0]


def test_identical_pushes_sent_concurrently_apply_once(net_world: World) -> None:
    device = net_world.device()
    cohort = device.create_cohort(net_world.site_a1)
    learner_ids = [uuid7() for _ in range(20)]
    from commons_helpers import LEARNER

    batch = [
        device.mutation(
            "learner",
            i,
            "create",
            {**LEARNER, "site_id": net_world.site_a1, "cohort_id": cohort, "email": None},
        )
        for i in learner_ids
    ]
    answers: list[Any] = []

    def send() -> None:
        answers.append(device.push_raw(batch))

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert [a.status_code for a in answers] == [200] * 4
    statuses = sorted(r["status"] for a in answers for r in a.json()["results"])
    assert statuses.count("applied") == 20 and statuses.count("duplicate") == 60
    state, _ = device.pull_all()
    versions = {state[("learner", i)]["version"] for i in learner_ids}
    assert len(versions) == 20  # one write each


def test_conflict_between_two_devices_over_the_network(net_world: World) -> None:
    one, two = net_world.device(), Device(net_world.http, net_world.token_a)
    cohort = one.create_cohort(net_world.site_a2)
    version = one.pull_all()[0][("cohort", cohort)]["version"]
    one.push_one(
        "cohort",
        cohort,
        "update",
        {"name": "Promo A"},
        base_version=version,
        base_values={"name": "Promo 1"},
    )
    result = two.push_one(
        "cohort",
        cohort,
        "update",
        {"name": "Promo B"},
        base_version=version,
        base_values={"name": "Promo 1"},
    )
    assert result["status"] == "conflict" and result["row"]["name"] == "Promo A"
    state, _ = two.pull_all()
    assert any(e == "conflict" and row["row_id"] == cohort for (e, _i), row in state.items())


def test_oversized_body_is_refused_with_413(net_world: World) -> None:
    device = net_world.device()
    body = b'{"client_id": "' + b"x" * (MAX_PUSH_BYTES + 1) + b'", "mutations": []}'
    response = net_world.http.post(
        "/v1/push", content=body, headers={**device.headers, "Content-Type": "application/json"}
    )
    assert response.status_code == 413 and response.json()["max_bytes"] == MAX_PUSH_BYTES


def test_no_token_in_the_server_log(
    net_world: World, server: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    device = net_world.device()
    device.pull()
    logs = list(Path(tmp_path_factory.getbasetemp()).glob("server-home*/server.log"))
    assert logs
    for log in logs:
        assert device.token not in log.read_text(errors="replace")
