"""Fixtures shared by the whole suite.

- ``fabriqueterm_home`` (autouse): every test gets its own home (``$FABRIQUETERM_HOME`` =
  ``tmp_path / "home"``, demo home inside it), the UI language reset to French before and after,
  and ``NO_COLOR`` / ``TEXTUAL_THEME`` cleared. Request it by name to get the home's path.
- ``today``: the suite's reference date, 2026-11-25 (a Wednesday of ISO week 2026-W48).
- ``clock``: a :class:`Clock` frozen on ``today``.
- ``store``: a fresh :class:`Store` at ``tmp_path / "db.sqlite3"`` on that clock, closed afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from fabriqueterm.domain.dates import Clock
from fabriqueterm.i18n import set_language
from fabriqueterm.store import Store

TODAY = date(2026, 11, 25)


@pytest.fixture(autouse=True)
def fabriqueterm_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private home for this test only; nothing touches the real user's files."""
    home = tmp_path / "home"
    monkeypatch.setenv("FABRIQUETERM_HOME", str(home))
    monkeypatch.delenv("FABRIQUETERM_DEMO_HOME", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("TEXTUAL_THEME", raising=False)
    set_language("fr")
    yield home
    set_language("fr")


@pytest.fixture
def today() -> date:
    return TODAY


@pytest.fixture
def clock(today: date) -> Clock:
    return Clock(today)


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> Iterator[Store]:
    opened = Store.open(tmp_path / "db.sqlite3", clock=clock)
    try:
        yield opened
    finally:
        opened.close()
