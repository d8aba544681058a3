"""Import learners into a cohort from a CSV file exported by a spreadsheet.

Real files come from partners' spreadsheets, so the reader is lenient about the form and strict
about the content:

- cells separated by ``;`` or ``,`` (or a tab), found from the header line;
- text in UTF-8 (with or without a byte-order mark) or Windows-1252, found by trying UTF-8 first;
- column names in French or English ("Prénom" / "First name", "Courriel" / "E-mail"…), with a
  mapping the person can override (``{"Prénom usuel": "first_name", "Remarques": ""}``);
- values as people type them: "Femme" / "H", "oui" / "non", "bac+2", "25/11/26", "25 nov. 2026",
  a phone number whose leading 0 the spreadsheet dropped.

Every row is then validated by the domain (:func:`fabriqueterm.domain.validation.validate`); each
bad row is reported with its line number in the file, the field and the reason. Importing is in
two steps so a screen can show a preview: :func:`prepare_import` reads and checks everything and
writes nothing; :func:`apply_import` writes the checked rows in bulk through the learner repository
(:meth:`~fabriqueterm.store.repositories.LearnerRepository.create_many`), in one transaction, so
each row gets its outbox mutation and syncs.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fabriqueterm.domain.models import Cohort
from fabriqueterm.domain.validation import (
    FIELD_LABELS,
    DomainValidationError,
    FieldError,
    parse_date,
    validate,
)
from fabriqueterm.i18n import _
from fabriqueterm.store.reports import ReportRepository

if TYPE_CHECKING:
    from fabriqueterm.store.db import Store

#: Fields a column can be read as. ``prescriber`` is a partner's name; ``birth_date`` a date whose
#: year becomes the birth year.
TARGETS = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "birth_year",
    "birth_date",
    "gender",
    "qpv",
    "qualification",
    "job_seeker",
    "refugee",
    "prescriber",
    "status",
    "dropout_date",
    "dropout_reason",
)
#: Fields without which no row can be valid.
REQUIRED = ("first_name", "last_name", "gender", "qualification")
#: Values of a mapping that mean "ignore this column".
IGNORE = ("", "-", "ignore", "ignorer")


# Cells repeat ("oui", "Femme", "bac+2"…): memoised, the keys cost nothing on a long file.
@lru_cache(maxsize=4096)
def _key(text: str) -> str:
    """Lower case, no accents, letters and digits only: "Réfugié·e" -> "refugiee"."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return "".join(ch for ch in plain.casefold() if ch.isalnum())


