"""``fabriqueterm server backup`` and ``server restore`` (server/backup.py), on SQLite and PostgreSQL:

- a backup restored over a commons that changed since gives back every row of every table;
- the refusals: an existing FILE, a restore not confirmed, a file that is not a commons' backup, a
  backup of the other kind of database, one from a newer revision; an older one is restored and
  says to migrate;
- the restore drill: two devices sync with a commons served by uvicorn, a backup is taken while it
  runs, they push more, then leave edits pending; the commons is stopped, restored to the backup and
  started again; every device notices, sends again what the commons lost, and all converge.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from commons_helpers import make_pg_schema
from legacy_commons import FOLLOW_UP, LEARNER, SITE, make_legacy_commons, snapshot
from sqlalchemy import Engine, text

from fabriqueterm.cli import main
from fabriqueterm.server.admin_access import record
from fabriqueterm.server.backup import BackupError, backup, restore
from fabriqueterm.server.db import SYNCED_TABLES, make_engine
from fabriqueterm.server.migrations import MIGRATE_COMMAND, upgrade
from fabriqueterm.store.replica import Replica

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "sync"))
from sync_helpers import COHORT as SYNC_COHORT  # noqa: E402
from sync_helpers import LEARNER as SYNC_LEARNER  # noqa: E402
from sync_helpers import Device, make_team, serve_commons  # noqa: E402

ATTEMPT = "01930000-0000-7000-8000-0000000000a7"
_AT = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)


pytestmark = pytest.mark.usefixtures("english")  # tests/server/conftest.py


def _full_commons(engine: Engine) -> None:
    """A commons at head with rows in every table."""
    make_legacy_commons(engine)
    upgrade(engine)
    with engine.begin() as connection:
        connection.execute(
            SYNCED_TABLES["follow_up_attempt"].insert(),
            {
                "id": ATTEMPT,
                "created_at": _AT,
                "updated_at": _AT,
                "version": 9,
                "site_id": SITE,
                "learner_id": LEARNER,
                "follow_up_id": FOLLOW_UP,
                "attempted_on": date(2026, 3, 3),
                "channel": "phone",
                "outcome": "no_answer",
                "situation": "unknown",
                "notes": "",
                "made_by": "Camille",
            },
        )
        connection.execute(text("UPDATE srv_counter SET value = 9"))
        record(connection, actor="admin", action="coordinator.add", target="the coordinator's id")


def _refused(call: Any) -> str:
    with pytest.raises(BackupError) as refusal:
        call()
    return str(refusal.value)


def never(question: str) -> bool:
    return False


def _cli(database_url: str, command: str, *argv: str) -> int:
    return main(["server", command, *argv, "--database-url", database_url])


# --- round trip --------------------------------------------------------------------------------


def test_a_restore_gives_back_every_row_of_every_table(
    engine: Engine, database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _full_commons(engine)
    before = snapshot(engine)
    assert {name for name, rows in before.items() if not rows} == set()  # rows in every table
    file = tmp_path / "nightly.backup"

    assert _cli(database_url, "backup", str(file)) == 0
    assert stat.S_IMODE(os.stat(file).st_mode) == 0o600
    assert "backed up" in capsys.readouterr().out

    with engine.begin() as connection:  # life goes on: rows change, appear, disappear
        connection.execute(text("UPDATE cohort SET name = 'Renamed'"))
        connection.execute(text("DELETE FROM follow_up_attempt"))
        connection.execute(text("UPDATE srv_counter SET value = 50"))
        connection.execute(text("DELETE FROM srv_token"))
    assert snapshot(engine) != before

    engine.dispose()
    epochs = []
    for _time in range(2):
        assert _cli(database_url, "restore", str(file), "--yes") == 0
        assert "restored" in capsys.readouterr().out
        after = snapshot(engine)
        # Every row as it was, and a new restore epoch, so the devices learn of the restore.
        meta = {row["key"]: row["value"] for row in after.pop("srv_meta")}
        epochs.append(meta.pop("restore_epoch"))
        # Its writes numbered past any the lost ones used (microseconds since 1970, below 2**53).
        (counter,) = after.pop("srv_counter")
        assert 1_700_000_000_000_000 < counter["value"] < 2**53
        # The audit log says a restore happened, from which file (one entry per restore).
        restores = [row for row in after.pop("srv_audit") if row["action"] == "restore"]
        assert [row["target"] for row in restores] == [f"file={file.name}"]
        ignored = ("srv_meta", "srv_counter", "srv_audit")
        assert after == {k: v for k, v in before.items() if k not in ignored}
        assert before["srv_audit"] == [
            r for r in snapshot(engine)["srv_audit"] if r["action"] != "restore"
        ]
        assert meta == {row["key"]: row["value"] for row in before["srv_meta"]}
        engine.dispose()
    assert len(set(epochs)) == 2 and all(epochs)  # each restore its own


# --- refusals --------------------------------------------------------------------------------


def test_an_existing_file_is_replaced_only_when_asked(
    engine: Engine, database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _full_commons(engine)
    file = tmp_path / "nightly.backup"
    file.write_bytes(b"yesterday's")

    assert _cli(database_url, "backup", str(file)) == 2  # nobody at a terminal to say yes
    assert "--force" in capsys.readouterr().err
    assert file.read_bytes() == b"yesterday's"
    backup(database_url, file, force=False, confirm=lambda question: True)  # a person said yes
    assert file.read_bytes() != b"yesterday's"
    assert _cli(database_url, "backup", str(file), "--force") == 0


def test_a_restore_is_never_done_without_a_yes(
    engine: Engine, database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _full_commons(engine)
    file = tmp_path / "nightly.backup"
    backup(database_url, file, force=False, confirm=never)
    with engine.begin() as connection:
        connection.execute(text("UPDATE cohort SET name = 'Renamed'"))
    asked: list[str] = []

    def no(question: str) -> bool:
        asked.append(question)
        return False

    assert "--yes" in _refused(lambda: restore(database_url, file, yes=False, confirm=no))
    assert "will be replaced" in asked[0] and str(file) in asked[0]
    assert _cli(database_url, "restore", str(file)) == 2
    assert "--yes" in capsys.readouterr().err
    with engine.connect() as connection:
        assert connection.execute(text("SELECT name FROM cohort")).scalar() == "Renamed"


def test_a_file_that_is_not_a_commons_backup_is_refused(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    _full_commons(engine)
    missing = tmp_path / "missing.backup"
    assert "no file" in _refused(lambda: restore(database_url, missing, yes=True, confirm=never))
    garbage = tmp_path / "notes.txt"
    garbage.write_text("not a backup")
    assert "not a backup of a commons" in _refused(
        lambda: restore(database_url, garbage, yes=True, confirm=never)
    )
    import sqlite3

    other = tmp_path / "other.sqlite3"
    with sqlite3.connect(other) as connection:
        connection.execute("CREATE TABLE notes (x)")
    expected = "SQLite" if database_url.startswith("postgresql") else "not a backup of a commons"
    assert expected in _refused(lambda: restore(database_url, other, yes=True, confirm=never))
    assert snapshot(engine)["cohort"]  # untouched


def test_a_backup_of_the_other_kind_of_database_is_refused(tmp_path: Path) -> None:
    sqlite_url = f"sqlite:///{tmp_path / 'commons.sqlite3'}"
    engine = make_engine(sqlite_url)
    _full_commons(engine)
    engine.dispose()
    file = tmp_path / "nightly.backup"
    backup(sqlite_url, file, force=False, confirm=never)
    message = _refused(
        lambda: restore("postgresql+psycopg://u:p@127.0.0.1:9/db", file, yes=True, confirm=never)
    )
    assert "SQLite" in message and "PostgreSQL" in message


def test_a_backup_from_a_newer_version_is_refused_an_older_one_says_to_migrate(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    make_legacy_commons(engine)  # a commons made before migrations: revision 0001
    older = tmp_path / "older.backup"
    backup(database_url, older, force=False, confirm=never)
    upgrade(engine)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    newer = tmp_path / "newer.backup"
    backup(database_url, newer, force=False, confirm=never)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0003'"))
    before = snapshot(engine)
    engine.dispose()

    message = _refused(lambda: restore(database_url, newer, yes=True, confirm=never))
    assert "9999" in message and "newer version" in message
    assert snapshot(engine) == before

    done = restore(database_url, older, yes=True, confirm=never)
    assert done.migrate and MIGRATE_COMMAND in done.message
    engine.dispose()
    upgrade(engine)  # what the sentence says to do
    assert snapshot(engine)["learner"] == before["learner"]


def test_pg_dump_missing_is_said(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    message = _refused(
        lambda: backup(
            "postgresql+psycopg://u:secret@127.0.0.1:9/db",
            tmp_path / "b.backup",
            force=False,
            confirm=never,
        )
    )
    assert "pg_dump" in message and "secret" not in message


# --- the restore drill -------------------------------------------------------------------------


def _state(device: Device) -> dict[str, dict[str, dict[str, Any]]]:
    """What a device holds of the network's data (the conflict records are each device's)."""
    return {
        entity: device.rows(entity)
        for entity in ("cohort", "learner", "follow_up", "follow_up_attempt", "placement")
    }


class Drill:
    """Two devices and a commons on SQLite, up to the commons' restore (see the test below)."""

    def __init__(self, tmp_path: Path):
        self.tmp_path = tmp_path
        self.database = tmp_path / "commons.sqlite3"
        self.url = f"sqlite:///{self.database}"
        self.file = tmp_path / "nightly.backup"

    def run_until_restored(self) -> None:
        with serve_commons(self.database) as commons:
            self.team = team = make_team(commons)
            a = self.a = Device(self.tmp_path / "a.sqlite3", team)
            b = self.b = Device(self.tmp_path / "b.sqlite3", team)
            assert a.sync().ok and b.sync().ok  # the sites
            self.cohort = a.store.cohorts.create({**SYNC_COHORT, "site_id": team.site1})
            self.first = a.store.learners.create({**SYNC_LEARNER, "cohort_id": self.cohort.id})
            assert a.sync().ok and b.sync().ok
            b.store.learners.update(self.first.id, {"phone": "+33611111111"})
            assert b.sync().ok and a.sync().ok

            backup(self.url, self.file, force=False, confirm=never)  # while it serves

            # After the backup: edits the commons acknowledges, then forgets.
            a.store.cohorts.update(self.cohort.id, {"name": "Promo 2"})
            self.second = a.store.learners.create(
                {**SYNC_LEARNER, "first_name": "Yanis", "email": None, "cohort_id": self.cohort.id}
            )
            self.fourth = a.store.learners.create(
                {**SYNC_LEARNER, "first_name": "Nils", "email": None, "cohort_id": self.cohort.id}
            )
            assert a.sync().ok
            b.store.learners.update(self.first.id, {"last_name": "Martin-Roux"})
            assert b.sync().ok and a.sync().ok
            # Edits not sent yet when the commons goes down.
            self.third = a.store.learners.create(
                {**SYNC_LEARNER, "first_name": "Lou", "email": None, "cohort_id": self.cohort.id}
            )
            b.store.learners.update(self.first.id, {"email": "ines.m@example.org"})
            # An edit not sent yet of a row the commons acknowledged after the backup.
            a.store.learners.update(self.fourth.id, {"phone": "+33644444444"})

        restore(self.url, self.file, yes=True, confirm=never)

    def close(self) -> None:
        self.a.close()
        self.b.close()


