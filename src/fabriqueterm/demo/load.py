"""Loading the demo network into a commons (``fabriqueterm server admin load-demo``, and the demo's
own commons): the rows of :func:`fabriqueterm.demo.generate`, loaded once, and its sites granted
to a coordinator. It lives with the demo because the server never imports the demo."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Engine, func, select

from fabriqueterm.demo.network import generate
from fabriqueterm.i18n import _
from fabriqueterm.server.admin import Outcome, find_coordinator, grant
from fabriqueterm.server.db import SYNCED_TABLES
from fabriqueterm.server.push import load_rows


def load_demo(
    engine: Engine, *, learners: int, seed: int, email: str, today: date | None = None
) -> Outcome:
    """Load the demo network (:func:`fabriqueterm.demo.generate`) and grant its sites to ``email``."""
    with engine.connect() as connection:
        find_coordinator(connection, email)
    data = generate(learners=learners, seed=seed, today=today or date.today())
    sites = [row["id"] for row in data.rows.get("site", [])]
    table = SYNCED_TABLES["site"]
    with engine.connect() as connection:
        present = connection.execute(
            select(func.count()).select_from(table).where(table.c.id.in_(sites))
        ).scalar()
    if present:
        message = _("This demo network is already loaded.")
        count = 0
    else:
        count = load_rows(engine, data.rows)
        message = _("Demo network loaded: {count} rows.").format(count=count)
    for site_id in sites:
        grant(engine, email=email, site_id=site_id)
    return Outcome(
        message + " " + _("{email} holds its {sites} sites.").format(email=email, sites=len(sites)),
        str(count),
    )
