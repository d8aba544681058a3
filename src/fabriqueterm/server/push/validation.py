"""Validating a pushed mutation: the server's own reasons beside the domain's validation codes,
and a rejection (:class:`Rejected`) that carries them back to the client, never a 500."""

from __future__ import annotations

import logging
from typing import Any

from pydantic_core import PydanticCustomError

from fabriqueterm.domain.labels import field_label
from fabriqueterm.domain.rules import MOMENT, is_canonical_uuid
from fabriqueterm.domain.validation import DomainValidationError, FieldError, validate
from fabriqueterm.i18n import N_, _
from fabriqueterm.server.rows import json_value
from fabriqueterm.sync.protocol import ConflictResolution, FieldReason

log = logging.getLogger(__name__)

#: Server-side reasons, beside the validation codes of domain.validation.
SERVER_REASONS: dict[str, str] = {
    "unknown_entity": N_("no such kind of record"),
    "bad_id": N_("the id is not a UUID"),
    "not_found": N_("no such record"),
    "id_unavailable": N_("this id cannot be used: make a new one"),
    "op_not_allowed": N_("this operation is not allowed on this kind of record"),
    "site_mismatch": N_("the site must be the site of the record it belongs to"),
    "unknown_reference": N_("no such record"),
    "invalid": N_("the value is not valid"),
}


class Rejected(Exception):
    """A mutation refused, with the reasons of each field."""

    def __init__(self, reasons: list[FieldReason]):
        self.reasons = reasons


def _reason(field: str, code: str, **params: Any) -> FieldReason:
    reason = _(SERVER_REASONS.get(code, code))
    return FieldReason(
        field=field,
        code=code,
        params=params,
        message=f"{field_label(field)}: {reason}" if field else reason,
    )


def invalid_item(problems: list[tuple[str, str]]) -> list[FieldReason]:
    """The reasons of a pushed item that is not a valid mutation (``InvalidMutation``): each
    field named, in the server's language; what pydantic said is not echoed (it is English only
    and may quote the input)."""
    fields = list(dict.fromkeys(field for field, _message in problems)) or [""]
    return [_reason(field, "invalid") for field in fields]


def invalid_mutation() -> Rejected:
    """A mutation whose decision or write failed unexpectedly: refused on its own."""
    return reject("", "invalid")


def reject(field: str, code: str, **params: Any) -> Rejected:
    return Rejected([_reason(field, code, **params)])


def _from_validation(error: DomainValidationError) -> Rejected:
    reasons = []
    for item in error.errors:
        try:
            message = str(item)
        except Exception:  # a reason that cannot be rendered still names its field
            message = item.field
        reasons.append(
            FieldReason(
                field=item.field,
                code=item.code,
                params=json_value(dict(item.params)),
                message=message,
            )
        )
    return Rejected(reasons)


def checked(entity: str, data: dict[str, Any]) -> dict[str, Any]:
    """``validation.validate``, with any failure turned into a rejection (never a 500)."""
    try:
        return validate(entity, data)
    except DomainValidationError as error:
        raise _from_validation(error) from None
    except (
        Exception
    ) as error:  # validators are not meant to raise anything else; if one does, refuse
        log.warning(
            "validation of a %s raised %s", entity, type(error).__name__
        )  # no values: personal data
        raise reject("", "invalid") from None


def checked_conflict(data: dict[str, Any]) -> dict[str, Any]:
    """A conflict row: only its resolution can change."""
    allowed = {"resolved_at", "resolution"}
    unknown = [k for k in data if k not in allowed]
    if unknown:
        raise Rejected([_reason(k, "unknown_field") for k in unknown])
    values: dict[str, Any] = {}
    if "resolution" in data:
        choices = [r.value for r in ConflictResolution]
        if data["resolution"] not in [*choices, ""]:
            raise reject("resolution", "choice", choices=", ".join(choices))
        values["resolution"] = data["resolution"]
    if "resolved_at" in data:
        # domain/rules.py's MOMENT: 1900–2100 once in UTC (no OverflowError), stored in UTC.
        try:
            values["resolved_at"] = MOMENT.parse(data["resolved_at"])
        except PydanticCustomError as error:
            params = tuple(sorted((error.context or {}).items()))
            raise _from_validation(
                DomainValidationError(
                    [FieldError("resolved_at", data["resolved_at"], error.type, params)]
                )
            ) from None
    return values


def is_uuid(text: str) -> bool:
    """A UUID written the canonical way (36 lower-case characters): domain/rules.py's rule."""
    return is_canonical_uuid(text)
