"""The local SQLite file: opening it safely (0600, WAL, foreign keys), migrating it, and the
transactions every repository works in."""

from __future__ import annotations

import operator
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, insert, text
from sqlalchemy.exc import DatabaseError
from sqlmodel import Session

from fabriqueterm.domain.dates import Clock
from fabriqueterm.domain.ids import uuid7
from fabriqueterm.domain.models import ENTITIES
from fabriqueterm.files import create_private_file
from fabriqueterm.i18n import _
from fabriqueterm.sqlite import set_connection_pragmas
from fabriqueterm.store.errors import StoreError, describe_failure, is_damage
from fabriqueterm.store.history import History
from fabriqueterm.store.indicators import IndicatorRepository
from fabriqueterm.store.migrations import MIGRATIONS, SCHEMA_VERSION
from fabriqueterm.store.opening import (
    FileState,
    add_notice,
    companions,
    damaged_sentence,
    empty_notice,
    inspect_file,
    move_aside,
    opening_lock,
)
from fabriqueterm.store.outbox import Outbox
from fabriqueterm.store.repositories import (
    CohortRepository,
    FollowUpRepository,
    LearnerRepository,
    PartnerRepository,
    PlacementRepository,
    SiteRepository,
)

#: How long a connection waits on a database another program holds locked before saying so.
BUSY_TIMEOUT_MS = 10000


def make_engine(path: Path) -> Engine:
    """An engine on ``path`` with the pragmas every connection needs.

    The driver's own transaction handling is turned off so that SQLAlchemy's ``begin`` emits the
    BEGIN: DEFERRED for reads, IMMEDIATE for writes (no lock upgrade deadlock between two writers).
    """
    engine = create_engine(
        f"sqlite:///{path}",
        connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000},
    )

    set_connection_pragmas(engine, busy_timeout_ms=BUSY_TIMEOUT_MS)

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:  # type: ignore[no-untyped-def]
        mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")

    return engine


def schema_version_of(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.exec_driver_sql("PRAGMA user_version").scalar() or 0)


def migrate(engine: Engine, path: Path | None = None) -> int:
    """Bring the database to :data:`SCHEMA_VERSION`, one transaction per migration.

    Before touching a database that already holds data, a copy is kept beside it
    (``<file>.before-v<N>``, 0600), so an upgrade can never lose a coordinator's work.
    Returns the version found before migrating.
    """
    found = schema_version_of(engine)
    if found > SCHEMA_VERSION:
        raise StoreError(
            _(
                "{file} was written by a newer version of fabriqueterm (schema {found}, this one knows {known}). Update fabriqueterm."
            ).format(file=path, found=found, known=SCHEMA_VERSION)
        )
    if found == SCHEMA_VERSION:
        return found
    if found == 0:
        with engine.connect() as connection:
            tables = connection.exec_driver_sql(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
            ).scalar()
        if tables:
            raise StoreError(
                _(
                    "{file} already holds tables of another program; fabriqueterm will not change it. Choose another file."
                ).format(file=path)
            )
    if found > 0 and path is not None:
        _backup(engine, path.with_name(f"{path.name}.before-v{SCHEMA_VERSION}"))
    writer = engine.execution_options(sqlite_begin="IMMEDIATE")
    for version in range(found, SCHEMA_VERSION):
        with writer.begin() as connection:
            for statement in MIGRATIONS[version]:
                if isinstance(statement, str):
                    connection.exec_driver_sql(statement)
                else:
                    statement(connection)
            connection.exec_driver_sql(f"PRAGMA user_version = {version + 1}")
    return found


def _backup(engine: Engine, target: Path) -> None:
    create_private_file(target)
    raw = engine.raw_connection()
    try:
        destination = sqlite3.connect(target)
        try:
            raw.driver_connection.backup(destination)  # type: ignore[union-attr]
        finally:
            destination.close()
    finally:
        raw.close()


