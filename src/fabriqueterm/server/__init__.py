"""The reference commons server (FastAPI). Never imported by the TUI.

Quick start (SQLite file ``commons.sqlite3`` in the data folder)::

    fabriqueterm server admin site add "Fabrique Lille" --city Lille      # prints the site's id
    fabriqueterm server admin coordinator add alice@example.org --name "Alice Martin"
    fabriqueterm server admin grant alice@example.org SITE_ID
    fabriqueterm server admin token issue alice@example.org             # the token, shown once
    fabriqueterm server run --port 8765
    curl -H "Authorization: Bearer TOKEN" http://127.0.0.1:8765/v1/me

On PostgreSQL: ``--database-url postgresql+psycopg://user:password@host/db --workers 4``.

Rooms: :mod:`.app` (routes), :mod:`.push` and :mod:`.pull` (the sync rules), :mod:`.db` (tables,
sequence counter), :mod:`.auth` (tokens), :mod:`.admin` (administration), :mod:`.cli`
(``fabriqueterm server …``), :mod:`.openapi` (the checked-in schema). Payloads:
:mod:`fabriqueterm.sync.protocol`.
"""
