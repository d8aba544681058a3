"""The store's error, importable without SQLAlchemy (the command line and the app's first paint
must not wait for it)."""


class StoreError(Exception):
    """The local database cannot be used as it is; the message says why and what to do."""
