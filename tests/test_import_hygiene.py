"""Each room imports only what it may (docs/architecture.md): the headless core never pulls
Textual or httpx, and starting the app never pulls the server stack. Checked on ``sys.modules`` in
a fresh interpreter."""

from __future__ import annotations

import json
import subprocess
import sys

SERVER_STACK = ("fastapi", "uvicorn", "starlette")

_PROBE = """
import importlib, json, pkgutil, sys
for name in {names!r}:
    module = importlib.import_module(name)
    if {recursive!r} and hasattr(module, "__path__"):
        for info in pkgutil.walk_packages(module.__path__, name + "."):
            importlib.import_module(info.name)
{extra}
print(json.dumps(sorted(sys.modules)))
"""


def imported_after(*names: str, recursive: bool = True, extra: str = "") -> set[str]:
    """Top-level and full names of the modules loaded by importing ``names`` in a fresh interpreter."""
    code = _PROBE.format(names=names, recursive=recursive, extra=extra)
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    modules = set(json.loads(result.stdout.splitlines()[-1]))
    return modules | {module.split(".")[0] for module in modules}


def test_domain_store_and_config_import_neither_textual_nor_httpx() -> None:
    modules = imported_after(
        "fabriqueterm.domain", "fabriqueterm.store", "fabriqueterm.config", "fabriqueterm.i18n"
    )
    assert "fabriqueterm.domain.validation" in modules and "fabriqueterm.store.db" in modules
    for forbidden in ("textual", "httpx", *SERVER_STACK, "fabriqueterm.tui", "fabriqueterm.server"):
        assert forbidden not in modules, forbidden


def test_sync_imports_neither_textual_nor_the_server() -> None:
    modules = imported_after("fabriqueterm.sync")
    for forbidden in ("textual", *SERVER_STACK, "fabriqueterm.tui", "fabriqueterm.server"):
        assert forbidden not in modules, forbidden


def test_reports_do_not_import_the_server() -> None:
    modules = imported_after("fabriqueterm.reports")
    for forbidden in (*SERVER_STACK, "fabriqueterm.server"):
        assert forbidden not in modules, forbidden


def test_starting_the_tui_does_not_import_the_server() -> None:
    modules = imported_after("fabriqueterm.tui.app", recursive=False)
    assert "textual" in modules
    for forbidden in (*SERVER_STACK, "fabriqueterm.server"):
        assert forbidden not in modules, forbidden


def test_the_command_line_does_not_import_the_server_stack() -> None:
    # build_parser() registers the server's subcommands: only their argparse part may load.
    modules = imported_after(
        "fabriqueterm.cli", recursive=False, extra="import fabriqueterm.cli as c; c.build_parser()"
    )
    for forbidden in (*SERVER_STACK, "textual"):
        assert forbidden not in modules, forbidden
    server_modules = {m for m in modules if m.startswith("fabriqueterm.server.")}
    # server/cli.py and the argparse-only modules whose commands it registers (server/cli_*.py).
    assert all(m.startswith("fabriqueterm.server.cli") for m in server_modules), server_modules


def test_the_app_paints_its_first_frame_without_the_data_layer() -> None:
    # SQLAlchemy, the models and httpx take longer to import than Textual: the app opens the store
    # in a thread after its first frame (tui/startup.py), so they must not load with the app module.
    modules = imported_after(
        "fabriqueterm.tui.app",
        "fabriqueterm.cli",
        recursive=False,
        extra="import fabriqueterm.cli as c; c.build_parser()",
    )
    for forbidden in (
        "sqlalchemy",
        "sqlmodel",
        "httpx",
        "pydantic",
        "phonenumbers",
        "fabriqueterm.store.db",
    ):
        assert forbidden not in modules, forbidden
