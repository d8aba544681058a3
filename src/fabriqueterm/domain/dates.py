"""Calendar helpers shared by the domain, the store and the reports."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta


def add_months(day: date, months: int) -> date:
    """``day`` plus ``months`` calendar months, clamped to the month's last day (31 Aug + 6 = 28/29 Feb)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def week_bounds(day: date) -> tuple[date, date]:
    """Monday and Sunday of ``day``'s ISO week."""
    monday = day - timedelta(days=day.weekday())
    return monday, monday + timedelta(days=6)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Clock:
    """Today and now, injectable so screens, reports and tests are deterministic."""

    def __init__(self, today: date | None = None, now: datetime | None = None):
        self._today = today
        self._now = now

    def today(self) -> date:
        return self._today or date.today()

    def now(self) -> datetime:
        if self._now is not None:
            return self._now
        if self._today is not None:
            return datetime(self._today.year, self._today.month, self._today.day, 12, tzinfo=UTC)
        return utcnow()


def easter_sunday(year: int) -> date:
    """Easter Sunday of ``year`` (the Gregorian computus, Meeus/Jones/Butcher)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    j = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 19 * j) // 433
    month = (h + j - 7 * m + 90) // 25
    return date(year, month, (h + j - 7 * m + 33 * month + 19) % 32)


def french_public_holidays(year: int) -> frozenset[date]:
    """The eleven national public holidays of metropolitan France in ``year``."""
    easter = easter_sunday(year)
    fixed = ((1, 1), (5, 1), (5, 8), (7, 14), (8, 15), (11, 1), (11, 11), (12, 25))
    movable = (easter + timedelta(days=1), easter + timedelta(days=39), easter + timedelta(days=50))
    return frozenset({date(year, m, d) for m, d in fixed} | set(movable))


def add_working_days(day: date, count: int) -> date:
    """``day`` plus ``count`` working days: weekends and French public holidays skipped."""
    current, left = day, count
    while left > 0:
        current += timedelta(days=1)
        if current.weekday() < 5 and current not in french_public_holidays(current.year):
            left -= 1
    return current
