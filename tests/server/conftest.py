"""Fixtures of the commons server's tests.

- ``backend`` (module scope, parametrised): a fresh database URL, SQLite in ``tmp_path`` and, when
  ``$FABRIQUETERM_TEST_PG_URL`` is set, PostgreSQL in a schema of its own (dropped afterwards).
  Without that variable the PostgreSQL runs are skipped, except in CI (``CI=true``) where a
  missing PostgreSQL fails the run.
- ``app`` / ``client`` (module scope): the app on that database, in process.
- ``world``: two coordinators (A with sites A1 and A2, B with site B1), their tokens, and helpers
  to push and pull as either of them (see ``commons_helpers.py``); fresh ids for every test.
- ``database_url`` (parametrised) / ``engine``: a fresh, empty database for the tests that run the
  server's commands on it (migrations, backups); ``english``: those commands' sentences in English.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from commons_helpers import World, make_pg_schema, make_world
from sqlalchemy import Engine

from fabriqueterm.config import Config, Paths, save_config
from fabriqueterm.i18n import set_language
from fabriqueterm.server.app import create_app
from fabriqueterm.server.db import make_engine

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('commons') / 'commons.sqlite3'}"
        return
    schema = make_pg_schema()
    try:
        yield schema.url
    finally:
        schema.drop()


@pytest.fixture(scope="module")
def app(backend: str) -> Iterator[Any]:
    application = create_app(backend)
    yield application
    application.state.engine.dispose()


@pytest.fixture(scope="module")
def client(app: Any) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def world(app: Any, client: TestClient) -> World:
    return make_world(app.state.engine, client)


@pytest.fixture
def english(fabriqueterm_home: Path) -> None:
    """The sentences below are checked in English (the commands read the language from config)."""
    paths = Paths.default()
    paths.ensure()
    save_config(paths.config_file, Config(language="en"))
    set_language("en")


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: a SQLite file, or a PostgreSQL schema of its own."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'commons.sqlite3'}"
        return
    schema = make_pg_schema()
    try:
        yield schema.url
    finally:
        schema.drop()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()
