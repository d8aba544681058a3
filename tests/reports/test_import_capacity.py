"""An import beyond the cohort's planned capacity warns and goes ahead (issue 12, finding 3: an
import took a cohort to 19/16 without a word)."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_cli import SAMPLES, run

from fabriqueterm.reports.importer import apply_import, prepare_import

WINDOWS_1252 = SAMPLES / "apprenants-windows-1252.csv"  # 3 enrolled, 1 candidate


@pytest.fixture
def home(network, tmp_path, monkeypatch):
    """The network's home, with the current directory in a scratch folder (as in test_cli)."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


def test_the_plan_says_where_the_import_takes_the_cohort(network):
    cohort = network.cohorts["B1"]  # 3 seats taken: 2 enrolled, 1 dropped out
    network.store.cohorts.update(cohort, {"capacity": 5})

    plan = prepare_import(network.store, WINDOWS_1252, cohort)

    assert (plan.seats_taken, plan.seats_after) == (3, 6)  # the candidate takes no seat
    assert plan.capacity_warning() == (
        "This import takes the cohort “Data 2026-2027” to 6/5, beyond its planned capacity."
    )
    assert len(apply_import(network.store, plan).created_ids) == 4  # warned, never refused


def test_no_warning_within_capacity_or_without_one(network):
    cohort = network.cohorts["B1"]
    network.store.cohorts.update(cohort, {"capacity": 6})
    assert prepare_import(network.store, WINDOWS_1252, cohort).capacity_warning() == ""
    network.store.cohorts.update(cohort, {"capacity": 0})  # none planned
    assert prepare_import(network.store, WINDOWS_1252, cohort).capacity_warning() == ""


def test_the_command_warns_and_imports(home, network, capsys):
    cohort = network.cohorts["B1"]
    network.store.cohorts.update(cohort, {"capacity": 4})

    assert run(["import", "learners", str(WINDOWS_1252), "--cohort", cohort]) == 0

    captured = capsys.readouterr()
    assert "Warning: This import takes the cohort “Data 2026-2027” to 6/4" in captured.err
    assert "4 learners imported" in captured.out
    assert len(network.store.learners.in_cohort(cohort)) == 3 + 4


def test_a_file_of_candidates_never_warns(home, network, capsys, tmp_path: Path):
    cohort = network.cohorts["B1"]
    network.store.cohorts.update(cohort, {"capacity": 3})
    path = tmp_path / "candidates.csv"
    path.write_text(
        "Prénom;Nom;Genre;Niveau;Statut\nAda;Lovelace;F;7;Candidate\n", encoding="utf-8"
    )
    assert run(["import", "learners", str(path), "--cohort", cohort]) == 0
    assert "Warning" not in capsys.readouterr().err
