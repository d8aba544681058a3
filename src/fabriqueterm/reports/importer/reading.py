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
from fabriqueterm.reports.importer.showing import visible
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

ENCODING_NAMES = {
    "utf-8-sig": "UTF-8 (BOM)",
    "utf-8": "UTF-8",
    "cp1252": "Windows-1252",
    "latin-1": "Latin-1",
    "utf-16": "UTF-16 (BOM)",
    "utf-16-le": "UTF-16 LE",
    "utf-16-be": "UTF-16 BE",
}

# --- the encoding --------------------------------------------------------------------------------

#: How a file that is not text starts: (magic bytes, what it is).
_MAGIC = (
    (b"PK\x03\x04", N_("a ZIP archive")),
    (b"PK\x05\x06", N_("a ZIP archive")),
    (b"%PDF", N_("a PDF document")),
    (b"\x89PNG", N_("an image")),
    (b"\xff\xd8\xff", N_("an image")),
    (b"GIF8", N_("an image")),
    (b"\x1f\x8b", N_("compressed data")),
)
#: How much of a file the checks below look at.
_SAMPLE = 4096


def _not_text(what: str) -> ImportFileError:
    return ImportFileError(
        _(
            "This is not a text/CSV file ({what}): export the list from the spreadsheet as CSV (UTF-8) and import that file."
        ).format(what=_(what))
    )


def _workbook(what: str) -> ImportFileError:
    return ImportFileError(
        _(
            "This is a spreadsheet workbook ({what}), not a text/CSV file: open it in the spreadsheet, save it as CSV (UTF-8), and import that file."
        ).format(what=what)
    )


def _refuse_binary(data: bytes) -> None:
    """:class:`ImportFileError` when ``data`` starts like a workbook, an archive, a PDF or an image."""
    if data.startswith(b"PK\x03\x04"):
        head = data[: 64 * 1024]
        if b"xl/" in head:
            raise _workbook("Excel .xlsx")
        if b"opendocument.spreadsheet" in head:
            raise _workbook("OpenDocument .ods")
    if data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        raise _workbook("Excel .xls")
    for magic, what in _MAGIC:
        if data.startswith(magic):
            raise _not_text(what)


def _refuse_control_text(text: str) -> None:
    """:class:`ImportFileError` when decoded ``text`` holds a NUL, or is thick with control
    characters: binary data read as 8-bit text. A few (an ESC in a cell) are shown escaped."""
    if "\x00" in text:
        raise _not_text(N_("binary data"))
    sample = text[:_SAMPLE]
    controls = sum(
        1
        for char in sample
        if (ord(char) < 0x20 and char not in "\t\n\r\f\v") or 0x7F <= ord(char) < 0xA0
    )
    if controls > max(8, len(sample) // 20):
        raise _not_text(N_("binary data"))


def _utf16_without_bom(data: bytes) -> str | None:
    """ "utf-16-le" or "utf-16-be" when ``data`` looks like UTF-16 without a byte-order mark (text
    in Latin script: every other byte a NUL), else None."""
    sample = data[:_SAMPLE]
    if len(sample) < 4 or len(data) % 2:
        return None
    even, odd = sample[0::2], sample[1::2]
    if odd.count(0) > len(odd) * 0.3 and even.count(0) < len(even) * 0.05:
        return "utf-16-le"
    if even.count(0) > len(even) * 0.3 and odd.count(0) < len(odd) * 0.05:
        return "utf-16-be"
    return None


def decode(data: bytes, encoding: str | None = None) -> tuple[str, str]:
    """The text of ``data`` and the encoding used: ``encoding`` if given; else the one its
    byte-order mark says (UTF-8, UTF-16 LE or BE), UTF-16 without one when every other byte is a
    NUL, else UTF-8, else Windows-1252. :class:`ImportFileError` for a file that is not text
    (a workbook, an archive, a PDF, an image, NUL bytes)."""
    _refuse_binary(data)
    if encoding:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise ImportFileError(
                _("Unknown encoding “{value}”; try utf-8 or cp1252.").format(
                    value=visible(encoding)
                )
            ) from None
        try:
            text = data.decode(encoding).removeprefix("\ufeff")
        except UnicodeDecodeError as error:
            raise ImportFileError(
                _(
                    "The file is not in {encoding} (byte {position}); try another --encoding, e.g. utf-8 or cp1252."
                ).format(encoding=visible(encoding), position=error.start)
            ) from None
        if "\x00" in text and data.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise ImportFileError(
                _(
                    "The file is in UTF-16 (it starts with its byte-order mark), not in {encoding}: import it without --encoding."
                ).format(encoding=visible(encoding))
            )
        _refuse_control_text(text)
        return text, encoding
    text, used = _decode_guessing(data)
    _refuse_control_text(text)
    return text, used


def _decode_guessing(data: bytes) -> tuple[str, str]:
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data.decode("utf-8-sig"), "utf-8-sig"
        except UnicodeDecodeError:
            pass
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as error:
            raise ImportFileError(
                _(
                    "The file starts as UTF-16 but cannot be read as such (byte {position}); save it again as CSV (UTF-8)."
                ).format(position=error.start)
            ) from None
    utf16 = _utf16_without_bom(data)
    if utf16 is not None:
        try:
            return data.decode(utf16), utf16
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
            _("Line {line} cannot be read: {detail}.").format(
                line=reader.line_num, detail=visible(error)
            )
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
            ).format(value=visible(text), choices=target_labels())
        )
    return found


def _shown_header(header: list[str]) -> str:
    return ", ".join(visible(name) for name in header)


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
                ).format(column=visible(column), found=_shown_header(header))
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
                    "Columns “{first}” and “{second}” are both read as {field}; ignore one as “{second}=”."
                ).format(
                    first=visible(header[seen[target]]),
                    second=visible(header[index]),
                    field=target_label(target),
                ),
                about_columns=True,
            )
        seen[target] = index
        mapping[index] = target
    missing = [t for t in REQUIRED if t not in seen]
    if missing:
        raise ImportFileError(
            _(
                "No column for: {fields}. Columns found: {found}. Say which column holds it, as “Column=field” (fields: {choices})."
            ).format(
                fields=target_labels(tuple(missing)),
                found=_shown_header(header),
                choices=target_labels(),
            ),
            about_columns=True,
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
                ).format(value=visible(item))
            )
        _target_of(target)
        mapping[column.strip()] = target.strip()
    return mapping
