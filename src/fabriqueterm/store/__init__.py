"""The local SQLite store: engine, migrations, repositories and the outbox. No Textual here."""

from fabriqueterm.store.db import Store, StoreError

__all__ = ["Store", "StoreError"]
