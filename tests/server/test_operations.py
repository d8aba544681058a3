"""Operations (docs/server.md, "Operations"), on SQLite and on PostgreSQL:

- ``/v1/health`` asks the database: 200 when it answers, 503 with a reason when it does not;
- ``/metrics`` (with ``--metrics``, loopback only, never through a proxy): requests by route
  template and status, push outcomes by kind, rows pulled, latency, coordinators seen today;
- ``server run --log-format json``: one JSON line per request, and no line of the server's output
  ever holds a token or a learner's personal data (a real session under uvicorn);
- admin: disable/enable a coordinator (401 like a revoked token, then 200), tokens with their
  last use, and an audit entry for every admin command.
"""

from __future__ import annotations

import json
import re
import time
import uuid
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from commons_helpers import COHORT, LEARNER, Device, World, make_world
from sqlalchemy import create_engine, select, text, update

from fabriqueterm.cli import main
from fabriqueterm.config import Config, Paths, save_config
from fabriqueterm.domain.ids import uuid7
from fabriqueterm.i18n import set_language
from fabriqueterm.server import admin
from fabriqueterm.server.app import create_app
from fabriqueterm.server.auth import TokenUse, token_hash
from fabriqueterm.server.db import audit_table, create_schema, make_engine, token_table
from fabriqueterm.server.process import CommonsStartError, start_commons

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

LOOPBACK = ("127.0.0.1", 50000)


@pytest.fixture(autouse=True)
def english(fabriqueterm_home: Path) -> None:
    paths = Paths.default()
    paths.ensure()
    save_config(paths.config_file, Config(language="en"))
    set_language("en")


@pytest.fixture(scope="module")
def ops_app(backend: str) -> Iterator[Any]:
    application = create_app(backend, metrics=True)
    yield application
    application.state.engine.dispose()


@pytest.fixture(scope="module")
def local(ops_app: Any) -> Iterator[TestClient]:
    """A client on the loopback address (the only kind /metrics answers)."""
    with TestClient(ops_app, client=LOOPBACK) as test_client:
        yield test_client


@pytest.fixture
def ops_world(ops_app: Any, local: TestClient) -> World:
    return make_world(ops_app.state.engine, local)


