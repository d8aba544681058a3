"""Schema versions: a database made by schema version 1 upgrades with no row lost, and the schema the
migrations build matches the SQLModel tables (models and migrations cannot drift)."""

from __future__ import annotations

import json
import sqlite3
import stat
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Table

from fabriqueterm.domain.dates import Clock
from fabriqueterm.domain.ids import follow_up_id, migrated_attempt_id
from fabriqueterm.domain.models import ENTITIES
from fabriqueterm.domain.validation import validate
from fabriqueterm.store import Store
from fabriqueterm.store.migrations import MIGRATIONS, SCHEMA_VERSION

TS = "2026-03-02 09:15:00.000000"  # how SQLAlchemy stores a DateTime in SQLite
SITE_ID = "0199a8a0-0000-7000-8000-00000000a001"
PARTNER_ID = "0199a8a0-0000-7000-8000-00000000b001"
COHORT_ID = "0199a8a0-0000-7000-8000-00000000c001"
LEARNER_IDS = ("0199a8a0-0000-7000-8000-00000000d001", "0199a8a0-0000-7000-8000-00000000d002")
PLACEMENT_ID = "0199a8a0-0000-7000-8000-00000000e001"
CLIENT_ID = "0199a8a0-0000-7000-8000-00000000f001"

#: Rows of every table, as an older app would have written them at schema version 1.
V1_ROWS: dict[str, list[tuple[object, ...]]] = {
    "site": [
        (
            SITE_ID,
            TS,
            TS,
            4,
            None,
            "Fabrique de Roubaix",
            "Roubaix",
            "Hauts-de-France",
            "Simplon",
            "",
            1,
        )
    ],
    "partner": [
        (
            PARTNER_ID,
            TS,
            TS,
            None,
            None,
            "France Travail Roubaix",
            "prescriber",
            "Mme Lefèvre",
            "contact@example.org",
            "+33320000000",
            "Roubaix",
            "",
        )
    ],
    "partner_site": [
        ("0199a8a0-0000-7000-8000-00000000b101", TS, TS, None, None, PARTNER_ID, SITE_ID)
    ],
    "cohort": [
        (
            COHORT_ID,
            TS,
            TS,
            5,
            None,
            SITE_ID,
            "Promo 2026-A",
            "Développeur·se web et web mobile",
            "2026-01-05",
            "2026-07-03",
            16,
            "Région; France Travail",
            "finished",
        )
    ],
    "learner": [
        (
            LEARNER_IDS[0],
            TS,
            TS,
            None,
            None,
            SITE_ID,
            COHORT_ID,
            "Aïcha",
            "Benali",
            "aicha.benali@example.org",
            "+33612345678",
            1998,
            "F",
            1,
            "4",
            1,
            0,
            PARTNER_ID,
            "graduated",
            None,
            "",
        ),
        (
            LEARNER_IDS[1],
            TS,
            TS,
            None,
            TS,
            SITE_ID,
            COHORT_ID,
            "Lucas",
            "Martin",
            None,
            None,
            None,
            "M",
            0,
            "none",
            1,
            0,
            None,
            "dropped_out",
            "2026-02-10",
            "déménagement",
        ),
    ],
    "follow_up": [
        (
            follow_up_id(LEARNER_IDS[0], "end"),
            TS,
            TS,
            None,
            None,
            SITE_ID,
            LEARNER_IDS[0],
            "end",
            "2026-07-03",
            "2026-07-06",
            "phone",
            "reached",
            "CDI signé",
        ),
        (
            follow_up_id(LEARNER_IDS[0], "m3"),
            TS,
            TS,
            None,
            None,
            SITE_ID,
            LEARNER_IDS[0],
            "m3",
            "2026-10-03",
            None,
            None,
            None,
            "",
        ),
    ],
    "placement": [
        (
            PLACEMENT_ID,
            TS,
            TS,
            None,
            None,
            SITE_ID,
            LEARNER_IDS[0],
            "cdi",
            None,
            "Développeuse web",
            "2026-07-15",
            follow_up_id(LEARNER_IDS[0], "end"),
            "",
        )
    ],
    "outbox": [
        (
            1,
            "learner",
            LEARNER_IDS[0],
            "update",
            '{"status": "graduated"}',
            None,
            '{"status": "enrolled"}',
            TS,
            "pending",
            None,
        ),
        (
            2,
            "placement",
            PLACEMENT_ID,
            "create",
            '{"kind": "cdi"}',
            None,
            "{}",
            TS,
            "rejected",
            "kind: bad",
        ),
    ],
    "meta": [("client_id", CLIENT_ID), ("cursor:" + SITE_ID, "42")],
}


