"""Alembic's environment for the commons database, configured in code (no ``alembic.ini``).

:mod:`fabriqueterm.server.migrations` hands in an open connection, already inside the one
transaction the whole upgrade runs in (``config.attributes["connection"]``); this file only
tells Alembic to use it. The target metadata (the models plus the server's tables, as head must
be) is there for ``autogenerate``: ``python -m fabriqueterm.server.migrations revision …``.
"""

from __future__ import annotations

from alembic import context

from fabriqueterm.server.db import target_metadata
from fabriqueterm.server.migrations import render_item

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reached through alembic's own command line
    raise RuntimeError(
        "The commons' migrations run through `fabriqueterm server migrate`, not `alembic`."
    )

context.configure(
    connection=connection,
    target_metadata=target_metadata(),
    # SQLite's DDL is transactional too: the whole upgrade commits or nothing does.
    transactional_ddl=True,
    render_item=render_item,
    # SQLite cannot ALTER most things: autogenerate writes batch operations (table copies).
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)

with context.begin_transaction():
    context.run_migrations()
