"""The first run (issue 12, finding 10): on a computer with no data and no sync, the dashboard
welcomes the person with the commands to run (``fabriqueterm login URL``, ``fabriqueterm demo``),
and the sync screen gives the exact login command, not only a pointer to config.toml."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

import pytest
from textual.widgets import DataTable, Static
from tui_helpers import SIZE, TODAY, settle, until

from fabriqueterm.cli import main
from fabriqueterm.config import Config, Paths, save_config
from fabriqueterm.domain.dates import Clock
from fabriqueterm.store import Store
from fabriqueterm.tui.app import FabriqueApp

pytestmark = pytest.mark.anyio

SERVER = "https://commons.fabriques.example"
LOGIN_EXAMPLE = "fabriqueterm login https://commons.example.org"


@pytest.fixture
def empty_app(paths: Paths) -> Iterator[Callable[..., FabriqueApp]]:
    """The app on an empty store (a first run), with or without a server and a token."""
    stores: list[Store] = []

    def build(*, server_url: str = "", token: str | None = None) -> FabriqueApp:
        # auto_sync off: a token here must not make the app call a server that does not exist.
        config = Config(language="en", server_url=server_url, auto_sync=False)
        save_config(paths.config_file, config)
        clock = Clock(TODAY)
        store = Store.open(paths.database, clock=clock)
        stores.append(store)
        return FabriqueApp(store, config, clock, paths=paths, token=token)

    yield build
    for store in stores:
        store.close()


def text_of(screen, selector: str) -> str:  # type: ignore[no-untyped-def]
    return str(screen.query_one(selector, Static).render())


def welcome_shown(app: FabriqueApp) -> bool:
    welcome = app.screen.query_one("#dashboard-welcome", Static)
    return welcome.display and "fabriqueterm demo" in str(welcome.render())


async def test_first_run_welcome_says_how_to_log_in_or_try_the_demo(empty_app) -> None:
    app = empty_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        assert welcome_shown(app)
        assert text_of(screen, "#dashboard-as-of") == "Welcome to fabriqueterm"
        welcome = text_of(screen, "#dashboard-welcome")
        assert "not connected to a commons server" in welcome
        assert LOGIN_EXAMPLE in welcome and "fabriqueterm demo" in welcome
        assert "create your first site in Sites (key 6)" in welcome
        assert not screen.query_one("#sites-indicators", DataTable).display

        # The first site created: the welcome makes way for the indicators.
        app.store.sites.create({"name": "Fabrique de Roubaix", "city": "Roubaix"})
        app.data_changed()
        await pilot.press("6", "1")
        await until(pilot, lambda: not welcome_shown(app), "the welcome to give way")
        await settle(pilot)
        table = app.screen.query_one("#sites-indicators", DataTable)
        assert table.display and table.row_count == 1
        assert text_of(app.screen, "#dashboard-as-of").startswith("Indicators as of")


async def test_a_server_without_a_token_gets_its_own_login_command(empty_app) -> None:
    app = empty_app(server_url=SERVER)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        welcome = text_of(app.screen, "#dashboard-welcome")
        assert welcome_shown(app) and f"not logged in to the commons {SERVER}" in welcome
        assert f"fabriqueterm login {SERVER}" in welcome

        await pilot.press("7")
        await settle(pilot)
        explain = text_of(app.screen, "#sync-explain")
        assert f"Not logged in to the commons {SERVER}" in explain
        assert f"\n    fabriqueterm login {SERVER}\n" in explain  # on its own line, to type


async def test_the_sync_screen_gives_the_command_when_no_server_is_set(empty_app) -> None:
    app = empty_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("7")
        await settle(pilot)
        explain = text_of(app.screen, "#sync-explain")
        assert "No commons server is set" in explain
        assert f"\n    {LOGIN_EXAMPLE}\n" in explain
        assert "$FABRIQUETERM_HOME/config/config.toml" in explain


async def test_with_a_server_and_a_token_no_welcome(empty_app) -> None:
    app = empty_app(server_url=SERVER, token="a-token")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert not app.screen.query_one("#dashboard-welcome", Static).display
        assert text_of(app.screen, "#chart-title") == "No site yet: create one in Sites (key 6)."
        await pilot.press("7")
        await settle(pilot)
        assert "fabriqueterm login" not in text_of(app.screen, "#sync-explain")


async def test_the_demo_shows_no_welcome(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert not app.screen.query_one("#dashboard-welcome", Static).display
        assert app.screen.query_one("#sites-indicators", DataTable).row_count > 1


def test_fabriqueterm_without_arguments_on_an_empty_home_opens_the_welcome(
    fabriqueterm_home, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``fabriqueterm`` on a home that does not exist yet: the real command line and run_app, with
    the terminal replaced by Pilot."""
    assert not fabriqueterm_home.exists()
    seen: list[str] = []

    def run_headless(app: FabriqueApp) -> None:
        async def drive() -> None:
            async with app.run_test(size=SIZE) as pilot:
                await until(pilot, lambda: app.store_is_open, "the store to open")
                await settle(pilot)
                await until(pilot, lambda: welcome_shown(app), "the welcome")
                seen.append(text_of(app.screen, "#dashboard-welcome"))

        asyncio.run(drive())

    monkeypatch.setattr(FabriqueApp, "run", run_headless)
    assert main(["--today", TODAY.isoformat()]) == 0
    [welcome] = seen
    assert LOGIN_EXAMPLE in welcome and "fabriqueterm demo" in welcome
    assert Paths.default().database.is_file()
