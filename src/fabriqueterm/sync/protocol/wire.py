"""What every payload shares: the bounds, the value rules, the base models, the mutation (the
protocol itself: :mod:`fabriqueterm.sync.protocol`)."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictStr,
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
