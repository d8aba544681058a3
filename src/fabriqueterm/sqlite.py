"""SQLite connection settings shared by the app's local store and the commons server's SQLite
backend: one listener sets the pragmas every connection needs."""

from __future__ import annotations

import sqlite3

from sqlalchemy import Engine, event


def set_connection_pragmas(engine: Engine, *, busy_timeout_ms: int) -> None:
    """Give every new connection of ``engine`` WAL, enforced foreign keys, ``synchronous=NORMAL``
    and a wait of ``busy_timeout_ms`` on a locked database.

    The driver's own transaction handling is turned off (``isolation_level = None``): the engine's
    "begin" listener emits the BEGIN itself, so a writer can ask for ``BEGIN IMMEDIATE``.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.close()