@pytest.fixture
def drill(tmp_path: Path) -> Iterator[Drill]:
    made = Drill(tmp_path)
    made.run_until_restored()
    yield made
    made.close()


def test_the_restore_drill(drill: Drill) -> None:
    """Every device notices the restore (it rebinds), sends its pending edits, and all converge on
    the commons' state."""
    a, b = drill.a, drill.b
    with serve_commons(drill.database) as restored:
        reports = [device.sync(url=restored.url) for device in (a, b)]
        assert all(report.ok for report in reports), reports
        assert all(report.rebound for report in reports)  # each noticed the restore
        for device in (a, b):
            assert device.sync(url=restored.url).ok
        fresh = Device(drill.tmp_path / "c.sqlite3", drill.team, restored.url)
        assert fresh.sync().ok
        expected = _state(fresh)
        fresh.close()
    assert _state(a) == expected and _state(b) == expected  # all converge
    learners = expected["learner"]
    assert drill.third.id in learners  # a's pending create
    assert learners[drill.first.id]["email"] == "ines.m@example.org"  # b's pending update
    assert learners[drill.first.id]["phone"] == "+33611111111"  # before the backup
    # Created and acknowledged after the backup, edited since and not sent: back, with the edit.
    assert learners[drill.fourth.id]["phone"] == "+33644444444"


