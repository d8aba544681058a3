"""Reading the file: its encoding, its delimiter, its header and rows, and which field each
column is read as (the header's names, or the person's mapping)."""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Mapping

from fabriqueterm.domain.labels import FIELD_LABELS
from fabriqueterm.i18n import N_, _
from fabriqueterm.reports.importer.plan import ImportFileError
from fabriqueterm.reports.importer.vocabulary import COLUMN_NAMES, plain_key

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
#: What each target is called on screen (English msgids, translated where shown).
_IMPORT_ONLY = {"birth_date": N_("birth date"), "prescriber": FIELD_LABELS["prescriber_id"]}
TARGET_LABELS = {target: _IMPORT_ONLY.get(target) or FIELD_LABELS[target] for target in TARGETS}


def target_label(target: str) -> str:
    """A target as a person reads it, in the UI language: "birth_date" -> "date de naissance"."""
    return _(TARGET_LABELS.get(target, target))


def target_labels(targets: tuple[str, ...] = TARGETS) -> str:
    return ", ".join(target_label(target) for target in targets)


#: Fields without which no row can be valid.
REQUIRED = ("first_name", "last_name", "gender", "qualification")
#: Values of a mapping that mean "ignore this column".
IGNORE = ("", "-", "ignore", "ignorer")

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
    """The field a mapping's right-hand side names: its label in the UI language or in English
    ("nom", "last name"), or its code ("last_name")."""
    target = text.strip()
    if target.casefold() in IGNORE:
        return None
    aliases = {"prescriber_id": "prescriber"}
    target = aliases.get(target, target)
    if target in TARGETS:
        return target
    key = plain_key(target)
    by_label = {
        plain_key(label): name
        for name, msgid in TARGET_LABELS.items()
        for label in (msgid, _(msgid))
    }
    found = by_label.get(key)
    if found is None:
        raise ImportFileError(
            _(
                "“{value}” is not a field a column can be read as; expected one of: {choices} (or nothing to ignore the column)."
            ).format(value=text, choices=target_labels())
        )
    return found


def map_columns(header: list[str], overrides: Mapping[str, str] | None = None) -> dict[int, str]:
    """Column index -> field, from the header's names and the person's ``overrides`` (column name
    -> field, or "" to ignore it). :class:`ImportFileError` when a required field has no column,
    two columns give the same field, or an override names a column the file does not have."""
    overrides = dict(overrides or {})
    by_key = {plain_key(name): index for index, name in enumerate(header)}
    chosen: dict[int, str | None] = {}
    for column, target in overrides.items():
        index = (
            header.index(column.strip())
            if column.strip() in header
            else by_key.get(plain_key(column))
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
        chosen[index] = COLUMN_NAMES.get(plain_key(without_brackets)) or COLUMN_NAMES.get(
            plain_key(name)
        )
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
                    field=target_label(target),
                )
            )
        seen[target] = index
        mapping[index] = target
    missing = [t for t in REQUIRED if t not in seen]
    if missing:
        raise ImportFileError(
            _(
                'No column for: {fields}. Columns found: {found}. Name the column with --map "Column=field" (fields: {choices}).'
            ).format(
                fields=target_labels(tuple(missing)),
                found=", ".join(header),
                choices=target_labels(),
            )
        )
    return dict(sorted(mapping.items()))


def parse_mapping(items: list[str]) -> dict[str, str]:
    """``["Prénom usuel=prénom", "Remarques="]`` -> ``{"Prénom usuel": "prénom", "Remarques": ""}``
    (the field by its label or its code); :class:`ImportFileError` for an item
    without "=" or naming no field."""
    mapping: dict[str, str] = {}
    for item in items:
        column, sep, target = item.partition("=")
        if not sep or not column.strip():
            raise ImportFileError(
                _(
                    "“{value}” is not a column mapping; expected “Column=field”, e.g. “Usual name=last name”."
                ).format(value=item)
            )
        _target_of(target)
        mapping[column.strip()] = target.strip()
    return mapping
