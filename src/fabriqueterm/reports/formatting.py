"""A figure of the weekly summary as a person reads it ("62,5 % (5/8)", "1 234"), shared by the
exporters, the HTML page and the app's preview so they all write numbers the same way."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from fabriqueterm.domain.indicators import AttemptsMedian, Rate
from fabriqueterm.i18n import _, current_language
from fabriqueterm.reports.summary import Figure

_NARROW_NO_BREAK_SPACE = "\u202f"


def percent_value(rate: Rate) -> Decimal | None:
    """The rate in percent with one decimal (rounded half up, like :meth:`Rate.format`), or None."""
    if rate.denominator == 0:
        return None
    return (Decimal(rate.numerator) * 100 / Decimal(rate.denominator)).quantize(
        Decimal("0.1"), rounding=ROUND_HALF_UP
    )


def format_count(value: int) -> str:
    """A whole number with the UI language's thousands separator (1 234 in French)."""
    text = f"{value:,}"
    return text.replace(",", _NARROW_NO_BREAK_SPACE) if current_language() == "fr" else text


def format_figure(figure: Figure) -> str:
    """The value as a person reads it: "62,5 % (5/8)", "n/a", "1 234"."""
    value = figure.value
    if isinstance(value, Rate):
        if value.denominator == 0:
            return value.format()
        return (
            f"{value.format()} ({format_count(value.numerator)}/{format_count(value.denominator)})"
        )
    if isinstance(value, AttemptsMedian):
        return _("n/a") if value.value is None else value.format()
    return format_count(value)
