"""The demo syncs for real: its own commons on 127.0.0.1, a first sync, a simulated colleague."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import stat
import subprocess
import sys
import threading
from datetime import date
from pathlib import Path

import httpx
import pytest

from fabriqueterm.config import Paths, load_config, load_token
from fabriqueterm.demo import commons as demo_commons
from fabriqueterm.demo.colleague import DemoColleague
from fabriqueterm.domain.dates import Clock
from fabriqueterm.domain.models import ENTITIES
from fabriqueterm.store import Store
from fabriqueterm.store.replica import Replica
from fabriqueterm.sync.engine import sync_once

TODAY = date(2026, 11, 25)
LEARNERS = 120


def live_counts(database: Path) -> dict[str, int]:
    """Rows not deleted per entity, read straight from a SQLite file (either side)."""
    connection = sqlite3.connect(database)
    try:
        return {
            entity: connection.execute(
                f"SELECT count(*) FROM {entity} WHERE deleted_at IS NULL"
            ).fetchone()[0]
            for entity in ENTITIES
        }
    finally:
        connection.close()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Paths:
    home = tmp_path_factory.mktemp("demo-home")
    demo_commons.build_synced_demo(home, learners=LEARNERS, seed=3, today=TODAY, replace=False)
    return Paths.under(home)


def test_demo_build_in_a_subprocess_builds_both_sides(tmp_path: Path) -> None:
    env = {**os.environ, "FABRIQUETERM_HOME": str(tmp_path)}
    env.pop("FABRIQUETERM_DEMO_HOME", None)
    args = [
        "demo",
        "--build",
        "--learners",
        str(LEARNERS),
        "--seed",
        "3",
        "--today",
        TODAY.isoformat(),
    ]
    done = subprocess.run(
        [sys.executable, "-m", "fabriqueterm", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    paths = Paths.under(tmp_path / "demo")
    commons = demo_commons.commons_database(paths)
    assert str(paths.database) in done.stdout and str(commons) in done.stdout
    for path in (
        paths.database,
        commons,
        paths.config_file,
        paths.secrets_file,
        demo_commons.colleague_token_file(paths),
    ):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert load_token(paths.secrets_file) and load_token(demo_commons.colleague_token_file(paths))
    assert load_config(paths.config_file).server_url == ""  # no server runs after a build
    client, server = live_counts(paths.database), live_counts(commons)
    assert client["learner"] == LEARNERS
    assert client == {entity: server[entity] for entity in client}
    with Store.open(paths.database) as store:
        assert Replica(store).counts()["pending"] == 0
        assert store.get_meta("demo_today") == TODAY.isoformat()
    assert not list(tmp_path.glob("demo/data/*.log"))  # no server was started


def test_a_rebuild_refuses_without_replace(built: Paths) -> None:
    with pytest.raises(FileExistsError):
        demo_commons.build_synced_demo(
            built.data_dir.parent, learners=LEARNERS, seed=3, today=TODAY, replace=False
        )


def test_the_demo_server_syncs_and_the_colleague_edits_arrive(built: Paths) -> None:
    token = load_token(built.secrets_file)
    assert token is not None
    server = demo_commons.start_demo_server(built)
    try:
        assert server.url.startswith("http://127.0.0.1:")
        health = httpx.get(server.url + "/v1/health", timeout=5)
        assert health.status_code == 200 and health.json()["status"] == "ok"
        with Store.open(built.database, clock=Clock(TODAY)) as store:
            first = sync_once(store, server.url, token)
            assert first.ok, first.summary()
            assert first.pulled == 0  # the build's first sync already brought everything
            assert live_counts(built.database) == {
                k: v
                for k, v in live_counts(demo_commons.commons_database(built)).items()
                if k in ENTITIES
            }

            colleague_token = load_token(demo_commons.colleague_token_file(built))
            assert colleague_token is not None
            colleague = DemoColleague(
                f"sqlite:///{demo_commons.commons_database(built)}",
                server.url,
                colleague_token.reveal(),
                today=TODAY,
                seed=5,
            )
            try:
                logged = colleague.edit_once("follow_up")
                placed = colleague.edit_once("placement")
                phoned = colleague.edit_once("phone")
            finally:
                colleague.close()
            assert logged and placed and phoned
            assert {logged.status, placed.status, phoned.status} == {"applied"}

            # The newcomer edits the same phone before syncing: a conflict, nothing lost.
            mine = "+33611223344"
            store.learners.update(phoned.row_id, {"phone": mine})
            second = sync_once(store, server.url, token)
            assert second.pulled >= 3 and second.pushed == 1, second.summary()
            assert second.conflicts == 1
            follow_up = store.follow_ups.get(logged.row_id)
            assert follow_up.done_date == TODAY and follow_up.outcome == logged.fields["outcome"]
            assert store.placements.get(placed.row_id).learner_id == placed.fields["learner_id"]
            conflicts = Replica(store).rows("conflict")
            values = {
                (json.loads(row["server_value"]), json.loads(row["client_value"]))
                for row in conflicts.values()
            }
            assert (phoned.fields["phone"], mine) in values or (
                mine,
                phoned.fields["phone"],
            ) in values
    finally:
        server.stop()
    assert server.process.poll() is not None
    with pytest.raises(httpx.ConnectError):
        httpx.get(server.url + "/v1/health", timeout=2)


def test_closing_the_app_stops_the_server(built: Paths, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, object] = {}

    def fake_app(paths: Paths, *, today: date | None = None, demo: bool = False) -> int:
        url = load_config(paths.config_file).server_url
        seen["url"], seen["demo"] = url, demo
        seen["health"] = httpx.get(url + "/v1/health", timeout=5).status_code
        raise RuntimeError("the app crashed")

    import fabriqueterm.tui.app

    monkeypatch.setattr(fabriqueterm.tui.app, "run_app", fake_app)
    with pytest.raises(RuntimeError):
        demo_commons.run_demo(built, today=TODAY, seed=3)
    assert seen["health"] == 200 and seen["demo"] is True
    url = str(seen["url"])
    port = int(url.rsplit(":", 1)[1])
    with socket.socket() as probe:  # nothing listens there any more
        assert probe.connect_ex(("127.0.0.1", port)) != 0
    assert load_config(built.config_file).server_url == ""
    assert not [
        t for t in threading.enumerate() if t.name == "demo-colleague"
    ]  # the colleague stopped too
