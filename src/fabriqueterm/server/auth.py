"""Bearer tokens: made with :func:`secrets.token_urlsafe`, shown once, stored as their sha256."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, select, update

from fabriqueterm.server.db import coordinator_table, grant_table, token_table

#: Characters of a token kept in clear so a person can name it (``token revoke``).
PREFIX_LENGTH = 8
#: ``srv_token.last_used_at`` is written at most this often per token (not a write per request).
LAST_USED_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class Coordinator:
    id: str
    email: str
    name: str


@dataclass(frozen=True)
class TokenUse:
    """A live token's coordinator, the token's id and when it was last used (None: never)."""

    coordinator: Coordinator
    token_id: str
    last_used_at: datetime | None

    def needs_touch(self, now: datetime) -> bool:
        """Whether ``last_used_at`` is older than :data:`LAST_USED_EVERY` (or unset)."""
        last = self.last_used_at
        if last is None:
            return True
        if last.tzinfo is None:  # SQLite gives naive datetimes back (UTC)
            last = last.replace(tzinfo=UTC)
        last, now = last.astimezone(UTC), now.astimezone(UTC)
        # A new day (UTC) always writes: the "seen today" gauge counts from midnight.
        return now - last >= LAST_USED_EVERY or last.date() != now.date()


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def token_use(connection: Connection, token: str) -> TokenUse | None:
    """A live token's use, or None: unknown, revoked, or its coordinator disabled (the same None,
    so a disabled coordinator's client gets the same 401 as a revoked token)."""
    if not token or len(token) > 512:
        return None
    row = connection.execute(
        select(
            coordinator_table.c.id,
            coordinator_table.c.email,
            coordinator_table.c.name,
            token_table.c.id,
            token_table.c.last_used_at,
        )
        .join(token_table, token_table.c.coordinator_id == coordinator_table.c.id)
        .where(
            token_table.c.token_hash == token_hash(token),
            token_table.c.revoked_at.is_(None),
            coordinator_table.c.disabled_at.is_(None),
        )
    ).first()
    if row is None:
        return None
    return TokenUse(Coordinator(row[0], row[1], row[2]), row[3], row[4])


def coordinator_for_token(connection: Connection, token: str) -> Coordinator | None:
    """The coordinator a live token belongs to, or None (unknown, revoked or disabled)."""
    use = token_use(connection, token)
    return use.coordinator if use else None


def touch_token(connection: Connection, token_id: str, now: datetime) -> None:
    """Record that the token was used at ``now``."""
    connection.execute(
        update(token_table).where(token_table.c.id == token_id).values(last_used_at=now)
    )


def granted_sites(connection: Connection, coordinator_id: str) -> frozenset[str]:
    return frozenset(
        connection.execute(
            select(grant_table.c.site_id).where(grant_table.c.coordinator_id == coordinator_id)
        ).scalars()
    )