def _sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample of the exposition (0 when absent)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    pattern = re.escape(name) + (r"\{" + re.escape(wanted) + r"\}" if labels else "") + r" (\S+)"
    match = re.search("^" + pattern + "$", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


# --- health ------------------------------------------------------------------------------------


def test_health_asks_the_database_and_says_503_with_a_reason_when_it_does_not_answer(
    ops_app: Any, local: TestClient, tmp_path: Path
) -> None:
    answer = local.get("/v1/health")
    assert answer.status_code == 200 and answer.json()["status"] == "ok"

    working = ops_app.state.engine
    # A database that cannot be reached: a SQLite file in a folder that does not exist, or a
    # PostgreSQL port nothing listens on.
    if working.dialect.name == "sqlite":
        down = create_engine(f"sqlite:///{tmp_path / 'missing' / 'commons.sqlite3'}")
    else:
        down = create_engine("postgresql+psycopg://nobody:nothing@127.0.0.1:1/none")
    ops_app.state.engine = down
    try:
        answer = local.get("/v1/health")
    finally:
        ops_app.state.engine = working
        down.dispose()
    assert answer.status_code == 503
    body = answer.json()
    assert body["status"] == "unavailable"
    assert "database does not answer" in body["detail"]
    assert "nothing" not in body["detail"]  # never the URL's user or password
    assert answer.headers["Retry-After"]
    assert local.get("/v1/health").status_code == 200  # up again


# --- metrics -----------------------------------------------------------------------------------


def test_metrics_after_a_session_count_routes_outcomes_rows_and_coordinators_seen(
    ops_world: World, local: TestClient
) -> None:
    before = local.get("/metrics").text
    device = ops_world.device()
    cohort = device.create_cohort(ops_world.site_a1)
    learner = uuid7()
    first = device.mutation(
        "learner", learner, "create", {**LEARNER, "site_id": ops_world.site_a1, "cohort_id": cohort}
    )
    assert device.push(first)[0]["status"] == "applied"
    assert device.push(first)[0]["status"] == "duplicate"
    bad = device.mutation("cohort", uuid7(), "create", {**COHORT, "site_id": ops_world.site_a1})
    bad["fields"]["capacity"] = -3
    assert device.push(bad)[0]["status"] == "rejected"
    state, _ = device.pull_all()
    assert ("learner", learner) in state
    assert local.get(f"/v1/nothing/{learner}").status_code == 404
    too_big = local.post("/v1/push", content=b"x" * (2 * 1024 * 1024), headers=device.headers)
    assert too_big.status_code == 413  # answered before routing, still labelled by its route

    after = local.get("/metrics")
    assert after.status_code == 200
    assert after.headers["content-type"].startswith("text/plain")
    text = after.text

    def grew(name: str, **labels: str) -> float:
        return _sample(text, name, **labels) - _sample(before, name, **labels)

    assert grew("fabriqueterm_requests_total", route="/v1/push", method="POST", status="200") == 4
    assert grew("fabriqueterm_requests_total", route="/v1/pull", method="POST", status="200") >= 1
    assert grew("fabriqueterm_push_mutations_total", outcome="applied") == 2
    assert grew("fabriqueterm_push_mutations_total", outcome="duplicate") == 1
    assert grew("fabriqueterm_push_mutations_total", outcome="rejected") == 1
    assert grew("fabriqueterm_pull_rows_total") >= 2
    assert grew("fabriqueterm_request_duration_seconds_count", route="/v1/push") == 5
    assert grew("fabriqueterm_requests_total", route="<unmatched>", method="GET", status="404") == 1
    assert grew("fabriqueterm_requests_total", route="/v1/push", method="POST", status="413") == 1
    assert _sample(text, "fabriqueterm_coordinators_seen_today") >= 1
    # Route templates only: no id ever becomes a label.
    assert learner not in text and cohort not in text and ops_world.site_a1 not in text


def test_metrics_answer_only_loopback_clients_not_through_a_proxy(
    ops_app: Any, local: TestClient
) -> None:
    assert local.get("/metrics").status_code == 200
    assert local.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 404
    with TestClient(ops_app, client=("203.0.113.9", 40000)) as remote:
        assert remote.get("/metrics").status_code == 404
        assert remote.get("/v1/health").status_code == 200
    # Without --metrics there is no /metrics at all.
    plain = create_app(str(ops_app.state.engine.url.render_as_string(hide_password=False)))
    try:
        with TestClient(plain, client=LOOPBACK) as client:
            assert client.get("/metrics").status_code == 404
    finally:
        plain.state.engine.dispose()


# --- tokens: disable, enable, last used -----------------------------------------------------------


def test_a_disabled_coordinator_gets_the_revoked_tokens_401_and_enable_restores_them(
    ops_world: World, local: TestClient, capsys: pytest.CaptureFixture[str], backend: str
) -> None:
    device = ops_world.device()
    second = Device(local, admin.issue_token(ops_world.engine, email=ops_world.email_a).value)
    assert local.get("/v1/me", headers=device.headers).status_code == 200
    revoked = admin.issue_token(ops_world.engine, email=ops_world.email_b).value
    admin.revoke_token(ops_world.engine, token_or_id=revoked)
    refused = local.get("/v1/me", headers={"Authorization": f"Bearer {revoked}"})

    code = main(["server", "admin", "--actor", "admin-claire", "coordinator", "disable",
                 ops_world.email_a, "--database-url", backend])  # fmt: skip
    assert code == 0
    assert "disabled" in capsys.readouterr().out
    assert main(["server", "admin", "list", "--database-url", backend]) == 0
    listed = capsys.readouterr().out
    assert next(x for x in listed.splitlines() if ops_world.email_a in x).endswith("(disabled)")
    for d in (device, second):
        answer = local.get("/v1/me", headers=d.headers)
        assert answer.status_code == 401
        assert answer.json() == refused.json()
        assert d.push_raw([]).status_code == 401
    # B is untouched.
    assert local.get("/v1/me", headers=ops_world.device("b").headers).status_code == 200

    me = local.get("/v1/me", headers=ops_world.device("b").headers).json()
    coordinator_a = admin_id(ops_world, ops_world.email_a)
    assert main(["server", "admin", "coordinator", "enable", coordinator_a,
                 "--database-url", backend]) == 0  # fmt: skip
    assert "enabled again" in capsys.readouterr().out
    answer = local.get("/v1/me", headers=device.headers)
    assert answer.status_code == 200
    assert {s["id"] for s in answer.json()["sites"]} == {ops_world.site_a1, ops_world.site_a2}
    assert me["coordinator"]["email"] == ops_world.email_b


def admin_id(world: World, email: str) -> str:
    from fabriqueterm.server.db import coordinator_table

    with world.engine.connect() as connection:
        return str(
            connection.execute(
                select(coordinator_table.c.id).where(coordinator_table.c.email == email)
            ).scalar_one()
        )


def test_token_list_shows_the_last_use_written_at_most_once_a_minute(
    ops_world: World, local: TestClient, capsys: pytest.CaptureFixture[str], backend: str
) -> None:
    device = ops_world.device()

    def last_used() -> datetime | None:
        with ops_world.engine.connect() as connection:
            return connection.execute(
                select(token_table.c.last_used_at).where(
                    token_table.c.token_hash == token_hash(device.token)
                )
            ).scalar_one()

    assert last_used() is None
    assert local.get("/v1/me", headers=device.headers).status_code == 200
    first = last_used()
    assert first is not None
    assert local.get("/v1/me", headers=device.headers).status_code == 200
    assert last_used() == first  # not a write per request
    # A minute later, the next request writes again.
    earlier = datetime.now(UTC) - timedelta(minutes=2)
    with ops_world.engine.begin() as connection:
        connection.execute(
            update(token_table)
            .where(token_table.c.token_hash == token_hash(device.token))
            .values(last_used_at=earlier)
        )
    assert local.get("/v1/me", headers=device.headers).status_code == 200
    assert last_used() != first and last_used() is not None

    assert main(["server", "admin", "token", "list", "--database-url", backend]) == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if device.token[:8] in x)
    assert ops_world.email_a in line and "active" in line
    assert re.search(r"last used: \d{4}-\d\d-\d\d \d\d:\d\d", line)
    assert device.token not in out
    other = next(x for x in out.splitlines() if ops_world.token_b[:8] in x)
    assert "last used: never" in other


