"""Write the next revision from what changed (a developer's tool, not a command of the app):

    python -m fabriqueterm.server.migrations revision "add the follow_up_attempt table"

A throw-away SQLite database is migrated to head, then Alembic's autogenerate compares it with
the models and the server's tables (``db.target_metadata()``) and writes
``versions/NNNN_<slug>.py`` with the next number. Read it before committing: autogenerate does
not see renames (it writes a drop and an add), and on SQLite anything beyond adding a table, a
column or an index goes through ``op.batch_alter_table``. Then check it on PostgreSQL too
(``FABRIQUETERM_TEST_PG_URL=… pytest tests/server/test_schema_migrations.py``).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path


def next_revision_id(existing: set[str]) -> str:
    numbers = [int(revision) for revision in existing if revision.isdigit()]
    return f"{max(numbers, default=0) + 1:04d}"


def write_revision(message: str) -> Path:
    """Autogenerate the next revision from the models; returns the file written."""
    from alembic import command

    from fabriqueterm.server import migrations
    from fabriqueterm.server.db import make_engine, write_transaction

    with tempfile.TemporaryDirectory(prefix="fabriqueterm-revision-") as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'head.sqlite3'}")
        try:
            migrations.upgrade(engine)
            revision_id = next_revision_id(migrations.known_revisions())
            with write_transaction(engine) as connection:
                script = command.revision(
                    migrations.alembic_config(connection),
                    message=message,
                    autogenerate=True,
                    rev_id=revision_id,
                )
        finally:
            engine.dispose()
    assert script is not None and not isinstance(script, list)
    return Path(script.path)  # versions/NNNN_<what changed>.py


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fabriqueterm.server.migrations")
    commands = parser.add_subparsers(dest="command", required=True)
    revision = commands.add_parser("revision", help="write the next revision from the models")
    revision.add_argument("message", help='what changed, e.g. "add the follow_up_attempt table"')
    args = parser.parse_args(argv)
    path = write_revision(args.message)
    print(
        f"{path}: read it, then run tests/server/test_schema_migrations.py on SQLite and PostgreSQL"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
