"""``fabriqueterm server …`` commands. Only argparse here at import: the server stack loads inside
the handlers, so the rest of the command line starts fast."""

from __future__ import annotations

import argparse
from typing import Any


def add_server_commands(commands: Any) -> None:
    """Register ``server`` and its subcommands on the main parser's subparsers."""
    server = commands.add_parser("server", help="run and administer the commons server")
    server.set_defaults(handler=lambda args: (server.print_help(), 2)[1])
