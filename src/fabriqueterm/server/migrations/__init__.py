"""Migrations of the commons database with Alembic, on SQLite and PostgreSQL, configured in code:
the environment (``env.py``) and the revisions (``versions/``) ship inside the package, no
``alembic.ini`` is read.

- :func:`schema_status` says where a database stands against this version's head revision;
- :func:`upgrade` brings it to head in one transaction (``fabriqueterm server migrate``): a new,
  empty database is created by running every revision; a commons made before migrations (tables,
  no ``alembic_version``) is recognised as revision 0001 and stamped, not recreated;
- :func:`check_schema` raises :class:`SchemaNotCurrent`, whose message names the command, unless
  the database is at head: the server and the admin commands refuse any other database.

Writing a revision when the synced models or the server's tables change: docs/releasing.md.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, inspect, text

from fabriqueterm.i18n import _

#: The folder Alembic reads: ``env.py``, ``script.py.mako`` and ``versions/``.
SCRIPT_LOCATION = Path(__file__).resolve().parent

#: The revision of the schema ``create_schema`` built before migrations existed.
BASELINE = "0001"

#: The tables of revision 0001: a database without ``alembic_version`` that holds all of them is
#: a commons made before migrations. Frozen, like the revision.
BASELINE_TABLES = frozenset(
    {
        "site",
        "partner",
        "partner_site",
        "cohort",
        "learner",
        "follow_up",
        "placement",
        "conflict",
        "srv_coordinator",
        "srv_grant",
        "srv_token",
        "srv_client",
        "srv_change",
        "srv_counter",
        "srv_horizon",
        "srv_partner_origin",
        "srv_erasure",
        "srv_meta",
    }
)

VERSION_TABLE = "alembic_version"

#: What a person types to migrate (named by every refusal).
MIGRATE_COMMAND = "fabriqueterm server migrate"

# Two `migrate` runs on one PostgreSQL wait for each other (SQLite: BEGIN IMMEDIATE does it).
_PG_LOCK_KEY = 0x66616272  # "fabr"


class SchemaState(enum.Enum):
    """Where a database stands against this version's head revision."""

    EMPTY = "empty"
    BEFORE_MIGRATIONS = "before_migrations"
    BEHIND = "behind"
    CURRENT = "current"
    NEWER = "newer"
    FOREIGN = "foreign"

    @property
    def needs_migrating(self) -> bool:
        """``fabriqueterm server migrate`` would bring it to head."""
        return self in (SchemaState.EMPTY, SchemaState.BEFORE_MIGRATIONS, SchemaState.BEHIND)

    @property
    def is_current(self) -> bool:
        return self is SchemaState.CURRENT


@dataclass(frozen=True)
class SchemaStatus:
    state: SchemaState
    #: The database's revision (``0001`` for a commons made before migrations), None when empty.
    current: str | None
    head: str
    #: A few of the tables found, when the database is not a commons.
    tables: tuple[str, ...] = ()

    def message(self) -> str:
        """One sentence for the person running the server: what is wrong and what to type."""
        if self.state is SchemaState.CURRENT:
            return _("The commons database is up to date (revision {head}).").format(head=self.head)
        if self.state is SchemaState.EMPTY:
            return _(
                "The commons database has no tables yet: create them with “{command}” (same --database-url)."
            ).format(command=MIGRATE_COMMAND)
        if self.state.needs_migrating:
            return _(
                "The commons database is at revision {current} and this version of fabriqueterm needs {head}: back it up, then run “{command}” (same --database-url)."
            ).format(current=self.current, head=self.head, command=MIGRATE_COMMAND)
        if self.state is SchemaState.NEWER:
            return _(
                "The commons database is at revision {current}, which this version of fabriqueterm does not know (a newer version migrated it): upgrade fabriqueterm."
            ).format(current=self.current)
        return _(
            "This database holds tables that are not a commons' ({tables}): give the URL of an empty database or of a commons."
        ).format(tables=", ".join(self.tables))


class SchemaNotCurrent(Exception):
    """The database is not at this version's head revision; ``str()`` says what to do."""

    def __init__(self, status: SchemaStatus):
        super().__init__(status.message())
        self.status = status


