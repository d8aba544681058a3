"""The app's background sync obeys the same rule as ``fabriqueterm sync``: no token over
``http://`` to another computer. The refusal is said in the app, kept as a refusal (not retried
every few seconds) and nothing leaves the computer (tests/server/test_tls.py has the real TLS)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tui_helpers import SIZE, settle, until

from fabriqueterm.config import Config
from fabriqueterm.domain.dates import Clock
from fabriqueterm.store.db import Store
from fabriqueterm.sync.engine import sync_status
from fabriqueterm.sync.errors import SyncErrorKind
from fabriqueterm.tui.app import FabriqueApp
from fabriqueterm.tui.messages import SyncPhase

pytestmark = pytest.mark.anyio


async def test_the_app_refuses_to_send_the_token_over_http_to_another_computer(
    tmp_path: Path,
) -> None:
    store = Store.open(tmp_path / "app.sqlite3", clock=Clock())
    try:
        config = Config(language="en", server_url="http://commons.example.org", auto_sync=True)
        app = FabriqueApp(store, config, Clock(), token="secret-token")
        async with app.run_test(size=SIZE) as pilot:
            await until(
                pilot,
                lambda: not app._sync_running and app.sync_state.phase == SyncPhase.ERROR,
                "the refused sync",
            )
            await settle(pilot)
            assert "--allow-http" in app.sync_state.detail
            assert "https://" in app.sync_state.detail
            assert sync_status(store).last_error_kind == SyncErrorKind.REFUSED
    finally:
        store.close()