def build_v1_database(path: Path) -> None:
    connection = sqlite3.connect(path)
    try:
        for statement in MIGRATIONS[0]:
            connection.execute(statement)
        for table, rows in V1_ROWS.items():
            marks = ", ".join("?" * len(rows[0]))
            connection.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)
        connection.execute("PRAGMA user_version = 1")
        connection.commit()
    finally:
        connection.close()


def table_rows(path: Path, table: str) -> list[tuple[object, ...]]:
    connection = sqlite3.connect(path)
    try:
        return connection.execute(f"SELECT * FROM {table} ORDER BY rowid").fetchall()
    finally:
        connection.close()


@pytest.mark.skipif(SCHEMA_VERSION < 2, reason="only one schema version so far")
def test_database_from_schema_v1_upgrades_with_no_row_lost(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    build_v1_database(path)
    path.chmod(0o600)
    before = {table: table_rows(path, table) for table in V1_ROWS}
    assert before == V1_ROWS

    with Store.open(path, clock=Clock(date(2026, 11, 25))) as store:
        assert store.schema_version == SCHEMA_VERSION
        # Every row of every table is still there, unchanged; schema 7 adds to the outbox the
        # attempt the call logged at v1 became (below).
        for table, rows in V1_ROWS.items():
            after = table_rows(path, table)
            assert [row[: len(rows[0])] for row in after][: len(rows)] == rows, table
        assert [(e.entity, e.op) for e in store.outbox.entries()][-1:] == [
            ("follow_up_attempt", "create")
        ]
        # The repositories read the old rows.
        assert store.client_id == CLIENT_ID
        assert store.learners.get(LEARNER_IDS[0]).phone == "+33612345678"
        assert store.cohorts.get(COHORT_ID).end_date == date(2026, 7, 3)
        assert [p.id for p in store.placements.for_learner(LEARNER_IDS[0])] == [PLACEMENT_ID]
        assert [p.name for p in store.partners.for_site(SITE_ID)] == ["France Travail Roubaix"]
        assert store.outbox.count("pending") == 2 and store.outbox.count("rejected") == 1
        # The search index (added after v1) covers the learners inserted at v1.
        rows, total = store.learners.search("benal")
        assert ([r.id for r in rows], total) == ([LEARNER_IDS[0]], 1)
        assert store.learners.search("aicha.benali")[1] == 1
        assert store.learners.search("Martin") == ([], 0)  # tombstoned at v1: still hidden
        # And the upgraded database takes new writes.
        store.learners.update(LEARNER_IDS[0], {"status": "certified"})

    connection = sqlite3.connect(path)
    try:
        assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        connection.close()

    backup = path.with_name(f"{path.name}.before-v{SCHEMA_VERSION}")
    assert backup.exists()
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    connection = sqlite3.connect(backup)
    try:
        assert connection.execute("PRAGMA user_version").fetchone()[0] == 1
    finally:
        connection.close()
    for table, rows in V1_ROWS.items():
        assert table_rows(backup, table) == rows, table


#: Learners added to the rows of version 1 in a database at version 5, before the search index
#: of version 6: found as they are typed once upgraded.
V5_LEARNERS = [
    (
        "0199a8a0-0000-7000-8000-00000000d005",
        "Ahmed",
        "Saïdi",
        None,
        "+33651316127",
        None,
    ),
    (
        "0199a8a0-0000-7000-8000-00000000d006",
        "Zoé",
        "Martin",
        "zoe.martin@example.org",
        "+33612345679",
        None,
    ),
    (
        "0199a8a0-0000-7000-8000-00000000d007",
        "Zoé",
        "Marchand",
        None,
        "+33612000000",
        TS,  # deleted
    ),
]


def build_v5_database(path: Path) -> None:
    """The rows of version 1 and :data:`V5_LEARNERS` in a database at version 5."""
    connection = sqlite3.connect(path)
    try:
        for migration in MIGRATIONS[:5]:
            for statement in migration:
                connection.execute(statement)
        for table, rows in V1_ROWS.items():
            marks = ", ".join("?" * len(rows[0]))
            connection.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)
        learner = V1_ROWS["learner"][0]
        for row_id, first, last, email, phone, deleted_at in V5_LEARNERS:
            values = (row_id, TS, TS, None, deleted_at, *learner[5:7], first, last, email, phone)
            marks = ", ".join("?" * len(learner))
            connection.execute(
                f"INSERT INTO learner VALUES ({marks})", values + tuple(learner[len(values) :])
            )
        connection.execute("PRAGMA user_version = 5")
        connection.commit()
    finally:
        connection.close()


