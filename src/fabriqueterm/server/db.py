"""The commons database: the synced tables of :mod:`fabriqueterm.domain.models` (the same models as
the app's local store) plus the server's own tables, on SQLite or PostgreSQL.

Server-only tables (prefix ``srv_``) live in their own :class:`MetaData`, so the app's metadata
never sees them:

- ``srv_coordinator``, ``srv_grant`` (coordinator ↔ site), ``srv_token`` (sha256 of each token);
- ``srv_client``: each local database's ``client_id`` per coordinator (key
  ``(coordinator_id, client_id)``: another coordinator's client_id is simply a fresh one, never a
  refusal that would tell it exists), and the last mutation number applied from it;
- ``srv_change``: the change log, one entry per (row, site it shows in) holding the sequence
  number of the row's last write there and the row's current JSON; pulls read it in sequence
  order and nothing else;
- ``srv_counter``: the one-row sequence counter. Each write transaction bumps it after all its
  decisions, right before writing, and holds its row lock until commit: commits happen in
  sequence order, so a reader never moves past a number that commits later (docs/sync.md, "Ordering
  on PostgreSQL"). On SQLite, ``BEGIN IMMEDIATE`` serialises writers anyway;
- ``srv_horizon``: per site, the highest sequence number whose tombstones were purged;
- ``srv_partner_origin``: who created a partner (the only one who sees it while it has no link);
- ``srv_erasure``: learners erased (right to be forgotten): they never come back;
- ``srv_audit``: every admin command that changed something: who, what (action, target ids), when;
- ``srv_meta``: the server's random id, and its restore epoch (a new random one at each restore;
  none before the first).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    DateTime,
    Engine,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    create_engine,
    event,
    select,
    text,
)
from sqlalchemy.engine import make_url

from fabriqueterm.domain.models import ENTITIES
from fabriqueterm.files import create_private_file
from fabriqueterm.sqlite import set_connection_pragmas

metadata = MetaData()

coordinator_table = Table(
    "srv_coordinator",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("email", String(254), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    #: Set by ``server admin coordinator disable``: every token and grant stops at once.
    Column("disabled_at", DateTime(timezone=True)),
)

grant_table = Table(
    "srv_grant",
    metadata,
    Column("coordinator_id", String(36), ForeignKey("srv_coordinator.id"), primary_key=True),
    Column("site_id", String(36), primary_key=True),
    Column("granted_at", DateTime(timezone=True), nullable=False),
)

token_table = Table(
    "srv_token",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("coordinator_id", String(36), ForeignKey("srv_coordinator.id"), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    #: The token's first characters, so a person can name it to revoke it.
    Column("prefix", String(12), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
    #: The last authenticated request, written at most once a minute per token.
    Column("last_used_at", DateTime(timezone=True)),
)

client_table = Table(
    "srv_client",
    metadata,
    Column("client_id", String(64), nullable=False),
    Column("coordinator_id", String(36), ForeignKey("srv_coordinator.id"), nullable=False),
    Column("last_seq", BigInteger, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("coordinator_id", "client_id"),
)

change_table = Table(
    "srv_change",
    metadata,
    Column("entity", String(24), primary_key=True),
    Column("row_id", String(36), primary_key=True),
    Column("site_id", String(36), primary_key=True),
    Column("seq", BigInteger, nullable=False),
    #: The client whose mutation made the write, and its coordinator (both null for admin loads):
    #: a client_id names a client only together with its coordinator.
    Column("client_id", String(64)),
    Column("coordinator_id", String(36)),
    #: The row's own site now (null for partners) and the row itself as JSON, written with the
    #: row: a pull is one read of this table.
    Column("row_site", String(36)),
    Column("row_json", Text, nullable=False),
    Index("ix_srv_change_seq", "seq"),
    Index("ix_srv_change_site_seq", "site_id", "seq"),
)

counter_table = Table(
    "srv_counter",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("value", BigInteger, nullable=False),
)

horizon_table = Table(
    "srv_horizon",
    metadata,
    Column("site_id", String(36), primary_key=True),
    Column("purged_seq", BigInteger, nullable=False),
)

partner_origin_table = Table(
    "srv_partner_origin",
    metadata,
    Column("partner_id", String(36), primary_key=True),
    Column("coordinator_id", String(36), nullable=False),
)

erasure_table = Table(
    "srv_erasure",
    metadata,
    Column("row_id", String(36), primary_key=True),
    Column("erased_at", DateTime(timezone=True), nullable=False),
)

audit_table = Table(
    "srv_audit",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False),
    #: Who ran the command: the OS user, or ``--actor``.
    Column("actor", String(200), nullable=False),
    #: What: the command (``coordinator.disable``…) and the ids it acted on.
    Column("action", String(64), nullable=False),
    Column("target", String(400), nullable=False),
    Index("ix_srv_audit_at", "at"),
)

meta_table = Table(
    "srv_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", String(200), nullable=False),
)

#: The synced tables, by wire name (the app's own models).
SYNCED_TABLES: dict[str, Table] = {name: model.__table__ for name, model in ENTITIES.items()}  # type: ignore[attr-defined]

# Indexes the server's queries need on the shared tables (the app has its own in its migrations);
# created by the server's migrations (server/migrations/versions/).
_SYNCED_INDEXES = (
    ("ix_srv_partner_site_partner", "partner_site", ("partner_id",)),
    ("ix_srv_partner_site_site", "partner_site", ("site_id",)),
    ("ix_srv_learner_cohort", "learner", ("cohort_id",)),
    ("ix_srv_follow_up_learner", "follow_up", ("learner_id",)),
    ("ix_srv_attempt_follow_up", "follow_up_attempt", ("follow_up_id",)),
    ("ix_srv_placement_learner", "placement", ("learner_id",)),
    ("ix_srv_conflict_row", "conflict", ("row_entity", "row_id")),
)


#: PostgreSQL connections per process: kept open, and opened beyond them under load. The app's
#: threads (``app.THREADS``) are as many, so a request never waits for a connection.
POOL_SIZE = 10
POOL_OVERFLOW = 10


def default_database_url() -> str:
    """SQLite file ``commons.sqlite3`` in the server's data dir."""
    from fabriqueterm.config import Paths

    return f"sqlite:///{Paths.default().data_dir / 'commons.sqlite3'}"


