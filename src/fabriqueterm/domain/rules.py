"""The input rules, defined once: what a field may hold, whoever sends it. The app's forms, CSV
import and repositories check their input with them (through :mod:`.validation`), the commons
applies the same models to every pushed mutation, and the protocol's JSON schema
(:mod:`fabriqueterm.sync.protocol`) publishes the same patterns and bounds.

Each rule is an object placed in a field's ``Annotated`` type: it validates (a pydantic after- or
plain validator) and describes itself in JSON schema; :func:`field_rules` lists the rule of every
field of a set of models, so a test derives its bad values from the rules themselves.

- :data:`LINE` — one line of text: no control character at all (C0 U+0000–U+001F, DEL U+007F,
  C1 U+0080–U+009F), so no line break and no tab either. Names, cities, job titles…
- :data:`NOTE` — free text: the same, but line breaks (U+000A) and tabs (U+0009) are allowed.
- :data:`DAY` — a real calendar date, ``YYYY-MM-DD`` (or the French ``DD/MM/YYYY`` the forms
  accept), within :data:`FIRST_DAY`–:data:`LAST_DAY`. "20260105" is not a date here.
- :data:`MOMENT` — an ISO 8601 date and time with an offset, in the same range once in UTC.
- :data:`ID` — a canonical UUID: 36 lower-case characters. An upper-case one is refused, never
  silently lower-cased.
- :data:`WHOLE` — a whole number: an integer (12, or 12.0 as JSON allows) or digits typed in a form
  ("12"); never ``true``, 12.5 or "12 ans".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

#: The first and last day a date may hold.
FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2100, 12, 31)

#: Control characters by class (the ranges a text rule refuses).
C0 = "".join(chr(c) for c in range(0x00, 0x20))
DEL = "\x7f"
C1 = "".join(chr(c) for c in range(0x80, 0xA0))
#: The control characters free text (notes) may hold: line break and tab.
NOTE_ALLOWED = "\n\t"

#: JSON-schema (ECMA 262) and Python patterns of the text rules.
LINE_PATTERN = r"^[^\x00-\x1f\x7f-\x9f]*$"
NOTE_PATTERN = r"^[^\x00-\x08\x0b-\x1f\x7f-\x9f]*$"
#: A canonical UUID (lower case, with its four hyphens).
UUID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
#: Text any string of a mutation may hold (the widest text rule: a note).
TEXT_PATTERN = NOTE_PATTERN

_UUID = re.compile(UUID_PATTERN)
_ISO_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_FRENCH_DAY = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")
_DIGITS = re.compile(r"^[+-]?\d{1,15}$")


def is_canonical_uuid(value: Any) -> bool:
    """``value`` is a UUID written the canonical way: 36 lower-case characters."""
    return isinstance(value, str) and _UUID.match(value) is not None


def escaped(text: str) -> str:
    """``text`` safe to write to a terminal: every control character shown as ``\\x1b``,
    ``\\n``… (a header cell holding ESC[2J must not clear the screen)."""
    return "".join(
        ch.encode("unicode_escape").decode("ascii") if _is_control(ch) else ch for ch in text
    )


def _is_control(ch: str) -> bool:
    return ch in C0 or ch == DEL or ch in C1


@dataclass(frozen=True)
class TextRule:
    """Text without control characters; ``multiline``: line breaks and tabs allowed."""

    multiline: bool

    @property
    def pattern(self) -> str:
        return NOTE_PATTERN if self.multiline else LINE_PATTERN

    @property
    def allowed(self) -> str:
        return NOTE_ALLOWED if self.multiline else ""

    def check(self, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        for ch in value:
            if _is_control(ch) and ch not in self.allowed:
                code = "single_line" if ch in NOTE_ALLOWED else "control_character"
                raise PydanticCustomError(code, "text holding a control character")
        return value

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self.check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return _with(handler(schema), pattern=self.pattern)


@dataclass(frozen=True)
class DayRule:
    """A calendar date within :data:`FIRST_DAY`–:data:`LAST_DAY`."""

    low: date = FIRST_DAY
    high: date = LAST_DAY

    def parse(self, value: Any) -> date | None:
        """A date, an ISO date (2026-11-25) or a French one (25/11/2026, 25-11-2026, 25.11.2026);
        blank is None. Raises a ``date`` or ``date_range`` error."""
        if isinstance(value, datetime):
            value = value.date()
        if value is None or isinstance(value, date):
            day = value
        elif isinstance(value, str):
            text = value.strip()
            if text == "":
                return None
            iso, french = _ISO_DAY.match(text), _FRENCH_DAY.match(text)
            try:
                if iso:
                    year, month, number = (int(g) for g in iso.groups())
                elif french:
                    number, month, year = (int(g) for g in french.groups())
                else:
                    raise ValueError(text)
                day = date(year, month, number)
            except ValueError:
                raise PydanticCustomError("date", "invalid date") from None
        else:
            raise PydanticCustomError("date", "invalid date")
        if day is not None and not self.low <= day <= self.high:
            raise PydanticCustomError("date_range", "date out of range", self.params)
        return day

    @property
    def params(self) -> dict[str, str]:
        return {"low": self.low.strftime("%d/%m/%Y"), "high": self.high.strftime("%d/%m/%Y")}

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_before_validator_function(self.parse, handler(source))


@dataclass(frozen=True)
class MomentRule:
    """An ISO 8601 date and time (with an offset; none means UTC) whose UTC value lies within
    :data:`FIRST_DAY` 00:00 – :data:`LAST_DAY` 23:59:59.999999 UTC."""

    low: date = FIRST_DAY
    high: date = LAST_DAY

    def parse(self, value: Any) -> datetime | None:
        """The UTC datetime of ``value``; raises a ``datetime`` or ``datetime_range`` error."""
        if value is None:
            return None
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value.strip())
            except ValueError:
                raise PydanticCustomError("datetime", "invalid date and time") from None
        if not isinstance(value, datetime):
            raise PydanticCustomError("datetime", "invalid date and time")
        offset = value.utcoffset() or timedelta(0)
        # Compared before converting: 0001-01-01T00:00+01:00 has no UTC value (OverflowError).
        naive = value.replace(tzinfo=None)
        first = datetime.combine(self.low, time.min) + offset
        last = datetime.combine(self.high, time.max) + offset
        if not first <= naive <= last:
            raise PydanticCustomError("date_range", "date out of range", self.params)
        return (naive - offset).replace(tzinfo=UTC)

    @property
    def params(self) -> dict[str, str]:
        return DayRule(self.low, self.high).params

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_before_validator_function(self.parse, handler(source))


@dataclass(frozen=True)
class IdRule:
    """A canonical lower-case UUID (a reference to another row; the id of a mutation is checked
    by the commons with :func:`is_canonical_uuid`, answered ``bad_id``)."""

    def check(self, value: Any) -> Any:
        if value is not None and not is_canonical_uuid(value):
            raise PydanticCustomError("uuid", "not a canonical lower-case UUID")
        return value

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_before_validator_function(self.check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return _with(handler(schema), pattern=UUID_PATTERN)


@dataclass(frozen=True)
class WholeRule:
    """A whole number: an int (not a bool), a float without fraction (JSON's 12.0), or digits as
    a form types them ("12", " 12 "). Anything else is an ``int`` error."""

    def parse(self, value: Any) -> Any:
        if isinstance(value, bool):
            raise PydanticCustomError("int", "not a whole number")
        if isinstance(value, int) or value is None:
            return value
        if isinstance(value, float):
            if value.is_integer():
                return int(value)
            raise PydanticCustomError("int", "not a whole number")
        if isinstance(value, str) and _DIGITS.match(value.strip()):
            return int(value.strip())
        raise PydanticCustomError("int", "not a whole number")

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_before_validator_function(self.parse, handler(source))


def _with(schema: JsonSchemaValue, **extra: Any) -> JsonSchemaValue:
    """``schema`` with ``extra`` on its string (or its non-null) member."""
    for member in schema.get("anyOf", ()):
        if member.get("type") != "null":
            member.update(extra)
            return schema
    schema.update(extra)
    return schema


LINE = TextRule(multiline=False)
NOTE = TextRule(multiline=True)
DAY = DayRule()
MOMENT = MomentRule()
ID = IdRule()
WHOLE = WholeRule()

Rule = TextRule | DayRule | MomentRule | IdRule | WholeRule


def field_rules(models: dict[str, Any]) -> list[tuple[str, str, Rule]]:
    """(entity, field, rule) for every field of ``models`` (entity → pydantic model) that a rule
    of this module governs: the rule set a test derives its bad values from."""
    found = []
    for entity, model in models.items():
        for name, info in model.model_fields.items():
            for item in info.metadata:
                if isinstance(item, Rule):
                    found.append((entity, name, item))
    return found
