"""Push: a batch of one client's mutations, decided and written in one transaction (docs/sync.md).

The transaction first locks the client's row (identical pushes sent concurrently are served one
after the other), then locks the rows the batch touches, decides every mutation in memory (the
batch sees its own earlier writes), and only then takes one sequence number per row written from
the counter and writes everything. On PostgreSQL a deadlock or a racing insert of the same id
rolls the whole batch back and it is decided again.

Rooms: :mod:`.transaction` (the push: the client's numbers, gaps and duplicates, retries),
:mod:`.batch` (the rows a push touches, read, changed in memory, then written), :mod:`.decide`
(create, update, delete), :mod:`.conflicts` (conflict records), :mod:`.erasure` (the right to be
forgotten), :mod:`.validation` (rejections and their reasons), :mod:`.changelog` (the change log)
and :mod:`.load` (bulk-loading rows already valid).
"""

from fabriqueterm.server.push.changelog import upsert_changes
from fabriqueterm.server.push.load import load_rows
from fabriqueterm.server.push.transaction import push
from fabriqueterm.server.push.validation import SERVER_REASONS, is_uuid

__all__ = [
    "SERVER_REASONS",
    "is_uuid",
    "load_rows",
    "push",
    "upsert_changes",
]
