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

import json
import re
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    StrictStr,
    ValidationError,
    model_validator,
)

from fabriqueterm.domain.rules import TEXT_PATTERN, UUID_PATTERN

PROTOCOL_VERSION = 1

#: Mutation numbers and versions stay below 2**53, so every JSON parser reads them exactly.
MAX_NUMBER = 2**53 - 1

#: At most this many mutations in one push (a larger batch is answered 413).
MAX_PUSH_MUTATIONS = 500
#: At most this many bytes in one push body (a larger body is answered 413).
MAX_PUSH_BYTES = 1024 * 1024
#: Rows per pull page: the client may ask between these bounds.
PULL_LIMIT_MIN = 1000
PULL_LIMIT_MAX = 5000
PULL_LIMIT_DEFAULT = 2000
#: A restore epoch is at most this long (else 422).
MAX_EPOCH_LENGTH = 64

#: Entity names a mutation or a pulled change may carry.
ENTITY_NAMES = (
    "site",
    "partner",
    "partner_site",
    "cohort",
    "learner",
    "follow_up",
    "follow_up_attempt",
    "placement",
    "conflict",
)


def _whole_number(value: Any) -> Any:
    # JSON has one kind of number: 12 and 12.0 are the same integer, but true and "12" are not.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("expected a whole number")
    return value


#: An integer as JSON Schema means it (12 or 12.0), never a boolean or a string.
WholeNumber = Annotated[int, BeforeValidator(_whole_number)]

#: What the value of a field in a mutation may be, as the schema says it: text without control
#: characters but line breaks and tabs (domain/rules.py; a single-line field refuses those too),
#: a number, a boolean or null. The commons checks each field by the domain's rules and rejects
#: the mutation (never the batch) naming the field; the app refuses the same at input.
FIELD_VALUE_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "string", "pattern": TEXT_PATTERN},
        {"type": "number"},
        {"type": "boolean"},
        {"type": "null"},
    ]
}


def _bounds_in_json_schema(schema: dict[str, Any]) -> None:
    """The bounds of an optional number as JSON Schema words (pydantic leaves ``ge``/``le``)."""
    for member in schema.get("anyOf", ()):
        for ours, theirs in (("ge", "minimum"), ("le", "maximum")):
            if ours in member:
                member[theirs] = member.pop(ours)


def _fields_schema(description: str) -> Any:
    return Field(
        default_factory=dict,
        description=description,
        json_schema_extra={"additionalProperties": FIELD_VALUE_SCHEMA},
    )


