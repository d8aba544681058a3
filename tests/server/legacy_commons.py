"""A commons as release 0.1 made it, before migrations: frozen, whatever the models become.

- the schema is the DDL that 0.1's ``create_schema`` executed (recorded from it into
  ``fixtures/commons_before_migrations.{sqlite,postgresql}.sql``), plus its counter row and
  server id; no ``alembic_version`` table;
- ``LEGACY_ROWS`` puts rows in every one of its tables, with a live token (``LEGACY_TOKEN``) of a
  coordinator who holds the site, so a migrated commons can be used, not only read.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, MetaData, select, text

from fabriqueterm.server.auth import token_hash

FIXTURES = Path(__file__).resolve().parent / "fixtures"

LEGACY_TOKEN = "ftk_legacy-token-of-a-commons-made-before-migrations"
LEGACY_SERVER_ID = "01930000-0000-7000-8000-00000000c0de"

SITE = "01930000-0000-7000-8000-000000000001"
PARTNER = "01930000-0000-7000-8000-000000000002"
COHORT = "01930000-0000-7000-8000-000000000003"
LEARNER = "01930000-0000-7000-8000-000000000004"
FOLLOW_UP = "01930000-0000-7000-8000-000000000005"
COORDINATOR = "01930000-0000-7000-8000-000000000006"
ERASED = "01930000-0000-7000-8000-000000000007"
CLIENT = "01930000-0000-7000-8000-0000000000c1"

_AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def _synced(row_id: str, version: int) -> dict[str, Any]:
    return {"id": row_id, "created_at": _AT, "updated_at": _AT, "version": version}


#: Rows in every table of revision 0001, parents first.
LEGACY_ROWS: dict[str, list[dict[str, Any]]] = {
    "site": [
        {
            **_synced(SITE, 1),
            "deleted_at": None,
            "name": "Fabrique Roubaix",
            "city": "Roubaix",
            "region": "Hauts-de-France",
            "operator": "Association Ouvre-Boîte",
            "address": "12 rue de l'Épeule",
            "active": True,
        }
    ],
    "partner": [
        {
            **_synced(PARTNER, 2),
            "deleted_at": None,
            "name": "Entreprise Lainière",
            "kinds": "employer,training",
            "contact_name": "Zoé Durand",
            "email": "zoe@example.org",
            "phone": "+33320000000",
            "city": "Roubaix",
            "notes": "Recrute des développeur·ses",
        }
    ],
    "partner_site": [
        {
            **_synced("01930000-0000-7000-8000-000000000008", 3),
            "deleted_at": None,
            "partner_id": PARTNER,
            "site_id": SITE,
        }
    ],
    "cohort": [
        {
            **_synced(COHORT, 4),
            "deleted_at": None,
            "site_id": SITE,
            "name": "Promo printemps",
            "programme": "Développeur·se web et web mobile",
            "start_date": date(2026, 1, 5),
            "end_date": date(2026, 7, 3),
            "capacity": 14,
            "funders": "Région; France Travail",
            "status": "running",
        }
    ],
    "learner": [
        {
            **_synced(LEARNER, 5),
            "deleted_at": None,
            "site_id": SITE,
            "cohort_id": COHORT,
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
            "prescriber_id": PARTNER,
            "status": "enrolled",
            "dropout_date": None,
            "dropout_reason": "",
        }
    ],
    "follow_up": [
        {
            **_synced(FOLLOW_UP, 6),
            "deleted_at": None,
            "site_id": SITE,
            "learner_id": LEARNER,
            "milestone": "end",
            "due_date": date(2026, 7, 3),
            "done_date": date(2026, 7, 6),
            "channel": "phone",
            "outcome": "reached",
            "notes": "En stage",
        }
    ],
    "placement": [
        {
            **_synced("01930000-0000-7000-8000-000000000009", 7),
            "deleted_at": None,
            "site_id": SITE,
            "learner_id": LEARNER,
            "kind": "job",
            "partner_id": PARTNER,
            "job_title": "Développeuse",
            "start_date": date(2026, 8, 1),
            "source_followup_id": FOLLOW_UP,
            "notes": "",
        }
    ],
    "conflict": [
        {
            **_synced("01930000-0000-7000-8000-00000000000a", 8),
            "deleted_at": _AT,
            "site_id": SITE,
            "row_entity": "cohort",
            "row_id": COHORT,
            "kind": "field",
            "field": "name",
            "server_value": '"Promo printemps"',
            "client_value": '"Promo avril"',
            "base_value": '"Promo 1"',
            "coordinator_id": COORDINATOR,
            "coordinator_name": "Amina Diallo",
            "detected_at": _AT,
            "resolved_at": _AT,
            "resolution": "kept_server",
        }
    ],
    "srv_coordinator": [
        {"id": COORDINATOR, "email": "amina@example.org", "name": "Amina Diallo", "created_at": _AT}
    ],
    "srv_grant": [{"coordinator_id": COORDINATOR, "site_id": SITE, "granted_at": _AT}],
    "srv_token": [
        {
            "id": "01930000-0000-7000-8000-00000000000b",
            "coordinator_id": COORDINATOR,
            "token_hash": token_hash(LEGACY_TOKEN),
            "prefix": LEGACY_TOKEN[:12],
            "created_at": _AT,
            "revoked_at": None,
        }
    ],
    "srv_client": [
        {
            "client_id": CLIENT,
            "coordinator_id": COORDINATOR,
            "last_seq": 8,
            "created_at": _AT,
            "updated_at": _AT,
        }
    ],
    "srv_change": [
        {
            "entity": "cohort",
            "row_id": COHORT,
            "site_id": SITE,
            "seq": 4,
            "client_id": CLIENT,
            "row_site": SITE,
            "row_json": '{"id": "' + COHORT + '", "name": "Promo printemps"}',
        }
    ],
    "srv_horizon": [{"site_id": SITE, "purged_seq": 2}],
    "srv_partner_origin": [{"partner_id": PARTNER, "coordinator_id": COORDINATOR}],
    "srv_erasure": [{"row_id": ERASED, "erased_at": _AT}],
}


def legacy_ddl(dialect: str) -> list[str]:
    """The statements 0.1's ``create_schema`` executed on ``dialect`` (sqlite or postgresql)."""
    script = (FIXTURES / f"commons_before_migrations.{dialect}.sql").read_text()
    return [statement.strip() for statement in script.split(";") if statement.strip()]


