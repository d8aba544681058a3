"""``fabriqueterm server …`` commands. Only argparse here at import: the server stack (FastAPI,
uvicorn, SQLAlchemy engines) loads inside the handlers, so the rest of the command line and the
TUI start without it.

    fabriqueterm server run [--host 127.0.0.1] [--port 8765] [--database-url URL] [--workers N]
                            [--certfile FILE --keyfile FILE]
    fabriqueterm server migrate [--check] [--database-url URL]
    fabriqueterm server backup FILE [--force] [--database-url URL]
    fabriqueterm server restore FILE [--yes] [--database-url URL]
    fabriqueterm server admin site add NAME --city CITY [--region R] [--id UUID]
    fabriqueterm server admin coordinator add EMAIL --name NAME
    fabriqueterm server admin grant EMAIL SITE_ID
    fabriqueterm server admin revoke EMAIL SITE_ID
    fabriqueterm server admin token issue EMAIL
    fabriqueterm server admin token revoke TOKEN_PREFIX_OR_ID
    fabriqueterm server admin list
    fabriqueterm server admin load-demo --coordinator EMAIL [--learners N] [--seed S] [--today D]
    fabriqueterm server admin purge --older-than-days N
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fabriqueterm.cliargs import iso_date, positive_int
from fabriqueterm.i18n import _
from fabriqueterm.server.cli_operations import (
    add_admin_operations,
    add_run_options,
    apply_run_options,
    audit_entry,
)

#: Read when --database-url is not given.
DATABASE_URL_ENV = "FABRIQUETERM_SERVER_DATABASE_URL"


def _database_url(args: argparse.Namespace) -> str:
    if args.database_url:
        return args.database_url
    if os.environ.get(DATABASE_URL_ENV):
        return os.environ[DATABASE_URL_ENV]
    from fabriqueterm.server.db import default_database_url

    return default_database_url()


def _open(args: argparse.Namespace) -> Any:
    from fabriqueterm.server.db import make_engine

    url = _database_url(args)
    try:
        engine = make_engine(url)
    except OSError as error:  # a SQLite file whose folder cannot be made
        raise _Failure(unreachable(url, error.strerror or str(error))) from None
    except Exception as error:  # a URL that names no database we know
        raise _Failure(
            _("The database URL cannot be used: {detail}").format(detail=error)
        ) from None
    from sqlalchemy.exc import DBAPIError

    try:
        with engine.connect():
            pass
    except DBAPIError as error:  # not running, refused, wrong password, no such file or folder
        engine.dispose()
        said = str(error.orig or error).strip()
        raise _Failure(unreachable(url, said.splitlines()[0] if said else "")) from None
    return engine


def unreachable(url: str, reason: str) -> str:
    """The sentence for a commons database that cannot be reached: where (password hidden), the
    database's or the system's own words, and what to check."""
    from sqlalchemy.engine import make_url

    where = make_url(url).render_as_string(hide_password=True)
    return _(
        "The commons database {where} cannot be reached ({reason}). Check that the database server "
        "is running and that the URL (host, port, user, password, database or file) is right, "
        "then try again."
    ).format(where=where, reason=reason)


def _engine(args: argparse.Namespace) -> Any:
    """An engine on a database at this version's head revision; else the sentence that says to
    run ``fabriqueterm server migrate``."""
    from fabriqueterm.server.migrations import SchemaNotCurrent, check_schema

    engine = _open(args)
    try:
        check_schema(engine)
    except SchemaNotCurrent as error:
        engine.dispose()
        raise _Failure(str(error)) from None
    return engine


class _Failure(Exception):
    pass


def _admin(action: Any) -> Any:
    """Run an admin action: print its message, exit 2 with the reason when it cannot be done."""

    def handler(args: argparse.Namespace) -> int:
        from fabriqueterm.server.admin import AdminError
        from fabriqueterm.server.db import before_commit, write_transaction

        try:
            engine = _engine(args)
            # The audit entry goes in the command's own write transaction (all or nothing).
            audit = before_commit.set(audit_entry(args, action))
            try:
                code = action(engine, args)
                if code == 0 and before_commit.get() is not None:
                    with write_transaction(engine):
                        pass  # a command that wrote in no transaction of ours: the entry alone
                return code
            finally:
                before_commit.reset(audit)
                engine.dispose()
        except (AdminError, _Failure) as error:
            print(error, file=sys.stderr)
            return 2

    return handler


def _print(outcome: Any, *, value: bool = True) -> int:
    print(outcome.message)
    if value and outcome.value:
        print(outcome.value)
    return 0


def _site_add(engine: Any, args: argparse.Namespace) -> int:
    from fabriqueterm.server.admin import add_site

    outcome = add_site(engine, name=args.name, city=args.city, region=args.region, site_id=args.id)
    print(outcome.message, file=sys.stderr)
    print(outcome.value)  # the id alone on stdout, so a script can capture it
    return 0


def _coordinator_add(engine: Any, args: argparse.Namespace) -> int:
    from fabriqueterm.server.admin import add_coordinator

    return _print(add_coordinator(engine, email=args.email, name=args.name), value=False)


def _grant(engine: Any, args: argparse.Namespace) -> int:
    from fabriqueterm.server.admin import grant

    return _print(grant(engine, email=args.email, site_id=args.site_id))


def _revoke(engine: Any, args: argparse.Namespace) -> int:
    from fabriqueterm.server.admin import revoke

    return _print(revoke(engine, email=args.email, site_id=args.site_id))


def _token_issue(engine: Any, args: argparse.Namespace) -> int:
    from fabriqueterm.server.admin import issue_token

    outcome = issue_token(engine, email=args.email)
    print(outcome.message, file=sys.stderr)
    print(outcome.value)  # alone on stdout, so a script can capture it
    return 0


def _token_revoke(engine: Any, args: argparse.Namespace) -> int:
    from fabriqueterm.server.admin import revoke_token

    return _print(revoke_token(engine, token_or_id=args.token))


def _list(engine: Any, args: argparse.Namespace) -> int:
    from fabriqueterm.server.admin import listing

    for line in listing(engine):
        print(line)
    return 0


def _load_demo(load_demo: Callable[..., Any]) -> Callable[[Any, argparse.Namespace], int]:
    def action(engine: Any, args: argparse.Namespace) -> int:
        outcome = load_demo(
            engine, learners=args.learners, seed=args.seed, email=args.coordinator, today=args.today
        )
        return _print(outcome, value=False)

    return action


def _purge(engine: Any, args: argparse.Namespace) -> int:
    from datetime import timedelta

    from fabriqueterm.server.admin import purge_tombstones

    return _print(
        purge_tombstones(engine, older_than=timedelta(days=args.older_than_days)), value=False
    )


def cmd_migrate(args: argparse.Namespace) -> int:
    """Bring the database to this version's head revision, saying from which to which; with
    ``--check``, only say whether it must be migrated (exit 1 when it must)."""
    from fabriqueterm.server.migrations import SchemaNotCurrent, schema_status, upgrade

    try:
        engine = _open(args)
    except _Failure as error:
        print(error, file=sys.stderr)
        return 2
    try:
        if args.check:
            status = schema_status(engine)
            if status.state.needs_migrating:
                print(status.message(), file=sys.stderr)
                return 1
            if not status.state.is_current:
                print(status.message(), file=sys.stderr)
                return 2
            print(status.message())
            return 0
        print(upgrade(engine).message())
        return 0
    except SchemaNotCurrent as error:
        print(error, file=sys.stderr)
        return 2
    finally:
        engine.dispose()


def cmd_run(args: argparse.Namespace) -> int:
    """Serve the API with uvicorn, on a database at this version's head revision only."""
    import uvicorn

    from fabriqueterm.server.tls import TlsFilesError, tls_settings

    try:
        engine = _engine(args)
    except _Failure as error:
        print(error, file=sys.stderr)
        return 2
    engine.dispose()
    try:
        tls = tls_settings(args)
    except TlsFilesError as error:
        print(error, file=sys.stderr)
        return 2
    os.environ[DATABASE_URL_ENV] = _database_url(args)
    options = apply_run_options(args)
    where = (
        _("Commons API on https://{host}:{port}/v1/ (docs: /v1/docs)")
        if tls
        else _("Commons API on http://{host}:{port}/v1/ (docs: /v1/docs)")
    )
    print(where.format(host=args.host, port=args.port), file=sys.stderr)
    uvicorn.run(
        "fabriqueterm.server.app:create_app_from_env",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
        **tls,
        **options,
    )
    return 0


