"""Import (issue #13, finding 7): the encodings a spreadsheet writes are recognised by their
byte-order mark (UTF-8, UTF-16 LE/BE) or their NUL pattern (UTF-16 without one); a file that is not
text is said to be so (a workbook: save it as CSV), never advice about --map; nothing from the
person's file reaches the terminal raw: control characters are shown escaped."""

from __future__ import annotations

import argparse
import io
import zipfile
from datetime import date
from pathlib import Path

import openpyxl
import pytest

from fabriqueterm.reports.cli import add_report_commands
from fabriqueterm.reports.importer import (
    ImportFileError,
    apply_import,
    decode,
    prepare_import,
    visible,
)

SAMPLES = Path(__file__).resolve().parents[2] / "fixtures" / "import"
GOOD = SAMPLES / "apprenants-utf8-bom-point-virgule.csv"
GOOD_TEXT = GOOD.read_bytes().decode("utf-8-sig")

#: Cases tried, for the issue's note.
TRIED: dict[str, int] = {}


def _count(kind: str) -> None:
    TRIED[kind] = TRIED.get(kind, 0) + 1


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="fabriqueterm")
    parser.add_argument("--today", type=date.fromisoformat, default=None)
    add_report_commands(parser.add_subparsers())
    args = parser.parse_args(argv)
    return args.handler(args)


# --- encodings -----------------------------------------------------------------------------------

ENCODED = {
    "utf-16 LE with BOM": (b"\xff\xfe" + GOOD_TEXT.encode("utf-16-le"), "UTF-16"),
    "utf-16 BE with BOM": (b"\xfe\xff" + GOOD_TEXT.encode("utf-16-be"), "UTF-16"),
    "utf-16 LE without BOM": (GOOD_TEXT.encode("utf-16-le"), "UTF-16"),
    "utf-16 BE without BOM": (GOOD_TEXT.encode("utf-16-be"), "UTF-16"),
    "utf-8 with BOM": (b"\xef\xbb\xbf" + GOOD_TEXT.encode("utf-8"), "UTF-8"),
    "utf-8 without BOM": (GOOD_TEXT.encode("utf-8"), "UTF-8"),
    "windows-1252": (GOOD_TEXT.replace("·", "-").encode("cp1252"), "Windows-1252"),
}


@pytest.mark.parametrize("kind", sorted(ENCODED))
def test_each_encoding_a_spreadsheet_writes_is_read_right(kind: str) -> None:
    data, family = ENCODED[kind]
    text, used = decode(data)
    _count("encoding detected")
    expected = GOOD_TEXT if kind != "windows-1252" else GOOD_TEXT.replace("·", "-")
    assert text == expected and "\ufeff" not in text
    assert used.upper().replace("_", "-").startswith(family.upper()[:5]) or (
        family == "Windows-1252" and used == "cp1252"
    )


@pytest.mark.parametrize("kind", ["utf-16 LE with BOM", "utf-16 BE with BOM", "utf-8 with BOM"])
def test_a_file_with_a_byte_order_mark_imports_with_its_accents(network, tmp_path, kind) -> None:
    store, cohort = network.store, network.cohorts["B1"]
    path = tmp_path / "apprenants.csv"
    path.write_bytes(ENCODED[kind][0])
    plan = prepare_import(store, path, cohort)
    _count("file with a byte-order mark imported")
    assert plan.ok and plan.total_rows == 6 and plan.columns["Réfugié·e"] == "refugee"
    result = apply_import(store, plan)
    names = {f"{x.first_name} {x.last_name}" for x in store.learners.in_cohort(cohort)}
    assert len(result.created_ids) == 6
    assert {"Aïcha Benali", "Jean-Baptiste N'Diaye", "Léa Da Silva"} <= names


def test_a_utf16_file_read_with_another_encoding_says_to_drop_it(network, tmp_path) -> None:
    path = tmp_path / "apprenants.csv"
    path.write_bytes(ENCODED["utf-16 LE with BOM"][0])
    with pytest.raises(ImportFileError) as raised:
        prepare_import(network.store, path, network.cohorts["B1"], encoding="cp1252")
    _count("utf-16 file with --encoding cp1252")
    assert "UTF-16" in str(raised.value) and "without --encoding" in str(raised.value)


# --- not text ------------------------------------------------------------------------------------


