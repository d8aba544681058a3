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
