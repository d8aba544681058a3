"""Layouts that hold (#12, finding 6): long labels shortened in the middle or at a word, and the
less important columns of a table dropped first when the screen is narrow."""

from __future__ import annotations

from rich.cells import cell_len

from fabriqueterm.tui.format import fit_words, shorten_middle
from fabriqueterm.tui.widgets.table_rows import Column, column_widths, shown_columns

COHORT = "Développeur·se web et web mobile — Lens — 2026-09"


def test_a_label_that_fits_is_kept_whole() -> None:
    assert shorten_middle(COHORT, len(COHORT)) == COHORT
    assert fit_words("téléphone", 9) == "téléphone"


def test_a_long_label_keeps_its_start_and_its_distinguishing_end() -> None:
    assert shorten_middle(COHORT, 38) == "Développeur·se…mobile — Lens — 2026-09"
    for width in (16, 24, 30, 45):
        short = shorten_middle(COHORT, width)
        assert cell_len(short) <= width
        assert short.startswith("Dév") and short.endswith("2026-09") and "…" in short


def test_cohorts_that_differ_only_at_the_end_stay_distinct() -> None:
    names = [f"Développeur·se web et web mobile — Lens — 2026-{month:02}" for month in (3, 9)]
    assert len({shorten_middle(name, 30) for name in names}) == 2


def test_nothing_is_cut_inside_a_word() -> None:
    assert fit_words("pas de réponse", 12) == "pas de…"
    assert fit_words("Questionnaire de suivi à 6 mois complété", 20) == "Questionnaire de…"
    assert fit_words("téléphone", 7) == "téléph…"  # one word longer than the cell: cut, with "…"


def test_narrow_tables_drop_the_highest_drop_first_and_keep_the_names() -> None:
    columns = [
        Column("Learner", "name", 26),
        Column("Phone", "phone", 14),
        Column("Email", "email", 28, drop=2),
        Column("Cohort", "cohort", middle=True, min_width=24, drop=1),
        Column("Status", "status", 11),
    ]
    assert shown_columns(columns, 200) == [0, 1, 2, 3, 4]
    assert shown_columns(columns, 110) == [0, 1, 3, 4]  # the email goes first
    assert shown_columns(columns, 76) == [0, 1, 4]
    widths, _line = column_widths([columns[i] for i in shown_columns(columns, 110)], 110)
    assert widths[2] >= 24


def test_a_middle_column_shortens_in_the_middle() -> None:
    assert Column("Cohort", "name", middle=True).fit(COHORT, 38).endswith("Lens — 2026-09")
    assert Column("Notes", "notes").fit("pas de réponse", 12) == "pas de…"