@lru_cache(maxsize=1024)
def _level_key(text: str) -> str:
    """Like ``_key`` but keeping "+": "Bac + 2" -> "bac+2"."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed.casefold() if ch.isalnum() or ch == "+")


def _synonyms(table: dict[str, tuple[str, ...]]) -> dict[str, str]:
    return {_key(word): target for target, words in table.items() for word in words}


# Column names people use, French and English (compared through ``_key``).
_COLUMNS = _synonyms(
    {
        "first_name": (
            "prénom",
            "prénoms",
            "prénom usuel",
            "first name",
            "firstname",
            "given name",
            "forename",
        ),
        "last_name": (
            "nom",
            "nom de famille",
            "nom d'usage",
            "nom de naissance",
            "last name",
            "lastname",
            "surname",
            "family name",
        ),
        "email": (
            "courriel",
            "e-mail",
            "email",
            "mail",
            "adresse mail",
            "adresse e-mail",
            "adresse courriel",
            "adresse électronique",
            "email address",
            "e-mail address",
        ),
        "phone": (
            "téléphone",
            "tél",
            "tel",
            "portable",
            "mobile",
            "téléphone portable",
            "numéro de téléphone",
            "phone",
            "phone number",
            "mobile phone",
            "telephone",
        ),
        "birth_year": ("année de naissance", "année naissance", "birth year", "year of birth"),
        "birth_date": (
            "date de naissance",
            "né·e le",
            "née le",
            "né le",
            "birth date",
            "date of birth",
            "birthdate",
        ),
        "gender": ("genre", "sexe", "civilité", "gender", "sex"),
        "qpv": (
            "qpv",
            "quartier prioritaire",
            "résident qpv",
            "habite en qpv",
            "habite un qpv",
            "quartier prioritaire de la ville",
            "lives in qpv",
            "priority neighbourhood",
        ),
        "qualification": (
            "niveau",
            "niveau de diplôme",
            "niveau de qualification",
            "niveau d'études",
            "niveau de formation",
            "diplôme",
            "dernier diplôme",
            "qualification",
            "qualification level",
            "level",
            "education level",
        ),
        "job_seeker": (
            "demandeur d'emploi",
            "demandeuse d'emploi",
            "demandeur·euse d'emploi",
            "demandeur·se d'emploi",
            "de",
            "inscrit france travail",
            "inscrit·e france travail",
            "inscrit pôle emploi",
            "job seeker",
            "registered job seeker",
            "jobseeker",
        ),
        "refugee": (
            "réfugié·e",
            "réfugié",
            "réfugiée",
            "statut de réfugié",
            "bpi",
            "protection internationale",
            "refugee",
            "refugee status",
        ),
        "prescriber": (
            "prescripteur",
            "prescripteur·rice",
            "prescriptrice",
            "structure prescriptrice",
            "orienté·e par",
            "orienté par",
            "prescriber",
            "referred by",
        ),
        "status": ("statut", "situation", "état", "status"),
        "dropout_date": (
            "date d'abandon",
            "date abandon",
            "abandon le",
            "dropout date",
            "date of dropout",
        ),
        "dropout_reason": (
            "motif d'abandon",
            "motif abandon",
            "raison de l'abandon",
            "motif",
            "dropout reason",
            "reason for dropout",
        ),
    }
)

_GENDERS = _synonyms(
    {
        "F": (
            "f",
            "femme",
            "féminin",
            "feminin",
            "fille",
            "female",
            "woman",
            "w",
            "mme",
            "madame",
            "mlle",
        ),
        "M": ("m", "h", "homme", "masculin", "garçon", "male", "man", "monsieur", "mr", "m."),
        "X": (
            "x",
            "autre",
            "non binaire",
            "non-binaire",
            "nb",
            "non précisé",
            "non renseigné",
            "other",
            "non-binary",
            "not stated",
        ),
    }
)
_BOOLEANS = _synonyms(
    {
        "true": ("oui", "o", "yes", "y", "vrai", "true", "1", "x", "✓"),
        "false": ("non", "n", "no", "faux", "false", "0"),
    }
)
_STATUSES = _synonyms(
    {
        "candidate": (
            "candidat",
            "candidate",
            "candidat·e",
            "candidat(e)",
            "en attente",
            "positionné·e",
        ),
        "enrolled": (
            "inscrit",
            "inscrite",
            "inscrit·e",
            "inscrit(e)",
            "en formation",
            "entré·e",
            "entré",
            "entrée",
            "enrolled",
            "in training",
        ),
        "dropped_out": (
            "abandon",
            "a abandonné",
            "abandonné·e",
            "abandonné",
            "abandonnée",
            "sortie anticipée",
            "dropped out",
            "dropout",
            "dropped_out",
        ),
        "graduated": ("diplômé", "diplômée", "diplômé·e", "diplômé(e)", "graduated"),
        "certified": ("certifié", "certifiée", "certifié·e", "certifié(e)", "certified"),
    }
)
# Qualification levels: 2019 nomenclature, the older roman one (V = CAP…), and diplomas' names.
_LEVELS = {
    _level_key(word): level
    for level, words in {
        "none": (
            "sans diplôme",
            "sans",
            "aucun",
            "aucun diplôme",
            "none",
            "no diploma",
            "infra",
            "infra 3",
            "infra v",
            "niveau infra 3",
            "vi",
            "v bis",
            "vbis",
            "brevet",
            "cfg",
            "dnb",
        ),
        "3": ("cap", "bep", "cap/bep", "cap bep", "v", "niveau v"),
        "4": (
            "bac",
            "baccalauréat",
            "bac pro",
            "bac professionnel",
            "bac général",
            "bac technologique",
            "bp",
            "daeu",
            "iv",
            "niveau iv",
        ),
        "5": ("bac+2", "bts", "dut", "deust", "iii", "niveau iii"),
        "6": (
            "bac+3",
            "bac+4",
            "licence",
            "licence pro",
            "licence professionnelle",
            "bachelor",
            "but",
            "ii",
            "niveau ii",
        ),
        "7": ("bac+5", "master", "ingénieur", "diplôme d'ingénieur", "i", "niveau i"),
        "8": ("bac+8", "doctorat", "phd", "doctorate"),
    }.items()
    for word in words
}
_LEVEL_NUMBER = re.compile(r"^(?:niveau|niv|level|n)?([3-8])$")

_MONTHS = {
    _key(name): number
    for number, names in enumerate(
        (
            ("janvier", "janv", "jan", "january"),
            ("février", "fevrier", "févr", "fevr", "fev", "feb", "february"),
            ("mars", "mar", "march"),
            ("avril", "avr", "apr", "april"),
            ("mai", "may"),
            ("juin", "jun", "june"),
            ("juillet", "juil", "jul", "july"),
            ("août", "aout", "aug", "august"),
            ("septembre", "sept", "sep", "september"),
            ("octobre", "oct", "october"),
            ("novembre", "nov", "november"),
            ("décembre", "decembre", "déc", "dec", "december"),
        ),
        start=1,
    )
    for name in names
}
_SHORT_YEAR = re.compile(r"^\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{2})\s*$")
_WORDY_DATE = re.compile(r"^\s*(\d{1,2})(?:er)?\s+([^\W\d_]+)\.?\s+(\d{4})\s*$")


class ImportFileError(Exception):
    """The file cannot be imported as a whole (unreadable, no header, a required column missing,
    a bad mapping); the message says what to do."""


@dataclass(frozen=True)
class ExtraCells(FieldError):
    """Cells beyond the header's last column (often a ";" typed inside a value)."""

    @property
    def label(self) -> str:
        return _("cells after the last column")

    @property
    def expected(self) -> str:
        return _("nothing there (the header has no column for them)")


