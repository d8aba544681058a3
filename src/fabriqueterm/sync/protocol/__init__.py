"""The commons API's payloads, version 1: one definition shared by the server and the app's sync
client (docs/sync.md). Endpoints: ``GET /v1/health`` (no token), ``GET /v1/me`` →
:class:`WhoAmI`, ``POST /v1/push`` :class:`PushRequest` → :class:`PushResponse`, ``POST /v1/pull``
:class:`PullRequest` → :class:`PullResponse`. Every call but health carries
``Authorization: Bearer <token>``; the token alone decides the scope (the granted sites).

Push
    The client sends its outbox in order, in batches of at most :data:`MAX_PUSH_MUTATIONS`
    mutations and :data:`MAX_PUSH_BYTES` bytes (else 413, nothing taken). Each mutation carries
    the client's own mutation number ``seq`` (1, 2, 3… per ``client_id`` and coordinator: the
    same client_id sent by another coordinator is another client). A batch is one transaction,
    but every mutation is answered on its own: an item that is not a valid :class:`Mutation`, or
    one that fails while the server decides or writes it, is ``rejected`` alone and the others
    go on. Every mutation gets an answer (:class:`MutationResult`):

    ``applied``    written (or nothing to do: the server already had those values); ``row`` is
                   the row as the server now has it, with its new ``version``: adopt it.
    ``duplicate``  this number was already taken (a retry), or a create met a row with the same
                   id and the same content (two devices made the same generated row): nothing
                   written, ``row`` is the current state.
    ``conflict``   written as far as it could be: fields changed on both sides keep the server's
                   value; each gets a conflict record (listed in ``conflicts`` and pulled like
                   any row of the site, entity ``conflict``). An update of a row deleted on the
                   server keeps the tombstone; a create meeting different content keeps the
                   server's row; an edit of an erased learner keeps nothing the client sent.
    ``rejected``   invalid, or not in scope: nothing written; ``errors`` says why, field by
                   field (:class:`FieldReason`). The number still advances: set the mutation
                   aside, show the record in error; the person's fix is a new mutation.
    ``gap``        the number is past the next one expected: this mutation and the rest of the
                   batch were not looked at; resend from ``expected_seq``.

    ``last_applied_seq`` is the last number the server holds for this client: drop every outbox
    entry up to it (with its answer's row adopted) in one local transaction. A server answering
    less than the client has already seen acknowledged was restored from a backup: resync under
    a new client_id and push the outbox again (base values make that safe). Send ``epoch``, the
    last restore epoch a pull answered: under another one nothing is applied and the answer says
    ``restored``; pull first.

    Merging: ``base_version`` equal to the row's version → the fields apply. Otherwise field by
    field against ``base_values``: server value still the base → apply; already the new value →
    nothing to do; else a conflict. An update of a tombstone with ``base_version`` equal to the
    tombstone's version (the client saw the deletion) brings the row back (e.g. a partner link
    made again). ``erase`` (learners only) wipes the personal fields, the notes of the learner's
    follow-ups and placements, and the values of conflict records about them; it is final.
    Out-of-scope ids are answered exactly as ids that do not exist (``not_found``,
    ``unknown_reference``); a create reusing an id that exists out of scope gets
    ``id_unavailable`` (ids are random UUIDs: make a new one; docs/sync.md says what that costs).

Pull
    Send one cursor per site (0 or absent: from the beginning). The answer holds the rows of the
    granted sites written after those cursors, as full current rows (tombstones included) in
    sequence order, at most ``limit`` (1,000–5,000) a page, with the new ``cursors`` of every
    granted site and ``more``. Apply a page and store its cursors in one local transaction, then
    pull again while ``more``; applying a page twice is harmless. ``row`` null means the row left
    your scope (moved to a site you do not hold, or a partner no longer linked to any of your
    sites): remove it locally unless it has pending edits. A partner shows through each of your
    sites it is linked to, once per page. ``not_granted`` lists the sites you sent a cursor for
    that are not (or no longer) yours: evict them. ``resync_required`` lists sites whose cursor
    is older than the tombstones the server keeps (or ahead of the server): pull them again from
    0, keeping pending edits. ``sites`` is the current grant: a site new there backfills from 0.
    ``epoch`` names the commons' restores: send back the last one you stored (with the page's
    cursors). When it differs, or a cursor is ahead of the commons, the commons was restored from
    a backup: those sites are also in ``restored``. Pull them again from 0 and send again, as
    new mutations, what you hold that the restored commons lacks (docs/sync.md, "After a commons
    restore").

Values
    Every field of a mutation is checked by the rules of ``domain/rules.py``, the ones the app
    applies at input: text without control characters (line breaks and tabs only in notes), dates
    within 1900-01-01..2100-12-31 (``YYYY-MM-DD``), date-times the same once in UTC, ids and
    references canonical lower-case UUIDs (an upper-case one is refused, never lower-cased: id
    ``bad_id``, reference ``uuid``), whole numbers that are numbers (``true`` is not one). A value
    refused rejects its mutation naming the field; the schema publishes the same patterns.

Errors
    401 missing, unknown or revoked token (stop, ask to log in again); 413 batch too large (``max_mutations``, ``max_bytes``); 400/422 a body that is
    not the payload (``detail``); 503 with Retry-After when the database is busy. Timestamps are
    ISO 8601 in UTC with an offset; dates ISO 8601.
"""

from __future__ import annotations

from fabriqueterm.sync.protocol.pull import (
    MAX_PULL_CURSOR_LENGTH,
    MAX_PULL_CURSORS,
    PulledChange,
    PullRequest,
    PullResponse,
)
from fabriqueterm.sync.protocol.push import (
    ConflictOut,
    FieldReason,
    InvalidMutation,
    MutationResult,
    PushRequest,
    PushResponse,
    read_item,
)
from fabriqueterm.sync.protocol.service import (
    CoordinatorOut,
    ErrorBody,
    Health,
    SiteOut,
    TooLargeBody,
    WhoAmI,
)
from fabriqueterm.sync.protocol.wire import (
    ENTITY_NAMES,
    MAX_EPOCH_LENGTH,
    MAX_NUMBER,
    MAX_PUSH_BYTES,
    MAX_PUSH_MUTATIONS,
    PROTOCOL_VERSION,
    PULL_LIMIT_DEFAULT,
    PULL_LIMIT_MAX,
    PULL_LIMIT_MIN,
    ConflictKind,
    ConflictResolution,
    Mutation,
    MutationStatus,
    Op,
    WholeNumber,
)

__all__ = [
    "ConflictKind",
    "ConflictOut",
    "ConflictResolution",
    "CoordinatorOut",
    "ENTITY_NAMES",
    "ErrorBody",
    "FieldReason",
    "Health",
    "InvalidMutation",
    "MAX_EPOCH_LENGTH",
    "MAX_NUMBER",
    "MAX_PULL_CURSORS",
    "MAX_PULL_CURSOR_LENGTH",
    "MAX_PUSH_BYTES",
    "MAX_PUSH_MUTATIONS",
    "Mutation",
    "MutationResult",
    "MutationStatus",
    "Op",
    "PROTOCOL_VERSION",
    "PULL_LIMIT_DEFAULT",
    "PULL_LIMIT_MAX",
    "PULL_LIMIT_MIN",
    "PullRequest",
    "PullResponse",
    "PulledChange",
    "PushRequest",
    "PushResponse",
    "SiteOut",
    "TooLargeBody",
    "WhoAmI",
    "WholeNumber",
    "read_item",
]