def make_legacy_commons(engine: Engine, *, rows: bool = True) -> None:
    """Build the 0.1 commons on ``engine``'s empty database, with ``LEGACY_ROWS`` unless ``rows``
    is false."""
    with engine.begin() as connection:
        for statement in legacy_ddl(engine.dialect.name):
            connection.exec_driver_sql(statement)
        connection.execute(text("INSERT INTO srv_counter (id, value) VALUES (1, 8)"))
        connection.execute(
            text("INSERT INTO srv_meta (key, value) VALUES ('server_id', :id)"),
            {"id": LEGACY_SERVER_ID},
        )
        if rows:
            tables = _reflect(connection)
            for name, table_rows in LEGACY_ROWS.items():
                connection.execute(tables.tables[name].insert(), table_rows)


def _reflect(connection: Connection) -> MetaData:
    reflected = MetaData()
    reflected.reflect(connection)
    return reflected


def snapshot(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table but Alembic's, by table, in primary-key order."""
    with engine.connect() as connection:
        tables = _reflect(connection)
        result: dict[str, list[dict[str, Any]]] = {}
        for name, table in sorted(tables.tables.items()):
            if name == "alembic_version":
                continue
            order = list(table.primary_key.columns) or list(table.columns)
            result[name] = [
                dict(row._mapping) for row in connection.execute(select(table).order_by(*order))
            ]
        return result
