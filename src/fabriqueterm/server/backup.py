"""``fabriqueterm server backup FILE`` and ``fabriqueterm server restore FILE`` (docs/server.md,
"Backups and restores").

- SQLite: SQLite's online backup API (``sqlite3.Connection.backup``), consistent while the server
  runs; a restore copies the backup into the commons' file the same way.
- PostgreSQL: ``pg_dump --format=custom`` of the commons' schema (the URL's ``search_path``, else
  ``public``); a restore is ``pg_restore --clean --if-exists`` in one transaction. The password
  goes to the tools through ``$PGPASSWORD``, never on their command line.

Both refuse to overwrite without confirmation (a backup: an existing FILE needs ``--force`` or a
"yes"; a restore always asks unless ``--yes``), write their files 0600, and refuse a file that is
not a backup of a commons or that a newer version of fabriqueterm made.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fabriqueterm.i18n import _

#: The first bytes of each kind of backup file.
SQLITE_MAGIC = b"SQLite format 3\x00"
PG_DUMP_MAGIC = b"PGDMP"

#: Tables a commons' backup always holds (besides the synced tables).
_COMMONS_MARKERS = ("srv_meta", "srv_counter")


class BackupError(Exception):
    """A backup or restore that cannot be done; ``str()`` is the sentence that says why."""


@dataclass(frozen=True)
class Done:
    message: str
    #: When the restored backup is behind this version's head: what to run next.
    migrate: bool = False


Confirm = Callable[[str], bool]


# --- the database URL ----------------------------------------------------------------------------


def _sqlite_path(url: Any) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError(_("An in-memory database cannot be backed up or restored."))
    return Path(url.database)


@dataclass(frozen=True)
class _Pg:
    """What pg_dump and pg_restore need: libpq variables (the password among them) and a schema."""

    environment: dict[str, str]
    database: str
    schema: str


def _pg(url: Any) -> _Pg:
    environment = {
        key: str(value)
        for key, value in (
            ("PGHOST", url.host),
            ("PGPORT", url.port),
            ("PGUSER", url.username),
            ("PGPASSWORD", url.password),
            ("PGDATABASE", url.database),
        )
        if value
    }
    options = url.query.get("options")
    if isinstance(options, tuple):
        options = " ".join(options)
    schema = "public"
    if options:
        environment["PGOPTIONS"] = options
        found = re.search(r"search_path\s*=\s*([A-Za-z0-9_]+)", options)
        if found:
            schema = found.group(1)
    return _Pg(environment, url.database or "", schema)


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(
            _(
                "“{tool}” is not installed: it comes with PostgreSQL's client programs (Debian: apt install postgresql-client)."
            ).format(tool=name)
        )
    return path


def _run(command: list[str], pg: _Pg) -> str:
    """Run a PostgreSQL client program; its error (never the password: it is not on the command
    line) becomes the sentence."""
    environment = {**os.environ, **pg.environment}
    finished = subprocess.run(
        command, env=environment, stdin=subprocess.DEVNULL, capture_output=True, check=False
    )
    if finished.returncode != 0:
        detail = finished.stderr.decode(errors="replace").strip().splitlines()
        raise BackupError(
            _("{tool} failed: {detail}").format(
                tool=Path(command[0]).name, detail=detail[-1] if detail else finished.returncode
            )
        )
    return finished.stdout.decode(errors="replace")


# --- files -----------------------------------------------------------------------------------------


def _private_temp(beside: Path) -> Path:
    """An empty 0600 file in ``beside``'s folder, to be renamed over it once complete."""
    beside.parent.mkdir(parents=True, exist_ok=True)
    descriptor, name = tempfile.mkstemp(prefix=f".{beside.name}.", dir=beside.parent)
    os.close(descriptor)  # mkstemp makes it 0600
    return Path(name)


def _kind(file: Path) -> str:
    try:
        with file.open("rb") as handle:
            head = handle.read(len(SQLITE_MAGIC))
    except FileNotFoundError:
        raise BackupError(_("There is no file {file}.").format(file=file)) from None
    except OSError as error:
        raise BackupError(
            _("{file} cannot be read: {detail}").format(file=file, detail=error.strerror)
        ) from None
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PG_DUMP_MAGIC):
        return "postgresql"
    raise BackupError(_("{file} is not a backup of a commons.").format(file=file))


