"""Fixtures of the sync engine's tests: one real commons per module (see ``sync_helpers.py``), a
fresh coordinator with two sites per test, and local devices each with its own SQLite file."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sync_helpers import Commons, Device, Team, make_team, serve_commons


@pytest.fixture(scope="module")
def commons(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Commons]:
    with serve_commons(tmp_path_factory.mktemp("commons") / "commons.sqlite3") as served:
        yield served


@pytest.fixture
def team(commons: Commons) -> Team:
    return make_team(commons)


@pytest.fixture
def device(tmp_path: Path, team: Team) -> Iterator[Callable[..., Device]]:
    made: list[Device] = []

    def make(name: str = "a", url: str | None = None) -> Device:
        made.append(Device(tmp_path / f"{name}.sqlite3", team, url))
        return made[-1]

    yield make
    for one in made:
        one.close()