def is_postgres(engine: Engine | Connection) -> bool:
    return engine.dialect.name == "postgresql"


def make_engine(database_url: str) -> Engine:
    """An engine for ``database_url`` (``sqlite:///path`` or ``postgresql+psycopg://…``).

    SQLite: the file is created 0600, WAL, foreign keys on, ``BEGIN IMMEDIATE`` for writes (ask
    with ``execution_options(write=True)``). PostgreSQL: READ COMMITTED for writes (row locks do
    the ordering), REPEATABLE READ for pulls (one snapshot per page).
    """
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            create_private_file(Path(url.database))
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        set_connection_pragmas(engine, busy_timeout_ms=30000)

        @event.listens_for(engine, "begin")
        def _on_begin(connection: Connection) -> None:
            write = connection.get_execution_options().get("write", False)
            connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

        return engine
    if url.get_backend_name() == "postgresql":
        return create_engine(
            url,
            pool_size=POOL_SIZE,
            max_overflow=POOL_OVERFLOW,
            pool_pre_ping=True,
            connect_args={"connect_timeout": 10},
        )
    raise ValueError(f"unsupported database URL scheme: {url.drivername}")


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """One write transaction (SQLite: BEGIN IMMEDIATE; PostgreSQL: READ COMMITTED). The work set
    in :data:`before_commit`, if any, runs in it once, after the caller's."""
    with engine.connect().execution_options(write=True) as connection, connection.begin():
        yield connection
        work = before_commit.get()
        if work is not None:
            before_commit.set(None)
            work(connection)


#: Work the next write transaction does last, once: an admin command's audit entry, written in
#: the command's own transaction (server/cli.py, ``_admin``). Only the command line sets it.
before_commit: ContextVar[Callable[[Connection], None] | None] = ContextVar(
    "before_commit", default=None
)


@contextmanager
def read_transaction(engine: Engine) -> Iterator[Connection]:
    """One consistent snapshot (SQLite: a read transaction; PostgreSQL: REPEATABLE READ, read only)."""
    options = (
        {"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
        if is_postgres(engine)
        else {}
    )
    with engine.connect().execution_options(**options) as connection, connection.begin():
        yield connection


def target_metadata() -> MetaData:
    """The schema head must have, as one :class:`MetaData`: copies of the synced tables with the
    server's indexes on them, and the ``srv_*`` tables. What autogenerate compares the database
    with (a new revision, and tests/server/test_schema_migrations.py's drift check); the app's own
    metadata is left untouched."""
    combined = MetaData()
    for table in SYNCED_TABLES.values():
        table.to_metadata(combined)
    for table in metadata.tables.values():
        table.to_metadata(combined)
    for name, table_name, columns in _SYNCED_INDEXES:
        table = combined.tables[table_name]
        Index(name, *(table.c[column] for column in columns))
    return combined


def create_schema(engine: Engine) -> None:
    """Bring the database to the head revision, creating it when it is empty: what the tests, the
    demo and the benchmarks call on a database of their own. A running commons is upgraded by its
    administrator with ``fabriqueterm server migrate`` (:func:`migrations.upgrade`, the same)."""
    from fabriqueterm.server.migrations import upgrade

    upgrade(engine)


def server_id(connection: Connection) -> str:
    return connection.execute(
        select(meta_table.c.value).where(meta_table.c.key == "server_id")
    ).scalar_one()


#: The ``srv_meta`` key of the restore epoch: changed by every restore, sent with every pull page
#: (devices that stored another one pull again and send what the commons lost: docs/sync.md).
EPOCH_KEY = "restore_epoch"


def restore_epoch(connection: Connection) -> str:
    """The commons' restore epoch: "" until it is first restored from a backup."""
    value = connection.execute(
        select(meta_table.c.value).where(meta_table.c.key == EPOCH_KEY)
    ).scalar_one_or_none()
    return value or ""


def current_sequence(connection: Connection) -> int:
    return int(
        connection.execute(
            select(counter_table.c.value).where(counter_table.c.id == 1)
        ).scalar_one()
    )


def take_sequence(connection: Connection, count: int) -> int:
    """Reserve ``count`` sequence numbers; returns the last one (the first is ``last - count + 1``).

    Call it after every decision of the transaction: the counter's row lock is then held only for
    the writes and the commit.
    """
    row = connection.execute(
        text("UPDATE srv_counter SET value = value + :n WHERE id = 1 RETURNING value"), {"n": count}
    ).first()
    assert row is not None
    return int(row[0])
