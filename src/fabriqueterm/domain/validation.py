"""Validation at the boundary: every form, CSV row and HTTP body goes through these models before
it reaches a table. An error names the field, the bad value and what is expected, in the UI language.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Annotated, Any, ClassVar

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from fabriqueterm.domain.enums import (
    Channel,
    Closing,
    CohortStatus,
    Gender,
    LearnerStatus,
    Milestone,
    Outcome,
    PartnerKind,
    PlacementKind,
    QualificationLevel,
    Situation,
)
from fabriqueterm.domain.labels import FIELD_LABELS
from fabriqueterm.domain.rules import DAY, ID, LINE, NOTE, WHOLE, escaped
from fabriqueterm.i18n import N_, _, ngettext

_EXPECTED: dict[str, str] = {
    "missing": N_("a value (this field is required)"),
    "required": N_("a value (this field is required)"),
    "blank": N_("a value (this field is required)"),
    "int": N_("a whole number"),
    "int_range": N_("a whole number between {low} and {high}"),
    "bool": N_("yes or no"),
    "date": N_("a date such as 25/11/2026 or 2026-11-25"),
    "date_range": N_("a date between {low} and {high}"),
    "datetime": N_("a date and time such as 2026-11-25T14:30:00+01:00"),
    "control_character": N_("text without control characters (such as escape or NUL)"),
    "single_line": N_("text on one line, without line breaks or tabs"),
    "uuid": N_(
        "an identifier of 36 lower-case characters such as 0190f3b2-6a1e-7c3d-9b2a-4e5f6a7b8c9d"
    ),
    "choice": N_("one of: {choices}"),
    "email": N_("an email address such as prenom.nom@example.org"),
    "phone": N_("a French phone number such as 06 12 34 56 78 or +33 6 12 34 56 78"),
    "end_after_start": N_("a date after the start date ({start})"),
    "not_before_cohort": N_("a date on or after the cohort's start ({start})"),
    "dropout_needs_date": N_("the date the learner dropped out"),
    "callback_after_call": N_("a date on or after the call ({date})"),
    "callback_only_when_open": N_("no call-back date: this outcome closes the follow-up"),
    "situation_only_when_reached": N_("no situation: the learner was not reached"),
    "other_needs_notes": N_("a note saying what the situation is"),
    "follow_up_closed": N_("an open follow-up (this one is already closed)"),
    "placements_when_reached": N_("“reached”: placements are learned from a learner reached"),
    "unreachable_too_soon": N_(
        "at least {attempts} unanswered attempts over {days} days before closing as unreachable"
    ),
    "unknown_field": N_("no such field: remove it"),
    "unknown_reference": N_("an existing record"),
    "text": N_("text"),
    # Reasons the commons gives for a refused change (sync/protocol/), shown in the UI language.
    "unknown_entity": N_("a kind of record the commons knows"),
    "not_found": N_("an existing record within your sites"),
    "bad_id": N_("a valid identifier"),
    "id_unavailable": N_("a new identifier (this one is already taken)"),
    "op_not_allowed": N_("an operation allowed on this kind of record"),
    "site_mismatch": N_("the same site as the record it belongs to"),
    "invalid": N_("a valid value"),
}


#: The enums a "choice" error can name (its ``enum`` parameter), to list their labels, not their codes.
_CHOICE_ENUMS: dict[str, type[StrEnum]] = {
    enum.__name__: enum
    for enum in (
        Channel,
        Closing,
        CohortStatus,
        Gender,
        LearnerStatus,
        Milestone,
        Outcome,
        PartnerKind,
        PlacementKind,
        QualificationLevel,
        Situation,
    )
}


def choice_labels(enum: type[StrEnum]) -> str:
    """The values of ``enum`` as a person reads them, in the UI language: "woman · man · …"
    (a middle dot, as labels may hold commas: "level 3 (CAP, BEP)")."""
    return " · ".join(member.label for member in enum)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class FieldError:
    """One problem with one field. ``str()`` renders it in the current UI language."""

    field: str
    value: Any
    code: str
    params: tuple[tuple[str, Any], ...] = ()

    @property
    def label(self) -> str:
        return _(FIELD_LABELS.get(self.field, self.field))

    @property
    def expected(self) -> str:
        params = dict(self.params)
        if self.code == "too_long":
            limit = params.get("limit") or 0
            return ngettext(
                "at most {limit} character", "at most {limit} characters", limit
            ).format(limit=limit)
        enum = _CHOICE_ENUMS.get(str(params.get("enum", "")))
        if self.code == "choice" and enum is not None:
            params["choices"] = choice_labels(enum)
        return _(_EXPECTED.get(self.code, self.code)).format(**params)

    def __str__(self) -> str:
        # Escaped: a value holding ESC[2J must not clear the screen it is shown on.
        shown = "" if self.value is None else escaped(str(self.value).strip())
        if shown == "":
            return _("{field}: empty; expected {expected}.").format(
                field=self.label, expected=self.expected
            )
        return _("{field}: “{value}” is not valid; expected {expected}.").format(
            field=self.label, value=shown[:80], expected=self.expected
        )


class DomainValidationError(ValueError):
    """Input that breaks a rule of the domain; nothing was written."""

    def __init__(self, errors: list[FieldError]):
        self.errors = errors
        super().__init__("; ".join(str(e) for e in errors))

    def __str__(self) -> str:  # rendered again so a language switch shows in the new language
        return "\n".join(str(e) for e in self.errors)

    def for_field(self, name: str) -> list[FieldError]:
        return [e for e in self.errors if e.field == name]


# --- normalisers ---------------------------------------------------------------------------

_PHONE_TEXT = re.compile(r"^\+?[0-9\s().\-/]+$")


def parse_date(value: Any) -> Any:
    """Accept a date, an ISO date (2026-11-25) or a French one (25/11/2026, 25-11-2026, 25.11.2026)
    within 1900–2100 (:data:`.rules.DAY`)."""
    return DAY.parse(value)


def normalise_phone(value: Any) -> str | None:
    """A phone number in E.164 (+33612345678). French numbers in their usual written forms
    (06 12 34 56 78, 06.12.34.56.78, +33 6 12 34 56 78, 0033 6…) and international ones with +."""
    if value is None:
        return None
    text = str(value).strip()
    if text == "":
        return None
    if not _PHONE_TEXT.match(text):  # letters would be read as keypad digits: a wrong number stored
        raise PydanticCustomError("phone", "invalid phone")
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, "FR")
    except phonenumbers.NumberParseException:
        raise PydanticCustomError("phone", "invalid phone") from None
    if not phonenumbers.is_valid_number(number):
        raise PydanticCustomError("phone", "invalid phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_email(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    if text == "":
        return None
    if len(text) > 254:
        raise PydanticCustomError("email", "too long")
    try:
        checked = validate_email(text, check_deliverability=False)
    except EmailNotValidError:
        raise PydanticCustomError("email", "invalid email") from None
    return checked.normalized


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _blank_to_none(value: Any) -> Any:
    if isinstance(value, str) and value.strip() == "":
        return None
    return value


# The field types: each carries its rule of domain/rules.py (the one definition of what a field may
# hold, for the app and the commons alike).
DateField = Annotated[date, DAY]
OptionalDate = Annotated[date | None, DAY]
Phone = Annotated[str | None, BeforeValidator(normalise_phone)]
Email = Annotated[str | None, BeforeValidator(normalise_email)]
#: One line of text (names, cities, titles…): no control character, no line break, no tab.
Text = Annotated[str, BeforeValidator(_strip), LINE]
RequiredText = Annotated[str, BeforeValidator(_strip), LINE, Field(min_length=1)]
#: Free text: line breaks and tabs allowed, no other control character.
Notes = Annotated[str, BeforeValidator(_strip), NOTE]
#: The id of another row: a canonical lower-case UUID (the app makes them; nothing types them).
Reference = Annotated[str, ID]
OptionalReference = Annotated[str | None, ID, BeforeValidator(_blank_to_none)]
Whole = Annotated[int, WHOLE]
OptionalWhole = Annotated[int | None, WHOLE, BeforeValidator(_blank_to_none)]


class _Input(BaseModel):
    """Base of every input model: unknown fields are refused, text is trimmed."""

    model_config = ConfigDict(
        extra="forbid", str_strip_whitespace=True, use_enum_values=True, validate_default=True
    )
    entity: ClassVar[str]


class SiteIn(_Input):
    entity = "site"
    name: RequiredText = Field(max_length=200)
    city: RequiredText = Field(max_length=120)
    region: Text = Field(default="", max_length=120)
    operator: Text = Field(default="", max_length=200)
    address: Text = Field(default="", max_length=300)
    active: bool = True


class CohortIn(_Input):
    entity = "cohort"
    site_id: Reference
    name: RequiredText = Field(max_length=200)
    programme: RequiredText = Field(max_length=200)
    start_date: DateField
    end_date: DateField
    capacity: Whole = Field(default=0, ge=0, le=500)
    funders: Text = Field(default="", max_length=500)
    status: CohortStatus = CohortStatus.PLANNED

    @model_validator(mode="after")
    def _ends_after_start(self) -> CohortIn:
        if self.end_date <= self.start_date:
            raise PydanticCustomError(
                "end_after_start", "end before start", {"start": self.start_date.isoformat()}
            )
        return self


class PartnerIn(_Input):
    entity = "partner"
    name: RequiredText = Field(max_length=200)
    kinds: str = Field(max_length=100)
    contact_name: Text = Field(default="", max_length=200)
    email: Email = None
    phone: Phone = None
    city: Text = Field(default="", max_length=120)
    notes: Notes = Field(default="", max_length=4000)

    @field_validator("kinds", mode="before")
    @classmethod
    def _kinds(cls, value: Any) -> str:
        items = value if isinstance(value, list | tuple | set) else str(value or "").split(",")
        kinds = [str(k).strip() for k in items if str(k).strip()]
        allowed = [k.value for k in PartnerKind]
        if not kinds or any(k not in allowed for k in kinds):
            raise PydanticCustomError(
                "choice", "bad kind", {"choices": ", ".join(allowed), "enum": PartnerKind.__name__}
            )
        return ",".join(k for k in allowed if k in kinds)  # canonical order, no duplicates


class PartnerSiteIn(_Input):
    entity = "partner_site"
    partner_id: Reference
    site_id: Reference


class LearnerIn(_Input):
    entity = "learner"
    site_id: Reference
    cohort_id: Reference
    first_name: RequiredText = Field(max_length=100)
    last_name: RequiredText = Field(max_length=100)
    email: Email = None
    phone: Phone = None
    birth_year: OptionalWhole = Field(default=None, ge=1920, le=2020)
    gender: Gender
    qpv: bool = False
    qualification: QualificationLevel
    job_seeker: bool = False
    refugee: bool = False
    prescriber_id: OptionalReference = None
    status: LearnerStatus = LearnerStatus.CANDIDATE
    dropout_date: OptionalDate = None
    dropout_reason: Text = Field(default="", max_length=300)

    @model_validator(mode="after")
    def _dropout_has_date(self) -> LearnerIn:
        if self.status == LearnerStatus.DROPPED_OUT and self.dropout_date is None:
            raise PydanticCustomError("dropout_needs_date", "missing dropout date")
        return self


class PlacementIn(_Input):
    entity = "placement"
    site_id: Reference
    learner_id: Reference
    kind: PlacementKind
    partner_id: OptionalReference = None
    job_title: Text = Field(default="", max_length=200)
    start_date: DateField
    source_followup_id: OptionalReference = None
    notes: Notes = Field(default="", max_length=4000)


class FollowUpIn(_Input):
    entity = "follow_up"
    site_id: Reference
    learner_id: Reference
    milestone: Milestone
    due_date: DateField
    done_date: OptionalDate = None
    channel: Channel | None = None
    #: How it closed; set with ``done_date``.
    outcome: Closing | None = None
    notes: Notes = Field(default="", max_length=4000)

    @field_validator("channel", "outcome", mode="before")
    @classmethod
    def _blank(cls, value: Any) -> Any:
        return _blank_to_none(value)


class FollowUpAttemptIn(_Input):
    entity = "follow_up_attempt"
    site_id: Reference
    learner_id: Reference
    follow_up_id: Reference
    attempted_on: DateField
    channel: Channel = Channel.PHONE
    outcome: Outcome
    callback_date: OptionalDate = None
    situation: Situation | None = None
    notes: Notes = Field(default="", max_length=4000)
    made_by: Text = Field(default="", max_length=200)

    @field_validator("situation", mode="before")
    @classmethod
    def _blank(cls, value: Any) -> Any:
        return _blank_to_none(value)

    @model_validator(mode="after")
    def _consistent(self) -> FollowUpAttemptIn:
        outcome = Outcome(self.outcome)  # use_enum_values: fields hold the codes
        if self.callback_date is not None:
            if not outcome.calls_back:
                raise PydanticCustomError("callback_only_when_open", "no call-back date")
            if self.callback_date < self.attempted_on:
                raise PydanticCustomError(
                    "callback_after_call",
                    "call-back before the call",
                    {"date": self.attempted_on.strftime("%d/%m/%Y")},
                )
        if outcome == Outcome.REACHED:
            # The call form asks for the situation; a call logged before attempts existed has none.
            if self.situation == Situation.OTHER and not self.notes:
                raise PydanticCustomError("other_needs_notes", "a note is needed")
        elif self.situation is not None:
            raise PydanticCustomError("situation_only_when_reached", "no situation")
        return self

    def model_dump(self, **kwargs: Any) -> dict[str, Any]:
        values = super().model_dump(**kwargs)
        values["situation"] = values["situation"] or ""  # stored as text, empty when not reached
        return values


INPUT_MODELS: dict[str, type[_Input]] = {
    m.entity: m
    for m in (
        SiteIn,
        CohortIn,
        PartnerIn,
        PartnerSiteIn,
        LearnerIn,
        PlacementIn,
        FollowUpIn,
        FollowUpAttemptIn,
    )
}

# Cross-field errors are reported on the field a person must change.
_MODEL_ERROR_FIELD = {
    "end_after_start": "end_date",
    "dropout_needs_date": "dropout_date",
    "callback_after_call": "callback_date",
    "callback_only_when_open": "callback_date",
    "situation_only_when_reached": "situation",
    "other_needs_notes": "notes",
}


def _field_error(model: type[_Input], data: dict[str, Any], err: dict[str, Any]) -> FieldError:
    loc = [str(p) for p in err.get("loc", ()) if not isinstance(p, int)]
    kind = err["type"]
    ctx = err.get("ctx") or {}
    field = loc[0] if loc else _MODEL_ERROR_FIELD.get(kind, "")
    # A rule spanning fields reports the value of the field to change, never the whole input.
    value = data.get(field, err.get("input") if loc else None)
    if kind in {"missing"}:
        return FieldError(field, None, "required")
    if kind in {"string_too_short", "too_short"}:
        return FieldError(field, value, "blank")
    if kind == "string_too_long":
        return FieldError(field, value, "too_long", (("limit", ctx.get("max_length")),))
    if kind in {"int_parsing", "int_type", "int_from_float"}:
        return FieldError(field, value, "int")
    if kind in {"greater_than_equal", "less_than_equal"}:
        info = model.model_fields[field].metadata
        low = next((m.ge for m in info if getattr(m, "ge", None) is not None), "")
        high = next((m.le for m in info if getattr(m, "le", None) is not None), "")
        return FieldError(field, value, "int_range", (("low", low), ("high", high)))
    if kind in {"bool_parsing", "bool_type"}:
        return FieldError(field, value, "bool")
    if kind in {
        "date",
        "date_type",
        "date_parsing",
        "date_from_datetime_parsing",
        "date_from_datetime_inexact",
    }:
        return FieldError(field, value, "date")
    if kind == "enum":
        annotation = model.model_fields[field].annotation
        enum_type = next(
            (
                a
                for a in getattr(annotation, "__args__", (annotation,))
                if isinstance(a, type) and issubclass(a, StrEnum)
            ),
            None,
        )
        if enum_type is None:
            return FieldError(field, value, "choice", (("choices", ""),))
        # The codes for a program reading the reason; the labels are shown (FieldError.expected).
        choices = ", ".join(m.value for m in enum_type)
        return FieldError(
            field, value, "choice", (("choices", choices), ("enum", enum_type.__name__))
        )
    if kind == "extra_forbidden":
        return FieldError(field, value, "unknown_field")
    if kind in {"string_type"}:
        return FieldError(field, value, "text")
    if kind in _EXPECTED:
        return FieldError(field, value, kind, tuple(sorted(ctx.items())))
    return FieldError(field, value, kind)


def validate(entity: str, data: dict[str, Any]) -> dict[str, Any]:
    """Validate ``data`` for ``entity``; return the normalised values or raise
    :class:`DomainValidationError` listing every bad field."""
    model = INPUT_MODELS[entity]
    try:
        checked = model.model_validate(data)
    except ValidationError as error:
        raise DomainValidationError(
            [_field_error(model, data, e) for e in error.errors(include_url=False)]
        ) from None
    return checked.model_dump()