@dataclass(frozen=True)
class Upgrade:
    """What :func:`upgrade` did: from which revision (None: the database was empty) to which."""

    before: str | None
    after: str
    #: True when the database was made before migrations and stamped 0001 first.
    stamped: bool

    def message(self) -> str:
        if self.before == self.after and not self.stamped:
            return _("The commons database is already up to date (revision {head}).").format(
                head=self.after
            )
        if self.before is None:
            return _("Commons database created at revision {head}.").format(head=self.after)
        if self.stamped:
            return _(
                "Commons database made before migrations recognised as revision {baseline}, then migrated to revision {head}."
            ).format(baseline=self.before, head=self.after)
        return _("Commons database migrated from revision {before} to revision {head}.").format(
            before=self.before, head=self.after
        )


def alembic_config(connection: Connection | None = None) -> Any:
    """Alembic's configuration in code: the scripts inside the package, and ``connection`` (open,
    in its transaction) for ``env.py`` to run on."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def known_revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    return {
        script.revision for script in ScriptDirectory.from_config(alembic_config()).walk_revisions()
    }


def _status(connection: Connection) -> SchemaStatus:
    head = head_revision()
    tables = set(inspect(connection).get_table_names())
    current = None
    if VERSION_TABLE in tables:
        tables.discard(VERSION_TABLE)
        current = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()
    if current is not None:
        if current == head:
            return SchemaStatus(SchemaState.CURRENT, current, head)
        if current in known_revisions():
            return SchemaStatus(SchemaState.BEHIND, current, head)
        return SchemaStatus(SchemaState.NEWER, current, head)
    if not tables:
        return SchemaStatus(SchemaState.EMPTY, None, head)
    if tables >= BASELINE_TABLES:
        return SchemaStatus(SchemaState.BEFORE_MIGRATIONS, BASELINE, head)
    return SchemaStatus(SchemaState.FOREIGN, None, head, tuple(sorted(tables)[:5]))


def schema_status(engine: Engine) -> SchemaStatus:
    """Where the database behind ``engine`` stands (read only)."""
    with engine.connect() as connection, connection.begin():
        return _status(connection)


def check_schema(engine: Engine) -> None:
    """Raise :class:`SchemaNotCurrent` unless the database is at this version's head revision."""
    status = schema_status(engine)
    if status.state is not SchemaState.CURRENT:
        raise SchemaNotCurrent(status)


def upgrade(engine: Engine) -> Upgrade:
    """Bring the database to head in one transaction (all revisions or none); a commons made before
    migrations is stamped 0001 first. Raises :class:`SchemaNotCurrent` for a database this
    version cannot migrate (a newer one's, or not a commons)."""
    from alembic import command

    from fabriqueterm.server.db import is_postgres, write_transaction

    with write_transaction(engine) as connection:
        if is_postgres(connection):
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
        status = _status(connection)
        if status.state in (SchemaState.NEWER, SchemaState.FOREIGN):
            raise SchemaNotCurrent(status)
        config = alembic_config(connection)
        stamped = status.state is SchemaState.BEFORE_MIGRATIONS
        if stamped:
            command.stamp(config, BASELINE)
        if status.state is not SchemaState.CURRENT:
            command.upgrade(config, "head")
        after = _status(connection)
    assert after.state is SchemaState.CURRENT, after
    return Upgrade(before=status.current, after=after.head, stamped=stamped)


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    """Autogenerate writes plain SQLAlchemy types, never the models' own classes (a revision must
    not change when the models do): SQLModel's ``AutoString`` becomes ``sa.String``, the models'
    ``UTCDateTime`` becomes ``sa.DateTime(timezone=True)``."""
    if type_ != "type":
        return False
    from sqlalchemy import String
    from sqlalchemy.types import TypeDecorator

    if isinstance(obj, TypeDecorator):
        obj = obj.impl_instance
        if obj.__class__.__name__ == "DateTime":
            return f"sa.DateTime(timezone={obj.timezone!r})"
    if (
        isinstance(obj, String)
        and obj.__class__ is not String
        and obj.__class__.__name__ == "AutoString"
    ):
        return f"sa.String(length={obj.length!r})"
    return False