def _converged(drill: Drill, url: str) -> dict[str, dict[str, dict[str, Any]]]:
    """What a new device pulls from the commons at ``url``, checked equal to what a and b hold."""
    fresh = Device(drill.tmp_path / "c.sqlite3", drill.team, url)
    try:
        assert fresh.sync().ok
        expected = _state(fresh)
    finally:
        fresh.close()
    assert _state(drill.a) == expected and _state(drill.b) == expected
    return expected


def _lost_edits_are_back(drill: Drill, expected: dict[str, dict[str, dict[str, Any]]]) -> None:
    learners = expected["learner"]
    assert drill.second.id in learners  # a's create the commons had acknowledged
    assert learners[drill.first.id]["last_name"] == "Martin-Roux"  # b's acknowledged update
    assert expected["cohort"][drill.cohort.id]["name"] == "Promo 2"  # a's acknowledged update
    assert drill.third.id in learners  # a's pending create
    assert learners[drill.first.id]["email"] == "ines.m@example.org"  # b's pending update
    assert learners[drill.first.id]["phone"] == "+33611111111"  # before the backup
    # Created and acknowledged after the backup, edited since and not sent: back, with the edit.
    assert learners[drill.fourth.id]["phone"] == "+33644444444"


def test_the_restore_drill_gives_back_what_was_acknowledged_after_the_backup(
    drill: Drill,
) -> None:
    """The edits the commons had acknowledged after the backup left the devices' outboxes: each
    device sees the restore (another epoch), pulls its sites again, and sends back what it holds
    newer than the restored commons, with no conflict or refusal where both devices hold it."""
    a, b = drill.a, drill.b
    with serve_commons(drill.database) as restored:
        reports = [device.sync(url=restored.url) for device in (a, b)]
        for report in reports:
            assert report.ok and report.conflicts == 0, report
            assert drill.team.site1 in report.restored_sites, report
        # a sends back what it holds newer than the commons (b's update too, pulled before the
        # restore); b then finds the commons as new as itself: nothing more to send.
        assert reports[0].sent_again > 0 and "restored from a backup" in reports[0].summary()
        again = [device.sync(url=restored.url) for device in (a, b)]
        assert all(r.ok and not r.restored_sites and not r.sent_again for r in again), again
        expected = _converged(drill, restored.url)
    _lost_edits_are_back(drill, expected)
    for device in (a, b):
        assert device.store.outbox.count("pending") == 0
        assert device.store.outbox.count("rejected") == 0