class Store:
    """One coordinator's local database. The only way the rest of the app reads and writes data
    is through its repositories (``store.learners``, ``store.follow_ups``…)."""

    def __init__(self, engine: Engine, path: Path, clock: Clock | None = None):
        self.engine = engine
        self.path = path
        self.clock = clock or Clock()
        self._writer = engine.execution_options(sqlite_begin="IMMEDIATE")

    @classmethod
    def open(cls, path: Path, *, clock: Clock | None = None) -> Store:
        """Open (creating it 0600 if missing) and migrate the database at ``path``.

        One process at a time checks, creates and migrates it (a lock file beside it). A file that
        is empty (0 bytes) is moved aside under a dated name and a new one started, with a notice
        (:func:`fabriqueterm.store.opening.take_notices`); a damaged one (not SQLite, cut short,
        SQLite says malformed) is moved aside and a :class:`StoreError` says where and how to save
        its unsent changes: never a new file silently in its place. Full disk, read-only folder,
        permission denied and a locked file are a :class:`StoreError` with their sentence.
        """
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            with opening_lock(path):
                return cls._open_locked(path, clock)
        except OSError as error:
            raise StoreError(
                describe_failure(error, path)
                or _("{file} cannot be written or read ({detail}).").format(
                    file=path, detail=error.strerror or error
                )
            ) from None

    @classmethod
    def _open_locked(cls, path: Path, clock: Clock | None) -> Store:
        state, detail = inspect_file(path)
        if state is FileState.EMPTY:
            add_notice(empty_notice(path, move_aside(path, "empty")))
        elif state is FileState.DAMAGED:
            raise StoreError(damaged_sentence(path, move_aside(path, "damaged"), detail))
        created = state is not FileState.LOOKS_SOUND
        create_private_file(path)
        engine = make_engine(path)
        try:
            with engine.connect() as connection:  # reads the schema: page 1 and sqlite_master
                connection.exec_driver_sql("SELECT count(*) FROM sqlite_master").scalar()
            migrate(engine, path)
            store = cls(engine, path, clock)
            store.client_id  # noqa: B018 - made once, on first open
            return store
        except BaseException as error:
            engine.dispose()
            if created:  # a file this open made and could not finish: not left half-made
                for made in (path, *companions(path)):
                    made.unlink(missing_ok=True)
            if isinstance(error, sqlite3.Error | DatabaseError):
                if is_damage(error) and not created:
                    raise StoreError(
                        damaged_sentence(
                            path, move_aside(path, "damaged"), str(getattr(error, "orig", error))
                        )
                    ) from None
                raise StoreError(describe_failure(error, path)) from None
            raise

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only session over one consistent snapshot."""
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One write transaction: everything inside commits together or not at all."""
        with (
            Session(self._writer, expire_on_commit=False, autoflush=True) as session,
            session.begin(),
        ):
            yield session

    # --- metadata ----------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        """The value of the ``meta`` key ``key`` (None if unset)."""
        with self.engine.connect() as connection:
            return connection.execute(
                text("SELECT value FROM meta WHERE key = :k"), {"k": key}
            ).scalar()

    def set_meta(self, session: Session | Connection, key: str, value: str) -> None:
        """Set the ``meta`` key ``key`` in the caller's transaction (a session or a connection)."""
        session.execute(
            text(
                "INSERT INTO meta (key, value) VALUES (:k, :v) ON CONFLICT (key) DO UPDATE SET value = :v"
            ),
            {"k": key, "v": value},
        )

    def bulk_insert(
        self,
        rows_by_entity: Mapping[str, Sequence[Mapping[str, Any]]],
        *,
        meta: Mapping[str, str] | None = None,
    ) -> None:
        """Insert rows that are already valid and already synced (the demo network, a snapshot):
        parents first, in one transaction, without outbox entries; ``meta`` keys in the same
        transaction. Each row gives every column of its table.

        Built for 100,000 learners in seconds: each table's Core INSERT is compiled once and fed to
        the driver's executemany, values converted by the dialect's own bind processors (the same
        stored text as the ORM's, memoised: dates repeat), under a larger page cache; the learner
        search index is rebuilt in one pass instead of by its per-row trigger.
        """
        unknown = [entity for entity in rows_by_entity if entity not in ENTITIES]
        if unknown:
            raise ValueError(f"unknown entities: {', '.join(unknown)}")

        def driver_rows(
            table: Any, keys: list[str], rows: Sequence[Mapping[str, Any]]
        ) -> Iterator[tuple[Any, ...]]:
            dialect = self.engine.dialect
            getter = operator.itemgetter(*keys)
            converters = []
            for index, key in enumerate(keys):
                process = table.c[key].type.dialect_impl(dialect).bind_processor(dialect)
                if process is not None:
                    converters.append((index, process, {}))
            for row in rows:
                values = list(getter(row)) if len(keys) > 1 else [getter(row)]
                for index, process, seen in converters:
                    value = values[index]
                    if value is not None:
                        converted = seen.get(value)
                        if converted is None:
                            converted = seen[value] = process(value)
                        values[index] = converted
                yield tuple(values)

        with self.write() as session:
            connection = session.connection()
            cache_size = connection.exec_driver_sql("PRAGMA cache_size").scalar()
            connection.exec_driver_sql("PRAGMA cache_size = -131072")  # 128 MiB, this load only
            try:
                search_trigger = None
                if rows_by_entity.get("learner"):
                    search_trigger = connection.exec_driver_sql(
                        "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'learner_search_ai'"
                    ).scalar()
                    if search_trigger:  # DDL is transactional: a failed load keeps the trigger
                        connection.exec_driver_sql("DROP TRIGGER learner_search_ai")
                for entity, model in ENTITIES.items():
                    rows = rows_by_entity.get(entity)
                    if not rows:
                        continue
                    table = model.__table__  # type: ignore[attr-defined]
                    compiled = insert(table).compile(dialect=self.engine.dialect)
                    keys = list(compiled.positiontup or ())
                    connection.exec_driver_sql(str(compiled), list(driver_rows(table, keys, rows)))
                if search_trigger:
                    connection.exec_driver_sql(
                        "INSERT INTO learner_search (learner_search) VALUES ('rebuild')"
                    )
                    connection.exec_driver_sql(search_trigger)
                for key, value in (meta or {}).items():
                    self.set_meta(session, key, value)
            finally:
                connection.exec_driver_sql(f"PRAGMA cache_size = {int(cache_size)}")

    @cached_property
    def client_id(self) -> str:
        """This database's random id, bound by the commons to its coordinator on first push."""
        existing = self.get_meta("client_id")
        if existing:
            return existing
        with self.write() as session:
            self.set_meta(session, "client_id", uuid7())
        return self.get_meta("client_id") or ""

    @property
    def schema_version(self) -> int:
        return schema_version_of(self.engine)

    # --- repositories ------------------------------------------------------------------------

    @cached_property
    def outbox(self) -> Outbox:
        return Outbox(self)

    @cached_property
    def history(self) -> History:
        return History(self)

    @cached_property
    def sites(self) -> SiteRepository:
        return SiteRepository(self)

    @cached_property
    def partners(self) -> PartnerRepository:
        return PartnerRepository(self)

    @cached_property
    def cohorts(self) -> CohortRepository:
        return CohortRepository(self)

    @cached_property
    def learners(self) -> LearnerRepository:
        return LearnerRepository(self)

    @cached_property
    def placements(self) -> PlacementRepository:
        return PlacementRepository(self)

    @cached_property
    def follow_ups(self) -> FollowUpRepository:
        return FollowUpRepository(self)

    @cached_property
    def indicators(self) -> IndicatorRepository:
        return IndicatorRepository(self)
