"""Who may use the commons, and what administrators did (docs/server.md, "Operations"):

- :func:`disable_coordinator` / :func:`enable_coordinator`: a coordinator who leaves is disabled
  in one step; every token of theirs then gets the same 401 as a revoked token (their grants stop
  with them), and enabling restores them as they were;
- :func:`token_rows`: every token with its coordinator, state and last use (never the token);
- :func:`record` / :func:`audit_rows`: the audit log, one entry per admin command that may have
  changed something: who ran it, what (the command and the ids it acted on), when.

Each function runs in one transaction; a disable or enable writes its audit entry in its own.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from fabriqueterm.domain.dates import utcnow
from fabriqueterm.domain.ids import uuid7
from fabriqueterm.i18n import _
from fabriqueterm.server.admin import AdminError, Outcome, find_coordinator
from fabriqueterm.server.db import audit_table, coordinator_table, token_table, write_transaction
from fabriqueterm.server.push import is_uuid

#: Longest actor and target kept (the columns' sizes).
MAX_ACTOR = 200
MAX_TARGET = 400


def default_actor() -> str:
    """The OS user running the command (what ``--actor`` replaces)."""
    try:
        return getpass.getuser()
    except Exception:
        return "unknown"


def record(connection: Connection, *, actor: str | None, action: str, target: str) -> None:
    """One audit entry, in the caller's transaction."""
    connection.execute(
        insert(audit_table).values(
            id=uuid7(),
            at=utcnow(),
            actor=(actor or default_actor())[:MAX_ACTOR],
            action=action[:64],
            target=target[:MAX_TARGET],
        )
    )


def coordinator_by_email_or_id(connection: Connection, text: str) -> Any:
    """The coordinator named by their id (a UUID) or their email; :class:`AdminError` otherwise."""
    value = text.strip()
    if is_uuid(value):
        row = connection.execute(
            select(coordinator_table).where(coordinator_table.c.id == value.lower())
        ).first()
        if row is None:
            raise AdminError(
                _("No coordinator with the id {id}: see “fabriqueterm server admin list”.").format(
                    id=value
                )
            )
        return row
    return find_coordinator(connection, value)


def _set_disabled(engine: Engine, who: str, *, disabled: bool, actor: str | None) -> Outcome:
    with write_transaction(engine) as connection:
        coordinator = coordinator_by_email_or_id(connection, who)
        already = (coordinator.disabled_at is not None) == disabled
        if not already:
            connection.execute(
                update(coordinator_table)
                .where(coordinator_table.c.id == coordinator.id)
                .values(disabled_at=utcnow() if disabled else None)
            )
        record(
            connection,
            actor=actor,
            action="coordinator.disable" if disabled else "coordinator.enable",
            target=f"coordinator={coordinator.id}",
        )
    email = coordinator.email
    if already:
        message = _("{email} was already disabled.") if disabled else _("{email} was not disabled.")
        return Outcome(message.format(email=email), changed=False)
    if disabled:
        return Outcome(
            _("{email} is disabled: every token of theirs is refused from now on.").format(
                email=email
            )
        )
    return Outcome(_("{email} is enabled again: their tokens and sites work.").format(email=email))


def disable_coordinator(engine: Engine, who: str, *, actor: str | None = None) -> Outcome:
    return _set_disabled(engine, who, disabled=True, actor=actor)


def enable_coordinator(engine: Engine, who: str, *, actor: str | None = None) -> Outcome:
    return _set_disabled(engine, who, disabled=False, actor=actor)


@dataclass(frozen=True)
class TokenRow:
    id: str
    prefix: str
    email: str
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None
    coordinator_disabled: bool

    @property
    def state(self) -> str:
        if self.revoked_at is not None:
            return _("revoked")
        if self.coordinator_disabled:
            return _("coordinator disabled")
        return _("active")


def token_rows(engine: Engine) -> list[TokenRow]:
    """Every token, oldest first (never the token itself: only its first characters)."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(
                token_table.c.id,
                token_table.c.prefix,
                coordinator_table.c.email,
                token_table.c.created_at,
                token_table.c.revoked_at,
                token_table.c.last_used_at,
                coordinator_table.c.disabled_at,
            )
            .join(coordinator_table, coordinator_table.c.id == token_table.c.coordinator_id)
            .order_by(token_table.c.created_at, token_table.c.id)
        ).all()
    return [TokenRow(*row[:6], coordinator_disabled=row[6] is not None) for row in rows]


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value is not None else _("never")


def token_lines(engine: Engine) -> Iterator[str]:
    """``server admin token list``: one line per token."""
    rows = token_rows(engine)
    if not rows:
        yield _("No token yet: issue one with “fabriqueterm server admin token issue”.")
        return
    for row in rows:
        yield _("{id}  {prefix}…  {email}  {state}  last used: {last_used}").format(
            id=row.id,
            prefix=row.prefix,
            email=row.email,
            state=row.state,
            last_used=_when(row.last_used_at),
        )


@dataclass(frozen=True)
class AuditRow:
    at: datetime
    actor: str
    action: str
    target: str


def audit_rows(engine: Engine, *, limit: int = 50) -> list[AuditRow]:
    """The ``limit`` latest audit entries, newest first."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(
                audit_table.c.at, audit_table.c.actor, audit_table.c.action, audit_table.c.target
            )
            .order_by(audit_table.c.at.desc(), audit_table.c.id.desc())
            .limit(limit)
        ).all()
    return [AuditRow(*row) for row in rows]


def audit_lines(engine: Engine, *, limit: int = 50) -> Iterator[str]:
    """``server admin audit``: one line per entry, newest first."""
    rows = audit_rows(engine, limit=limit)
    if not rows:
        yield _("No admin action recorded yet.")
        return
    for row in rows:
        yield f"{row.at.strftime('%Y-%m-%d %H:%M:%S')}  {row.actor}  {row.action}  {row.target}"