def test_needs_touch_once_a_minute_and_on_a_new_day() -> None:
    from fabriqueterm.server.auth import Coordinator

    now = datetime(2026, 12, 7, 0, 0, 20, tzinfo=UTC)
    use = TokenUse(Coordinator("c", "e", "n"), "t", None)
    assert use.needs_touch(now)
    recent = TokenUse(use.coordinator, "t", now - timedelta(seconds=10))
    assert not recent.needs_touch(now)
    assert TokenUse(use.coordinator, "t", now - timedelta(seconds=61)).needs_touch(now)
    assert TokenUse(use.coordinator, "t", now - timedelta(seconds=30)).needs_touch(now)  # yesterday
    naive = TokenUse(use.coordinator, "t", (now - timedelta(seconds=5)).replace(tzinfo=None))
    assert not naive.needs_touch(now)


# --- audit -------------------------------------------------------------------------------------


def test_every_admin_command_leaves_an_audit_entry_shown_by_the_audit_command(
    backend: str, ops_app: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    tag = uuid.uuid4().hex[:8]
    email = f"audit-{tag}@example.org"

    def run(*argv: str) -> str:
        code = main(
            ["server", "admin", "--actor", f"admin-{tag}", *argv, "--database-url", backend]
        )
        out, err = capsys.readouterr()
        assert code == 0, err
        return out

    site = run("site", "add", f"Fabrique Audit {tag}", "--city", "Lille").strip()
    run("coordinator", "add", email, "--name", "Aude Dit")
    run("grant", email, site)
    token = run("token", "issue", email).strip()
    run("token", "revoke", token[:10])
    run("revoke", email, site)
    run("coordinator", "disable", email)
    run("coordinator", "enable", email)
    run("list")  # read-only: not recorded
    run("token", "list")

    engine = ops_app.state.engine
    with engine.connect() as connection:
        rows = connection.execute(
            select(audit_table)
            .where(audit_table.c.actor == f"admin-{tag}")
            .order_by(audit_table.c.at, audit_table.c.id)
        ).all()
    assert [r.action for r in rows] == [
        "site.add",
        "coordinator.add",
        "grant",
        "token.issue",
        "token.revoke",
        "revoke",
        "coordinator.disable",
        "coordinator.enable",
    ]
    assert f"site={site}" in rows[0].target
    assert all(r.at is not None for r in rows)
    assert re.fullmatch(r"coordinator=[0-9a-f-]{36}", rows[1].target)
    assert rows[2].target == f"{rows[1].target} site={site}"
    assert token not in " ".join(r.target for r in rows)  # at most its prefix
    assert email not in " ".join(r.target for r in rows)  # ids, not addresses

    shown = run("audit", "--limit", "3").splitlines()
    assert len(shown) == 3
    assert [line.split()[3] for line in shown] == [
        "coordinator.enable",
        "coordinator.disable",
        "revoke",
    ]
    assert all(f"admin-{tag}" in line for line in shown)


def test_an_admin_command_and_its_audit_entry_are_one_transaction(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An audit entry that cannot be written takes its command with it: nothing changes unless
    it is recorded (before, the command committed first and its entry came after, alone)."""
    url = f"sqlite:///{tmp_path / 'commons.sqlite3'}"
    engine = make_engine(url)
    create_schema(engine)
    with engine.begin() as connection:  # the audit log cannot be written to
        connection.execute(text("DROP TABLE srv_audit"))
    code = main(["server", "admin", "site", "add", "Fabrique Perdue", "--city", "Lens",
                 "--database-url", url])  # fmt: skip
    assert code != 0 and "Traceback" not in capsys.readouterr().err
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM site")).scalar_one() == 0
    engine.dispose()


# --- JSON log lines without secrets, under uvicorn ----------------------------------------------


@pytest.fixture(scope="module")
def json_server(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    home = tmp_path_factory.mktemp("ops-home")
    log_file = home / "server.log"
    try:
        commons = start_commons(
            backend,
            home=home,
            log_file=log_file,
            extra_args=("--log-format", "json", "--metrics", "--log-level", "info"),
        )
    except CommonsStartError:
        raise AssertionError(f"the server did not start: {log_file.read_text()}") from None
    with commons:
        yield commons


def test_json_log_lines_hold_no_token_and_no_personal_data(backend: str, json_server: Any) -> None:
    engine = make_engine(backend)
    create_schema(engine)
    with httpx.Client(base_url=json_server.url, timeout=30) as http:
        world = make_world(engine, http)
        device = world.device()
        cohort = device.create_cohort(world.site_a1)
        people = [
            {"first_name": "Zéphyrine", "last_name": "Quillardet",
             "email": "zephyrine.quillardet@example.org", "phone": "+33698765432"},
            {"first_name": "Anatole", "last_name": "Brisebarre",
             "email": "anatole.brisebarre@example.net", "phone": "+33611223344"},
        ]  # fmt: skip
        learners = [device.create_learner(world.site_a1, cohort, **person) for person in people]
        note = "Rappeler Zéphyrine après son entretien chez Boulangerie Vautrin"
        follow_up = device.push_one(
            "follow_up",
            uuid7(),
            "create",
            {"site_id": world.site_a1, "learner_id": learners[0], "milestone": "m3",
             "due_date": "2026-10-03", "notes": note},
        )  # fmt: skip
        assert follow_up["status"] == "applied", follow_up
        device.pull_all()
        world.device("b").pull_all()
        assert (
            http.get("/v1/me", headers={"Authorization": "Bearer not-a-real-token"}).status_code
            == 401
        )
        assert (
            http.get(f"/v1/me?email={people[1]['email']}", headers=device.headers).status_code
            == 200
        )
        assert http.get("/v1/health").status_code == 200
        assert http.get("/metrics").status_code == 200
        coordinator_a = admin_id(world, world.email_a)
    engine.dispose()

    def lines() -> list[str]:
        return json_server.log_file.read_text(encoding="utf-8").splitlines()

    # A line is written as its request ends, just after the answer: wait for the last, bounded.
    deadline = time.monotonic() + 30
    while not any('"route":"/metrics"' in line for line in lines()):
        assert time.monotonic() < deadline, "the last request's line never came"
        assert json_server.process.poll() is None, "the server stopped"
        time.sleep(0.02)
    every = lines()
    requests = [json.loads(line) for line in every if line.startswith("{") and '"route"' in line]
    assert len(requests) >= 8
    for entry in requests:
        assert set(entry) == {"time", "method", "route", "status", "duration_ms", "coordinator"}
        assert entry["route"].startswith("/")
    assert {"/v1/push", "/v1/pull", "/v1/me", "/v1/health"} <= {e["route"] for e in requests}
    assert coordinator_a in {e["coordinator"] for e in requests}
    assert {401, 200} <= {e["status"] for e in requests}

    secrets = [world.token_a, world.token_b, "not-a-real-token", note, "Vautrin",
               world.email_a, world.email_b, "Alice Coordinatrice", "Bruno Coordinateur"]  # fmt: skip
    for person in people:
        secrets += list(person.values())
    secrets += [person["email"].split("@")[0] for person in people]
    secrets += ["%40", "email="]  # the query string with its value
    for line in every:
        for secret in secrets:
            assert secret not in line, (secret, line)


def test_metrics_sum_every_worker_of_a_two_worker_commons(
    backend: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    if not backend.startswith("postgresql"):
        pytest.skip("several workers need PostgreSQL")
    home = tmp_path_factory.mktemp("ops-workers")
    log_file = home / "server.log"
    try:
        commons = start_commons(
            backend, home=home, log_file=log_file, workers=2, extra_args=("--metrics",)
        )
    except CommonsStartError:
        raise AssertionError(f"the server did not start: {log_file.read_text()}") from None
    with commons:
        # New connections each time, so both workers answer some of them.
        for _ in range(30):
            assert httpx.get(commons.url + "/v1/me", timeout=30).status_code == 401
        texts = [httpx.get(commons.url + "/metrics", timeout=30).text for _ in range(4)]
    for scraped in texts:  # whichever worker answers the scrape, it counts all 30
        assert (
            _sample(
                scraped, "fabriqueterm_requests_total", route="/v1/me", method="GET", status="401"
            )
            == 30
        )
