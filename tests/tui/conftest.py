"""Fixtures of the app's tests: the deterministic demo network built once per session into a
template file, and copied for each test (a test writes to its own copy only)."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tui_helpers import TODAY

from fabriqueterm import demo
from fabriqueterm.config import Config, Paths, save_config
from fabriqueterm.domain.dates import Clock
from fabriqueterm.store import Store
from fabriqueterm.tui.app import FabriqueApp


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo network (300 learners, seed 2026, as of 2026-11-25), built once per session."""
    path = tmp_path_factory.mktemp("template") / "demo.sqlite3"
    data = demo.generate(learners=300, seed=2026, today=TODAY)
    with Store.open(path, clock=Clock(TODAY)) as store:
        demo.write(store, data)
        store.engine.dispose()
    with Store.open(path) as store, store.engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


@pytest.fixture
def paths(fabriqueterm_home: Path) -> Paths:
    paths = Paths.under(fabriqueterm_home)
    paths.ensure()
    return paths


@pytest.fixture
def make_app(demo_template: Path, paths: Paths) -> Iterator[Callable[..., FabriqueApp]]:
    """Build the app on a fresh copy of the demo network (``language`` "en" or "fr")."""
    stores: list[Store] = []

    def build(*, language: str = "en", server_url: str = "") -> FabriqueApp:
        shutil.copyfile(demo_template, paths.database)
        config = Config(language=language, server_url=server_url)
        save_config(paths.config_file, config)
        clock = Clock(TODAY)
        store = Store.open(paths.database, clock=clock)
        stores.append(store)
        return FabriqueApp(store, config, clock, paths=paths, demo=True)

    yield build
    for store in stores:
        store.close()
