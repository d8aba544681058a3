"""Several app servers (docs/server.md, "Several app servers"): two ``fabriqueterm server run``
processes on two ports, on the same PostgreSQL schema, Debian's nginx balancing between them round
robin (the shipped deploy/nginx/fabriqueterm.conf, one ``server`` line each, TLS ending at nginx).

- Three clients of one coordinator (the real sync engine, each its own SQLite file) edit the same
  sites and sync through nginx for several rounds: they converge to identical rows, equal to what
  the commons holds.
- The change feed's ordering guarantee (docs/sync.md, "Ordering on PostgreSQL") across processes:
  writers push concurrently to both processes while a reader pulls through nginx with its cursors;
  it never misses a change.
- Two devices editing the same field through them get one conflict, decided everywhere.
- nginx's access log shows both app servers answered.

PostgreSQL only: skipped without ``$FABRIQUETERM_TEST_PG_URL``, except in CI where it fails."""

from __future__ import annotations

import random
import ssl
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from commons_helpers import COHORT, LEARNER, Device, World, make_pg_schema, make_world
from sqlalchemy import text
from tls_helpers import Nginx, Pki, make_pki, nginx_in_front

from fabriqueterm.domain.ids import uuid7
from fabriqueterm.server.db import make_engine
from fabriqueterm.server.process import CommonsProcess, start_commons
from fabriqueterm.store.db import Store
from fabriqueterm.store.replica import Replica
from fabriqueterm.sync.client import CommonsClient, RetryPolicy
from fabriqueterm.sync.engine import sync_once

ROUNDS = 4
WRITERS_PER_PROCESS = 2
BATCHES = 10
BATCH_SIZE = 5
#: Fast retries: the test must not wait for real backoff.
FAST = RetryPolicy(attempts=3, base=0.01, cap=0.02)


@dataclass
class ScaleOut:
    nginx: Nginx
    servers: list[CommonsProcess]
    engine: Any
    pki: Pki

    @property
    def url(self) -> str:
        return self.nginx.url

    def upstreams(self, path: str = "/") -> Counter[str]:
        """How many requests to ``path``… each app server answered (200), from nginx's access
        log (``$upstream_addr $status "$request"``)."""
        served: Counter[str] = Counter()
        for line in self.nginx.access_log.read_text().splitlines():
            upstream, status, request = line.split(" ", 2)
            if status == "200" and request.split(" ")[1].startswith(path):
                served[upstream] += 1
        return served


@pytest.fixture(scope="module")
def scale_out(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScaleOut]:
    schema = make_pg_schema()  # skips without PostgreSQL (fails in CI)
    servers: list[CommonsProcess] = []
    engine = make_engine(schema.url)
    try:
        pki = make_pki(tmp_path_factory.mktemp("pki"))
        for number in (1, 2):
            folder = tmp_path_factory.mktemp(f"app{number}")
            servers.append(
                start_commons(
                    schema.url,
                    home=folder,
                    log_file=folder / "server.log",
                    migrate=number == 1,  # the second finds the schema at head
                )
            )
        upstreams = [server.url.removeprefix("http://") for server in servers]
        with nginx_in_front(tmp_path_factory.mktemp("nginx"), pki, upstreams) as nginx:
            yield ScaleOut(nginx, servers, engine, pki)
    finally:
        for server in servers:
            server.stop()
        engine.dispose()
        schema.drop()


@pytest.fixture
def world(scale_out: ScaleOut) -> World:
    return make_world(scale_out.engine, None)


class Client:
    """One coordinator's device: its own SQLite file, syncing through nginx over TLS."""

    def __init__(self, path: Path, scale_out: ScaleOut, token: str):
        self.store = Store.open(path)
        self.replica = Replica(self.store)
        self.scale_out = scale_out
        self.token = token

    def sync(self) -> None:
        url = self.scale_out.url
        client = CommonsClient(url, self.token, retry=FAST, ca_bundle=self.scale_out.pki.ca)
        with client:
            report = sync_once(self.store, url, self.token, client=client)
        assert report.ok, report.errors

    def rows(self, entity: str) -> dict[str, dict[str, Any]]:
        return self.replica.rows(entity)


def test_three_clients_through_two_app_servers_converge(
    scale_out: ScaleOut, world: World, tmp_path: Path
) -> None:
    before = scale_out.upstreams()
    clients = [Client(tmp_path / f"{n}.sqlite3", scale_out, world.token_a) for n in range(3)]
    try:
        for client in clients:
            client.sync()
        cohorts = [
            clients[0].store.cohorts.create({**COHORT, "site_id": world.site_a1}).id,
            clients[1].store.cohorts.create({**COHORT, "site_id": world.site_a2}).id,
        ]
        for client in clients:
            client.sync()
        chance = random.Random(14)
        for round_number in range(ROUNDS):
            for number, client in enumerate(clients):
                # Every device adds a learner to one of the shared sites…
                cohort = cohorts[(round_number + number) % 2]
                client.store.learners.create(
                    {**LEARNER, "cohort_id": cohort, "first_name": f"R{round_number}C{number}"}
                )
                # …and edits one it received (the same rows as the others, now and then).
                known = sorted(client.rows("learner"))
                if known:
                    field = ("phone", "email", "last_name")[number]
                    value = {
                        "phone": f"+336{chance.randrange(10**7, 10**8)}",
                        "email": f"r{round_number}-{number}@example.org",
                        "last_name": f"Nom{round_number}{number}",
                    }[field]
                    client.store.learners.update(chance.choice(known), {field: value})
            for client in chance.sample(clients, len(clients)):
                client.sync()
        for _ in range(2):  # everyone hears of the last round's edits
            for client in clients:
                client.sync()
        for client in clients:
            assert client.store.outbox.count("pending") == 0
        with scale_out.engine.connect() as connection:
            commons = {
                entity: {
                    row_id: version
                    for row_id, version in connection.execute(
                        text(f"SELECT id, version FROM {entity} WHERE site_id IN (:a1, :a2)"),
                        {"a1": world.site_a1, "a2": world.site_a2},
                    ).all()
                }
                for entity in ("cohort", "learner")
            }
        assert len(commons["learner"]) == ROUNDS * len(clients)
        assert set(commons["cohort"]) == set(cohorts)
        for entity in ("cohort", "learner"):
            first = clients[0].rows(entity)
            for client in clients[1:]:
                assert client.rows(entity) == first, entity
            assert {row_id: row["version"] for row_id, row in first.items()} == commons[entity]
    finally:
        for client in clients:
            client.store.close()
    served = scale_out.upstreams() - before
    assert len(served) == 2, f"one app server answered everything: {served}"


