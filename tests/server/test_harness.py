"""The PostgreSQL runs never vanish silently: without ``$FABRIQUETERM_TEST_PG_URL`` they skip with
a reason locally and fail in CI."""

from __future__ import annotations

import pytest
from commons_helpers import PG_ENV, pg_base_url


def test_missing_postgresql_skips_locally(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PG_ENV, raising=False)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match=PG_ENV):
        pg_base_url()


def test_missing_postgresql_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PG_ENV, raising=False)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        pg_base_url()


def test_the_url_is_used_when_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PG_ENV, "postgresql+psycopg://u:p@127.0.0.1/db")
    assert pg_base_url() == "postgresql+psycopg://u:p@127.0.0.1/db"