@pytest.mark.skipif(SCHEMA_VERSION < 6, reason="no search-as-typed index yet")
def test_database_from_schema_v5_finds_people_as_typed_once_upgraded(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    build_v5_database(path)
    path.chmod(0o600)
    before = table_rows(path, "learner")

    with Store.open(path, clock=Clock(date(2026, 12, 7))) as store:
        assert store.schema_version == SCHEMA_VERSION
        assert table_rows(path, "learner") == before  # no row lost or changed

        def found(needle: str) -> list[str]:
            rows, total = store.learners.search(needle)
            assert total == len(rows)
            return [row.id for row in rows]

        ahmed, zoe, gone = (row[0] for row in V5_LEARNERS)
        assert found("Ahmed Saïdi") == found("saidi ahmed") == [ahmed]
        assert found("Zoé Martin") == found("martin zoe") == found("zoe mar") == [zoe]
        assert found("zoe") == [zoe]  # Zoé Marchand is deleted: not found
        assert found("0612") == [LEARNER_IDS[0], zoe]  # not Ahmed's 06 51 31 61 27
        assert found("+33 6 51") == [ahmed]
        assert found("aicha benali") == [LEARNER_IDS[0]]
        assert found("Martin") == [zoe]  # Lucas Martin was deleted at v1
        # The index follows new writes, and the deleted learner stays out of it.
        store.learners.update(zoe, {"last_name": "Lefèvre", "email": None})
        assert found("lefevre zoe") == [zoe] and found("zoe martin") == []
        assert gone not in found("marchand")

    connection = sqlite3.connect(path)
    try:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        connection.execute(
            "INSERT INTO learner_search (learner_search, rank) VALUES ('integrity-check', 1)"
        )
    finally:
        connection.close()
    backup = path.with_name(f"{path.name}.before-v{SCHEMA_VERSION}")
    connection = sqlite3.connect(backup)
    try:
        assert connection.execute("PRAGMA user_version").fetchone()[0] == 5
    finally:
        connection.close()


def build_v6_database(path: Path, follow_ups: list[tuple[object, ...]]) -> None:
    """The database of :func:`build_v5_database` at version 6, with ``follow_ups`` added."""
    build_v5_database(path)
    connection = sqlite3.connect(path)
    try:
        for statement in MIGRATIONS[5]:
            connection.execute(statement)
        marks = ", ".join("?" * len(follow_ups[0]))
        connection.executemany(f"INSERT INTO follow_up VALUES ({marks})", follow_ups)
        connection.execute("PRAGMA user_version = 6")
        connection.commit()
    finally:
        connection.close()


NO_ANSWER_ID = "0199a8a0-0000-7000-8000-0000000f0a01"
WRONG_NUMBER_ID = "0199a8a0-0000-7000-8000-0000000f0a02"
DECLINED_ID = "0199a8a0-0000-7000-8000-0000000f0a03"


@pytest.mark.skipif(SCHEMA_VERSION < 7, reason="no call attempts yet")
def test_calls_logged_before_attempts_become_attempts_and_unanswered_ones_reopen(
    tmp_path: Path,
) -> None:
    """Schema 7 (issue 12, finding 1): each call logged on a follow-up becomes its first attempt,
    with an id every device computes alike; a follow-up an unanswered call had closed opens again
    and is back in the work list; the commons learns both through the outbox; nothing is lost."""
    path = tmp_path / "db.sqlite3"
    learner = V5_LEARNERS[1][0]  # Zoé Martin, alive (LEARNER_IDS[1] was deleted at v1)

    def follow_up(row_id, version, milestone, due, done, channel, outcome, notes):  # type: ignore[no-untyped-def]
        return (row_id, TS, TS, version, None, SITE_ID, learner, milestone, due, done, channel,
                outcome, notes)  # fmt: skip

    build_v6_database(
        path,
        [
            follow_up(
                NO_ANSWER_ID,
                7,
                "m6",
                "2026-10-01",
                "2026-11-20",
                "phone",
                "no_answer",
                "Messagerie pleine",
            ),  # fmt: skip
            follow_up(
                WRONG_NUMBER_ID, None, "m12", "2026-11-02", "2026-11-21", "sms", "wrong_number", ""
            ),  # fmt: skip
            follow_up(
                DECLINED_ID,
                3,
                "end",
                "2026-07-03",
                "2026-07-08",
                "phone",
                "declined",
                "Ne souhaite pas",
            ),  # fmt: skip
        ],
    )
    connection = sqlite3.connect(path)
    try:  # the hand-made follow-up not yet sent: its create still waits in the outbox
        connection.execute(
            "INSERT INTO outbox (entity, row_id, op, fields, base_version, base_values, created_at,"
            " state) VALUES ('follow_up', ?, 'create', ?, NULL, '{}', ?, 'pending')",
            (
                WRONG_NUMBER_ID,
                json.dumps(
                    {
                        "channel": "sms",
                        "done_date": "2026-11-21",
                        "due_date": "2026-11-02",
                        "learner_id": learner,
                        "milestone": "m12",
                        "notes": "",
                        "outcome": "wrong_number",
                        "site_id": SITE_ID,
                    }
                ),
                TS,
            ),
        )
        connection.commit()
    finally:
        connection.close()
    path.chmod(0o600)
    reached_id = follow_up_id(LEARNER_IDS[0], "end")

    with Store.open(path, clock=Clock(date(2026, 11, 25))) as store:
        assert store.schema_version == SCHEMA_VERSION
        attempts = {
            f: store.follow_ups.attempts.for_follow_up(f)
            for f in (reached_id, NO_ANSWER_ID, WRONG_NUMBER_ID, DECLINED_ID)
        }
        summary = {
            f: [(a.id, a.attempted_on, a.channel, a.outcome, a.situation, a.notes) for a in found]
            for f, found in attempts.items()
        }
        assert summary == {
            reached_id: [
                (
                    migrated_attempt_id(reached_id),
                    date(2026, 7, 6),
                    "phone",
                    "reached",
                    "placements",
                    "CDI signé",
                )  # fmt: skip
            ],
            NO_ANSWER_ID: [
                (
                    migrated_attempt_id(NO_ANSWER_ID),
                    date(2026, 11, 20),
                    "phone",
                    "no_answer",
                    "",
                    "Messagerie pleine",
                )  # fmt: skip
            ],
            WRONG_NUMBER_ID: [
                (
                    migrated_attempt_id(WRONG_NUMBER_ID),
                    date(2026, 11, 21),
                    "sms",
                    "wrong_number",
                    "",
                    "",
                )  # fmt: skip
            ],
            DECLINED_ID: [
                (
                    migrated_attempt_id(DECLINED_ID),
                    date(2026, 7, 8),
                    "phone",
                    "declined",
                    "",
                    "Ne souhaite pas",
                )  # fmt: skip
            ],
        }
        # Reached and declined stay closed; the unanswered ones open again, notes kept.
        closing = {
            f: (row.done_date, row.outcome, row.notes)
            for f in attempts
            for row in [store.follow_ups.get(f)]
        }
        assert closing == {
            reached_id: (date(2026, 7, 6), "reached", "CDI signé"),
            NO_ANSWER_ID: (None, None, "Messagerie pleine"),
            WRONG_NUMBER_ID: (None, None, ""),
            DECLINED_ID: (date(2026, 7, 8), "declined", "Ne souhaite pas"),
        }
        queue = [line.follow_up.id for line in store.follow_ups.due(date(2026, 11, 25))]
        assert NO_ANSWER_ID in queue and WRONG_NUMBER_ID in queue
        assert reached_id not in queue and DECLINED_ID not in queue
        # The outbox tells the commons: each attempt created, the synced follow-up reopened from
        # the version it had, the unsent one created open.
        entries = store.outbox.entries(state=None, limit=-1)
        created = {e.row_id for e in entries if e.entity == "follow_up_attempt"}
        assert created == {migrated_attempt_id(f) for f in attempts}
        reopened = [e for e in entries if e.entity == "follow_up" and e.op == "update"]
        assert [(e.row_id, e.fields, e.base_version, e.base_values) for e in reopened] == [
            (
                NO_ANSWER_ID,
                {"channel": None, "done_date": None, "outcome": None},
                7,
                {"channel": "phone", "done_date": "2026-11-20", "outcome": "no_answer"},
            )
        ]
        [create] = [e for e in entries if e.row_id == WRONG_NUMBER_ID]
        assert (create.fields["outcome"], create.fields["done_date"]) == (None, None)
        assert create.fields["notes"] == "" and create.fields["due_date"] == "2026-11-02"
        # Every pending attempt passes the rules the commons checks.
        for entry in entries:
            if entry.entity == "follow_up_attempt":
                validate("follow_up_attempt", entry.fields)
    backup = path.with_name(f"{path.name}.before-v{SCHEMA_VERSION}")
    connection = sqlite3.connect(backup)
    try:
        assert connection.execute("PRAGMA user_version").fetchone()[0] == 6
        assert connection.execute("SELECT count(*) FROM follow_up").fetchone()[0] == 5
    finally:
        connection.close()


def test_opening_an_up_to_date_database_makes_no_backup(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    for _ in range(2):
        with Store.open(path) as store:
            assert store.schema_version == SCHEMA_VERSION
    assert sorted(p.name for p in tmp_path.iterdir() if ".before-v" in p.name) == []


def test_migrations_are_a_list_keyed_by_version() -> None:
    assert len(MIGRATIONS) == SCHEMA_VERSION
    assert all(
        isinstance(statement, str) or callable(statement)
        for migration in MIGRATIONS
        for statement in migration
    )


# --- models and migrations cannot drift -------------------------------------------------------


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> sqlite3.Connection:
    path = tmp_path_factory.mktemp("schema") / "db.sqlite3"
    Store.open(path).close()
    connection = sqlite3.connect(path)
    yield connection
    connection.close()


@pytest.mark.parametrize("entity", sorted(ENTITIES))
def test_migrated_schema_matches_the_sqlmodel_table(
    migrated: sqlite3.Connection, entity: str
) -> None:
    table: Table = ENTITIES[entity].__table__  # type: ignore[attr-defined]
    info = migrated.execute(f"PRAGMA table_info('{table.name}')").fetchall()
    assert info, f"table {table.name} missing from the migrated schema"
    # (name, NOT NULL, primary key) of each column, in any order.
    in_database = {(row[1], bool(row[3]), bool(row[5])) for row in info}
    in_model = {(column.name, not column.nullable, column.primary_key) for column in table.columns}
    assert in_database == in_model

    foreign_keys_in_database = {
        (row[3], row[2], row[4])
        for row in migrated.execute(f"PRAGMA foreign_key_list('{table.name}')")
    }
    foreign_keys_in_model = {
        (fk.parent.name, fk.column.table.name, fk.column.name) for fk in table.foreign_keys
    }
    assert foreign_keys_in_database == foreign_keys_in_model


def test_every_synced_table_has_the_sync_columns(migrated: sqlite3.Connection) -> None:
    for model in ENTITIES.values():
        columns = {
            row[1]: row for row in migrated.execute(f"PRAGMA table_info('{model.__tablename__}')")
        }
        assert {"id", "created_at", "updated_at", "version", "deleted_at"} <= set(columns)
        assert columns["id"][5] == 1  # primary key
        assert columns["version"][3] == 0 and columns["deleted_at"][3] == 0  # nullable


def test_no_unexpected_table(migrated: sqlite3.Connection) -> None:
    tables = {
        name
        for (name,) in migrated.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        if not name.startswith(("sqlite_", "learner_search"))
    }
    local_only = {"outbox", "meta", "history", "held_after_restore"}
    assert tables == {model.__tablename__ for model in ENTITIES.values()} | local_only
