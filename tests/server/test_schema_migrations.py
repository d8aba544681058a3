"""The commons' schema migrations (server/migrations/), on SQLite and on PostgreSQL:

- a commons made before migrations, with rows in every table, is recognised as revision 0001,
  stamped and brought to head with nothing lost, and the server then works on it;
- revision 0001 is exactly the schema 0.1's ``create_schema`` made (a frozen recording of it);
- head matches the models: when this fails, write a revision (docs/releasing.md);
- ``fabriqueterm server migrate`` and ``--check``; the server and the admin commands refuse a
  database that needs migrating, naming the command.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest
from commons_helpers import Device, make_pg_schema
from legacy_commons import (
    COHORT,
    LEGACY_SERVER_ID,
    LEGACY_TOKEN,
    SITE,
    make_legacy_commons,
    snapshot,
)
from sqlalchemy import Engine, inspect, text

from fabriqueterm.cli import main
from fabriqueterm.server import migrations
from fabriqueterm.server.app import create_app
from fabriqueterm.server.db import make_engine, target_metadata
from fabriqueterm.server.migrations import (
    BASELINE,
    MIGRATE_COMMAND,
    SchemaNotCurrent,
    SchemaState,
    head_revision,
    schema_status,
    upgrade,
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


pytestmark = pytest.mark.usefixtures("english")  # tests/server/conftest.py


def _server(database_url: str, command: str, *argv: str) -> list[str]:
    return ["server", command, *argv, "--database-url", database_url]


# --- a commons made before migrations ----------------------------------------------------------


def test_a_commons_made_before_migrations_is_stamped_and_upgraded_with_nothing_lost(
    engine: Engine, database_url: str
) -> None:
    make_legacy_commons(engine)
    before = snapshot(engine)
    assert {name for name, rows in before.items() if not rows} == set()  # rows in every table
    status = schema_status(engine)
    assert status.state is SchemaState.BEFORE_MIGRATIONS and status.current == BASELINE

    done = upgrade(engine)

    assert (done.before, done.after, done.stamped) == (BASELINE, head_revision(), True)
    assert schema_status(engine).state is SchemaState.CURRENT
    after = snapshot(engine)
    for table, rows in before.items():
        kept = [{column: row[column] for column in rows[0]} for row in after[table]]
        assert kept == rows, f"{table} changed during the upgrade"
    # The server serves it: the old token, the old site, the old rows, and new writes.
    app = create_app(database_url, migrate=False)
    try:
        with TestClient(app) as client:
            device = Device(client, LEGACY_TOKEN)
            me = client.get("/v1/me", headers=device.headers).json()
            assert me["server_id"] == LEGACY_SERVER_ID
            assert [site["id"] for site in me["sites"]] == [SITE]
            learner = device.create_learner(SITE, COHORT, email=None)
            state, _cursors = device.pull_all()
            assert ("learner", learner) in state and ("cohort", COHORT) in state
    finally:
        app.state.engine.dispose()


def test_revision_0003_keys_clients_by_coordinator_and_keeps_who_wrote_each_change(
    engine: Engine, database_url: str
) -> None:
    """Issue #13: srv_client is keyed by (coordinator, client_id); the change log's existing
    entries get the coordinator of their client; the legacy client goes on with its numbers."""
    from legacy_commons import CLIENT, COORDINATOR

    make_legacy_commons(engine)
    upgrade(engine)
    with engine.connect() as connection:
        assert connection.execute(
            text("SELECT coordinator_id FROM srv_change WHERE client_id = :c"), {"c": CLIENT}
        ).scalars().all() == [COORDINATOR]
        assert connection.execute(
            text("SELECT coordinator_id, last_seq FROM srv_client WHERE client_id = :c"),
            {"c": CLIENT},
        ).all() == [(COORDINATOR, 8)]
    key = inspect(engine).get_pk_constraint("srv_client")["constrained_columns"]
    assert sorted(key) == ["client_id", "coordinator_id"]
    app = create_app(database_url, migrate=False)
    try:
        with TestClient(app) as client:
            device = Device(client, LEGACY_TOKEN, client_id=CLIENT)
            response = device.push_raw([{**device.mutation("cohort", COHORT, "delete"), "seq": 9}])
            assert response.status_code == 200, response.text
            assert response.json()["last_applied_seq"] == 9
            assert response.json()["results"][0]["status"] == "applied"
    finally:
        app.state.engine.dispose()


def test_revision_0001_is_the_schema_made_before_migrations(
    database_url: str, tmp_path: Path
) -> None:
    """Built by the revision and built by 0.1's create_schema: the same tables, columns, types,
    keys, deferred foreign keys and indexes."""
    from alembic import command

    if database_url.startswith("postgresql"):
        legacy_schema = make_pg_schema()
        legacy_url = legacy_schema.url
    else:
        legacy_schema, legacy_url = None, f"sqlite:///{tmp_path / 'legacy.sqlite3'}"
    legacy, fresh = make_engine(legacy_url), make_engine(database_url)
    try:
        make_legacy_commons(legacy, rows=False)
        with fresh.begin() as connection:
            command.upgrade(migrations.alembic_config(connection), BASELINE)
        assert _describe(fresh) == _describe(legacy)
        for engine in (legacy, fresh):
            with engine.connect() as connection:
                assert connection.execute(text("SELECT id, value FROM srv_counter")).all() != []
                assert connection.execute(
                    text("SELECT value FROM srv_meta WHERE key = 'server_id'")
                ).scalar_one()
    finally:
        legacy.dispose()
        fresh.dispose()
        if legacy_schema is not None:
            legacy_schema.drop()


def _describe(engine: Engine) -> dict[str, Any]:
    """A database's schema as plain data (names, types as SQL, nullability, keys, indexes)."""
    with engine.connect() as connection:
        inspector = inspect(connection)
        described: dict[str, Any] = {}
        for table in sorted(inspector.get_table_names()):
            if table == "alembic_version":
                continue
            described[table] = {
                "columns": [
                    (c["name"], str(c["type"].compile(dialect=engine.dialect)), c["nullable"])
                    for c in inspector.get_columns(table)
                ],
                "primary_key": inspector.get_pk_constraint(table)["constrained_columns"],
                "foreign_keys": sorted(
                    (
                        tuple(fk["constrained_columns"]),
                        fk["referred_table"],
                        tuple(fk["referred_columns"]),
                        tuple(sorted((fk.get("options") or {}).items())),
                    )
                    for fk in inspector.get_foreign_keys(table)
                ),
                "indexes": sorted(
                    (i["name"], tuple(i["column_names"]), bool(i["unique"]))
                    for i in inspector.get_indexes(table)
                ),
                "unique": sorted(
                    tuple(u["column_names"]) for u in inspector.get_unique_constraints(table)
                ),
            }
        return described


