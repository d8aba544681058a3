"""A client SIGKILLed in the middle of a large pull resumes and converges: nothing lost, nothing
duplicated (the client runs as a subprocess)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import date

import pytest
from sqlalchemy import select, text
from sync_helpers import Device, Team

from fabriqueterm.demo.load import load_demo
from fabriqueterm.server import admin

_CLIENT = """
import sys
from pathlib import Path
from fabriqueterm.store.db import Store
from fabriqueterm.sync.engine import sync_once

url, token, path = sys.argv[1:4]
with Store.open(Path(path)) as store:
    report = sync_once(store, url, token, progress=lambda phase, done, total: print(phase, done, flush=True), pull_limit=1000)
    print("done", report.ok, flush=True)
"""


@pytest.fixture(scope="module")
def demo_sites(commons) -> list[str]:
    """The demo network (1,200 learners) loaded on the commons once; its site ids."""
    admin.add_coordinator(commons.engine, email="demo@example.org", name="Demo")
    load_demo(
        commons.engine, learners=1200, seed=7, email="demo@example.org", today=date(2026, 11, 25)
    )
    return _granted(commons, "demo@example.org")


def _granted(commons, email: str) -> list[str]:
    from fabriqueterm.server.auth import granted_sites
    from fabriqueterm.server.db import coordinator_table

    with commons.engine.connect() as connection:
        coordinator = connection.execute(
            select(coordinator_table.c.id).where(coordinator_table.c.email == email)
        ).scalar()
        return sorted(granted_sites(connection, coordinator))


def _coordinator_on(commons, demo_sites: list[str], email: str) -> str:
    admin.add_coordinator(commons.engine, email=email, name="Kim")
    for site in demo_sites:
        admin.grant(commons.engine, email=email, site_id=site)
    return admin.issue_token(commons.engine, email=email).value


def test_sigkill_mid_pull_then_resume(commons, demo_sites, tmp_path):
    email = "kill@example.org"
    token = _coordinator_on(commons, demo_sites, email)
    path = tmp_path / "killed.sqlite3"
    process = subprocess.Popen(
        [sys.executable, "-c", _CLIENT, commons.url, token, str(path)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "FABRIQUETERM_HOME": str(tmp_path / "home")},
    )
    killed = False
    assert process.stdout is not None
    for line in process.stdout:
        phase, done = line.split()[:2]
        if phase == "pull" and done.isdigit() and int(done) > 0:
            process.send_signal(signal.SIGKILL)
            killed = True
            break
    process.wait(20)
    assert killed, "the client finished before it could be killed"
    team = Team(commons, email, token, "", "", "")
    device = Device(path, team)
    try:
        partial = len(device.rows("learner"))
        report = device.sync()
        assert report.ok, report.errors
        local = {row_id: row["version"] for row_id, row in device.rows("learner").items()}
        sites = set(device.rows("site"))
        with commons.engine.connect() as connection:
            server = {
                row_id: version
                for row_id, version, site in connection.execute(
                    text("SELECT id, version, site_id FROM learner")
                ).all()
                if site in sites
            }
        assert len(server) >= 1200
        assert partial < len(server)  # killed before the end
        assert local == server
        assert device.store.learners.search("a")[1] > 0  # the search index followed
        assert device.sync().pulled == 0
    finally:
        device.close()


def test_a_pull_cut_while_applying_a_page_resumes_without_loss(
    commons, demo_sites, tmp_path, monkeypatch
):
    """The page being applied when the sync is cut leaves nothing behind, its cursor included."""
    from fabriqueterm.store import replica

    email = "cut@example.org"
    token = _coordinator_on(commons, demo_sites, email)
    device = Device(tmp_path / "cut.sqlite3", Team(commons, email, token, "", "", ""))
    calls = {"n": 0}
    original = replica.Replica._apply

    def cut_on_second_page(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            original(self, *args, **kwargs)  # the page is written, then the process "dies"
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(replica.Replica, "_apply", cut_on_second_page)
    try:
        try:
            device.sync(pull_limit=1000)
        except KeyboardInterrupt:
            pass
        else:
            raise AssertionError("the sync was not cut")
        monkeypatch.setattr(replica.Replica, "_apply", original)
        assert device.sync(pull_limit=1000).ok
        local = {row_id: row["version"] for row_id, row in device.rows("learner").items()}
        with commons.engine.connect() as connection:
            server = {
                row_id: version
                for row_id, version, site in connection.execute(
                    text("SELECT id, version, site_id FROM learner")
                ).all()
                if site in set(device.rows("site"))
            }
        assert len(server) > 1000
        assert local == server
    finally:
        device.close()


def test_small_pages_give_the_same_result_as_one_go(commons, demo_sites, tmp_path):
    token = _coordinator_on(commons, demo_sites, "pages@example.org")
    team = Team(commons, "pages@example.org", token, "", "", "")
    small, large = (
        Device(tmp_path / "small.sqlite3", team),
        Device(tmp_path / "large.sqlite3", team),
    )
    try:
        paged = small.sync(pull_limit=1000)
        whole = large.sync(pull_limit=5000)
        assert paged.ok and whole.ok
        assert paged.round_trips > whole.round_trips
        for entity in (
            "site",
            "partner",
            "partner_site",
            "cohort",
            "learner",
            "follow_up",
            "placement",
            "conflict",
        ):
            assert small.rows(entity) == large.rows(entity), entity
        assert small.replica.cursors() == large.replica.cursors()
    finally:
        small.close()
        large.close()