@dataclass(frozen=True)
class RowError:
    """A bad row: its line in the file (the header is line 1) and what is wrong with it."""

    line: int
    errors: tuple[FieldError, ...]

    @property
    def fields(self) -> list[str]:
        return [e.field for e in self.errors]

    def __str__(self) -> str:
        return _("line {line}: {problems}").format(
            line=self.line, problems=" ".join(str(e) for e in self.errors)
        )


@dataclass(frozen=True)
class Duplicate:
    """A row not imported because its email or phone is already held (or earlier in the file)."""

    line: int
    #: "email" or "phone".
    field: str
    value: str
    #: The learner already in the database, if any.
    existing_id: str | None = None
    existing_name: str | None = None
    #: The earlier line of the same file, if any.
    first_line: int | None = None

    def __str__(self) -> str:
        label = _(FIELD_LABELS[self.field])
        if self.first_line is not None:
            return _("line {line}: same {field} “{value}” as line {first}; imported once.").format(
                line=self.line, field=label, value=self.value, first=self.first_line
            )
        return _(
            "line {line}: same {field} “{value}” as {name} ({id}), already held; not imported."
        ).format(
            line=self.line,
            field=label,
            value=self.value,
            name=self.existing_name,
            id=self.existing_id,
        )


@dataclass(frozen=True)
class ImportRow:
    """A valid row: its line and the values the learner repository will write."""

    line: int
    values: dict[str, Any]


