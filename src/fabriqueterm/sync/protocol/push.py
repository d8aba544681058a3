"""The push payloads, and the item-by-item reading of a batch (:func:`read_item`: one bad item is
answered ``rejected``, never a 422 for the batch)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import (
    Field,
    PlainSerializer,
    PlainValidator,
    StrictStr,
    ValidationError,
    model_validator,
)

from fabriqueterm.sync.protocol.wire import (
    MAX_EPOCH_LENGTH,
    MAX_NUMBER,
    MAX_PUSH_BYTES,
    MAX_PUSH_MUTATIONS,
    ConflictKind,
    Mutation,
    MutationStatus,
    _Payload,
    _storable,
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
