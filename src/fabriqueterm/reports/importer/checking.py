"""Checking the rows: each row's cells turned into the learner repository's input (the words
people type read as the domain's values), validated by the domain, and compared with the learners
already held and the earlier rows of the file to find duplicates. Nothing is written here."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fabriqueterm.domain.enums import CohortStatus, Gender, LearnerStatus, QualificationLevel
from fabriqueterm.domain.models import Cohort
from fabriqueterm.domain.validation import (
    DomainValidationError,
    FieldError,
    parse_date,
    validate,
)
from fabriqueterm.i18n import _
from fabriqueterm.reports.importer.plan import (
    Duplicate,
    ExtraCells,
    ImportFileError,
    ImportPlan,
    ImportRow,
    RowError,
)
from fabriqueterm.reports.importer.reading import decode, map_columns, read_rows, sniff_delimiter
from fabriqueterm.reports.importer.vocabulary import (
    BOOLEANS,
    GENDERS,
    LEVEL_NUMBER,
    LEVELS,
    MONTHS,
    STATUSES,
    level_key,
    plain_key,
)
from fabriqueterm.store.reports import ReportRepository

if TYPE_CHECKING:
    from fabriqueterm.store.db import Store

_SHORT_YEAR = re.compile(r"^\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{2})\s*$")
_WORDY_DATE = re.compile(r"^\s*(\d{1,2})(?:er)?\s+([^\W\d_]+)\.?\s+(\d{4})\s*$")


# --- cells read as values ------------------------------------------------------------------


def normalise_date_text(text: str) -> Any:
    """French ways of writing a date the domain parser does not take: 25/11/26 (two-digit year)
    and 25 novembre 2026 / 1er nov. 2026. Anything else is returned unchanged."""
    match = _SHORT_YEAR.match(text)
    if match:
        day, month, year = (int(g) for g in match.groups())
        century = 2000 if year <= date.today().year % 100 else 1900
        return f"{day:02d}/{month:02d}/{century + year}"
    match = _WORDY_DATE.match(text)
    if match and plain_key(match.group(2)) in MONTHS:
        return f"{int(match.group(1)):02d}/{MONTHS[plain_key(match.group(2))]:02d}/{match.group(3)}"
    return text


def _from_table(table: dict[str, str], text: str) -> str:
    return table.get(plain_key(text), text)


def _from_words(table: dict[str, str], enum: type[StrEnum], text: str) -> str:
    """A cell read through the words people type, else through the labels the app shows (the
    ones an error lists: "non binaire / non précisé")."""
    key = plain_key(text)
    if key in table:
        return table[key]
    labels = {plain_key(member.label): member.value for member in enum}  # type: ignore[attr-defined]
    return labels.get(key, text)


def _qualification(text: str) -> str:
    key = level_key(text)
    if key in LEVELS:
        return LEVELS[key]
    labels = {level_key(level.label): level.value for level in QualificationLevel}
    if key in labels:
        return labels[key]
    match = LEVEL_NUMBER.match(key)
    return match.group(1) if match else text


def _phone(text: str) -> str:
    digits = text.strip()
    # A spreadsheet that took the number for a number dropped its leading 0: 612345678.
    if digits.isdigit() and len(digits) == 9 and digits[0] != "0":
        return "0" + digits
    return text


def _year(text: str) -> str:
    return text.strip().removesuffix(".0")


@dataclass
class _RowConverter:
    """Turns a row's cells into the learner repository's input."""

    mapping: dict[int, str]
    prescribers: dict[str, str]
    cohort: Cohort

    def convert(
        self, cells: list[str], header_size: int
    ) -> tuple[dict[str, Any], list[FieldError]]:
        data: dict[str, Any] = {"cohort_id": self.cohort.id, "site_id": self.cohort.site_id}
        errors: list[FieldError] = []
        extra = [c for c in cells[header_size:] if c.strip()]
        if extra:
            errors.append(ExtraCells("", "; ".join(extra), "extra_cells"))
        for index, target in self.mapping.items():
            raw = cells[index].strip() if index < len(cells) else ""
            if raw == "":
                continue  # the domain's default, or its "required" error
            if target == "gender":
                data["gender"] = _from_words(GENDERS, Gender, raw)
            elif target in ("qpv", "job_seeker", "refugee"):
                data[target] = _from_table(BOOLEANS, raw)
            elif target == "qualification":
                data["qualification"] = _qualification(raw)
            elif target == "status":
                data["status"] = _from_words(STATUSES, LearnerStatus, raw)
            elif target == "phone":
                data["phone"] = _phone(raw)
            elif target == "birth_year":
                data["birth_year"] = _year(raw)
            elif target == "birth_date":
                try:
                    born = parse_date(normalise_date_text(raw))
                except ValueError:
                    errors.append(FieldError("birth_year", raw, "date"))
                else:
                    if "birth_year" not in data:
                        data["birth_year"] = born.year
            elif target == "dropout_date":
                data["dropout_date"] = normalise_date_text(raw)
            elif target == "prescriber":
                partner_id = self.prescribers.get(raw.casefold())
                if partner_id is None:
                    errors.append(FieldError("prescriber_id", raw, "unknown_reference"))
                else:
                    data["prescriber_id"] = partner_id
            else:
                data[target] = raw
        return data, errors


# --- checking the whole file ---------------------------------------------------------------


def resolve_cohort(store: Store, reference: str) -> Cohort:
    """The live cohort whose id is ``reference``, or whose name it is (ignoring case) if only
    one has it; :class:`ImportFileError` listing candidates (id, name, site) otherwise."""
    wanted = reference.strip()
    try:
        return store.cohorts.get(wanted)
    except LookupError:
        pass
    queries = ReportRepository(store)
    cohorts = queries.cohorts()
    matches = [c for c in cohorts if c.name.casefold() == wanted.casefold()]
    if len(matches) == 1:
        return store.cohorts.get(matches[0].id)
    sites = {s.id: s.name for s in queries.sites()}
    # Several with that name: list them; none: list the cohorts people usually import into.
    shown = matches or [c for c in cohorts if c.status != "finished"][:20]
    listing = "\n".join(
        f"  {c.id}  {c.name} ({sites.get(c.site_id, '')}, {CohortStatus(c.status).label})"
        for c in shown
    )
    message = (
        _("Several cohorts are named “{value}”: give the id of one of them:")
        if matches
        else _("No cohort “{value}”. Give a cohort's id or exact name, e.g.:")
    ).format(value=reference)
    raise ImportFileError(message + ("\n" + listing if listing else ""))


def prepare_import(
    store: Store,
    path: Path | str,
    cohort_id: str,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    mapping: Mapping[str, str] | None = None,
) -> ImportPlan:
    """Read ``path`` and check every row for the cohort ``cohort_id`` (an id, or a unique name);
    write nothing.

    Raises :class:`ImportFileError` for problems with the whole file, and for an unknown cohort.
    Bad rows and duplicates are listed in the plan.
    """
    path = Path(path)
    cohort = resolve_cohort(store, cohort_id)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ImportFileError(
            _("{file} cannot be read ({detail}).").format(file=path, detail=error.strerror)
        ) from None
    text, used_encoding = decode(data, encoding)
    if delimiter is not None and len(delimiter) != 1:
        raise ImportFileError(_("The delimiter must be one character, e.g. ; or ,"))
    used_delimiter = delimiter or sniff_delimiter(text)
    header, rows = read_rows(text, used_delimiter)
    columns = map_columns(header, mapping)
    plan = ImportPlan(
        path=path,
        cohort=cohort,
        encoding=used_encoding,
        delimiter=used_delimiter,
        columns={header[i]: target for i, target in columns.items()},
        ignored_columns=[name for i, name in enumerate(header) if i not in columns and name],
        total_rows=len(rows),
        seats_taken=store.cohorts.seats(cohort.id)[0],
    )
    prescribers = {p.name.casefold(): p.id for p in store.partners.all()}
    converter = _RowConverter(columns, prescribers, cohort)
    valid: list[tuple[int, dict[str, Any]]] = []
    for line, cells in rows:
        values, errors = converter.convert(cells, len(header))
        try:
            checked = validate("learner", values)
        except DomainValidationError as error:
            flagged = {e.field for e in errors}
            errors += [_cell_value(e, values) for e in error.errors if e.field not in flagged]
        if errors:
            plan.errors.append(RowError(line, tuple(errors)))
            continue
        valid.append((line, checked))
    held_emails, held_phones = _held_contacts(store, [checked for _line, checked in valid])
    file_emails: dict[str, int] = {}
    file_phones: dict[str, int] = {}
    for line, checked in valid:
        duplicate = _duplicate(line, checked, held_emails, held_phones, file_emails, file_phones)
        if duplicate is not None:
            plan.duplicates.append(duplicate)
            continue
        if checked.get("email"):
            file_emails[checked["email"].casefold()] = line
        if checked.get("phone"):
            file_phones[checked["phone"]] = line
        plan.rows.append(ImportRow(line, checked))
    return plan


def _held_contacts(
    store: Store, rows: list[dict[str, Any]]
) -> tuple[dict[str, tuple[str, str]], dict[str, tuple[str, str]]]:
    """Email (case-folded) and phone -> (id, name) of the learners already holding one of ``rows``'
    contacts: one query for the whole file, not the 100,000 contacts of the database."""
    emails = sorted({row["email"] for row in rows if row.get("email")})
    phones = sorted({row["phone"] for row in rows if row.get("phone")})
    held_emails: dict[str, tuple[str, str]] = {}
    held_phones: dict[str, tuple[str, str]] = {}
    for learner in store.learners.holding_contacts(emails, phones):
        name = f"{learner.first_name} {learner.last_name}".strip()
        if learner.email:
            held_emails.setdefault(learner.email.casefold(), (learner.id, name))
        if learner.phone:
            held_phones.setdefault(learner.phone, (learner.id, name))
    return held_emails, held_phones


def _cell_value(error: FieldError, values: dict[str, Any]) -> FieldError:
    # A rule spanning fields (a dropout needs its date) reports the whole row as its value.
    if isinstance(error.value, dict):
        return FieldError(error.field, values.get(error.field), error.code, error.params)
    return error


def _duplicate(
    line: int,
    values: dict[str, Any],
    held_emails: dict[str, tuple[str, str]],
    held_phones: dict[str, tuple[str, str]],
    file_emails: dict[str, int],
    file_phones: dict[str, int],
) -> Duplicate | None:
    email = (values.get("email") or "").casefold()
    phone = values.get("phone") or ""
    for name, key, held, in_file in (
        ("email", email, held_emails, file_emails),
        ("phone", phone, held_phones, file_phones),
    ):
        if not key:
            continue
        shown = values[name]
        if key in held:
            existing_id, existing_name = held[key]
            return Duplicate(
                line, name, shown, existing_id=existing_id, existing_name=existing_name
            )
        if key in in_file:
            return Duplicate(line, name, shown, first_line=in_file[key])
    return None
