"""Pull: the rows of a coordinator's granted sites written after their cursors, in sequence order,
a page at a time, read in one snapshot (SYNC.md)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, and_, or_, select

from fabriqueterm.server.auth import Coordinator, granted_sites
from fabriqueterm.server.db import (
    SYNCED_TABLES,
    change_table,
    current_sequence,
    horizon_table,
    read_transaction,
)
from fabriqueterm.server.rows import PartnerLinks, chunks, row_out, site_of
from fabriqueterm.sync.protocol import PulledChange, PullRequest, PullResponse


def pull(engine: Engine, coordinator: Coordinator, request: PullRequest) -> PullResponse:
    with read_transaction(engine) as connection:
        return _pull(connection, coordinator, request)


def _pull(connection: Connection, coordinator: Coordinator, request: PullRequest) -> PullResponse:
    granted = granted_sites(connection, coordinator.id)
    sites = sorted(granted)
    not_granted = sorted(s for s in request.cursors if s not in granted)
    high = current_sequence(connection)
    horizons = dict(
        connection.execute(
            select(horizon_table.c.site_id, horizon_table.c.purged_seq).where(horizon_table.c.site_id.in_(sites))
        ).all()
    ) if sites else {}
    cursors = {s: max(0, int(request.cursors.get(s, 0))) for s in sites}
    # Older than what is kept, or ahead of this server (restored from a backup): start again.
    resync = sorted(s for s in sites if cursors[s] > high or 0 < cursors[s] < horizons.get(s, 0))
    for site in resync:
        cursors[site] = 0
    active = [s for s in sites if s not in resync]
    changes: list[PulledChange] = []
    more = False
    if active:
        by_cursor: dict[int, list[str]] = {}
        for site in active:
            by_cursor.setdefault(cursors[site], []).append(site)
        condition = or_(
            *(
                and_(change_table.c.seq > cursor, change_table.c.site_id.in_(group))
                for cursor, group in sorted(by_cursor.items())
            )
        )
        entries = connection.execute(
            select(change_table.c.seq, change_table.c.site_id, change_table.c.entity, change_table.c.row_id)
            .where(change_table.c.seq > min(by_cursor), condition)
            .order_by(change_table.c.seq, change_table.c.site_id)
            .limit(request.limit + 1)
        ).all()
        more = len(entries) > request.limit
        entries = entries[: request.limit]
        rows = _rows(connection, entries)
        links = PartnerLinks(connection)
        links.load([row_id for _s, _site, entity, row_id in entries if entity == "partner"])
        sent: set[tuple[str, str]] = set()
        for seq, site, entity, row_id in entries:
            cursors[site] = max(cursors[site], seq)
            key = (entity, row_id)
            if key in sent:
                continue  # a partner linked to several of the coordinator's sites
            sent.add(key)
            row = rows.get(key)
            if row is not None and not _visible(entity, row, granted, coordinator, links):
                row = None
            changes.append(
                PulledChange(seq=seq, site_id=site, entity=entity, id=row_id, row=row_out(row) if row else None)
            )
        if not more:
            for site in active:
                cursors[site] = max(cursors[site], high)
    return PullResponse(
        changes=changes,
        cursors=cursors,
        more=more,
        sites=sites,
        not_granted=not_granted,
        resync_required=resync,
    )


def _visible(
    entity: str, row: dict[str, Any], granted: frozenset[str], coordinator: Coordinator, links: PartnerLinks
) -> bool:
    if entity == "partner":
        return links.visible(row["id"], granted, coordinator.id)
    return site_of(entity, row) in granted


def _rows(connection: Connection, entries: list[Any]) -> dict[tuple[str, str], dict[str, Any]]:
    wanted: dict[str, list[str]] = {}
    for _seq, _site, entity, row_id in entries:
        wanted.setdefault(entity, []).append(row_id)
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for entity, ids in wanted.items():
        table = SYNCED_TABLES.get(entity)
        if table is None:
            continue
        for part in chunks(sorted(set(ids))):
            for row in connection.execute(select(table).where(table.c.id.in_(part))).mappings():
                found[(entity, row["id"])] = dict(row)
    return found