# --- revisions -------------------------------------------------------------------------------------


def _check_revision(file: Path, revision: str | None) -> bool:
    """Refuse a backup from a newer version; True when it is behind this version's head."""
    from fabriqueterm.server.migrations import BASELINE, head_revision, known_revisions

    revision = revision or BASELINE  # a commons made before migrations: revision 0001
    if revision not in known_revisions():
        raise BackupError(
            _(
                "{file} is a backup at revision {revision}, which this version of fabriqueterm does not know (a newer version made it): restore it with that version, or upgrade fabriqueterm."
            ).format(file=file, revision=revision)
        )
    return revision != head_revision()


def _sqlite_revision(file: Path) -> str | None:
    """The revision of a SQLite backup, or refuse a file that is not a commons'."""
    try:
        connection = sqlite3.connect(f"file:{file}?mode=ro", uri=True)
        try:
            tables = {
                row[0]
                for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
            if not all(marker in tables for marker in _COMMONS_MARKERS):
                raise BackupError(_("{file} is not a backup of a commons.").format(file=file))
            if "alembic_version" not in tables:
                return None
            row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
            return row[0] if row else None
        finally:
            connection.close()
    except sqlite3.DatabaseError:
        raise BackupError(_("{file} is not a backup of a commons.").format(file=file)) from None


_COPY_VERSION = re.compile(r"^COPY \S*alembic_version \(version_num\) FROM stdin;\n(\S+)\n", re.M)


def _pg_dump_contents(file: Path, pg: _Pg) -> tuple[str, str | None]:
    """The schema a custom-format dump holds and its revision, or refuse one not a commons'."""
    pg_restore = _tool("pg_restore")
    try:
        listing = _run([pg_restore, "--list", str(file)], pg)
    except BackupError:
        raise BackupError(_("{file} is not a backup of a commons.").format(file=file)) from None
    tables: dict[str, str] = {}
    for line in listing.splitlines():
        parts = line.split()
        if len(parts) >= 7 and parts[3:5] == ["TABLE", "DATA"]:
            tables[parts[6]] = parts[5]
    if not all(marker in tables for marker in _COMMONS_MARKERS):
        raise BackupError(_("{file} is not a backup of a commons.").format(file=file))
    schema = tables["srv_meta"]
    if "alembic_version" not in tables:
        return schema, None
    script = _run([pg_restore, "--data-only", "--table=alembic_version", "--file=-", str(file)], pg)
    found = _COPY_VERSION.search(script)
    return schema, found.group(1) if found else None


# --- backup ----------------------------------------------------------------------------------------


def backup(database_url: str, file: Path, *, force: bool, confirm: Confirm) -> Done:
    """Write a backup of the commons at ``database_url`` to ``file`` (0600), replacing an existing
    one only with ``force`` or ``confirm``'s yes."""
    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    backend = url.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise BackupError(
            _("The database URL cannot be used: {detail}").format(detail=url.drivername)
        )
    if file.is_dir():
        raise BackupError(_("{file} is a folder: name a file.").format(file=file))
    if (
        file.exists()
        and not force
        and not confirm(_("{file} exists. Replace it with a new backup?").format(file=file))
    ):
        raise BackupError(
            _("{file} exists and was left as it was (--force replaces it).").format(file=file)
        )
    if backend == "sqlite":
        source = _sqlite_path(url)
        if not source.is_file():
            raise BackupError(_("There is no commons database at {path}.").format(path=source))
        _sqlite_revision(source)  # refuses a database that is not a commons
        temporary = _private_temp(file)
        try:
            reader = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
            writer = sqlite3.connect(temporary)
            try:
                reader.backup(writer)
                # One self-contained file: no -wal beside it when it is read.
                writer.execute("PRAGMA journal_mode=DELETE")
            finally:
                writer.close()
                reader.close()
            os.replace(temporary, file)
        except sqlite3.Error as error:
            raise BackupError(_("The backup failed: {detail}").format(detail=error)) from None
        finally:
            temporary.unlink(missing_ok=True)
    else:
        pg = _pg(url)
        pg_dump = _tool("pg_dump")
        temporary = _private_temp(file)
        try:
            _run(
                [pg_dump, "--format=custom", "--no-owner", "--no-privileges",
                 f"--schema={pg.schema}", f"--file={temporary}", pg.database],
                pg,
            )  # fmt: skip
            _pg_dump_contents(temporary, pg)  # refuses a database that is not a commons
            os.replace(temporary, file)
        finally:
            temporary.unlink(missing_ok=True)
    os.chmod(file, 0o600)
    return Done(_("Commons backed up to {file}.").format(file=file))


# --- restore ---------------------------------------------------------------------------------------


def restore(database_url: str, file: Path, *, yes: bool, confirm: Confirm) -> Done:
    """Replace the commons at ``database_url`` with the backup ``file``, after ``yes`` or
    ``confirm``'s yes."""
    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    backend = url.get_backend_name()
    kind = _kind(file)
    if kind != backend:
        raise BackupError(
            _(
                "{file} is a backup of a commons on {kind}, and the database URL names {backend}: restore it into a database of its kind."
            ).format(file=file, kind=_backend_label(kind), backend=_backend_label(backend))
        )
    if backend == "sqlite":
        target = _sqlite_path(url)
        behind = _check_revision(file, _sqlite_revision(file))
        what = _("the commons database {path}").format(path=target)
    else:
        pg = _pg(url)
        schema, revision = _pg_dump_contents(file, pg)
        if schema != pg.schema:
            raise BackupError(
                _(
                    "{file} holds the schema “{schema}” and the database URL uses “{target}”: restore it into a database whose schema is “{schema}”."
                ).format(file=file, schema=schema, target=pg.schema)
            )
        behind = _check_revision(file, revision)
        what = _("the schema “{schema}” of the database “{database}” on {host}").format(
            schema=pg.schema, database=pg.database, host=url.host or "localhost"
        )
    question = _(
        "Everything in {what} will be replaced by {file}: what the commons received since that backup is lost, except what the devices still hold (they send it again at their next sync). Stop the server first. Continue?"
    ).format(what=what, file=file)
    if not yes and not confirm(question):
        raise BackupError(_("Nothing was restored (--yes restores without asking)."))
    if backend == "sqlite":
        _restore_sqlite(file, target)
    else:
        _restore_pg(database_url, file, pg)
    message = _("The commons was restored from {file}.").format(file=file)
    if behind:
        from fabriqueterm.server.migrations import MIGRATE_COMMAND

        message += " " + _(
            "The backup is from an older version: run “{command}” (same --database-url) before starting the server."
        ).format(command=MIGRATE_COMMAND)
    return Done(message, migrate=behind)


def _restore_pg(database_url: str, file: Path, pg: _Pg) -> None:
    """``pg_restore --clean --if-exists`` run by psql in one transaction, after dropping every table
    of the schema: a backup from an older revision lacks tables and constraints that later ones
    depend on, which ``--clean`` alone would fail to drop. A failure leaves the schema as it was."""
    from sqlalchemy import create_engine, inspect

    from fabriqueterm.server.db import EPOCH_KEY

    pg_restore, psql = _tool("pg_restore"), _tool("psql")
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            tables = inspect(connection).get_table_names(schema=pg.schema)
    finally:
        engine.dispose()
    drops = [f'DROP TABLE IF EXISTS "{pg.schema}"."{table}" CASCADE;' for table in tables]
    # In the same transaction: a new restore epoch, and numbers past any the lost writes used.
    epoch = (
        f"INSERT INTO \"{pg.schema}\".srv_meta (key, value) VALUES ('{EPOCH_KEY}', '{new_epoch()}')"
        " ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value;"
        f' UPDATE "{pg.schema}".srv_counter SET value = GREATEST(value, {restart_number()})'
        " WHERE id = 1;"
    )
    entry = {k: _sql_text(str(v)) for k, v in _audit_entry(file).items()}
    audit = (
        f"DO $audit$ BEGIN IF to_regclass('\"{pg.schema}\".srv_audit') IS NOT NULL THEN"
        f' INSERT INTO "{pg.schema}".srv_audit (id, at, actor, action, target)'
        f" VALUES ({entry['id']}, {entry['at']}::timestamptz, {entry['actor']},"
        f" {entry['action']}, {entry['target']}); END IF; END $audit$;"
    )
    environment = {**os.environ, **pg.environment}
    producer = subprocess.Popen(
        [pg_restore, "--clean", "--if-exists", "--no-owner", "--no-privileges", "--file=-",
         str(file)],
        env=environment, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert producer.stdout is not None
    consumer = subprocess.run(
        [psql, "--no-psqlrc", "--quiet", "--single-transaction", "--set=ON_ERROR_STOP=1",
         *(["--command=" + " ".join(drops)] if drops else []), "--file=-",
         f"--command={epoch}", f"--command={audit}", f"--dbname={pg.database}"],
        env=environment, stdin=producer.stdout, capture_output=True, check=False,
    )  # fmt: skip
    producer.stdout.close()
    produced = producer.wait()
    errors = producer.stderr.read().decode(errors="replace") if producer.stderr else ""
    if producer.stderr:
        producer.stderr.close()
    for tool, code, detail in (
        ("pg_restore", produced, errors),
        ("psql", consumer.returncode, consumer.stderr.decode(errors="replace")),
    ):
        if code != 0:
            lines = detail.strip().splitlines()
            raise BackupError(
                _("{tool} failed: {detail}").format(tool=tool, detail=lines[-1] if lines else code)
            )


def new_epoch() -> str:
    """A new restore epoch (random: two restores never share one)."""
    return uuid.uuid4().hex


def restart_number() -> int:
    """Where a restored commons numbers its writes from: the microseconds since 1970, past every
    number the writes it lost used (fewer than one a microsecond since the backup, or since the
    last restore's restart), and below 2**53 until the 23rd century. A row's version is the
    number of its last write: a device's copy numbered above the restored row holds edits the
    restore lost (store/restored.py); a row written since the restore is numbered above them."""
    return time.time_ns() // 1000


def _audit_entry(file: Path) -> dict[str, Any]:
    """The audit log's entry of a restore (who, when, which file), written in its transaction."""
    from fabriqueterm.domain.dates import utcnow
    from fabriqueterm.domain.ids import uuid7
    from fabriqueterm.server.admin_access import MAX_ACTOR, MAX_TARGET, default_actor

    return {
        "id": uuid7(),
        "at": utcnow(),
        "actor": default_actor()[:MAX_ACTOR],
        "action": "restore",
        "target": f"file={file.name}"[:MAX_TARGET],
    }


def _sql_text(value: str) -> str:
    """A literal for psql (standard strings: a quote is doubled)."""
    return "'" + value.replace("'", "''") + "'"


def _backend_label(backend: str) -> str:
    return "PostgreSQL" if backend == "postgresql" else "SQLite"


def _restore_sqlite(file: Path, target: Path) -> None:
    from fabriqueterm.files import create_private_file
    from fabriqueterm.server.db import EPOCH_KEY

    create_private_file(target)
    try:
        reader = sqlite3.connect(f"file:{file}?mode=ro", uri=True)
        writer = sqlite3.connect(target, timeout=30)
        try:
            reader.backup(writer)
            # A new restore epoch, and numbers past any the lost writes used (docs/sync.md).
            with writer:
                writer.execute(
                    "INSERT INTO srv_meta (key, value) VALUES (?, ?)"
                    " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (EPOCH_KEY, new_epoch()),
                )
                writer.execute(
                    "UPDATE srv_counter SET value = MAX(value, ?) WHERE id = 1", (restart_number(),)
                )
                audited = writer.execute(
                    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'srv_audit'"
                ).fetchone()
                if audited:  # (a backup older than the audit log is migrated after)
                    entry = _audit_entry(file)
                    writer.execute(
                        "INSERT INTO srv_audit (id, at, actor, action, target)"
                        " VALUES (?, ?, ?, ?, ?)",
                        (
                            entry["id"],
                            entry["at"].strftime("%Y-%m-%d %H:%M:%S.%f"),
                            entry["actor"],
                            entry["action"],
                            entry["target"],
                        ),
                    )
        finally:
            writer.close()
            reader.close()
    except sqlite3.Error as error:
        raise BackupError(_("The restore failed: {detail}").format(detail=error)) from None
    os.chmod(target, 0o600)


# --- the command line ------------------------------------------------------------------------------
