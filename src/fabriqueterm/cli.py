"""The command line. Each command is a few lines calling the rooms of the package; heavy imports
(Textual, the server stack) happen inside the command that needs them, never at start-up of another."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any

from fabriqueterm import __version__
from fabriqueterm.cliargs import iso_date, positive_int
from fabriqueterm.config import ConfigError, Paths, demo_home, load_config
from fabriqueterm.i18n import _, set_language
from fabriqueterm.store.errors import StoreError, describe_failure
from fabriqueterm.store.opening import take_notices


def cmd_app(args: argparse.Namespace) -> int:
    """Open the app on the coordinator's own data."""
    from fabriqueterm.tui.app import run_app

    return run_app(Paths.default(), today=args.today)


def cmd_demo(args: argparse.Namespace) -> int:
    """Build the demo (its commons and the app's data) if needed, then open the app syncing with the
    demo's commons served on 127.0.0.1 (or only build it). Closing the app stops the server."""
    from fabriqueterm.demo.commons import (
        DemoServerError,
        build_synced_demo,
        commons_database,
        run_demo,
    )

    home = demo_home()
    paths = Paths.under(home)
    missing = not paths.database.exists() or not commons_database(paths).exists()
    try:
        if args.build or missing:
            summary = build_synced_demo(
                home, learners=args.learners, seed=args.seed, today=args.today, replace=True
            )
            print(summary)
        if args.build:
            return 0
        return run_demo(paths, today=args.today, seed=args.seed)
    except DemoServerError as error:
        print(error, file=sys.stderr)
        return 2


def _load_demo(engine: Any, **options: Any) -> Any:
    """``fabriqueterm server admin load-demo``: the demo network loaded into a commons. The server
    never imports the demo: its command line is handed this."""
    from fabriqueterm.demo.load import load_demo

    return load_demo(engine, **options)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fabriqueterm",
        description=_(
            "The fabriques' coordinators' terminal app: cohorts, learners, follow-ups, placements."
        ),
    )
    parser.add_argument("--version", action="version", version=f"fabriqueterm {__version__}")
    parser.add_argument(
        "--today", type=iso_date, default=None, help=_("pretend today is this date (YYYY-MM-DD)")
    )
    parser.set_defaults(handler=cmd_app)
    commands = parser.add_subparsers(title=_("commands"), metavar="COMMAND")

    demo = commands.add_parser("demo", help=_("open the app on demo data (built on first use)"))
    demo.add_argument(
        "--build", action="store_true", help=_("only (re)build the demo data and print where it is")
    )
    demo.add_argument(
        "--learners", type=positive_int, default=600, help=_("number of learners (default 600)")
    )
    demo.add_argument("--seed", type=int, default=2026, help=_("random seed (default 2026)"))
    demo.add_argument(
        "--today", type=iso_date, default=None, help=_("reference date of the demo (YYYY-MM-DD)")
    )
    demo.set_defaults(handler=cmd_demo)

    from fabriqueterm.server.cli import add_server_commands

    add_server_commands(commands, load_demo=_load_demo)
    from fabriqueterm.reports.cli import add_report_commands

    add_report_commands(commands)
    from fabriqueterm.sync.cli import add_sync_commands

    add_sync_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        set_language(load_config(Paths.default().config_file).language)
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except (ConfigError, StoreError) as error:
        print(error, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as error:
        # The failures a person can meet with the local files (full disk, read-only or unwritable
        # folder, permission denied, a database locked or damaged) end in their sentence, not a
        # traceback; anything else is a bug and shows as one.
        sentence = describe_failure(error, Paths.default().database)
        if sentence is None:
            raise
        print(sentence, file=sys.stderr)
        return 2
    finally:
        for notice in take_notices():  # a file moved aside while opening, not said yet
            print(notice, file=sys.stderr)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