@dataclass
class ImportPlan:
    """What an import would do: read and checked, nothing written yet."""

    path: Path
    cohort: Cohort
    encoding: str
    delimiter: str
    #: Column header -> field it is read as.
    columns: dict[str, str]
    #: Columns read as nothing (unknown names, or ignored by the mapping).
    ignored_columns: list[str]
    rows: list[ImportRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    duplicates: list[Duplicate] = field(default_factory=list)
    #: Data rows in the file (blank lines excluded).
    total_rows: int = 0

    @property
    def ok(self) -> bool:
        """True when every row is valid (duplicates are skipped, not errors)."""
        return not self.errors


@dataclass(frozen=True)
class ImportResult:
    plan: ImportPlan
    #: Ids of the learners created (empty when nothing was written).
    created_ids: list[str]

    @property
    def written(self) -> bool:
        return bool(self.created_ids)


# --- reading the file --------------------------------------------------------------------------

ENCODING_NAMES = {"utf-8-sig": "UTF-8 (BOM)", "utf-8": "UTF-8", "cp1252": "Windows-1252"}


def decode(data: bytes, encoding: str | None = None) -> tuple[str, str]:
    """The text of ``data`` and the encoding used: ``encoding`` if given, else UTF-8 (with or
    without a byte-order mark), else Windows-1252."""
    if encoding:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise ImportFileError(
                _("Unknown encoding “{value}”; try utf-8 or cp1252.").format(value=encoding)
            ) from None
        try:
            return data.decode(encoding).removeprefix("\ufeff"), encoding
        except UnicodeDecodeError as error:
            raise ImportFileError(
                _(
                    "The file is not in {encoding} (byte {position}); try another --encoding, e.g. utf-8 or cp1252."
                ).format(encoding=encoding, position=error.start)
            ) from None
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data.decode("utf-8-sig"), "utf-8-sig"
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:  # bytes cp1252 leaves undefined: latin-1 reads everything
        return data.decode("latin-1"), "latin-1"


def sniff_delimiter(text: str) -> str:
    """``;``, ``,`` or a tab: the one that splits the header line into the most cells (``;`` on a tie,
    the French spreadsheets' default)."""
    header = next((line for line in text.splitlines() if line.strip()), "")
    best, cells = ";", 1
    for candidate in (";", ",", "\t"):
        count = len(next(csv.reader([header], delimiter=candidate), []))
        if count > cells:
            best, cells = candidate, count
    return best


def read_rows(text: str, delimiter: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header and the data rows with the line each starts on (quoted cells may span lines);
    blank rows are dropped."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    previous = 0
    try:
        for cells in reader:
            start, previous = previous + 1, reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if header is None:
                header = [cell.strip() for cell in cells]
                continue
            rows.append((start, cells))
    except csv.Error as error:
        raise ImportFileError(
            _("Line {line} cannot be read: {detail}.").format(line=reader.line_num, detail=error)
        ) from None
    if header is None:
        raise ImportFileError(
            _("The file is empty: expected a header line, then one learner per line.")
        )
    return header, rows


def _target_of(text: str) -> str | None:
    target = text.strip()
    if target.casefold() in IGNORE:
        return None
    aliases = {"prescriber_id": "prescriber"}
    target = aliases.get(target, target)
    if target not in TARGETS:
        raise ImportFileError(
            _(
                "“{value}” is not a field a column can be read as; expected one of: {choices} (or nothing to ignore the column)."
            ).format(value=text, choices=", ".join(TARGETS))
        )
    return target


def map_columns(header: list[str], overrides: Mapping[str, str] | None = None) -> dict[int, str]:
    """Column index -> field, from the header's names and the person's ``overrides`` (column name
    -> field, or "" to ignore it). :class:`ImportFileError` when a required field has no column,
    two columns give the same field, or an override names a column the file does not have."""
    overrides = dict(overrides or {})
    by_key = {_key(name): index for index, name in enumerate(header)}
    chosen: dict[int, str | None] = {}
    for column, target in overrides.items():
        index = (
            header.index(column.strip()) if column.strip() in header else by_key.get(_key(column))
        )
        if index is None:
            raise ImportFileError(
                _(
                    "The mapping names a column “{column}” the file does not have. Columns found: {found}."
                ).format(column=column, found=", ".join(header))
            )
        chosen[index] = _target_of(target)
    for index, name in enumerate(header):
        if index in chosen:
            continue
        without_brackets = re.sub(r"\(.*?\)", "", name)
        chosen[index] = _COLUMNS.get(_key(without_brackets)) or _COLUMNS.get(_key(name))
    mapping: dict[int, str] = {}
    seen: dict[str, int] = {}
    for index, target in chosen.items():
        if target is None:
            continue
        if target in seen:
            raise ImportFileError(
                _(
                    'Columns “{first}” and “{second}” are both read as {field}; ignore one with --map "{second}=".'
                ).format(
                    first=header[seen[target]],
                    second=header[index],
                    field=_(FIELD_LABELS.get(target, target)),
                )
            )
        seen[target] = index
        mapping[index] = target
    missing = [t for t in REQUIRED if t not in seen]
    if missing:
        labels = ", ".join(_(FIELD_LABELS[t]) for t in missing)
        raise ImportFileError(
            _(
                'No column for: {fields}. Columns found: {found}. Name the column with --map "Column=field" (fields: {choices}).'
            ).format(fields=labels, found=", ".join(header), choices=", ".join(TARGETS))
        )
    return dict(sorted(mapping.items()))


# --- values ----------------------------------------------------------------------------------


def normalise_date_text(text: str) -> Any:
    """French ways of writing a date the domain parser does not take: 25/11/26 (two-digit year)
    and 25 novembre 2026 / 1er nov. 2026. Anything else is returned unchanged."""
    match = _SHORT_YEAR.match(text)
    if match:
        day, month, year = (int(g) for g in match.groups())
        century = 2000 if year <= date.today().year % 100 else 1900
        return f"{day:02d}/{month:02d}/{century + year}"
    match = _WORDY_DATE.match(text)
    if match and _key(match.group(2)) in _MONTHS:
        return f"{int(match.group(1)):02d}/{_MONTHS[_key(match.group(2))]:02d}/{match.group(3)}"
    return text


def _from_table(table: dict[str, str], text: str) -> str:
    return table.get(_key(text), text)


def _qualification(text: str) -> str:
    key = _level_key(text)
    if key in _LEVELS:
        return _LEVELS[key]
    match = _LEVEL_NUMBER.match(key)
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
                data["gender"] = _from_table(_GENDERS, raw)
            elif target in ("qpv", "job_seeker", "refugee"):
                data[target] = _from_table(_BOOLEANS, raw)
            elif target == "qualification":
                data["qualification"] = _qualification(raw)
            elif target == "status":
                data["status"] = _from_table(_STATUSES, raw)
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


# --- the two steps -------------------------------------------------------------------------------


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
        f"  {c.id}  {c.name} ({sites.get(c.site_id, '')}, {c.status})" for c in shown
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


def apply_import(
    store: Store,
    plan: ImportPlan,
    *,
    valid_only: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> ImportResult:
    """Write the plan's valid rows in one transaction, in bulk through the learner repository
    (so each gets its outbox mutation and syncs); the rows were validated by
    :func:`prepare_import` and are not validated again. All or nothing: when a row is bad and
    ``valid_only`` is False, nothing is written; when writing fails, nothing is either.
    ``progress(done, total)`` is called every 500 rows."""
    if not plan.ok and not valid_only:
        return ImportResult(plan, [])
    try:
        created = store.learners.create_many(
            plan.cohort.id, [row.values for row in plan.rows], progress=progress
        )
    except DomainValidationError as error:  # a prescriber or the cohort deleted since the check
        raise ImportFileError(
            _(
                "Nothing imported: the database changed since the file was checked ({problems}); check the file again."
            ).format(problems=" ".join(str(e) for e in error.errors))
        ) from None
    return ImportResult(plan, created)


def import_learners(
    store: Store,
    path: Path | str,
    cohort_id: str,
    *,
    valid_only: bool = False,
    encoding: str | None = None,
    delimiter: str | None = None,
    mapping: Mapping[str, str] | None = None,
) -> ImportResult:
    """:func:`prepare_import` then :func:`apply_import`."""
    plan = prepare_import(
        store, path, cohort_id, encoding=encoding, delimiter=delimiter, mapping=mapping
    )
    return apply_import(store, plan, valid_only=valid_only)


def parse_mapping(items: list[str]) -> dict[str, str]:
    """``["Prénom=first_name", "Remarques="]`` -> ``{"Prénom": "first_name", "Remarques": ""}``;
    :class:`ImportFileError` for an item without "="."""
    mapping: dict[str, str] = {}
    for item in items:
        column, sep, target = item.partition("=")
        if not sep or not column.strip():
            raise ImportFileError(
                _(
                    "“{value}” is not a column mapping; expected “Column=field”, e.g. “Prénom=first_name”."
                ).format(value=item)
            )
        _target_of(target)
        mapping[column.strip()] = target.strip()
    return mapping
