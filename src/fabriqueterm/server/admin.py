"""Administration of the commons: sites, coordinators, grants, tokens, purges. (Loading the demo
network is the demo's: :mod:`fabriqueterm.demo.load`.)

Each function does one thing in one transaction and returns a message for people; a request that
cannot be done raises :class:`AdminError` with a message naming what is wrong.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, insert, or_, select, update

from fabriqueterm.domain.dates import utcnow
from fabriqueterm.domain.ids import uuid7
from fabriqueterm.domain.validation import DomainValidationError, normalise_email, validate
from fabriqueterm.i18n import _
from fabriqueterm.server.auth import PREFIX_LENGTH, new_token, token_hash
from fabriqueterm.server.db import (
    SYNCED_TABLES,
    change_table,
    coordinator_table,
    grant_table,
    horizon_table,
    read_transaction,
    token_table,
    write_transaction,
)
from fabriqueterm.server.push import is_uuid, load_rows
from fabriqueterm.server.rows import REFERENCES, chunks


class AdminError(Exception):
    """A request the commons cannot carry out; the message says what is wrong."""


@dataclass(frozen=True)
class Outcome:
    """What an admin command did: a message, and the new thing's id (or token) when there is one."""

    message: str
    value: str = ""
    changed: bool = True


def _email(text: str) -> str:
    try:
        email = normalise_email(text)
    except Exception:
        email = None
    if not email:
        raise AdminError(_("“{value}” is not an email address.").format(value=text))
    return email.lower()


def find_coordinator(connection: Connection, email: str) -> Any:
    """The coordinator with ``email``; :class:`AdminError` when there is none."""
    row = connection.execute(
        select(coordinator_table).where(coordinator_table.c.email == _email(email))
    ).first()
    if row is None:
        raise AdminError(
            _(
                "No coordinator with the email {email}: add one with “fabriqueterm server admin coordinator add”."
            ).format(email=email)
        )
    return row


def _site(connection: Connection, site_id: str) -> Any:
    table = SYNCED_TABLES["site"]
    row = (
        connection.execute(select(table).where(table.c.id == site_id)).first()
        if is_uuid(site_id)
        else None
    )
    if row is None:
        raise AdminError(
            _("No site with the id {id}: see “fabriqueterm server admin list”.").format(id=site_id)
        )
    return row


def add_site(
    engine: Engine, *, name: str, city: str, region: str = "", site_id: str | None = None
) -> Outcome:
    try:
        values = validate("site", {"name": name, "city": city, "region": region})
    except DomainValidationError as error:
        raise AdminError(str(error)) from None
    if site_id is not None and not is_uuid(site_id):
        raise AdminError(_("“{value}” is not a UUID.").format(value=site_id))
    table = SYNCED_TABLES["site"]
    # Read only: the write (and the command's audit entry with it) is load_rows' transaction.
    with read_transaction(engine) as connection:
        if site_id is not None:
            existing = connection.execute(
                select(table).where(table.c.id == site_id.lower())
            ).first()
        else:
            existing = connection.execute(
                select(table).where(table.c.name == values["name"], table.c.city == values["city"])
            ).first()
    if existing is not None:
        same = all(
            getattr(existing, k) == v for k, v in values.items() if k in ("name", "city", "region")
        )
        if not same:
            raise AdminError(
                _("The site {id} already exists as “{name}” ({city}): nothing changed.").format(
                    id=existing.id, name=existing.name, city=existing.city
                )
            )
        return Outcome(
            _("The site “{name}” already exists: {id}").format(name=existing.name, id=existing.id),
            existing.id,
            changed=False,
        )
    now = utcnow()
    new_id = (site_id or uuid7()).lower()
    load_rows(
        engine,
        {
            "site": [
                {"id": new_id, "created_at": now, "updated_at": now, "deleted_at": None, **values}
            ]
        },
    )
    return Outcome(_("Site “{name}” added: {id}").format(name=values["name"], id=new_id), new_id)


