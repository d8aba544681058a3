"""Bearer tokens: made with :func:`secrets.token_urlsafe`, shown once, stored as their sha256."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import Connection, select

from fabriqueterm.server.db import coordinator_table, grant_table, token_table

#: Characters of a token kept in clear so a person can name it (``token revoke``).
PREFIX_LENGTH = 8


@dataclass(frozen=True)
class Coordinator:
    id: str
    email: str
    name: str


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def coordinator_for_token(connection: Connection, token: str) -> Coordinator | None:
    """The coordinator a live token belongs to, or None (unknown or revoked)."""
    if not token or len(token) > 512:
        return None
    row = connection.execute(
        select(coordinator_table.c.id, coordinator_table.c.email, coordinator_table.c.name)
        .join(token_table, token_table.c.coordinator_id == coordinator_table.c.id)
        .where(token_table.c.token_hash == token_hash(token), token_table.c.revoked_at.is_(None))
    ).first()
    return Coordinator(*row) if row else None


def granted_sites(connection: Connection, coordinator_id: str) -> frozenset[str]:
    return frozenset(
        connection.execute(
            select(grant_table.c.site_id).where(grant_table.c.coordinator_id == coordinator_id)
        ).scalars()
    )
