"""``fabriqueterm server backup`` and ``server restore``: their arguments, registered by
server/cli.py; the work is in :mod:`fabriqueterm.server.backup`, imported only when one runs (the
command line starts without the server's modules)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fabriqueterm.i18n import _


def _backup() -> Any:
    from fabriqueterm.server import backup

    return backup


def _ask(question: str) -> bool:
    """A yes from the person at the terminal; never yes when nobody is there to answer."""
    if not sys.stdin.isatty():
        return False
    try:
        answer = input(question + " [" + _("y/N") + "] ")
    except EOFError:
        return False
    return answer.strip().lower() in {"y", "yes", _("y"), _("yes")}


def _handler(action: Callable[[argparse.Namespace], Any], database_url: Any) -> Any:
    def handle(args: argparse.Namespace) -> int:
        from fabriqueterm.server.backup import BackupError

        try:
            done = action(args)
        except BackupError as error:
            print(error, file=sys.stderr)
            return 2
        print(done.message)
        return 0

    return handle


def add_backup_commands(
    actions: Any,
    with_database: Callable[[argparse.ArgumentParser], argparse.ArgumentParser],
    database_url: Callable[[argparse.Namespace], str],
) -> None:
    """Register ``server backup`` and ``server restore`` on ``server``'s subparsers."""
    made = with_database(
        actions.add_parser("backup", help=_("back the commons up to a file (while it runs)"))
    )
    made.add_argument("file", metavar="FILE", type=Path, help=_("the backup file to write"))
    made.add_argument("--force", action="store_true", help=_("replace FILE if it exists"))
    made.set_defaults(
        handler=_handler(
            lambda args: _backup().backup(
                database_url(args), args.file, force=args.force, confirm=_ask
            ),
            database_url,
        )
    )
    restored = with_database(
        actions.add_parser(
            "restore", help=_("replace the commons with a backup (stop the server first)")
        )
    )
    restored.add_argument("file", metavar="FILE", type=Path, help=_("the backup file to restore"))
    restored.add_argument("--yes", action="store_true", help=_("do not ask for confirmation"))
    restored.set_defaults(
        handler=_handler(
            lambda args: _backup().restore(
                database_url(args), args.file, yes=args.yes, confirm=_ask
            ),
            database_url,
        )
    )