def add_coordinator(engine: Engine, *, email: str, name: str) -> Outcome:
    address = _email(email)
    name = name.strip()
    if not name or len(name) > 200:
        raise AdminError(_("The coordinator's name must have 1 to 200 characters."))
    with write_transaction(engine) as connection:
        existing = connection.execute(
            select(coordinator_table).where(coordinator_table.c.email == address)
        ).first()
        if existing is not None:
            if existing.name != name:
                raise AdminError(
                    _("{email} is already the coordinator “{name}”: nothing changed.").format(
                        email=address, name=existing.name
                    )
                )
            return Outcome(
                _("{email} is already a coordinator.").format(email=address),
                existing.id,
                changed=False,
            )
        new_id = uuid7()
        connection.execute(
            insert(coordinator_table).values(
                id=new_id, email=address, name=name, created_at=utcnow()
            )
        )
    return Outcome(_("Coordinator {email} added.").format(email=address), new_id)


def grant(engine: Engine, *, email: str, site_id: str) -> Outcome:
    with write_transaction(engine) as connection:
        coordinator = find_coordinator(connection, email)
        site = _site(connection, site_id)
        exists = connection.execute(
            select(grant_table.c.site_id).where(
                grant_table.c.coordinator_id == coordinator.id, grant_table.c.site_id == site.id
            )
        ).first()
        if exists:
            return Outcome(
                _("{email} already holds the site “{name}”.").format(
                    email=coordinator.email, name=site.name
                ),
                changed=False,
            )
        connection.execute(
            insert(grant_table).values(
                coordinator_id=coordinator.id, site_id=site.id, granted_at=utcnow()
            )
        )
    return Outcome(
        _("{email} now holds the site “{name}”.").format(email=coordinator.email, name=site.name)
    )


def revoke(engine: Engine, *, email: str, site_id: str) -> Outcome:
    with write_transaction(engine) as connection:
        coordinator = find_coordinator(connection, email)
        site = _site(connection, site_id)
        removed = connection.execute(
            delete(grant_table).where(
                grant_table.c.coordinator_id == coordinator.id, grant_table.c.site_id == site.id
            )
        ).rowcount
    if not removed:
        return Outcome(
            _("{email} did not hold the site “{name}”.").format(
                email=coordinator.email, name=site.name
            ),
            changed=False,
        )
    return Outcome(
        _("{email} no longer holds the site “{name}”.").format(
            email=coordinator.email, name=site.name
        )
    )


def issue_token(engine: Engine, *, email: str) -> Outcome:
    """A new token for the coordinator; only its hash is kept, so it is shown this once."""
    token = new_token()
    with write_transaction(engine) as connection:
        coordinator = find_coordinator(connection, email)
        connection.execute(
            insert(token_table).values(
                id=uuid7(),
                coordinator_id=coordinator.id,
                token_hash=token_hash(token),
                prefix=token[:PREFIX_LENGTH],
                created_at=utcnow(),
            )
        )
    return Outcome(
        _("Token for {email} (shown only this once; keep it secret):").format(
            email=coordinator.email
        ),
        token,
    )


def revoke_token(engine: Engine, *, token_or_id: str) -> Outcome:
    """Revoke a token named by its id, its first characters (at least 4) or itself."""
    text = token_or_id.strip()
    with write_transaction(engine) as connection:
        conditions = [token_table.c.id == text, token_table.c.token_hash == token_hash(text)]
        if len(text) >= 4:
            conditions.append(
                token_table.c.prefix.startswith(text[:PREFIX_LENGTH], autoescape=True)
            )
        rows = connection.execute(select(token_table).where(or_(*conditions))).all()
        if not rows:
            raise AdminError(
                _("No token matches “{value}”: see “fabriqueterm server admin list”.").format(
                    value=text
                )
            )
        if len(rows) > 1:
            raise AdminError(
                _(
                    "“{value}” matches {count} tokens: give more characters or the token's id."
                ).format(value=text, count=len(rows))
            )
        token = rows[0]
        if token.revoked_at is not None:
            return Outcome(
                _("The token {prefix}… was already revoked.").format(prefix=token.prefix),
                changed=False,
            )
        connection.execute(
            update(token_table).where(token_table.c.id == token.id).values(revoked_at=utcnow())
        )
    return Outcome(_("The token {prefix}… is revoked.").format(prefix=token.prefix))


