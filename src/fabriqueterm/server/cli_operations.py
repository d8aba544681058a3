"""``fabriqueterm server …`` commands of operations (docs/server.md, "Operations"), registered from
:func:`fabriqueterm.server.cli.add_server_commands`. Only argparse here at import.

    fabriqueterm server run … [--metrics] [--log-format text|json]
    fabriqueterm server admin [--actor NAME] coordinator disable EMAIL_OR_ID
    fabriqueterm server admin [--actor NAME] coordinator enable EMAIL_OR_ID
    fabriqueterm server admin token list
    fabriqueterm server admin audit [--limit N]

Every admin command that may change something leaves an audit entry (:func:`audit_entry`),
written in the command's own transaction.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from collections.abc import Callable
from typing import Any

from fabriqueterm.cliargs import positive_int
from fabriqueterm.i18n import _

#: The admin commands of :mod:`fabriqueterm.server.cli` that change something: their handler's
#: name → the audit action. (Read-only commands are not recorded.)
AUDITED = {
    "_site_add": "site.add",
    "_coordinator_add": "coordinator.add",
    "_grant": "grant",
    "_revoke": "revoke",
    "_token_issue": "token.issue",
    "_token_revoke": "token.revoke",
    "_purge": "purge",
    "_load_demo.<locals>.action": "load-demo",
}


def add_run_options(run: argparse.ArgumentParser) -> None:
    run.add_argument(
        "--metrics",
        action="store_true",
        help=_("serve /metrics (Prometheus) to clients on this machine only"),
    )
    run.add_argument(
        "--log-format",
        choices=("text", "json"),
        default="text",
        help=_("json: one JSON line per request on stderr, without tokens or personal data"),
    )


def apply_run_options(args: argparse.Namespace) -> dict[str, Any]:
    """Hand ``--metrics`` and ``--log-format`` to the workers (environment variables); the
    keyword arguments ``uvicorn.run`` then takes. Several workers with ``--metrics`` share
    prometheus-client's multiprocess folder: ``$PROMETHEUS_MULTIPROC_DIR``, else a new one."""
    from fabriqueterm.server.operations import LOG_FORMAT_ENV, METRICS_ENV, MULTIPROC_ENV

    os.environ[LOG_FORMAT_ENV] = args.log_format
    os.environ[METRICS_ENV] = "1" if args.metrics else "0"
    if args.metrics and args.workers > 1 and not os.environ.get(MULTIPROC_ENV):
        os.environ[MULTIPROC_ENV] = tempfile.mkdtemp(prefix="fabriqueterm-metrics-")
    # uvicorn's own access log writes the raw path and query string: the JSON line replaces it.
    return {"access_log": args.log_format != "json"}


def audit_entry(args: argparse.Namespace, action: Callable[..., Any]) -> Any:
    """The audit entry of an admin command that may change something (who, which command, the ids
    it named), as work for the command's own write transaction to do last; None for a read-only
    command. The ids are read in that transaction, so a site just added is found."""
    name = AUDITED.get(getattr(action, "__qualname__", ""))
    if name is None:
        return None

    def write(connection: Any) -> None:
        from sqlalchemy import select

        from fabriqueterm.server.admin_access import record
        from fabriqueterm.server.auth import PREFIX_LENGTH
        from fabriqueterm.server.db import SYNCED_TABLES, coordinator_table

        targets: list[str] = []
        for key in ("email", "coordinator"):
            email = getattr(args, key, None)
            if email:
                found = connection.execute(
                    select(coordinator_table.c.id).where(
                        coordinator_table.c.email == email.strip().lower()
                    )
                ).scalar()
                targets.append(f"coordinator={found or '?'}")
        if getattr(args, "site_id", None):
            targets.append(f"site={args.site_id}")
        if name == "site.add":
            site = SYNCED_TABLES["site"]
            found = connection.execute(
                select(site.c.id).where(
                    site.c.name == args.name.strip(), site.c.city == args.city.strip()
                )
            ).scalar()
            targets.append(f"site={args.id or found or '?'}")
        if getattr(args, "token", None):
            # Never the token itself: at most the first characters every listing shows.
            targets.append(f"token={args.token.strip()[:PREFIX_LENGTH]}")
        if getattr(args, "older_than_days", None):
            targets.append(f"older_than_days={args.older_than_days}")
        record(connection, actor=args.actor, action=name, target=" ".join(targets))

    return write


def _disable(engine: Any, args: argparse.Namespace) -> int:
    from fabriqueterm.server.admin_access import disable_coordinator

    print(disable_coordinator(engine, args.who, actor=args.actor).message)
    return 0


def _enable(engine: Any, args: argparse.Namespace) -> int:
    from fabriqueterm.server.admin_access import enable_coordinator

    print(enable_coordinator(engine, args.who, actor=args.actor).message)
    return 0


def _token_list(engine: Any, args: argparse.Namespace) -> int:
    from fabriqueterm.server.admin_access import token_lines

    for line in token_lines(engine):
        print(line)
    return 0


def _audit(engine: Any, args: argparse.Namespace) -> int:
    from fabriqueterm.server.admin_access import audit_lines

    for line in audit_lines(engine, limit=args.limit):
        print(line)
    return 0


def add_admin_operations(
    admin: argparse.ArgumentParser,
    things: Any,
    coordinator_actions: Any,
    token_actions: Any,
    *,
    with_database: Callable[[argparse.ArgumentParser], argparse.ArgumentParser],
    admin_handler: Callable[[Any], Any],
) -> None:
    """``--actor`` on ``server admin``, and the operations' admin commands."""
    admin.add_argument(
        "--actor",
        default=None,
        help=_("who runs the command, for the audit log (default: the system user)"),
    )
    for name, helptext, action in (
        ("disable", _("disable a coordinator: all their tokens stop at once"), _disable),
        ("enable", _("enable a disabled coordinator again"), _enable),
    ):
        parser = with_database(coordinator_actions.add_parser(name, help=helptext))
        parser.add_argument("who", metavar="EMAIL_OR_ID", help=_("the coordinator's email or id"))
        parser.set_defaults(handler=admin_handler(action))
    token_list = with_database(
        token_actions.add_parser("list", help=_("list tokens with their last use"))
    )
    token_list.set_defaults(handler=admin_handler(_token_list))
    audit = with_database(
        things.add_parser("audit", help=_("show the audit log of admin actions, newest first"))
    )
    audit.add_argument(
        "--limit", type=positive_int, default=50, help=_("entries to show (default 50)")
    )
    audit.set_defaults(handler=admin_handler(_audit))