def _xlsx_bytes() -> bytes:
    book = openpyxl.Workbook()
    book.active.append(["Prénom", "Nom"])
    book.active.append(["Aïcha", "Benali"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _zip_bytes() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("apprenants.csv", GOOD_TEXT)
    return out.getvalue()


BINARY = {
    "png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x06\x00\x00\x00",
    "pdf": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n",
    "zip": _zip_bytes(),
    "xls (OLE2)": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 200,
    "gzip": b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + bytes(range(256)),
    "NUL in UTF-8 text": "Prénom;Nom\nAïcha;Be\x00nali\n".encode(),
    "NUL in 8-bit text": "Prénom;Nom\nAïcha;Be\x00nali\n".encode("cp1252"),
    "random bytes": bytes((i * 97 + 13) % 256 for i in range(4096)),
}


@pytest.mark.parametrize("kind", sorted(BINARY))
def test_a_file_that_is_not_text_is_said_to_be_so(network, tmp_path, kind) -> None:
    path = tmp_path / "apprenants.csv"
    path.write_bytes(BINARY[kind])
    with pytest.raises(ImportFileError) as raised:
        prepare_import(network.store, path, network.cohorts["B1"])
    _count("binary file refused")
    message = str(raised.value)
    assert "not a text/CSV file" in message and "--map" not in message, message
    assert "\x00" not in message and "\x1b" not in message


def test_a_workbook_is_told_to_be_saved_as_csv(network, tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "apprenants.xlsx"
    path.write_bytes(_xlsx_bytes())
    with pytest.raises(ImportFileError) as raised:
        prepare_import(network.store, path, network.cohorts["B1"])
    _count("workbook refused")
    assert "not a text/CSV file" in str(raised.value) and "save it as CSV" in str(raised.value)
    # On the command line: one sentence, exit 2, nothing written.
    before = network.store.learners.count()
    assert run(["import", "learners", str(path), "--cohort", network.cohorts["B1"]]) == 2
    err = capsys.readouterr().err
    assert "save it as CSV" in err and "Traceback" not in err and "--map" not in err
    assert network.store.learners.count() == before


# --- nothing raw to the terminal -----------------------------------------------------------------


def test_visible_escapes_control_characters_and_keeps_accents() -> None:
    cases = {
        "\x1b[2J": "\\x1b[2J",
        "Aïcha\x07": "Aïcha\\x07",
        "a\x00b": "a\\x00b",
        "tab\there": "tab\\there",
        "two\nlines": "two\\nlines",
        "del\x7f": "del\\x7f",
        "csi\x9b2J": "csi\\x9b2J",
        "Réfugié·e – “ok”": "Réfugié·e – “ok”",
        "[red]x": "[red]x",
        "\u202eevil": "\\u202eevil",
    }
    for raw, shown in cases.items():
        _count("escaping case")
        assert visible(raw) == shown, raw


HOSTILE_HEADER = "\x1b[2J[red]x\x07"


def _hostile_file(tmp_path: Path, *, missing_required: bool = False) -> Path:
    header = ["Prénom", "Nom", "Genre", "Niveau", HOSTILE_HEADER]
    rows = [
        ["Aïcha", "Benali", "F", "bac", "1"],
        ["Paul", "Martin\x1b]0;pwned\x07", "Z\x1b[31m", "bac", "2"],
    ]
    if missing_required:
        header = [HOSTILE_HEADER, "Nom"]
        rows = [["x", "y"]]
    path = tmp_path / "hostile.csv"
    path.write_text("\n".join(";".join(r) for r in [header, *rows]) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("missing_required", [False, True])
def test_the_command_line_never_prints_file_text_raw(
    network, tmp_path, capsys, monkeypatch, missing_required
) -> None:
    monkeypatch.chdir(tmp_path)
    path = _hostile_file(tmp_path, missing_required=missing_required)
    code = run(["import", "learners", str(path), "--cohort", network.cohorts["B1"]])
    out, err = capsys.readouterr()
    _count("command line run on a hostile file")
    assert code == 2
    for stream in (out, err):
        assert not any(ch in stream for ch in "\x1b\x07\x00\x9b"), repr(stream)
    assert "\\x1b[2J[red]x\\x07" in out + err
    if not missing_required:
        assert "\\x1b]0;pwned\\x07" in out + err or "\\x1b[31m" in out + err


@pytest.fixture(scope="module", autouse=True)
def _report_counts():
    yield
    print("\ncases tried by test_import_encodings:", TRIED)