def listing(engine: Engine) -> Iterator[str]:
    """Sites, coordinators with their sites, and tokens (never the tokens themselves)."""
    site = SYNCED_TABLES["site"]
    with engine.connect() as connection:
        sites = connection.execute(select(site).order_by(site.c.name, site.c.id)).all()
        names = {s.id: s.name for s in sites}
        yield _("Sites:")
        for s in sites:
            gone = _(" (deleted)") if s.deleted_at is not None else ""
            yield f"  {s.id}  {s.name} — {s.city}{' — ' + s.region if s.region else ''}{gone}"
        yield _("Coordinators:")
        grants: dict[str, list[str]] = {}
        for coordinator_id, site_id in connection.execute(
            select(grant_table.c.coordinator_id, grant_table.c.site_id)
        ):
            grants.setdefault(coordinator_id, []).append(names.get(site_id, site_id))
        for c in connection.execute(select(coordinator_table).order_by(coordinator_table.c.email)):
            held = ", ".join(sorted(grants.get(c.id, []))) or _("no site")
            disabled = _(" (disabled)") if c.disabled_at is not None else ""
            yield f"  {c.email}  {c.name}  [{held}]{disabled}"
        yield _("Tokens:")
        emails = dict(
            connection.execute(select(coordinator_table.c.id, coordinator_table.c.email)).all()
        )
        for t in connection.execute(select(token_table).order_by(token_table.c.created_at)):
            state = _("revoked") if t.revoked_at is not None else _("active")
            yield f"  {t.id}  {t.prefix}…  {emails.get(t.coordinator_id, '?')}  {state}"


def purge_tombstones(
    engine: Engine, *, older_than: timedelta, now: datetime | None = None
) -> Outcome:
    """Remove tombstones older than ``older_than`` that no row refers to. Clients whose cursor is
    older than a purged change are then told to resync that site."""
    cutoff = (now or utcnow()) - older_than
    purged = 0
    horizons: dict[str, int] = {}
    with write_transaction(engine) as connection:
        for entity in reversed(list(SYNCED_TABLES)):
            if entity == "site":
                continue  # sites are the administrator's
            table = SYNCED_TABLES[entity]
            candidates = list(
                connection.execute(
                    select(table.c.id).where(
                        table.c.deleted_at.is_not(None), table.c.deleted_at < cutoff
                    )
                ).scalars()
            )
            for child, columns in REFERENCES.items():
                for column, target in columns.items():
                    if target != entity or not candidates:
                        continue
                    child_table = SYNCED_TABLES[child]
                    referenced: set[str] = set()
                    for part in chunks(candidates):
                        referenced |= set(
                            connection.execute(
                                select(child_table.c[column]).where(child_table.c[column].in_(part))
                            ).scalars()
                        )
                    candidates = [c for c in candidates if c not in referenced]
            for part in chunks(candidates):
                for site_id, seq in connection.execute(
                    select(change_table.c.site_id, func.max(change_table.c.seq))
                    .where(change_table.c.entity == entity, change_table.c.row_id.in_(part))
                    .group_by(change_table.c.site_id)
                ):
                    horizons[site_id] = max(horizons.get(site_id, 0), int(seq))
                connection.execute(
                    delete(change_table).where(
                        change_table.c.entity == entity, change_table.c.row_id.in_(part)
                    )
                )
                connection.execute(delete(table).where(table.c.id.in_(part)))
            purged += len(candidates)
        for site_id, seq in horizons.items():
            current = connection.execute(
                select(horizon_table.c.purged_seq).where(horizon_table.c.site_id == site_id)
            ).scalar()
            if current is None:
                connection.execute(insert(horizon_table).values(site_id=site_id, purged_seq=seq))
            elif seq > current:
                connection.execute(
                    update(horizon_table)
                    .where(horizon_table.c.site_id == site_id)
                    .values(purged_seq=seq)
                )
    return Outcome(_("{count} tombstones purged.").format(count=purged), str(purged))


__all__ = [
    "AdminError",
    "Outcome",
    "add_coordinator",
    "add_site",
    "find_coordinator",
    "grant",
    "issue_token",
    "listing",
    "purge_tombstones",
    "revoke",
    "revoke_token",
]
