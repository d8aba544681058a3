"""Helpers of the commons server's tests (the fixtures are in conftest.py): fresh PostgreSQL
schemas, a ``World`` of two coordinators and their sites, and a ``Device`` that pushes and pulls
like one local database of the app."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path
from typing import Any

import pytest

from fabriqueterm.domain.ids import uuid7
from fabriqueterm.server import admin

PG_ENV = "FABRIQUETERM_TEST_PG_URL"


def pg_base_url() -> str | None:
    """The PostgreSQL URL to test against, or None (skip locally; fail in CI)."""
    url = os.environ.get(PG_ENV)
    if url:
        return url
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true but {PG_ENV} is not set: the PostgreSQL tests must run in CI")
    pytest.skip(
        f"PostgreSQL tests need {PG_ENV} (e.g. postgresql+psycopg://postgres:postgres@127.0.0.1/fabriqueterm_test)"
    )
    return None


@dataclass
class PgSchema:
    url: str
    name: str
    admin_url: str

    def drop(self) -> None:
        from sqlalchemy import create_engine, text

        engine = create_engine(self.admin_url)
        with engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{self.name}" CASCADE'))
        engine.dispose()


def make_pg_schema() -> PgSchema:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = pg_base_url()
    assert base is not None
    name = f"t_{uuid.uuid4().hex[:12]}"
    engine = create_engine(base)
    try:
        with engine.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{name}"'))
    except Exception as error:  # the variable is set but the server is not there
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"PostgreSQL at {PG_ENV} cannot be used: {error}")
        pytest.skip(f"PostgreSQL at {PG_ENV} cannot be used: {type(error).__name__}")
    finally:
        engine.dispose()
    url = make_url(base).update_query_dict({"options": f"-csearch_path={name}"})
    return PgSchema(url=url.render_as_string(hide_password=False), name=name, admin_url=base)


COHORT = {
    "name": "Promo 1",
    "programme": "Développeur·se web et web mobile",
    "start_date": "2026-01-05",
    "end_date": "2026-07-03",
    "capacity": 14,
    "funders": "Région",
    "status": "running",
}
LEARNER = {
    "first_name": "Inès",
    "last_name": "Martin",
    "email": "ines.martin@example.org",
    "phone": "+33612345678",
    "birth_year": 1999,
    "gender": "F",
    "qpv": True,
    "qualification": "4",
    "job_seeker": True,
    "refugee": False,
    "prescriber_id": None,
    "status": "enrolled",
    "dropout_date": None,
    "dropout_reason": "",
}


@dataclass
class Device:
    """One local database of a coordinator: its client_id, token and mutation numbers."""

    http: Any
    token: str
    client_id: str = field(default_factory=uuid7)
    numbers: count = field(default_factory=lambda: count(1))

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def mutation(
        self, entity: str, row_id: str, op: str, fields: dict[str, Any] | None = None, **extra: Any
    ) -> dict[str, Any]:
        return {
            "seq": next(self.numbers),
            "entity": entity,
            "id": row_id,
            "op": op,
            "fields": fields or {},
            **extra,
        }

    def push_raw(self, mutations: list[dict[str, Any]]) -> Any:
        return self.http.post(
            "/v1/push",
            json={"client_id": self.client_id, "mutations": mutations},
            headers=self.headers,
        )

    def push(self, *mutations: dict[str, Any]) -> list[dict[str, Any]]:
        response = self.push_raw(list(mutations))
        assert response.status_code == 200, response.text
        return response.json()["results"]

    def push_one(
        self, entity: str, row_id: str, op: str, fields: dict[str, Any] | None = None, **extra: Any
    ) -> dict[str, Any]:
        return self.push(self.mutation(entity, row_id, op, fields, **extra))[0]

    def pull(self, cursors: dict[str, int] | None = None, limit: int = 1000) -> dict[str, Any]:
        response = self.http.post(
            "/v1/pull", json={"cursors": cursors or {}, "limit": limit}, headers=self.headers
        )
        assert response.status_code == 200, response.text
        return response.json()

    def pull_all(
        self, cursors: dict[str, int] | None = None, limit: int = 1000
    ) -> tuple[dict[tuple[str, str], Any], dict[str, int]]:
        """Every change until ``more`` is false: the last state of each row, and the cursors."""
        state: dict[tuple[str, str], Any] = {}
        cursors = dict(cursors or {})
        for _ in range(1000):
            page = self.pull(cursors, limit)
            for change in page["changes"]:
                state[(change["entity"], change["id"])] = change["row"]
            cursors = page["cursors"]
            if not page["more"]:
                return state, cursors
        raise AssertionError("pull never ended")

    # --- helpers that make rows --------------------------------------------------------------

    def create_cohort(self, site_id: str, **changes: Any) -> str:
        row_id = uuid7()
        result = self.push_one(
            "cohort", row_id, "create", {**COHORT, "site_id": site_id, **changes}
        )
        assert result["status"] == "applied", result
        return row_id

    def create_learner(self, site_id: str, cohort_id: str, **changes: Any) -> str:
        row_id = uuid7()
        result = self.push_one(
            "learner",
            row_id,
            "create",
            {**LEARNER, "site_id": site_id, "cohort_id": cohort_id, **changes},
        )
        assert result["status"] == "applied", result
        return row_id

    def rename_cohort(self, cohort_id: str, name: str, version: int, base: str) -> dict[str, Any]:
        """Push a new name for a cohort this device read at ``version`` named ``base``: from the
        same version as another device's rename, the second is a conflict."""
        return self.push_one(
            "cohort",
            cohort_id,
            "update",
            {"name": name},
            base_version=version,
            base_values={"name": base},
        )


@dataclass
class World:
    engine: Any
    http: Any
    site_a1: str
    site_a2: str
    site_b1: str
    email_a: str
    email_b: str
    token_a: str
    token_b: str

    def device(self, who: str = "a") -> Device:
        return Device(self.http, self.token_a if who == "a" else self.token_b)


def make_world(engine: Any, http: Any) -> World:
    tag = uuid.uuid4().hex[:8]
    a1 = admin.add_site(
        engine, name=f"Fabrique Lille {tag}", city="Lille", region="Hauts-de-France"
    ).value
    a2 = admin.add_site(engine, name=f"Fabrique Roubaix {tag}", city="Roubaix").value
    b1 = admin.add_site(engine, name=f"Fabrique Brest {tag}", city="Brest").value
    email_a, email_b = f"a-{tag}@example.org", f"b-{tag}@example.org"
    admin.add_coordinator(engine, email=email_a, name="Alice Coordinatrice")
    admin.add_coordinator(engine, email=email_b, name="Bruno Coordinateur")
    for site in (a1, a2):
        admin.grant(engine, email=email_a, site_id=site)
    admin.grant(engine, email=email_b, site_id=b1)
    return World(
        engine=engine,
        http=http,
        site_a1=a1,
        site_a2=a2,
        site_b1=b1,
        email_a=email_a,
        email_b=email_b,
        token_a=admin.issue_token(engine, email=email_a).value,
        token_b=admin.issue_token(engine, email=email_b).value,
    )


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"
