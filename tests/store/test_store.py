"""The local store (store/db.py, repositories, outbox): a safe file, one transaction per write, one
outbox entry per change, tombstones, erasure and the follow-ups the app generates itself."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from fabriqueterm.domain.dates import Clock
from fabriqueterm.domain.ids import follow_up_id
from fabriqueterm.domain.models import LEARNER_PERSONAL_FIELDS, FollowUp, Learner
from fabriqueterm.domain.validation import DomainValidationError, validate
from fabriqueterm.store import Store, StoreError
from fabriqueterm.store.migrations import SCHEMA_VERSION
from fabriqueterm.store.repositories import NotFound, row_values


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def make_site(store: Store, name: str = "Fabrique de Roubaix") -> Any:
    return store.sites.create({"name": name, "city": "Roubaix", "region": "Hauts-de-France"})


def make_cohort(store: Store, site_id: str, **changes: Any) -> Any:
    data = {
        "site_id": site_id,
        "name": "Promo 2026-A",
        "programme": "Développeur·se web et web mobile",
        "start_date": "2026-01-05",
        "end_date": "2026-07-03",
        "status": "finished",
        **changes,
    }
    return store.cohorts.create(data)


def make_learner(store: Store, cohort_id: str, **changes: Any) -> Any:
    data = {
        "cohort_id": cohort_id,
        "first_name": "Aïcha",
        "last_name": "Benali",
        "email": "aicha.benali@example.org",
        "phone": "06 12 34 56 78",
        "birth_year": 1998,
        "gender": "F",
        "qualification": "4",
        "qpv": True,
        "status": "enrolled",
        **changes,
    }
    return store.learners.create(data)


@pytest.fixture
def learner(store: Store) -> Any:
    site = make_site(store)
    cohort = make_cohort(store, site.id)
    return make_learner(store, cohort.id)


def raw_rows(store: Store, table: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(store.path) as connection:
        return connection.execute(f"SELECT * FROM {table} ORDER BY rowid").fetchall()


def raw_count(store: Store, table: str) -> int:
    with sqlite3.connect(store.path) as connection:
        return connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


# --- the file --------------------------------------------------------------------------------


def test_database_and_wal_files_are_private(store: Store) -> None:
    assert mode_of(store.path) == 0o600
    assert mode_of(store.path.parent) in {0o700, 0o755}  # tmp_path may exist already
    make_site(store)
    wal = store.path.with_name(store.path.name + "-wal")
    assert wal.exists()  # WAL mode: writes go to the -wal file first
    assert mode_of(wal) == 0o600
    shm = store.path.with_name(store.path.name + "-shm")
    if shm.exists():
        assert mode_of(shm) == 0o600


def test_new_folders_are_private(tmp_path: Path, clock: Clock) -> None:
    path = tmp_path / "new" / "nested" / "db.sqlite3"
    with Store.open(path, clock=clock):
        pass
    assert mode_of(path) == 0o600
    assert mode_of(path.parent) == 0o700


def test_every_connection_has_wal_and_foreign_keys(store: Store) -> None:
    connections = [store.engine.connect() for _ in range(3)]  # three distinct pooled connections
    try:
        for connection in connections:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        for connection in connections:
            connection.close()
    with store.read() as session:
        assert session.execute(text("PRAGMA foreign_keys")).scalar() == 1
    with store.write() as session:
        assert session.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_foreign_keys_are_enforced_at_commit(store: Store) -> None:
    with pytest.raises(Exception, match="FOREIGN KEY"), store.write() as session:
        session.execute(
            text(
                "INSERT INTO cohort (id, created_at, updated_at, site_id, name, programme, start_date, end_date,"
                " capacity, funders, status) VALUES ('c', '2026-01-01', '2026-01-01', 'no-such-site', 'P', 'x',"
                " '2026-01-01', '2026-02-01', 0, '', 'planned')"
            )
        )
    assert raw_count(store, "cohort") == 0


def index_columns(store: Store, table: str) -> dict[str, list[str]]:
    with sqlite3.connect(store.path) as connection:
        return {
            name: [info[2] for info in connection.execute(f"PRAGMA index_info('{name}')")]
            for _seq, name, *_rest in connection.execute(f"PRAGMA index_list('{table}')")
        }


def query_plan(store: Store, query: str, *params: Any) -> str:
    with sqlite3.connect(store.path) as connection:
        return " ".join(row[3] for row in connection.execute(f"EXPLAIN QUERY PLAN {query}", params))


def test_indexes_for_the_hot_queries(store: Store) -> None:
    learner_indexes = index_columns(store, "learner").values()
    assert any(columns[0] == "cohort_id" for columns in learner_indexes)
    assert any(columns[:2] == ["last_name", "first_name"] for columns in learner_indexes)
    assert any(columns[0] == "due_date" for columns in index_columns(store, "follow_up").values())

    # read from an index: the indicators' covering one (cohort_id, id, …) serves this one alone
    assert "USING COVERING INDEX" in query_plan(
        store, "SELECT id FROM learner WHERE cohort_id = ?", "c"
    )
    assert "USING INDEX" in query_plan(
        store,
        "SELECT id FROM learner ORDER BY last_name COLLATE NOCASE, first_name COLLATE NOCASE LIMIT 50",
    )
    assert "USING INDEX" in query_plan(
        store,
        "SELECT id FROM follow_up WHERE due_date <= ? AND done_date IS NULL AND deleted_at IS NULL",
        "2026-11-25",
    )


def test_no_engine_folder_or_file_is_created_at_import(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    code = (
        "import importlib, pkgutil\n"
        "import fabriqueterm, fabriqueterm.config, fabriqueterm.i18n, fabriqueterm.cli, fabriqueterm.resources\n"
        "for package in ('fabriqueterm.domain', 'fabriqueterm.store', 'fabriqueterm.sync'):\n"
        "    try:\n"
        "        module = importlib.import_module(package)\n"
        "    except ModuleNotFoundError:\n"
        "        continue\n"
        "    for info in pkgutil.iter_modules(module.__path__):\n"
        "        importlib.import_module(package + '.' + info.name)\n"
        "from fabriqueterm.config import Paths\n"
        "Paths.default()\n"
    )
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("XDG_", "FABRIQUETERM_"))
    }
    environment.update(
        HOME=str(empty), FABRIQUETERM_HOME=str(empty / "home"), PYTHONDONTWRITEBYTECODE="1"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=empty,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert list(empty.iterdir()) == []


# --- opening ---------------------------------------------------------------------------------


def test_open_creates_the_schema_and_a_client_id(store: Store) -> None:
    assert store.schema_version == SCHEMA_VERSION
    client_id = store.client_id
    assert len(client_id) == 36
    store.close()
    with Store.open(store.path) as again:
        assert again.client_id == client_id


@pytest.mark.parametrize(
    "content",
    [b"this is a text file, not a database at all" * 10, b"SQLite format 3\x00" + b"\xff" * 200],
)
def test_open_a_file_that_is_not_a_database_is_a_store_error(
    tmp_path: Path, content: bytes
) -> None:
    path = tmp_path / "notes.sqlite3"
    path.write_bytes(content)
    with pytest.raises(StoreError) as caught:
        Store.open(path)
    assert str(path) in str(caught.value)
    assert "n'est pas une base de données fabriqueterm" in str(caught.value)
    # Moved aside whole (issue 13: a damaged file is never replaced in place), never rewritten.
    [aside] = tmp_path.glob("notes.damaged-*.sqlite3")
    assert aside.read_bytes() == content
    assert str(aside) in str(caught.value)


def test_open_another_applications_database_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite3"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE site (x)")
        connection.execute("INSERT INTO site VALUES (1)")
    with pytest.raises(StoreError):
        Store.open(path)
    with sqlite3.connect(path) as connection:
        assert connection.execute("SELECT x FROM site").fetchall() == [(1,)]


def test_open_a_database_from_a_newer_version_refuses(tmp_path: Path, clock: Clock) -> None:
    path = tmp_path / "db.sqlite3"
    with Store.open(path, clock=clock) as store:
        make_site(store)
    with sqlite3.connect(path) as connection:
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StoreError) as caught:
        Store.open(path, clock=clock)
    message = str(caught.value)
    assert str(path) in message
    assert "version plus récente" in message
    assert f"schéma {SCHEMA_VERSION + 1}" in message
    with sqlite3.connect(path) as connection:  # untouched
        assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1
        assert connection.execute("SELECT count(*) FROM site").fetchone()[0] == 1


# --- one transaction per write, one outbox entry per change -----------------------------------


def test_create_appends_one_outbox_entry(store: Store) -> None:
    site = make_site(store)
    [entry] = store.outbox.entries()
    assert (entry.entity, entry.row_id, entry.op, entry.state) == (
        "site",
        site.id,
        "create",
        "pending",
    )
    assert entry.base_version is None
    assert entry.base_values == {}
    assert entry.fields == {
        "name": "Fabrique de Roubaix",
        "city": "Roubaix",
        "region": "Hauts-de-France",
        "operator": "",
        "address": "",
        "active": True,
    }
    assert store.sites.get(site.id).created_at.date() == date(2026, 11, 25)


def test_update_appends_changed_fields_with_base_version_and_values(
    store: Store, learner: Learner
) -> None:
    with sqlite3.connect(
        store.path
    ) as connection:  # as if the commons had acknowledged it at version 7
        connection.execute("UPDATE learner SET version = 7 WHERE id = ?", (learner.id,))
    before = store.outbox.count()
    updated = store.learners.update(
        learner.id, {"phone": "07 98 76 54 32", "qpv": False, "first_name": "Aïcha"}
    )
    assert (updated.phone, updated.qpv) == ("+33798765432", False)
    assert store.outbox.count() == before + 1
    entry = store.outbox.entries()[-1]
    assert (entry.entity, entry.row_id, entry.op) == ("learner", learner.id, "update")
    assert entry.fields == {"phone": "+33798765432", "qpv": False}
    assert entry.base_values == {"phone": "+33612345678", "qpv": True}
    assert entry.base_version == 7


def test_update_that_changes_nothing_appends_nothing(store: Store, learner: Learner) -> None:
    before = store.outbox.count()
    store.learners.update(learner.id, {"phone": "+33 6 12 34 56 78", "last_name": " Benali "})
    assert store.outbox.count() == before


def test_update_failing_validation_writes_nothing(store: Store, learner: Learner) -> None:
    row_before = raw_rows(store, "learner")
    outbox_before = raw_rows(store, "outbox")
    with pytest.raises(DomainValidationError) as caught:
        store.learners.update(learner.id, {"first_name": "Aya", "email": "pas-un-email"})
    assert [e.field for e in caught.value.errors] == ["email"]
    assert raw_rows(store, "learner") == row_before
    assert raw_rows(store, "outbox") == outbox_before


def test_failure_in_the_middle_of_a_composite_write_leaves_nothing(
    store: Store, learner: Learner, monkeypatch: pytest.MonkeyPatch
) -> None:
    tables = ("learner", "follow_up", "outbox")
    before = {table: raw_rows(store, table) for table in tables}
    real_append = store.outbox.append
    calls = []

    def failing_append(*args: Any, **kwargs: Any) -> None:
        calls.append(kwargs["entity"])
        if (
            len(calls) == 2
        ):  # the learner's update went through; the first generated follow-up fails
            raise RuntimeError("disk full")
        real_append(*args, **kwargs)

    monkeypatch.setattr(store.outbox, "append", failing_append)
    with pytest.raises(RuntimeError, match="disk full"):
        store.learners.update(learner.id, {"status": "graduated"})
    assert calls == ["learner", "follow_up"]
    for table in tables:
        assert raw_rows(store, table) == before[table], table
    assert store.learners.get(learner.id).status == "enrolled"

    monkeypatch.setattr(store.outbox, "append", real_append)
    store.learners.update(learner.id, {"status": "graduated"})
    assert len(store.follow_ups.for_learner(learner.id)) == 3


def test_composite_write_appends_one_entry_per_row(store: Store, learner: Learner) -> None:
    before = store.outbox.count()
    store.learners.update(learner.id, {"status": "graduated"})
    entries = store.outbox.entries()[before:]
    assert [(e.entity, e.op) for e in entries] == [("learner", "update")] + [
        ("follow_up", "create")
    ] * 3
    assert len({e.seq for e in entries}) == 4
    assert [e.seq for e in entries] == sorted(e.seq for e in entries)


# --- tombstones and erasure ------------------------------------------------------------------


def test_delete_writes_a_tombstone_and_an_outbox_delete(store: Store, learner: Learner) -> None:
    with sqlite3.connect(store.path) as connection:
        connection.execute("UPDATE learner SET version = 3 WHERE id = ?", (learner.id,))
    count_before = store.learners.count()
    store.learners.delete(learner.id)
    with sqlite3.connect(store.path) as connection:
        first_name, deleted_at = connection.execute(
            "SELECT first_name, deleted_at FROM learner WHERE id = ?", (learner.id,)
        ).fetchone()
    assert first_name == "Aïcha"  # the row is kept: the deletion must sync
    assert deleted_at is not None
    with pytest.raises(NotFound):
        store.learners.get(learner.id)
    assert store.learners.count() == count_before - 1
    assert learner.id not in [row.id for row in store.learners.in_cohort(learner.cohort_id)]
    assert store.learners.search("Benali") == ([], 0)
    entry = store.outbox.entries()[-1]
    assert (entry.entity, entry.row_id, entry.op, entry.fields, entry.base_version) == (
        "learner",
        learner.id,
        "delete",
        {},
        3,
    )
    with pytest.raises(NotFound):
        store.learners.delete(learner.id)


def test_erase_wipes_personal_fields(store: Store, learner: Learner) -> None:
    store.learners.update(learner.id, {"status": "graduated"})
    follow_up = store.follow_ups.for_learner(learner.id)[0]
    store.follow_ups.update(follow_up.id, {"notes": "Aïcha a trouvé un CDI chez Decathlon"})
    assert store.learners.search("Benali")[1] == 1

    store.learners.erase(learner.id)

    with sqlite3.connect(store.path) as connection:
        connection.row_factory = sqlite3.Row
        row = connection.execute("SELECT * FROM learner WHERE id = ?", (learner.id,)).fetchone()
        notes = [
            r[0]
            for r in connection.execute(
                "SELECT notes FROM follow_up WHERE learner_id = ?", (learner.id,)
            )
        ]
    for field in LEARNER_PERSONAL_FIELDS:
        assert row[field] in ("", None), field
    assert row["deleted_at"] is not None
    assert notes == ["", "", ""]
    assert store.learners.search("Benali") == ([], 0)
    assert store.learners.search("aicha") == ([], 0)
    assert store.learners.search("06 12 34") == ([], 0)
    entry = store.outbox.entries()[-1]
    assert (entry.entity, entry.row_id, entry.op) == ("learner", learner.id, "erase")
    assert set(entry.fields) == set(LEARNER_PERSONAL_FIELDS)
    assert not any(entry.fields.values())
    with sqlite3.connect(
        store.path
    ) as connection:  # nothing personal left anywhere in the file's tables
        dump = "\n".join(connection.iterdump())
    assert "Benali" not in dump.split('INSERT INTO "outbox"')[0]


# --- generated follow-ups --------------------------------------------------------------------


def test_completer_gets_follow_ups_with_deterministic_ids(store: Store, learner: Learner) -> None:
    assert store.follow_ups.for_learner(learner.id) == []
    store.learners.update(learner.id, {"status": "graduated"})
    follow_ups = store.follow_ups.for_learner(learner.id)
    assert [(f.id, f.milestone, f.due_date) for f in follow_ups] == [
        (follow_up_id(learner.id, "end"), "end", date(2026, 7, 3)),
        (follow_up_id(learner.id, "m3"), "m3", date(2026, 10, 3)),
        (follow_up_id(learner.id, "m6"), "m6", date(2027, 1, 3)),
    ]
    assert all(f.site_id == learner.site_id for f in follow_ups)
    # Becoming certified later does not duplicate them.
    store.learners.update(learner.id, {"status": "certified"})
    assert [f.id for f in store.follow_ups.for_learner(learner.id)] == [f.id for f in follow_ups]


def test_follow_up_id_is_a_uuid5_of_learner_and_milestone() -> None:
    import uuid

    first = follow_up_id("0199a8a0-0000-7000-8000-000000000001", "m3")
    assert uuid.UUID(first).version == 5
    assert first == follow_up_id("0199a8a0-0000-7000-8000-000000000001", "m3")
    assert first != follow_up_id("0199a8a0-0000-7000-8000-000000000001", "m6")
    assert first != follow_up_id("0199a8a0-0000-7000-8000-000000000002", "m3")


def test_follow_ups_move_with_the_cohorts_end_date_except_done_ones(
    store: Store, learner: Learner
) -> None:
    store.learners.update(learner.id, {"status": "graduated"})
    end = follow_up_id(learner.id, "end")
    store.follow_ups.update(
        end, {"done_date": "2026-07-06", "channel": "phone", "outcome": "reached"}
    )
    by_hand = store.follow_ups.create(
        {
            "learner_id": learner.id,
            "milestone": "m12",
            "due_date": "2027-07-10",
            "notes": "rappeler en juillet",
        }
    )
    before = store.outbox.count()

    store.cohorts.update(learner.cohort_id, {"end_date": "2026-08-31"})

    due = {f.id: f.due_date for f in store.follow_ups.for_learner(learner.id)}
    assert due == {
        end: date(2026, 7, 3),  # done: it happened when it happened
        follow_up_id(learner.id, "m3"): date(2026, 11, 30),  # 31 Aug + 3 months, clamped
        follow_up_id(learner.id, "m6"): date(2027, 2, 28),
        by_hand.id: date(2027, 7, 10),  # chosen by a person
    }
    entries = store.outbox.entries()[before:]
    assert [(e.entity, e.op) for e in entries] == [("cohort", "update")] + [
        ("follow_up", "update")
    ] * 2
    assert entries[1].fields == {"due_date": "2026-11-30"}
    assert entries[1].base_values == {"due_date": "2026-10-03"}


def test_two_devices_generate_the_same_follow_up_rows(tmp_path: Path, clock: Clock) -> None:
    ids = []
    for device in ("laptop", "phone"):
        with Store.open(tmp_path / f"{device}.sqlite3", clock=clock) as device_store:
            site = device_store.sites.create(
                {"name": "Fabrique de Roubaix", "city": "Roubaix"},
                row_id="0199a8a0-0000-7000-8000-0000000000a1",
            )
            cohort = make_cohort(device_store, site.id)
            learner = device_store.learners.create(
                {
                    "cohort_id": cohort.id,
                    "first_name": "Aïcha",
                    "last_name": "Benali",
                    "gender": "F",
                    "qualification": "4",
                    "status": "graduated",
                },
                row_id="0199a8a0-0000-7000-8000-000000000001",
            )
            ids.append(sorted(f.id for f in device_store.follow_ups.for_learner(learner.id)))
    assert ids[0] == ids[1]
    assert len(ids[0]) == 3


# --- reads -----------------------------------------------------------------------------------


def test_search_finds_names_email_and_phone(store: Store, learner: Learner) -> None:
    make_learner(
        store,
        learner.cohort_id,
        first_name="Lucas",
        last_name="Martin",
        email=None,
        phone="07 81 22 33 44",
    )
    assert [r.last_name for r in store.learners.search("benal")[0]] == ["Benali"]
    assert [r.last_name for r in store.learners.search("aicha.benali@")[0]] == ["Benali"]
    assert [r.last_name for r in store.learners.search("07 81 22")[0]] == ["Martin"]
    assert [r.last_name for r in store.learners.search("Ma")[0]] == ["Martin"]
    make_learner(
        store, learner.cohort_id, first_name="Amadou", last_name="Diallo", email=None, phone=None
    )
    rows, total = store.learners.search("a", limit=1)  # first names Aïcha and Amadou
    assert ([r.last_name for r in rows], total) == (["Benali"], 2)


def test_reads_return_plain_rows_usable_after_the_session(store: Store, learner: Learner) -> None:
    row = store.learners.get(learner.id)
    assert isinstance(row, Learner)
    assert (row.first_name, row.phone, row.qualification) == ("Aïcha", "+33612345678", "4")
    assert json.loads(json.dumps(row.model_dump(mode="json")))["id"] == learner.id
    assert isinstance(store.follow_ups.for_learner(learner.id), list)
    assert FollowUp.__tablename__ == "follow_up"


# --- creating learners in bulk -----------------------------------------------------------------


def _stored(store: Store, table: str, row_id: str) -> dict[str, Any]:
    """A row as SQLite holds it (text of dates and times, 0/1 of booleans)."""
    with sqlite3.connect(store.path) as connection:
        connection.row_factory = sqlite3.Row
        return dict(connection.execute(f"SELECT * FROM {table} WHERE id = ?", (row_id,)).fetchone())


def test_create_many_writes_what_create_writes(store: Store) -> None:
    site = make_site(store)
    cohort = make_cohort(store, site.id)  # ended 3 July 2026
    prescriber = store.partners.create_for_sites(
        {"name": "Mission locale", "kinds": "prescriber"}, [site.id]
    )
    inputs = [
        {
            "cohort_id": cohort.id,
            "first_name": "Ophélie",
            "last_name": "Wrzesniak",
            "email": "O.Wrz@Example.org",
            "phone": "06 98 76 54 32",
            "birth_year": 1999,
            "gender": "F",
            "qualification": "none",
            "qpv": True,
            "refugee": True,
            "prescriber_id": prescriber.id,
            "status": "graduated",
        },
        {
            "cohort_id": cohort.id,
            "first_name": "Noé",
            "last_name": "Kasprzyk",
            "gender": "M",
            "qualification": "3",
            "status": "dropped_out",
            "dropout_date": "12/03/2026",
            "dropout_reason": "Déménagement",
        },
        {
            "cohort_id": cohort.id,
            "first_name": "Zia",
            "last_name": "Ulmo",
            "gender": "X",
            "qualification": "8",
            "job_seeker": True,
            "status": "certified",
        },
    ]
    first_seq = len(store.outbox.entries(limit=-1))
    single = [store.learners.create(data) for data in inputs]
    middle_seq = len(store.outbox.entries(limit=-1))
    validated = [validate("learner", {**data, "site_id": site.id}) for data in inputs]
    bulk = [
        store.learners.get(row_id) for row_id in store.learners.create_many(cohort.id, validated)
    ]

    # The bulk ids stand for the single ones; the generated follow-ups' ids derive from them.
    same = {b.id: s.id for s, b in zip(single, bulk, strict=True)}
    for s, b in zip(single, bulk, strict=True):
        assert (row_values(b), b.created_at, b.updated_at) == (
            row_values(s),
            s.created_at,
            s.updated_at,
        )
        assert {**_stored(store, "learner", b.id), "id": s.id} == _stored(store, "learner", s.id)
        made = [f.milestone for f in store.follow_ups.for_learner(s.id)]
        assert [f.milestone for f in store.follow_ups.for_learner(b.id)] == made
        for milestone in made:
            same[follow_up_id(b.id, milestone)] = follow_up_id(s.id, milestone)
            stored = _stored(store, "follow_up", follow_up_id(b.id, milestone))
            assert {**stored, "id": same[stored["id"]], "learner_id": s.id} == _stored(
                store, "follow_up", follow_up_id(s.id, milestone)
            )
    assert len(same) == 3 + 3 + 3  # two completers, three follow-ups each

    def comparable(entry: Any) -> tuple[Any, ...]:
        fields = {k: same.get(v, v) if k == "learner_id" else v for k, v in entry.fields.items()}
        return (
            entry.entity,
            same.get(entry.row_id, entry.row_id),
            entry.op,
            fields,
            entry.base_version,
            entry.base_values,
            entry.created_at,
            entry.state,
        )

    entries = store.outbox.entries(limit=-1)
    assert [e.entity for e in entries[first_seq:middle_seq]] == [
        "learner",
        *["follow_up"] * 3,
        "learner",
        "learner",
        *["follow_up"] * 3,
    ]
    assert [comparable(e) for e in entries[middle_seq:]] == [
        comparable(e) for e in entries[first_seq:middle_seq]
    ]
    # The search index holds both copies.
    assert store.learners.search("Wrzes")[1] == 2 and store.learners.search("98 76")[1] == 2


def _validated(cohort_id: str, site_id: str, count: int, **changes: Any) -> list[dict[str, Any]]:
    return [
        validate(
            "learner",
            {
                "cohort_id": cohort_id,
                "site_id": site_id,
                "first_name": f"Quillon{i}",
                "last_name": "Brakvard",
                "gender": "F",
                "qualification": "4",
                "status": "graduated",
                **changes,
            },
        )
        for i in range(count)
    ]


def test_create_many_is_all_or_nothing(store: Store) -> None:
    site = make_site(store)
    cohort = make_cohort(store, site.id)
    tables = ("learner", "follow_up", "outbox")
    before = {table: raw_rows(store, table) for table in tables}
    rows = _validated(cohort.id, site.id, 600)
    rows[550]["gender"] = None  # refused by the table (NOT NULL), in the second batch of 500
    with pytest.raises(IntegrityError):
        store.learners.create_many(cohort.id, rows)
    for table in tables:
        assert raw_rows(store, table) == before[table], table
    assert store.learners.search("Brakvard") == ([], 0)

    seen: list[tuple[int, int]] = []
    rows[550]["gender"] = "M"
    created = store.learners.create_many(
        cohort.id, rows, progress=lambda done, total: seen.append((done, total))
    )
    assert seen == [(500, 600), (600, 600)]
    assert [store.learners.get(i).first_name for i in created] == [
        f"Quillon{i}" for i in range(600)
    ]
    assert store.learners.search("Brakvard")[1] == 600
    assert raw_count(store, "follow_up") == 600 * 3
    assert raw_count(store, "outbox") == len(before["outbox"]) + 600 * 4


def test_create_many_checks_what_spans_rows_and_takes_only_validated_values(store: Store) -> None:
    site = make_site(store)
    cohort = make_cohort(store, site.id)
    prescriber = store.partners.create_for_sites(
        {"name": "Mission locale", "kinds": "prescriber"}, [site.id]
    )
    rows = _validated(cohort.id, site.id, 2, prescriber_id=prescriber.id)
    store.partners.delete(prescriber.id)
    learners = raw_count(store, "learner")
    with pytest.raises(DomainValidationError) as caught:
        store.learners.create_many(cohort.id, rows)
    assert [(e.field, e.value, e.code) for e in caught.value.errors] == [
        ("prescriber_id", prescriber.id, "unknown_reference")
    ]
    with pytest.raises(DomainValidationError) as caught:
        store.learners.create_many("no-such-cohort", _validated(cohort.id, site.id, 1))
    assert [e.field for e in caught.value.errors] == ["cohort_id"]
    other = make_cohort(store, site.id, name="Promo 2026-B")
    with pytest.raises(ValueError, match="another cohort|cohort"):
        store.learners.create_many(other.id, _validated(cohort.id, site.id, 1))
    with pytest.raises(ValueError, match="not validated"):
        store.learners.create_many(
            cohort.id, [{"first_name": "Ada", "last_name": "L", "gender": "F"}]
        )
    assert raw_count(store, "learner") == learners
    # Values of the cohort's site are placed in it, whatever site_id they came with.
    [moved] = map(
        store.learners.get,
        store.learners.create_many(
            other.id, _validated(other.id, "0199a8a0-0000-7000-8000-0000000000b2", 1)
        ),
    )
    assert moved.site_id == site.id and moved.cohort_id == other.id


def test_holding_contacts_finds_learners_by_email_or_phone(store: Store, learner: Learner) -> None:
    other = make_learner(
        store,
        learner.cohort_id,
        first_name="Lucas",
        email="lucas@example.org",
        phone="07 81 22 33 44",
    )
    gone = make_learner(
        store, learner.cohort_id, first_name="Gone", email="gone@example.org", phone=None
    )
    store.learners.delete(gone.id)
    found = store.learners.holding_contacts(
        ["AICHA.Benali@example.org", "gone@example.org"], ["+33781223344"]
    )
    assert [r.id for r in found] == [learner.id, other.id]
    assert store.learners.holding_contacts(["nobody@example.org"], ["+33600000000"]) == []
    accented = make_learner(
        store, learner.cohort_id, first_name="Zoé", email="Zoé.MÜLLER@example.org", phone=None
    )
    assert [r.id for r in store.learners.holding_contacts(["zoé.mÜller@EXAMPLE.org"], [])] == [
        accented.id
    ]
    assert store.learners.holding_contacts([], []) == []
