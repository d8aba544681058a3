"""``fabriqueterm login URL`` and ``fabriqueterm sync`` (headless, usable from cron).

Only argparse at import; httpx, the store and the engine load inside the handlers.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from fabriqueterm.i18n import _, ngettext


def cmd_login(args: argparse.Namespace) -> int:
    """Check a token against the commons, then store it (0600) and the server's address."""
    import getpass

    from fabriqueterm.config import Paths, load_config, save_config, save_token
    from fabriqueterm.sync.client import CommonsClient, SyncError, insecure_address

    url = args.url.rstrip("/")
    if not url.startswith(("http://", "https://")):
        print(
            _("“{value}” is not a web address; expected e.g. https://commons.example.org").format(
                value=url
            ),
            file=sys.stderr,
        )
        return 2
    problem = insecure_address(url, allow_http=args.allow_http)
    if problem is not None:  # before asking for the token: it must not even be typed for this
        print(problem, file=sys.stderr)
        return 2
    ca_bundle = ""
    if args.ca_bundle is not None:
        ca_bundle = str(args.ca_bundle.expanduser().resolve())
        if not Path(ca_bundle).is_file():
            print(
                _("The CA bundle {file} does not exist or is not a file.").format(file=ca_bundle),
                file=sys.stderr,
            )
            return 2
    if args.token_env:
        token = os.environ.get(args.token_env, "").strip()
        if not token:
            print(
                _("The environment variable {name} is empty or not set.").format(
                    name=args.token_env
                ),
                file=sys.stderr,
            )
            return 2
    else:
        token = getpass.getpass(_("Token (given by the commons administrator): ")).strip()
        if not token:
            print(_("No token given; nothing changed."), file=sys.stderr)
            return 2
    try:
        with CommonsClient(
            url, token, allow_http=args.allow_http, ca_bundle=ca_bundle or None
        ) as client:
            who = client.me()
    except SyncError as error:
        print(error, file=sys.stderr)
        return 1
    paths = Paths.default()
    paths.ensure()
    save_token(paths.secrets_file, token)
    # The connection settings go with the address, so later syncs (cron, the app) agree with it.
    save_config(
        paths.config_file,
        replace(
            load_config(paths.config_file),
            server_url=url,
            allow_http=args.allow_http,
            ca_bundle=ca_bundle,
        ),
    )
    print(
        ngettext(
            "Logged in as {name} <{email}>: {count} site.",
            "Logged in as {name} <{email}>: {count} sites.",
            len(who.sites),
        ).format(name=who.coordinator.name, email=who.coordinator.email, count=len(who.sites))
    )
    return 0


def cmd_sync(args: argparse.Namespace) -> int:
    """One full sync; exit status 0 only if everything went through."""
    from fabriqueterm.config import Paths, load_config, load_token
    from fabriqueterm.store.db import Store
    from fabriqueterm.sync.client import CommonsClient
    from fabriqueterm.sync.engine import sync_once

    paths = Paths.default()
    if args.export_outbox is not None:
        return export_outbox(args.from_file or paths.database, args.export_outbox)
    if args.from_file is not None:
        print(_("--from goes with --export-outbox FILE."), file=sys.stderr)
        return 2
    config = load_config(paths.config_file)
    url = config.server_url
    token = load_token(paths.secrets_file)
    if not url or token is None:
        print(_("Not logged in: run “fabriqueterm login URL” first."), file=sys.stderr)
        return 2
    quiet = args.quiet or not sys.stderr.isatty()

    def progress(phase: str, done: int, total: int | None) -> None:
        if quiet:
            return
        label = _("sending") if phase == "push" else _("receiving")
        count = f"{done}/{total}" if total is not None else str(done)
        print(f"\r{label} {count}\033[K", end="", file=sys.stderr, flush=True)

    paths.ensure()
    with (
        Store.open(paths.database) as store,
        CommonsClient(
            url, token, allow_http=config.allow_http, ca_bundle=config.ca_bundle or None
        ) as client,
    ):
        print_notices()
        report = sync_once(store, url, token, progress=progress, client=client)
    if not quiet:
        print(file=sys.stderr)
    print(report.summary())
    from fabriqueterm.domain.labels import entity_label

    for row in report.kept:
        print(
            _("kept (unsent edits): {entity} {id}").format(entity=entity_label(row[0]), id=row[1])
        )
    return 0 if report.ok else 1