# --- head and the models ---------------------------------------------------------------------


def test_an_empty_database_is_created_at_head_and_matches_the_models(engine: Engine) -> None:
    """The drift check: if this fails, the models (domain/models.py) or the server's tables
    (server/db.py) changed without a revision. Write one (docs/releasing.md):
    ``python -m fabriqueterm.server.migrations revision "what changed"``."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    assert schema_status(engine).state is SchemaState.EMPTY
    done = upgrade(engine)
    assert (done.before, done.after, done.stamped) == (None, head_revision(), False)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, target_metadata())
        assert connection.execute(text("SELECT value FROM srv_counter WHERE id = 1")).scalar() == 0
        assert connection.execute(
            text("SELECT value FROM srv_meta WHERE key = 'server_id'")
        ).scalar_one()
    assert differences == [], (
        "The models and the migrations differ: write a revision "
        '(python -m fabriqueterm.server.migrations revision "what changed"; docs/releasing.md).'
    )


def test_migrating_twice_changes_nothing(engine: Engine) -> None:
    upgrade(engine)
    before = snapshot(engine)
    again = upgrade(engine)
    assert again.before == again.after == head_revision()
    assert "already up to date" in again.message()
    assert snapshot(engine) == before


def test_a_database_from_a_newer_version_or_not_a_commons_is_refused(engine: Engine) -> None:
    upgrade(engine)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(SchemaNotCurrent, match="upgrade fabriqueterm"):
        upgrade(engine)
    assert schema_status(engine).state is SchemaState.NEWER
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE alembic_version"))
        connection.execute(text("DROP TABLE srv_meta"))
    status = schema_status(engine)
    assert status.state is SchemaState.FOREIGN and "not a commons" in status.message()
    with pytest.raises(SchemaNotCurrent):
        upgrade(engine)


# --- the commands --------------------------------------------------------------------------------


def test_migrate_check_exits_non_zero_while_behind_and_migrate_says_from_which_to_which(
    database_url: str, engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    head = head_revision()
    assert main(_server(database_url, "migrate", "--check")) == 1
    out, err = capsys.readouterr()
    assert "no tables yet" in err and MIGRATE_COMMAND in err

    make_legacy_commons(engine)
    assert main(_server(database_url, "migrate", "--check")) == 1
    out, err = capsys.readouterr()
    assert f"revision {BASELINE}" in err and MIGRATE_COMMAND in err

    assert main(_server(database_url, "migrate")) == 0
    out, err = capsys.readouterr()
    assert f"revision {BASELINE}" in out and f"revision {head}" in out

    assert main(_server(database_url, "migrate", "--check")) == 0
    out, err = capsys.readouterr()
    assert "up to date" in out and err == ""


def test_migrate_creates_an_empty_database(
    database_url: str, engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(_server(database_url, "migrate")) == 0
    assert f"created at revision {head_revision()}" in capsys.readouterr().out
    assert schema_status(engine).state is SchemaState.CURRENT


def test_migrate_refuses_a_database_it_cannot_migrate(
    database_url: str, engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    upgrade(engine)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    assert main(_server(database_url, "migrate")) == 2
    assert "upgrade fabriqueterm" in capsys.readouterr().err
    assert main(_server(database_url, "migrate", "--check")) == 2
    assert "upgrade fabriqueterm" in capsys.readouterr().err


def test_the_server_refuses_to_start_on_a_database_that_needs_migrating(
    database_url: str, engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    for prepare in (lambda: None, lambda: make_legacy_commons(engine)):
        prepare()
        # `server run` says why and which command, before starting uvicorn.
        assert main(_server(database_url, "run", "--port", "1")) == 2
        err = capsys.readouterr().err
        assert MIGRATE_COMMAND in err
        # The app factory (what each uvicorn worker calls) refuses too.
        with pytest.raises(SchemaNotCurrent, match=MIGRATE_COMMAND):
            create_app(database_url, migrate=False)
        # So do the admin commands.
        assert main(_server(database_url, "admin", "list")) == 2
        assert MIGRATE_COMMAND in capsys.readouterr().err
    assert schema_status(engine).state is SchemaState.BEFORE_MIGRATIONS  # nothing was changed
    upgrade(engine)
    app = create_app(database_url, migrate=False)
    app.state.engine.dispose()
    assert main(_server(database_url, "admin", "list")) == 0


def test_a_served_commons_refuses_to_start_until_migrated(tmp_path: Path) -> None:
    """Through a real ``fabriqueterm server run`` subprocess: its log names the command."""
    from fabriqueterm.server.process import CommonsStartError, start_commons

    url = f"sqlite:///{tmp_path / 'commons.sqlite3'}"
    log = tmp_path / "server.log"
    with pytest.raises(CommonsStartError):
        start_commons(url, home=tmp_path, log_file=log, migrate=False, timeout=30)
    assert MIGRATE_COMMAND in log.read_text()
    with start_commons(url, home=tmp_path, log_file=log) as server:  # migrates first
        import httpx

        assert httpx.get(server.url + "/v1/health", timeout=5).status_code == 200


def test_an_upgrade_is_one_transaction(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A revision that fails half-way leaves the database as it was: no column, still at 0001."""
    import shutil

    scripts = tmp_path / "migrations"
    shutil.copytree(migrations.SCRIPT_LOCATION, scripts)
    (scripts / "versions" / "9001_fails.py").write_text(
        "import sqlalchemy as sa\nfrom alembic import op\n"
        f"revision = '9001'\ndown_revision = {head_revision()!r}\n"
        "branch_labels = None\ndepends_on = None\n"
        "def upgrade():\n"
        "    op.add_column('site', sa.Column('half_way', sa.String(10), nullable=True))\n"
        "    op.execute('INSERT INTO srv_counter (id, value) VALUES (1, 0)')\n"  # duplicate key
        "def downgrade():\n    pass\n"
    )
    head = upgrade(engine).after
    before = snapshot(engine)
    monkeypatch.setattr(migrations, "SCRIPT_LOCATION", scripts)
    assert schema_status(engine).state is SchemaState.BEHIND
    with pytest.raises(Exception, match="(?i)unique|duplicate"):
        upgrade(engine)
    status = schema_status(engine)
    assert status.state is SchemaState.BEHIND and status.current == head
    columns = {c["name"] for c in inspect(engine).get_columns("site")}
    assert "half_way" not in columns
    assert snapshot(engine) == before