def _port(text: str) -> int:
    value = positive_int(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(
            _("“{value}” is not a port number (1–65535)").format(value=text)
        )
    return value


def _help(parser: argparse.ArgumentParser) -> Any:
    def show(args: argparse.Namespace) -> int:
        parser.print_help()
        return 2

    return show


def add_server_commands(commands: Any, *, load_demo: Callable[..., Any]) -> None:
    """Register ``server`` and its subcommands on the main parser's subparsers. ``load_demo`` (the
    engine, then ``learners``, ``seed``, ``email`` and ``today``; returns an admin ``Outcome``) does
    ``admin load-demo``: loading the demo network is the demo's, and the server never imports the
    demo, so the command line, which knows both, hands it in."""
    server = commands.add_parser("server", help=_("run and administer the commons server"))
    server.set_defaults(handler=_help(server))
    actions = server.add_subparsers(title=_("commands"), metavar="COMMAND")

    def with_database(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
        parser.add_argument(
            "--database-url",
            default=None,
            help=_(
                "sqlite:///path or postgresql+psycopg://user:password@host/db (default: ${env} or commons.sqlite3 in the data folder)"
            ).format(env=DATABASE_URL_ENV),
        )
        return parser

    run = with_database(actions.add_parser("run", help=_("serve the commons API")))
    run.add_argument(
        "--host", default="127.0.0.1", help=_("address to listen on (default 127.0.0.1)")
    )
    run.add_argument("--port", type=_port, default=8765, help=_("port to listen on (default 8765)"))
    run.add_argument(
        "--workers",
        type=positive_int,
        default=1,
        help=_("worker processes (default 1; use PostgreSQL for more)"),
    )
    run.add_argument(
        "--log-level", default="info", choices=("critical", "error", "warning", "info", "debug")
    )
    run.add_argument(
        "--certfile",
        type=Path,
        metavar="FILE",
        default=None,
        help=_("serve https with this certificate (PEM, with its chain); needs --keyfile"),
    )
    run.add_argument(
        "--keyfile",
        type=Path,
        metavar="FILE",
        default=None,
        help=_("the private key of --certfile (PEM)"),
    )
    add_run_options(run)
    run.set_defaults(handler=cmd_run)

    migrate = with_database(
        actions.add_parser(
            "migrate", help=_("create or upgrade the commons database (back it up first)")
        )
    )
    migrate.add_argument(
        "--check",
        action="store_true",
        help=_("only say whether the database must be migrated (exit 1 when it must)"),
    )
    migrate.set_defaults(handler=cmd_migrate)

    from fabriqueterm.server.cli_backup import add_backup_commands

    add_backup_commands(actions, with_database, _database_url)

    admin = actions.add_parser("admin", help=_("sites, coordinators, grants and tokens"))
    admin.set_defaults(handler=_help(admin))
    things = admin.add_subparsers(title=_("commands"), metavar="COMMAND")

    site = things.add_parser("site", help=_("manage sites"))
    site.set_defaults(handler=_help(site))
    site_actions = site.add_subparsers(title=_("commands"), metavar="COMMAND")
    site_add = with_database(site_actions.add_parser("add", help=_("add a site (prints its id)")))
    site_add.add_argument("name", help=_("the site's name, e.g. “Fabrique Roubaix”"))
    site_add.add_argument("--city", required=True, help=_("its city"))
    site_add.add_argument("--region", default="", help=_("its region"))
    site_add.add_argument(
        "--id", default=None, help=_("its id (a UUID), to match a site that exists elsewhere")
    )
    site_add.set_defaults(handler=_admin(_site_add))

    coordinator = things.add_parser("coordinator", help=_("manage coordinators"))
    coordinator.set_defaults(handler=_help(coordinator))
    coordinator_actions = coordinator.add_subparsers(title=_("commands"), metavar="COMMAND")
    coordinator_add = with_database(
        coordinator_actions.add_parser("add", help=_("add a coordinator"))
    )
    coordinator_add.add_argument("email")
    coordinator_add.add_argument("--name", required=True, help=_("the coordinator's full name"))
    coordinator_add.set_defaults(handler=_admin(_coordinator_add))

    for name, helptext, action in (
        ("grant", _("let a coordinator hold a site"), _grant),
        ("revoke", _("take a site away from a coordinator"), _revoke),
    ):
        parser = with_database(things.add_parser(name, help=helptext))
        parser.add_argument("email")
        parser.add_argument("site_id", metavar="SITE_ID")
        parser.set_defaults(handler=_admin(action))

    token = things.add_parser("token", help=_("issue and revoke API tokens"))
    token.set_defaults(handler=_help(token))
    token_actions = token.add_subparsers(title=_("commands"), metavar="COMMAND")
    issue = with_database(token_actions.add_parser("issue", help=_("issue a token (printed once)")))
    issue.add_argument("email")
    issue.set_defaults(handler=_admin(_token_issue))
    revoke = with_database(token_actions.add_parser("revoke", help=_("revoke a token")))
    revoke.add_argument(
        "token", metavar="TOKEN_PREFIX_OR_ID", help=_("the token's id or its first characters")
    )
    revoke.set_defaults(handler=_admin(_token_revoke))
    add_admin_operations(
        admin,
        things,
        coordinator_actions,
        token_actions,
        with_database=with_database,
        admin_handler=_admin,
    )

    listing = with_database(
        things.add_parser("list", help=_("list sites, coordinators and tokens"))
    )
    listing.set_defaults(handler=_admin(_list))

    demo = with_database(
        things.add_parser("load-demo", help=_("load the demo network and grant its sites"))
    )
    demo.add_argument(
        "--coordinator", required=True, metavar="EMAIL", help=_("who holds the demo's sites")
    )
    demo.add_argument(
        "--learners", type=positive_int, default=600, help=_("number of learners (default 600)")
    )
    demo.add_argument("--seed", type=int, default=2026, help=_("random seed (default 2026)"))
    demo.add_argument(
        "--today", type=iso_date, default=None, help=_("reference date of the demo (YYYY-MM-DD)")
    )
    demo.set_defaults(handler=_admin(_load_demo(load_demo)))

    purge = with_database(
        things.add_parser("purge", help=_("purge old tombstones (clients behind resync)"))
    )
    purge.add_argument("--older-than-days", type=positive_int, required=True)
    purge.set_defaults(handler=_admin(_purge))
