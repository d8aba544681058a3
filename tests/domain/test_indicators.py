"""The indicators of docs/domain.md as plain values (domain/indicators.py): rates, counts and empty
indicators. The figures counted in SQLite are tested in tests/store/test_indicator_queries.py."""

from __future__ import annotations

import pytest

from fabriqueterm.domain.indicators import EXIT_MONTHS, IndicatorCounts, Indicators, Rate
from fabriqueterm.i18n import set_language

NNBSP = "\u202f"


# --- Rate and counts (pure) --------------------------------------------------------------------


def test_rate_value_and_zero_denominator() -> None:
    assert Rate(5, 8).value == 0.625
    assert Rate(0, 4).value == 0.0
    assert Rate(0, 0).value is None
    assert Rate(3, 0).value is None


def test_rate_formats_in_french_and_english() -> None:
    set_language("fr")
    try:
        assert Rate(5, 8).format() == f"62,5{NNBSP}%"
        assert str(Rate(1, 3)) == f"33,3{NNBSP}%"
        assert str(Rate(2, 2)) == f"100,0{NNBSP}%"
        # half-up on the exact value: 1/16 = 6.25 % -> 6.3
        assert str(Rate(1, 16)) == f"6,3{NNBSP}%"
        set_language("en")
        assert Rate(5, 8).format() == "62.5%"
        assert str(Rate(0, 7)) == "0.0%"
        assert str(Rate(2, 3)) == "66.7%"
        assert str(Rate(0, 0)) == "n/a"
    finally:
        set_language("fr")


def test_rate_zero_denominator_formats_as_not_available_in_french() -> None:
    set_language("fr")
    shown = str(Rate(0, 0))
    # the French catalogue may not translate it yet: never a number, never a crash
    assert shown and "%" not in shown and not any(ch.isdigit() for ch in shown)


def test_counts_add_field_by_field() -> None:
    a = IndicatorCounts(enrolled=3, women=2, exit_denominator=(1, 2, 3, 4), followups_done=5)
    b = IndicatorCounts(enrolled=4, women=1, exit_denominator=(10, 20, 30, 40), followups_reached=2)
    summed = a + b
    assert summed.enrolled == 3 + 4
    assert summed.women == 2 + 1
    assert summed.exit_denominator == (11, 22, 33, 44)
    assert summed.at("exit_denominator", 6) == 33
    assert summed.followups_done == 5 and summed.followups_reached == 2
    assert sum([a, b]) == summed
    with pytest.raises(ValueError):
        summed.at("exit_denominator", 9)


def test_empty_indicators_never_crash() -> None:
    empty = Indicators()
    assert empty.women_pct == Rate(0, 0)
    assert empty.dropout_rate.value is None
    for n in EXIT_MONTHS:
        assert empty.positive_exit_rate(n).value is None
        assert empty.employment_rate(n).value is None
        assert empty.never_reached_share(n).value is None
    assert empty.reach_rate.value is None
    assert empty.completers_never_reached_share.value is None