def test_the_next_revision_is_written_from_the_models(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """What the next engineer runs after changing a synced model: the revision it writes has the
    next number and plain types, and a database migrated with it matches the changed models."""
    import shutil

    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import Column, MetaData

    from fabriqueterm.domain.models import UTCDateTime
    from fabriqueterm.server import db
    from fabriqueterm.server.migrations.__main__ import main as migrations_main

    scripts = tmp_path / "migrations"
    shutil.copytree(migrations.SCRIPT_LOCATION, scripts)
    monkeypatch.setattr(migrations, "SCRIPT_LOCATION", scripts)
    models = db.target_metadata

    def changed() -> MetaData:
        metadata = models()
        metadata.tables["conflict"].append_column(Column("seen_at", UTCDateTime(), nullable=True))
        return metadata

    monkeypatch.setattr(db, "target_metadata", changed)
    head = head_revision()
    assert migrations_main(["revision", "conflicts seen"]) == 0
    expected = f"{int(head) + 1:04d}"
    written = scripts / "versions" / f"{expected}_conflicts_seen.py"
    source = written.read_text()
    assert "sa.Column('seen_at', sa.DateTime(timezone=True), nullable=True)" in source
    assert "UTCDateTime" not in source and "fabriqueterm" not in source.split('"""')[-1]
    assert head_revision() == expected

    engine = make_engine(f"sqlite:///{tmp_path / 'commons.sqlite3'}")
    try:
        assert upgrade(engine).after == expected
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, changed()) == []
    finally:
        engine.dispose()


def test_the_wheel_carries_the_migrations() -> None:
    """An installed commons finds its env.py, template and every revision (no alembic.ini)."""
    from hatchling.builders.wheel import WheelBuilder

    root = Path(__file__).resolve().parents[2]
    shipped = {f.distribution_path for f in WheelBuilder(str(root)).recurse_included_files()}
    revisions = {
        f"fabriqueterm/server/migrations/versions/{p.name}"
        for p in (migrations.SCRIPT_LOCATION / "versions").glob("*.py")
    }
    assert revisions and revisions <= shipped
    assert {
        "fabriqueterm/server/migrations/env.py",
        "fabriqueterm/server/migrations/script.py.mako",
    } <= shipped