def _commons_sequence(database: Path) -> int:
    engine = make_engine(f"sqlite:///{database}")
    try:
        with engine.connect() as connection:
            return int(connection.execute(text("SELECT value FROM srv_counter")).scalar_one())
    finally:
        engine.dispose()


def test_a_restore_other_devices_pushes_would_hide_is_still_noticed(drill: Drill) -> None:
    """b syncs first and pushes the commons' sequence past a's cursor: a's cursor is then not ahead
    of the commons, and only the restore epoch tells a that what it pulled since the backup is
    gone. a pulls again and sends back what the commons lost."""
    a, b = drill.a, drill.b
    cursor = max(Replica(a.store).cursors().values())
    with serve_commons(drill.database) as restored:
        assert b.sync(url=restored.url).ok
        for index in range(40):  # bounded: each round moves the sequence by a few numbers
            if _commons_sequence(drill.database) > cursor:
                break
            b.store.learners.create(
                {
                    **SYNC_LEARNER,
                    "first_name": f"Nour{index}",
                    "email": None,
                    "cohort_id": drill.cohort.id,
                }
            )
            assert b.sync(url=restored.url).ok
        assert _commons_sequence(drill.database) > cursor
        report = a.sync(url=restored.url)
        assert report.ok and drill.team.site1 in report.restored_sites, report
        assert b.sync(url=restored.url).ok and a.sync(url=restored.url).ok
        expected = _converged(drill, restored.url)
    _lost_edits_are_back(drill, expected)


def test_a_postgresql_backup_goes_back_into_its_own_schema_only(tmp_path: Path) -> None:
    source, other = make_pg_schema(), make_pg_schema()
    try:
        engine = make_engine(source.url)
        _full_commons(engine)
        engine.dispose()
        file = tmp_path / "nightly.backup"
        backup(source.url, file, force=False, confirm=never)
        message = _refused(lambda: restore(other.url, file, yes=True, confirm=never))
        assert source.name in message and other.name in message
    finally:
        source.drop()
        other.drop()
