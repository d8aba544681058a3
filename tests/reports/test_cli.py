"""``fabriqueterm export``, ``import learners`` and ``learner export|erase`` on the command line."""

from __future__ import annotations

import argparse
import io
import json
import stat
import subprocess
import sys
from datetime import date
from pathlib import Path

import openpyxl
import pytest

from fabriqueterm.reports.cli import add_report_commands
from fabriqueterm.store.db import Store

SAMPLES = Path(__file__).resolve().parents[2] / "fixtures" / "import"


def run(argv: list[str]) -> int:
    """Parse ``argv`` as the main parser would (``--today`` before the command) and run it."""
    parser = argparse.ArgumentParser(prog="fabriqueterm")
    parser.add_argument("--today", type=date.fromisoformat, default=None)
    add_report_commands(parser.add_subparsers())
    args = parser.parse_args(argv)
    return args.handler(args)


@pytest.fixture
def home(network, tmp_path, monkeypatch):
    """The network's home, with the current directory in a scratch folder."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


def test_export_csv_to_stdout(home, capsysbinary):
    assert run(["export", "--week", "2026-W48", "--format", "csv"]) == 0
    out = capsysbinary.readouterr().out
    assert out.startswith(b"\xef\xbb\xbf") and b";Fabrique Lyon;" in out


def test_export_md_to_stdout_uses_the_current_week(home, capsysbinary):
    assert run(["--today", "2026-11-25", "export", "--format", "md"]) == 0
    out = capsysbinary.readouterr().out.decode()
    assert out.startswith("# Weekly summary, week 2026-W48") and "## Fabrique Roubaix" in out


@pytest.mark.parametrize("fmt", ["xlsx", "html"])
def test_export_binary_formats_to_a_default_file(home, capsys, fmt):
    assert run(["export", "--week", "2026-W48", "--format", fmt]) == 0
    path = home / f"synthese-2026-W48.{fmt}"
    assert path.exists() and str(path.name) in capsys.readouterr().out
    if fmt == "xlsx":
        assert openpyxl.load_workbook(path).sheetnames[0] == "Total"


def test_export_one_site_to_a_file(home, capsys):
    target = home / "roubaix.csv"
    assert (
        run(
            [
                "export",
                "--week",
                "2026-W48",
                "--format",
                "csv",
                "--site",
                "Fabrique Roubaix",
                "--output",
                str(target),
            ]
        )
        == 0
    )
    text = target.read_bytes().decode("utf-8-sig")
    assert "Fabrique Roubaix" in text and "Fabrique Lyon" not in text


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["export", "--week", "2026-W99"], "ISO week"),
        (["export", "--site", "Atlantis"], "Known sites"),
        (["export", "--format", "xlsx", "--output", "-"], "--output"),
        (["export", "--output", "/no/such/folder/x.md"], "cannot be written"),
        (["import", "learners", "nothing.csv", "--cohort", "x"], "No cohort"),
        (["learner", "export", "nobody"], "No learner"),
        (["learner", "erase", "nobody", "--yes"], "No learner"),
    ],
)
def test_bad_input_exits_2_with_a_message(home, capsys, argv, message):
    assert run(argv) == 2
    captured = capsys.readouterr()
    assert message in captured.err and "Traceback" not in captured.err


def test_no_database_yet(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FABRIQUETERM_HOME", str(tmp_path / "fresh"))
    assert run(["export"]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "fresh").exists()  # nothing created by a failed command


def test_import_good_file(home, network, capsys):
    cohort = network.cohorts["B1"]
    assert (
        run(
            ["import", "learners", str(SAMPLES / "apprenants-windows-1252.csv"), "--cohort", cohort]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "Windows-1252" in out and "4 learners imported" in out
    assert len(network.store.learners.in_cohort(cohort)) == 3 + 4


def test_import_counts_take_the_singular(home, network, capsys, tmp_path):
    """Issue 12, finding 8: "1 rows", "1 learners imported"."""
    path = tmp_path / "one.csv"
    path.write_text("Prénom;Nom;Genre;Niveau\nAda;Lovelace;F;7\n", encoding="utf-8")
    assert run(["import", "learners", str(path), "--cohort", network.cohorts["B1"]]) == 0
    out = capsys.readouterr().out
    assert ": 1 row, UTF-8" in out and "1 learner imported into the cohort" in out


def test_import_bad_file_writes_nothing_then_valid_only(home, network, capsys):
    store, cohort = network.store, network.cohorts["B1"]
    count = store.learners.count()
    argv = [
        "import",
        "learners",
        str(SAMPLES / "apprenants-lignes-en-erreur.csv"),
        "--cohort",
        cohort,
    ]
    assert run(argv) == 2
    captured = capsys.readouterr()
    assert "line 3: email" in captured.out and "line 9" in captured.out
    assert "Nothing imported" in captured.err
    assert store.learners.count() == count
    assert run([*argv, "--valid-only"]) == 0
    assert "3 learners imported" in capsys.readouterr().out
    assert store.learners.count() == count + 3


def test_import_with_mapping_and_options(home, network, capsys):
    cohort = network.cohorts["B1"]
    path = str(SAMPLES / "apprenants-colonnes-a-renommer.csv")
    assert run(["import", "learners", path, "--cohort", cohort]) == 2
    assert "--map" in capsys.readouterr().err
    assert (
        run(
            [
                "import",
                "learners",
                path,
                "--cohort",
                cohort,
                "--map",
                "Nom usuel=last_name",
                "--delimiter",
                ";",
                "--encoding",
                "utf-8",
            ]
        )
        == 0
    )
    assert "2 learners imported" in capsys.readouterr().out


def test_learner_export_to_a_private_file(home, network, capsys):
    learner_id = network.learners["a2"]
    target = home / "a2.json"
    assert run(["learner", "export", learner_id, "--output", str(target)]) == 0
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    data = json.loads(target.read_text(encoding="utf-8"))
    assert data["learner"]["email"] == "zq.a2@mail.example.org"
    assert [p["kind"] for p in data["placements"]] == ["further_training"]


def test_learner_erase_asks_first(home, network, monkeypatch, capsys):
    learner_id = network.learners["a7"]
    monkeypatch.setattr(sys, "stdin", io.StringIO("no\n"))
    assert run(["learner", "erase", learner_id]) == 1
    out = capsys.readouterr().out
    assert "ZelphineA7 QuarndtA7" in out and "Nothing erased" in out
    assert network.store.learners.get(learner_id).first_name == "ZelphineA7"
    monkeypatch.setattr(sys, "stdin", io.StringIO("oui\n"))
    assert run(["learner", "erase", learner_id]) == 0
    with Store.open(network.store.path) as store:
        entries = [e for e in store.outbox.entries(limit=10_000) if e.row_id == learner_id]
    assert entries[-1].op == "erase"
    assert run(["learner", "erase", learner_id, "--yes"]) == 0
    assert "already erased" in capsys.readouterr().out


def test_learner_erase_without_stdin_erases_nothing(home, network, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    assert run(["learner", "erase", network.learners["b1"]]) == 1
    assert network.store.learners.get(network.learners["b1"]).first_name == "ZelphineB1"


def test_command_module_imports_nothing_heavy():
    code = (
        "import sys, fabriqueterm.reports.cli; "
        "heavy = [m for m in ('sqlalchemy', 'openpyxl', 'textual', 'httpx', 'fabriqueterm.store.db') if m in sys.modules]; "
        "print(heavy)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
