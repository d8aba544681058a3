"""How people are found as they are typed (domain/search.py): names folded (accents, case, letters
French keyboards lack), what was typed split into words and phone numbers, phone digits read in
their national form. Pure functions: no database (tests/store/test_search_index.py runs them on one)."""

from __future__ import annotations

import pytest

from fabriqueterm.domain.search import (
    SearchTerms,
    fold,
    folded_contains,
    phone_digits,
    search_terms,
    words,
)


@pytest.mark.parametrize(
    ("typed", "folded"),
    [
        ("Zoé", "zoe"),
        ("ZOÉ", "zoe"),
        ("Saïdi", "saidi"),
        ("Lætitia", "laetitia"),
        ("Œuvray", "oeuvray"),
        ("Łukasz Øster", "lukasz oster"),
        ("Straße", "strasse"),
        ("François-Noël", "francois-noel"),
        ("Zoe\u0301", "zoe"),  # "é" written as e + combining accent (NFD), as some systems send it
    ],
)
def test_fold_ignores_accents_and_case_and_spells_out_ligatures(typed: str, folded: str) -> None:
    assert fold(typed) == folded


def test_words_split_at_anything_but_letters_and_digits() -> None:
    assert words("Jean-Pierre N'Diaye") == ["jean", "pierre", "n", "diaye"]
    assert words("  zoe.martin75@example.org ") == ["zoe", "martin75", "example", "org"]
    assert words("— · _ !") == []


@pytest.mark.parametrize(
    ("typed", "digits"),
    [
        ("06 12", "0612"),
        ("0612", "0612"),
        ("06.12.34", "061234"),
        ("06-12", "0612"),
        ("+33 6 12", "0612"),
        ("+33612", "0612"),
        ("0033 6 12", "0612"),
        ("+33 (0)6 12", "0612"),
        ("612", "612"),
        ("12 34", "1234"),
        ("+3", "3"),  # not yet a country: the start of an international number
        ("+33", "0"),  # any French number
        ("+32 470 12", "3247012"),
        ("0032 470", "32470"),
    ],
)
def test_phone_digits_read_a_french_number_in_its_national_form(typed: str, digits: str) -> None:
    assert phone_digits(typed) == digits


@pytest.mark.parametrize(
    ("typed", "terms"),
    [
        ("Zoé Mar", SearchTerms((("zoe",), ("mar",)))),
        ("martin zoe", SearchTerms((("martin",), ("zoe",)))),
        ("  Ahmed   Saïdi ", SearchTerms((("ahmed",), ("saidi",)))),
        ("jean-pie", SearchTerms((("jean", "pie"),))),
        ("aicha.benali@", SearchTerms((("aicha", "benali"),))),
        ("06 12 34", SearchTerms(phones=("061234",))),
        ("+33 6 12", SearchTerms(phones=("0612",))),
        ("martin 06 12", SearchTerms((("martin",),), ("0612",))),
        ("06 12 martin 78", SearchTerms((("martin",),), ("0612", "78"))),
        ("06 12 +33 6", SearchTerms(phones=("0612", "06"))),
        ("zoe75", SearchTerms((("zoe75",),))),
    ],
)
def test_search_terms_split_names_and_numbers(typed: str, terms: SearchTerms) -> None:
    assert search_terms(typed) == terms


@pytest.mark.parametrize("typed", ["", "   ", "—", "@ . -"])
def test_nothing_to_search_is_falsy(typed: str) -> None:
    assert not search_terms(typed)


def test_folded_contains_gives_one_literal_pattern_per_word() -> None:
    assert folded_contains("Roubaix  FRANCE") == ["%roubaix%", "%france%"]
    assert folded_contains("Développeur·se") == ["%developpeur·se%"]
    assert folded_contains("50% a_b") == ["%50\\%%", "%a\\_b%"]
    assert folded_contains("  ") == []
