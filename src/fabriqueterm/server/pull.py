"""Pull: the rows of a coordinator's granted sites written after their cursors, in sequence order,
a page at a time, read in one snapshot (docs/sync.md)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import (
    Connection,
    Engine,
    and_,
    or_,
    select,
)

from fabriqueterm.server.auth import Coordinator, granted_sites
from fabriqueterm.server.db import (
    change_table,
    current_sequence,
    horizon_table,
    read_transaction,
    restore_epoch,
)
from fabriqueterm.server.rows import PartnerLinks
from fabriqueterm.sync.protocol import PulledChange, PullRequest, PullResponse


@dataclass
class PullPage:
    """One page of changes; each row is JSON text made by the database (fast path to the wire)."""

    changes: list[tuple[int, str, str, str, str | None]]  # seq, site, entity, id, row as JSON
    cursors: dict[str, int]
    more: bool
    sites: list[str]
    not_granted: list[str]
    resync_required: list[str]
    restored: list[str]
    epoch: str

    def to_json(self) -> bytes:
        """The page as a :class:`PullResponse` body."""
        parts = []
        for seq, site, entity, row_id, row in self.changes:
            parts.append(
                f'{{"seq":{int(seq)},"site_id":{_json_id(site)},"entity":{_json_id(entity)},'
                f'"id":{_json_id(row_id)},"row":{row if row is not None else "null"}}}'
            )
        head = json.dumps(
            {
                "cursors": self.cursors,
                "more": self.more,
                "sites": self.sites,
                "not_granted": self.not_granted,
                "resync_required": self.resync_required,
                "restored": self.restored,
                "epoch": self.epoch,
            },
            ensure_ascii=False,
        )
        return ('{"changes":[' + ",".join(parts) + "]," + head[1:]).encode("utf-8")

    def to_model(self) -> PullResponse:
        return PullResponse(
            changes=[
                PulledChange(
                    seq=seq,
                    site_id=site,
                    entity=entity,
                    id=row_id,
                    row=json.loads(row) if row else None,
                )
                for seq, site, entity, row_id, row in self.changes
            ],
            cursors=self.cursors,
            more=self.more,
            sites=self.sites,
            not_granted=self.not_granted,
            resync_required=self.resync_required,
            restored=self.restored,
            epoch=self.epoch,
        )


def _json_id(text: str) -> str:
    if '"' in text or "\\" in text or not text.isprintable():
        return json.dumps(text)
    return f'"{text}"'


def pull(engine: Engine, coordinator: Coordinator, request: PullRequest) -> PullResponse:
    """A page of changes as a :class:`PullResponse`."""
    return pull_page(engine, coordinator, request).to_model()


def pull_page(engine: Engine, coordinator: Coordinator, request: PullRequest) -> PullPage:
    """A page of changes, its rows already JSON (what the API sends)."""
    with read_transaction(engine) as connection:
        return _pull(connection, coordinator, request)


def _pull(connection: Connection, coordinator: Coordinator, request: PullRequest) -> PullPage:
    granted = granted_sites(connection, coordinator.id)
    sites = sorted(granted)
    not_granted = sorted(s for s in request.cursors if s not in granted)
    high = current_sequence(connection)
    horizons = (
        dict(
            connection.execute(
                select(horizon_table.c.site_id, horizon_table.c.purged_seq).where(
                    horizon_table.c.site_id.in_(sites)
                )
            ).all()
        )
        if sites
        else {}
    )
    cursors = {s: max(0, int(request.cursors.get(s, 0))) for s in sites}
    # Restored from a backup since the client's last pull: another epoch, or a cursor ahead of
    # this server (a restore older than epochs, or the epoch not stored yet). Older than what is
    # kept: the tombstones were purged. Either way, start again from 0.
    epoch = restore_epoch(connection)
    another_epoch = request.epoch is not None and request.epoch != epoch
    restored = sorted(s for s in sites if cursors[s] > high or (another_epoch and cursors[s] > 0))
    resync = sorted(set(restored) | {s for s in sites if 0 < cursors[s] < horizons.get(s, 0)})
    for site in resync:
        cursors[site] = 0
    active = [s for s in sites if s not in resync]
    changes: list[tuple[int, str, str, str, str | None]] = []
    more = False
    if active:
        by_cursor: dict[int, list[str]] = {}
        for site in active:
            by_cursor.setdefault(cursors[site], []).append(site)
        # ``site_id || ''`` keeps the planner off the (site, seq) index: walking the log in sequence
        # order stops at the page's end, where gathering every change of the sites and sorting them
        # costs the whole log on every page (measured: 10 times slower at 100k learners).
        site = change_table.c.site_id.concat("")
        condition = or_(
            *(
                and_(change_table.c.seq > cursor, site.in_(group))
                for cursor, group in sorted(by_cursor.items())
            )
        )
        statement = (
            select(
                change_table.c.seq,
                change_table.c.site_id,
                change_table.c.entity,
                change_table.c.row_id,
                change_table.c.row_site,
                change_table.c.row_json,
            )
            .where(change_table.c.seq > min(by_cursor), condition)
            .order_by(change_table.c.seq, change_table.c.site_id)
            .limit(request.limit + 1)
        )
        # The driver's own rows: a page is thousands of them, SQLAlchemy's row objects cost more.
        entries = connection.execute(statement).cursor.fetchall()
        more = len(entries) > request.limit
        entries = entries[: request.limit]
        links = PartnerLinks(connection)
        links.load(
            [row_id for _s, _site, entity, row_id, _rs, _j in entries if entity == "partner"]
        )
        sent: set[tuple[str, str]] = set()
        for seq, site, entity, row_id, row_site, text in entries:
            if seq > cursors[site]:
                cursors[site] = seq
            key = (entity, row_id)
            if entity == "partner":
                if key in sent:
                    continue  # linked to several of the coordinator's sites
                sent.add(key)
                visible = links.visible(row_id, granted, coordinator.id)
            else:
                visible = row_site in granted
            changes.append((seq, site, entity, row_id, text if visible else None))
        # Every matching change numbered below the page's last one is in the page: the sites with
        # nothing in it move up too, so the next page does not scan again from their old cursor.
        floor = high if not more else (entries[-1][0] - 1 if entries else 0)
        for site in active:
            cursors[site] = max(cursors[site], floor)
    return PullPage(
        changes=changes,
        cursors=cursors,
        more=more,
        sites=sites,
        not_granted=not_granted,
        resync_required=resync,
        restored=restored,
        epoch=epoch,
    )