def _storable(value: Any) -> bool:
    """Text a database and a UTF-8 answer can hold: no NUL, no unpaired surrogate."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\\u0000" not in text or not _holds_nul(value)


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_holds_nul(v) for v in value)
    return False


class _Payload(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Request(_Payload):
    @model_validator(mode="before")
    @classmethod
    def _text_is_storable(cls, data: Any) -> Any:
        if not _storable(data):
            raise ValueError("text must not hold NUL or unpaired surrogate characters")
        return data


class Op(StrEnum):
    """What a mutation does to its row."""

    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    #: Right to be forgotten (learners only): personal fields wiped everywhere, then a tombstone.
    ERASE = "erase"


class MutationStatus(StrEnum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"
    CONFLICT = "conflict"
    REJECTED = "rejected"
    GAP = "gap"


class ConflictKind(StrEnum):
    """Why a conflict record was made."""

    #: The same field was changed on both sides from the same base.
    FIELD = "field"
    #: A row deleted on the server was edited by the client: the tombstone stays.
    DELETED = "deleted"
    #: A create found a row with the same id and different content.
    CREATE = "create"


class ConflictResolution(StrEnum):
    """How a coordinator settled a conflict (pushed as an update of the conflict row)."""

    KEPT_SERVER = "kept_server"
    TOOK_CLIENT = "took_client"
    EDITED = "edited"


class Mutation(_Payload):
    """One outbox entry."""

    seq: WholeNumber = Field(
        ge=1, le=MAX_NUMBER, description="The client's mutation number: 1, 2, 3… per client_id."
    )
    entity: StrictStr = Field(
        min_length=1,
        max_length=32,
        description="Entity name: " + ", ".join(ENTITY_NAMES) + ". Another name is rejected.",
    )
    id: StrictStr = Field(
        min_length=1,
        max_length=64,
        description="The row's id: a UUID made by the client, written the canonical way (36 "
        "lower-case characters); another is rejected (bad_id), never lower-cased.",
        json_schema_extra={"pattern": UUID_PATTERN},
    )
    op: Op
    fields: dict[str, Any] = _fields_schema(
        "create: every field of the row; update: the changed fields with their new values; "
        "delete and erase: empty (ignored). Each value is checked by the field's rule; a value "
        "refused rejects the mutation, naming the field."
    )
    base_version: Annotated[WholeNumber, Field(ge=0, le=MAX_NUMBER)] | None = Field(
        default=None,
        description="The row's version when the client changed it (null for a create).",
        json_schema_extra=_bounds_in_json_schema,
    )
    base_values: dict[str, Any] = _fields_schema(
        "The values of the changed fields before the change (update only)."
    )


class InvalidMutation(_Payload):
    """A pushed item that is not a valid :class:`Mutation` (a wrong shape, a wrong type, text
    that cannot be stored): the server answers it ``rejected`` on its own, the rest of the batch
    goes on. ``seq`` is the item's number when it is usable (a whole number from 1 to
    :data:`MAX_NUMBER`): the item then takes its place in the client's numbering like any
    mutation; otherwise ``seq`` is 0, the item moves no number and is answered with ``seq`` 0.
    ``entity`` and ``id`` are echoed only when they are short printable text (never unbounded
    input). Never sent by a client: only made by :class:`PushRequest` while reading a body."""

    seq: int = 0
    entity: str = ""
    id: str = ""
    #: (field, message) pairs: what is wrong, by field ("" for the item as a whole).
    problems: list[tuple[str, str]] = Field(default_factory=list)


def _usable_seq(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0
    if isinstance(value, float) and not value.is_integer():
        return 0
    number = int(value)
    return number if 1 <= number <= MAX_NUMBER else 0


def _echo(value: Any, limit: int) -> str:
    """Short printable text, echoed back as sent; anything else is answered as ""."""
    if isinstance(value, str) and 0 < len(value) <= limit and value.isprintable():
        return value
    return ""


_FIELD_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,63}$")


def _problem_field(location: tuple[Any, ...]) -> str:
    """The field a pydantic error is about: ``fields.first_name`` → ``first_name``; a field name
    that is not a plain short identifier (arbitrary input) → ""."""
    parts = [p for p in location if isinstance(p, str)]
    if len(parts) >= 2 and parts[0] in ("fields", "base_values"):
        name = parts[1]
    elif parts:
        name = parts[0]
    else:
        return ""
    return name if _FIELD_NAME.match(name) else ""


def _unstorable_fields(item: dict[str, Any]) -> list[str]:
    found: list[str] = []
    for key, value in item.items():
        if isinstance(value, dict) and key in ("fields", "base_values"):
            for name, inner in value.items():
                if not _storable({name: inner}):
                    found.append(name if isinstance(name, str) and _FIELD_NAME.match(name) else "")
        elif not _storable({key: value}):
            found.append(key if isinstance(key, str) and _FIELD_NAME.match(key) else "")
    return found or [""]


def read_item(item: Any) -> Mutation | InvalidMutation:
    """One pushed item, read on its own: a :class:`Mutation`, or an :class:`InvalidMutation`
    saying what is wrong with it (the rest of the batch does not depend on it)."""
    if isinstance(item, Mutation | InvalidMutation):
        return item
    if not isinstance(item, dict):
        return InvalidMutation(problems=[("", "expected a mutation (a JSON object)")])
    seq = _usable_seq(item.get("seq"))
    entity = _echo(item.get("entity"), 32)
    row_id = _echo(item.get("id"), 64)
    if not _storable(item):
        fields = _unstorable_fields(item)
        return InvalidMutation(
            seq=seq,
            entity=entity,
            id=row_id,
            problems=[
                (f, "text must not hold NUL or unpaired surrogate characters") for f in fields
            ],
        )
    try:
        return Mutation.model_validate(item)
    except ValidationError as error:
        problems = [(_problem_field(tuple(e["loc"])), e["msg"][:200]) for e in error.errors()]
        return InvalidMutation(seq=seq, entity=entity, id=row_id, problems=problems[:20])


def _each_item_on_its_own(value: Any) -> Any:
    if not isinstance(value, list):
        raise ValueError("expected a list of mutations")
    return [read_item(item) for item in value]


def _dump_items(items: list[Mutation | InvalidMutation]) -> list[dict[str, Any]]:
    return [i.model_dump(mode="json") for i in items if isinstance(i, Mutation)]


class PushRequest(_Payload):
    """The envelope (``client_id``, the list) is checked as a whole: a bad one is answered 422.
    Each item of ``mutations`` is read on its own (:func:`read_item`): one that is not a valid
    :class:`Mutation` is answered ``rejected`` with its reasons, never a 422 for the batch. The
    schema still describes the items as :class:`Mutation`: what a client must send."""

    client_id: StrictStr = Field(
        min_length=8,
        max_length=64,
        description="The local database's random id; bound to the coordinator on first push.",
    )
    mutations: Annotated[
        list[Any],  # Mutation | InvalidMutation: see items(); the schema says Mutation
        PlainValidator(_each_item_on_its_own, json_schema_input_type=list[Mutation]),
        PlainSerializer(_dump_items, return_type=list[dict[str, Any]]),
    ] = Field(
        description=f"In increasing seq order; at most {MAX_PUSH_MUTATIONS} (else 413) and "
        f"{MAX_PUSH_BYTES} bytes of body (else 413). Each item is answered on its own: one "
        "that is not a valid Mutation is rejected with its reasons, the others go on."
    )

    epoch: Annotated[StrictStr, Field(max_length=MAX_EPOCH_LENGTH)] | None = Field(
        default=None,
        description="The last restore epoch the commons answered a pull with (absent before the "
        "first one). Another one now: nothing is applied and the answer says ``restored``.",
    )

    def items(self) -> list[Mutation | InvalidMutation]:
        """The pushed items, each a :class:`Mutation` or an :class:`InvalidMutation`."""
        return [read_item(item) for item in self.mutations]

    @model_validator(mode="before")
    @classmethod
    def _client_id_is_storable(cls, data: Any) -> Any:
        if isinstance(data, dict) and not _storable(data.get("client_id")):
            raise ValueError("text must not hold NUL or unpaired surrogate characters")
        return data


class FieldReason(_Payload):
    """Why one field of a mutation was refused. ``code`` and ``params`` let the client render the
    reason in its own language (domain.validation's codes, plus ``unknown_entity``, ``not_found``,
    ``bad_id``, ``id_unavailable``, ``op_not_allowed``, ``site_mismatch``)."""

    field: str
    code: str
    params: dict[str, Any] = Field(default_factory=dict)
    message: str = Field(description="The reason in the server's language.")


class ConflictOut(_Payload):
    """A conflict record as pushed answers show it (the same row is pulled as entity ``conflict``)."""

    id: str
    kind: ConflictKind
    field: str
    server_value: Any = None
    client_value: Any = None
    base_value: Any = None
    server_author_id: str | None = Field(
        default=None, description="The coordinator who made the commons' value (null: unknown)."
    )
    server_author_name: str | None = Field(
        default=None, description="Their name, as the commons knows it (null: unknown)."
    )
    server_changed_at: str | None = Field(
        default=None, description="When the commons took that value (UTC ISO 8601; null: unknown)."
    )


class MutationResult(_Payload):
    seq: int
    status: MutationStatus
    entity: str
    id: str
    row: dict[str, Any] | None = Field(
        default=None,
        description="The row's full current state on the server (null when it does not exist or is out of scope).",
    )
    errors: list[FieldReason] = Field(default_factory=list)
    conflicts: list[ConflictOut] = Field(default_factory=list)
    expected_seq: int | None = Field(
        default=None, description="With status gap: the number to resend from."
    )


class PushResponse(_Payload):
    client_id: str
    results: list[MutationResult]
    last_applied_seq: int = Field(
        description="The last mutation number the server has taken from this client (0 if none)."
    )
    restored: bool = Field(
        default=False,
        description="True when the epoch sent is not the commons' (it was restored from a backup "
        "since): nothing was applied and ``results`` is empty. Pull first (the sites come again "
        "from 0, what the commons lost is queued again), then push.",
    )


#: At most this many cursors (site ids) in one pull, each at most this many characters (else 422).
MAX_PULL_CURSORS = 1000
MAX_PULL_CURSOR_LENGTH = 64


class PullRequest(_Request):
    cursors: dict[Annotated[StrictStr, Field(max_length=MAX_PULL_CURSOR_LENGTH)], WholeNumber] = (
        Field(
            default_factory=dict,
            max_length=MAX_PULL_CURSORS,
            description="Site id → cursor (the last sequence number received for that site; 0 or "
            "absent: from the beginning). Sites not granted are ignored and listed in not_granted. "
            f"At most {MAX_PULL_CURSORS} cursors, each key at most {MAX_PULL_CURSOR_LENGTH} "
            "characters (else 422).",
        )
    )
    limit: WholeNumber = Field(default=PULL_LIMIT_DEFAULT, ge=PULL_LIMIT_MIN, le=PULL_LIMIT_MAX)
    epoch: Annotated[StrictStr, Field(max_length=MAX_EPOCH_LENGTH)] | None = Field(
        default=None,
        description="The last epoch the commons answered (absent on a first pull): another one "
        "now means the commons was restored from a backup since.",
    )


class PulledChange(_Payload):
    seq: int = Field(description="The server sequence number of this change.")
    site_id: str = Field(description="The granted site this change came through.")
    entity: str
    id: str
    row: dict[str, Any] | None = Field(
        description="The full current row (tombstones included), or null when the row left your scope."
    )


class PullResponse(_Payload):
    changes: list[PulledChange] = Field(description="In sequence order.")
    cursors: dict[str, int] = Field(
        description="The new cursor of every granted site: store them with the page."
    )
    more: bool = Field(
        description="True when more changes remain: pull again with the new cursors."
    )
    sites: list[str] = Field(description="The ids of the sites granted to you now.")
    not_granted: list[str] = Field(
        default_factory=list,
        description="Sites you sent a cursor for that are not granted to you: evict them.",
    )
    resync_required: list[str] = Field(
        default_factory=list,
        description="Sites whose cursor is older than what the server keeps: pull them again from 0.",
    )
    restored: list[str] = Field(
        default_factory=list,
        description="Among resync_required, the sites pulled again because the commons was "
        "restored from a backup: send again what you hold that it lacks.",
    )
    epoch: str = Field(
        default="",
        description="The commons' restore epoch: store it with the cursors and send it back.",
    )


class CoordinatorOut(_Payload):
    id: str
    email: str
    name: str


class SiteOut(_Payload):
    id: str
    name: str
    city: str
    region: str


class WhoAmI(_Payload):
    coordinator: CoordinatorOut
    sites: list[SiteOut]
    server_id: str = Field(
        description="The commons database's random id; another id means another server."
    )
    protocol_version: int = PROTOCOL_VERSION


class Health(_Payload):
    status: str = "ok"
    protocol_version: int = PROTOCOL_VERSION
    version: str


class ErrorBody(_Payload):
    detail: str


class TooLargeBody(_Payload):
    detail: str
    max_mutations: int = MAX_PUSH_MUTATIONS
    max_bytes: int = MAX_PUSH_BYTES