def test_the_same_field_edited_on_two_devices_is_one_conflict_through_two_app_servers(
    scale_out: ScaleOut, world: World, tmp_path: Path
) -> None:
    """Two devices change the same learner's phone offline and sync through nginx (each sync may
    reach either process): the second is answered a conflict, the commons keeps the first value,
    and the conflict decided on one device is decided on the other too."""
    first, second = (
        Client(tmp_path / f"{name}.sqlite3", scale_out, world.token_a) for name in ("a", "b")
    )
    try:
        first.sync()
        cohort = first.store.cohorts.create({**COHORT, "site_id": world.site_a1}).id
        learner = first.store.learners.create({**LEARNER, "cohort_id": cohort}).id
        first.sync()
        second.sync()
        first.store.learners.update(learner, {"phone": "+33611111111"})
        second.store.learners.update(learner, {"phone": "+33622222222"})
        first.sync()
        second.sync()
        [conflict] = second.replica.open_conflicts()
        assert (conflict["row_id"], conflict["field"]) == (learner, "phone")
        assert second.store.learners.get(learner).phone == "+33611111111"  # the commons' value
        # The person keeps their own value: a new edit, and the conflict marked decided.
        second.store.learners.update(learner, {"phone": "+33622222222"})
        second.replica.resolve_conflict(conflict["id"], "took_client")
        second.sync()
        first.sync()
        assert first.replica.open_conflicts() == [] == second.replica.open_conflicts()
        assert (
            first.store.learners.get(learner).phone
            == second.store.learners.get(learner).phone
            == "+33622222222"
        )
        assert first.rows("learner") == second.rows("learner")
    finally:
        first.store.close()
        second.store.close()


def test_a_pull_misses_no_change_pushed_concurrently_to_both_processes(
    scale_out: ScaleOut, world: World
) -> None:
    """Writers push to each process directly, in parallel; a reader pulls through nginx (both
    processes in turn) all along with its cursors: it sees every row once everything is committed."""
    context = ssl.create_default_context(cafile=str(scale_out.pki.ca))
    pulls_before = scale_out.upstreams("/v1/pull")
    with httpx.Client(base_url=scale_out.servers[0].url, timeout=30) as http:
        cohort = Device(http, world.token_a).create_cohort(world.site_a1)
    written: set[str] = set()
    lock = threading.Lock()
    done = threading.Event()
    errors: list[BaseException] = []

    def writer(url: str) -> None:
        try:
            with httpx.Client(base_url=url, timeout=30) as http:
                device = Device(http, world.token_a)
                for _ in range(BATCHES):
                    mutations = [
                        device.mutation(
                            "learner",
                            uuid7(),
                            "create",
                            {**LEARNER, "site_id": world.site_a1, "cohort_id": cohort},
                        )
                        for _ in range(BATCH_SIZE)
                    ]
                    results = device.push(*mutations)
                    assert {result["status"] for result in results} == {"applied"}
                    with lock:
                        written.update(mutation["id"] for mutation in mutations)
        except BaseException as error:  # reported by the main thread
            errors.append(error)

    seen: set[str] = set()
    cursors: dict[str, int] = {}

    def read_once(reader: Device) -> None:
        nonlocal cursors
        while True:
            page = reader.pull(cursors, limit=1000)
            seen.update(c["id"] for c in page["changes"] if c["entity"] == "learner")
            cursors = page["cursors"]
            if not page["more"]:
                return

    with httpx.Client(base_url=scale_out.url, verify=context, timeout=30) as http:
        reader = Device(http, world.token_a)

        def reading() -> None:
            try:
                while not done.is_set():
                    read_once(reader)
            except BaseException as error:
                errors.append(error)

        threads = [
            threading.Thread(target=writer, args=(server.url,))
            for server in scale_out.servers
            for _ in range(WRITERS_PER_PROCESS)
        ]
        pulling = threading.Thread(target=reading)
        pulling.start()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        done.set()
        pulling.join(60)
        if errors:
            raise errors[0]
        read_once(reader)  # where the reader's cursors lead once everything is committed
    assert len(written) == len(scale_out.servers) * WRITERS_PER_PROCESS * BATCHES * BATCH_SIZE
    assert written - seen == set()
    pulls = scale_out.upstreams("/v1/pull") - pulls_before
    assert len(pulls) == 2, f"the reader's pulls did not reach both app servers: {pulls}"