def print_notices() -> None:
    """Say what opening the database had to do (a file moved aside), before anything else."""
    from fabriqueterm.store.opening import take_notices

    for notice in take_notices():
        print(notice, file=sys.stderr)


def export_outbox(database: Path, target: Path) -> int:
    """``sync --export-outbox FILE [--from DATABASE]``: write the unsent changes of ``database`` to
    ``target`` (0600), read as far as SQLite can when the file is damaged; never opens it for
    writing, never migrates it. Says how many changes it wrote and how many it could not read."""
    import json

    from fabriqueterm.files import create_private_file
    from fabriqueterm.store.outbox import SalvageError, salvage_outbox

    database = database.expanduser()
    if not database.exists():
        aside = sorted(database.parent.glob(f"{database.stem}.damaged-*{database.suffix}"))
        message = _("There is no database at {file}: nothing to export.").format(file=database)
        if aside:
            message += " " + _(
                "Files set aside earlier: {files}. Export one with --from FILE."
            ).format(files=", ".join(str(p) for p in aside))
        print(message, file=sys.stderr)
        return 2
    try:
        salvage = salvage_outbox(database)
    except SalvageError as error:
        print(
            _(
                "Nothing could be read of the unsent changes in {file} ({detail}): this file cannot be saved by fabriqueterm."
            ).format(file=database, detail=error),
            file=sys.stderr,
        )
        return 1
    create_private_file(target)
    target.write_text(
        json.dumps(
            {
                "client_id": salvage.client_id,
                "source": str(database),
                "unreadable": salvage.unreadable,
                "entries": salvage.entries,
            },
            ensure_ascii=False,
            indent=2,
        ),
        encoding="utf-8",
    )
    count = len(salvage.entries)
    print(
        ngettext(
            "{count} unsent change written to {file}.",
            "{count} unsent changes written to {file}.",
            count,
        ).format(count=count, file=target)
    )
    if salvage.unreadable_is_lower_bound:
        print(
            _(
                "The end of the outbox of {file} could not be read: some unsent changes may be missing from the export."
            ).format(file=database),
            file=sys.stderr,
        )
    elif salvage.unreadable:
        print(
            ngettext(
                "{count} change could not be read: the part of {file} that held it is damaged.",
                "{count} changes could not be read: the part of {file} that held them is damaged.",
                salvage.unreadable,
            ).format(count=salvage.unreadable, file=database),
            file=sys.stderr,
        )
    return 0


def add_sync_commands(commands: Any) -> None:
    """Register ``login`` and ``sync`` on the main parser's subparsers."""
    login = commands.add_parser("login", help=_("connect this computer to a commons server"))
    login.add_argument("url", help=_("the commons' address, e.g. https://commons.example.org"))
    login.add_argument(
        "--token-env",
        metavar="VAR",
        default=None,
        help=_("read the token from this environment variable (scripts)"),
    )
    login.add_argument(
        "--ca-bundle",
        type=Path,
        metavar="FILE",
        default=None,
        help=_(
            "trust the certificates in this PEM file for the commons (a self-signed one); kept for later syncs"
        ),
    )
    login.add_argument(
        "--allow-http",
        action="store_true",
        help=_(
            "lab networks only: send the token over http:// (unencrypted) to another computer; kept for later syncs"
        ),
    )
    login.set_defaults(handler=cmd_login)
    sync = commands.add_parser(
        "sync", help=_("send and receive changes once, without the app (cron)")
    )
    sync.add_argument("--quiet", action="store_true", help=_("no progress line"))
    sync.add_argument(
        "--export-outbox",
        type=Path,
        metavar="FILE",
        help=_("do not sync: write the changes waiting to be sent to FILE (JSON) and stop"),
    )
    sync.add_argument(
        "--from",
        dest="from_file",
        type=Path,
        metavar="DATABASE",
        default=None,
        help=_(
            "with --export-outbox: read this database file instead (one moved aside as damaged)"
        ),
    )
    sync.set_defaults(handler=cmd_sync)
