"""The local SQLite store: engine, migrations, repositories and the outbox. No Textual here.

``Store`` is imported on first use: the app paints its first screen before SQLAlchemy is loaded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fabriqueterm.store.errors import StoreError

if TYPE_CHECKING:
    from fabriqueterm.store.db import Store

__all__ = ["Store", "StoreError"]


def __getattr__(name: str) -> Any:
    if name == "Store":
        from fabriqueterm.store.db import Store

        return Store
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
