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
    from fabriqueterm.sync.client import CommonsClient, SyncError

    url = args.url.rstrip("/")
    if not url.startswith(("http://", "https://")):
        print(
            _("“{value}” is not a web address; expected e.g. https://commons.example.org").format(
                value=url
            ),
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
        with CommonsClient(url, token) as client:
            who = client.me()
    except SyncError as error:
        print(error, file=sys.stderr)
        return 1
    paths = Paths.default()
    paths.ensure()
    save_token(paths.secrets_file, token)
    save_config(paths.config_file, replace(load_config(paths.config_file), server_url=url))
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
    from fabriqueterm.sync.engine import sync_once

    paths = Paths.default()
    if args.export_outbox is not None:
        paths.ensure()
        with Store.open(paths.database) as store:
            count = store.outbox.export(args.export_outbox)
        print(
            ngettext(
                "{count} unsent change written to {file}.",
                "{count} unsent changes written to {file}.",
                count,
            ).format(count=count, file=args.export_outbox)
        )
        return 0
    url = load_config(paths.config_file).server_url
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
    with Store.open(paths.database) as store:
        report = sync_once(store, url, token, progress=progress)
    if not quiet:
        print(file=sys.stderr)
    print(report.summary())
    from fabriqueterm.domain.labels import entity_label

    for row in report.kept:
        print(
            _("kept (unsent edits): {entity} {id}").format(entity=entity_label(row[0]), id=row[1])
        )
    return 0 if report.ok else 1


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
    sync.set_defaults(handler=cmd_sync)
