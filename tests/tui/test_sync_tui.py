"""Background sync in the app, against a real commons (uvicorn on 127.0.0.1 at a free port, the
helpers of tests/sync): sync at start, local edits sent after a debounce, conflicts decided in the
sync screen, and an unreachable commons shown as offline with the outbox untouched."""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from textual.widgets import DataTable, Static
from tui_helpers import SIZE, settle, until

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "sync"))

from sync_helpers import (  # noqa: E402
    COHORT,
    FAST,
    LEARNER,
    Commons,
    Device,
    Team,
    make_team,
    serve_commons,
)

from fabriqueterm.config import Config  # noqa: E402
from fabriqueterm.domain.dates import Clock  # noqa: E402
from fabriqueterm.store.db import Store  # noqa: E402
from fabriqueterm.sync import scheduler  # noqa: E402
from fabriqueterm.sync.engine import sync_status  # noqa: E402
from fabriqueterm.sync.scheduler import SyncSchedule  # noqa: E402
from fabriqueterm.tui.app import FabriqueApp  # noqa: E402
from fabriqueterm.tui.messages import SyncPhase, SyncState  # noqa: E402
from fabriqueterm.tui.screens.sync import ConflictScreen, SyncScreen  # noqa: E402
from fabriqueterm.tui.widgets.virtual_table import VirtualTable  # noqa: E402

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def commons(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Commons]:
    with serve_commons(tmp_path_factory.mktemp("commons") / "commons.sqlite3") as served:
        yield served


@pytest.fixture
def team(commons: Commons) -> Team:
    return make_team(commons)


@pytest.fixture
def closed_port() -> Iterator[socket.socket]:
    """A port bound but not listening: connecting is refused. Held for the whole test, so the
    kernel never picks it as a client's own port (a TCP self-connect would answer garbage)."""
    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    holder.bind(("127.0.0.1", 0))
    yield holder
    holder.close()


@pytest.fixture(autouse=True)
def quick_timers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scheduler, "DEFAULT_SCHEDULE", SyncSchedule(debounce=0.2, retry_first=0.3))


@pytest.fixture
def closing(tmp_path: Path) -> Iterator[list]:
    """Stores and devices closed after the test."""
    opened: list = []
    yield opened
    for one in opened:
        one.close()


@pytest.fixture
def colleague(tmp_path: Path, team: Team, closing: list) -> tuple[Device, str]:
    """Another device of the coordinator, which created a cohort and a learner and pushed them."""
    other = Device(tmp_path / "colleague.sqlite3", team)
    closing.append(other)
    assert other.sync().ok
    cohort = other.store.cohorts.create({**COHORT, "site_id": team.site1})
    learner = other.store.learners.create({**LEARNER, "cohort_id": cohort.id})
    report = other.sync()
    assert report.ok and report.pushed == 2, report.errors
    return other, learner.id


@pytest.fixture
def synced_app(tmp_path: Path, team: Team, closing: list) -> Callable[..., FabriqueApp]:
    def build(
        url: str | None = None,
        database: Path | None = None,
        token: str | None = None,
        *,
        auto_sync: bool = True,
    ) -> FabriqueApp:
        path = tmp_path / "app.sqlite3"
        if database is not None:
            shutil.copyfile(database, path)
        store = Store.open(path, clock=Clock())
        closing.append(store)
        config = Config(language="en", server_url=url or team.commons.url, auto_sync=auto_sync)
        return FabriqueApp(store, config, Clock(), token=token or team.token, sync_retry=FAST)

    return build


async def wait_until(pilot, predicate: Callable[[], bool], timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    """:func:`tui_helpers.until`, saying where sync stood when it gave up."""
    try:
        await until(pilot, predicate, "the sync condition", timeout)
    except AssertionError as error:
        raise AssertionError(f"timed out; sync state: {pilot.app.sync_state}") from error


def synced(app: FabriqueApp) -> Callable[[], bool]:
    return lambda: not app._sync_running and app.sync_state.phase == SyncPhase.SYNCED


def status_text(app: FabriqueApp) -> str:
    return str(app.screen.query_one("#sync-status", Static).content)


async def test_the_app_syncs_at_start_and_says_synced(synced_app, colleague) -> None:
    _other, learner_id = colleague
    app = synced_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, synced(app))
        await settle(pilot)
        assert app.store.learners.get(learner_id).first_name == "Inès"  # pulled at start
        assert app.sync_state.pending == 0 and app.sync_state.conflicts == 0
        assert app.sync_state.last_synced is not None
        text = status_text(app)
        assert text.startswith("synced") and "last sync" in text and "to send" not in text
        status = sync_status(app.store)
        assert status.online is True and status.pending == 0


async def test_a_local_edit_reaches_the_commons(synced_app, colleague) -> None:
    other, learner_id = colleague
    app = synced_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, synced(app))
        # Every state the app announces, as it announces it: the pending count shows between the
        # save and the sync, however briefly (the debounce is short here, and a busy machine is slow).
        announced: list[SyncState] = []
        publish = app.sync_signal.publish

        def record(state: SyncState) -> None:
            announced.append(state)
            publish(state)

        app.sync_signal.publish = record  # type: ignore[method-assign]
        app.store.learners.update(learner_id, {"phone": "+33699999999"})
        app.data_changed()  # what every screen calls after a save
        await wait_until(
            pilot,
            lambda: (
                bool(announced)
                and synced(app)()
                and app.sync_state.pending == 0
                and app.store.outbox.count() == 0
            ),
        )
        assert announced[0].pending == 1
        assert app.store.outbox.count() == 0
    assert other.sync().ok
    assert other.store.learners.get(learner_id).phone == "+33699999999"


async def test_rows_pulled_by_a_sync_show_on_the_current_screen(
    synced_app, colleague, team
) -> None:
    other, learner_id = colleague
    app = synced_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, synced(app))
        await pilot.press("4")
        await settle(pilot)
        table = app.screen.query_one("#list-table", VirtualTable)
        assert table.row_count == 1
        cohort_id = other.store.learners.get(learner_id).cohort_id
        other.store.learners.create(
            {**LEARNER, "first_name": "Jules", "email": "jules@example.org", "cohort_id": cohort_id}
        )
        assert other.sync().ok
        attempts = sync_status(app.store).last_attempt
        app.request_sync()
        await wait_until(
            pilot, lambda: synced(app)() and sync_status(app.store).last_attempt != attempts
        )
        await settle(pilot)
        assert app.screen.query_one("#list-table", VirtualTable).row_count == 2
        # Rows from the commons start no sync of their own (no sync loop): nothing runs after the debounce.
        done = sync_status(app.store).last_attempt
        await pilot.pause(0.6)
        assert not app._sync_running and sync_status(app.store).last_attempt == done


async def test_a_conflict_is_shown_side_by_side_and_taking_mine_converges(
    synced_app, colleague
) -> None:
    other, learner_id = colleague
    app = synced_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, synced(app))
        other.store.learners.update(learner_id, {"phone": "+33611111111"})
        assert other.sync().ok
        app.store.learners.update(learner_id, {"phone": "+33622222222"})
        app.data_changed()
        await wait_until(pilot, lambda: synced(app)() and app.sync_state.conflicts == 1)
        # The status bar hears the state through a signal delivered at its next turn (call_next).
        await wait_until(pilot, lambda: "1 conflict to resolve" in status_text(app))

        await pilot.press("7")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, SyncScreen)
        table = screen.query_one("#conflicts", DataTable)
        assert table.display and table.row_count == 1
        row = [str(cell) for cell in table.get_row_at(0)]
        assert row[1:4] == ["phone", "06 11 11 11 11", "06 22 22 22 22"]

        table.focus()
        await pilot.press("enter")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, ConflictScreen)
        fields = dialog.query_one("#conflict-fields", DataTable)
        assert [str(c) for c in fields.get_row_at(0)] == [
            "phone",
            "06 12 34 56 78",
            "06 11 11 11 11",
            "06 22 22 22 22",
        ]
        await pilot.press("m")
        await settle(pilot)
        assert isinstance(app.screen, SyncScreen)
        await wait_until(
            pilot,
            lambda: synced(app)() and app.sync_state.conflicts == 0 and app.sync_state.pending == 0,
        )
        await settle(pilot)
        assert not screen.query_one("#conflicts", DataTable).display
        assert app.store.learners.get(learner_id).phone == "+33622222222"

    assert other.sync().ok
    assert other.store.learners.get(learner_id).phone == "+33622222222"
    conflicts = [c for c in other.rows("conflict").values() if c["row_id"] == learner_id]
    assert [(c["resolution"], json.loads(c["client_value"])) for c in conflicts] == [
        ("took_client", "+33622222222")
    ]
    assert sync_status(other.store).conflicts_open == 0


async def test_keeping_theirs_resolves_without_changing_the_row(synced_app, colleague) -> None:
    other, learner_id = colleague
    app = synced_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, synced(app))
        other.store.learners.update(learner_id, {"email": "theirs@example.org"})
        assert other.sync().ok
        app.store.learners.update(learner_id, {"email": "mine@example.org"})
        app.data_changed()
        await wait_until(pilot, lambda: synced(app)() and app.sync_state.conflicts == 1)
        await pilot.press("7")
        await settle(pilot)
        app.screen.query_one("#conflicts", DataTable).focus()
        await pilot.press("enter", "t")  # in the conflict view: take theirs
        await wait_until(
            pilot,
            lambda: synced(app)() and app.sync_state.conflicts == 0 and app.sync_state.pending == 0,
        )
        assert app.store.learners.get(learner_id).email == "theirs@example.org"
    assert other.sync().ok
    assert other.store.learners.get(learner_id).email == "theirs@example.org"
    assert sync_status(other.store).conflicts_open == 0


async def test_an_unreachable_commons_shows_offline_and_keeps_the_outbox(
    synced_app, demo_template, closed_port
) -> None:
    closed = f"http://127.0.0.1:{closed_port.getsockname()[1]}"  # nothing listens there
    app = synced_app(url=closed, database=demo_template)
    learner = app.store.learners.page("", limit=1).rows[0]
    app.store.learners.update(learner.id, {"phone": "+33633333333"})
    before = [(e.seq, e.row_id, e.fields) for e in app.store.outbox.entries(limit=100_000)]
    assert len(before) == 1
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(
            pilot, lambda: not app._sync_running and app.sync_state.phase == SyncPhase.OFFLINE
        )
        await wait_until(pilot, lambda: status_text(app).startswith("offline"))
        assert app.sync_state.pending == len(before)
        first = sync_status(app.store).last_attempt
        assert sync_status(app.store).online is False
        # A retry timer tries again by itself (backoff), still offline, still nothing lost.
        await wait_until(
            pilot, lambda: sync_status(app.store).last_attempt != first and not app._sync_running
        )
        assert app.sync_state.phase == SyncPhase.OFFLINE
        await pilot.press("7")
        await settle(pilot)
        assert "cannot be reached" in str(app.screen.query_one("#sync-explain", Static).content)
    after = [(e.seq, e.row_id, e.fields) for e in app.store.outbox.entries(limit=100_000)]
    assert after == before


async def test_s_on_the_sync_screen_syncs_now(synced_app, colleague) -> None:
    app = synced_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, synced(app))
        await pilot.press("7")
        await settle(pilot)
        first = sync_status(app.store).last_attempt
        await pilot.press("s")
        await wait_until(
            pilot, lambda: synced(app)() and sync_status(app.store).last_attempt != first
        )
        # What it did is said (what it received depends on what the module's commons holds by now).
        explained = str(app.screen.query_one("#sync-explain", Static).content)
        assert re.search(r"\b0 sent, \d+ received", explained), explained


async def test_without_auto_sync_it_syncs_only_when_asked(synced_app, colleague) -> None:
    _other, learner_id = colleague
    app = synced_app(auto_sync=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("7")
        await settle(pilot)
        await pilot.pause(0.3)
        assert app.sync_state.phase == SyncPhase.NOT_STARTED
        assert sync_status(app.store).last_attempt is None
        await pilot.press("s")
        await wait_until(pilot, synced(app))
        assert app.store.learners.get(learner_id).first_name == "Inès"


async def test_a_change_refused_by_the_commons_is_listed_with_its_reason(
    synced_app, colleague, team
) -> None:
    _other, learner_id = colleague
    app = synced_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, synced(app))
        team.revoke(team.site1)  # the learner's site is no longer this coordinator's
        app.store.learners.update(learner_id, {"phone": "+33644444444"})
        await pilot.press("7")
        await settle(pilot)
        await pilot.press("s")
        await wait_until(pilot, lambda: synced(app)() and app.sync_state.rejected == 1)
        await settle(pilot)
        await wait_until(pilot, lambda: "1 change refused" in status_text(app))
        table = app.screen.query_one("#rejected", DataTable)
        assert table.display and table.row_count == 1
        row = [str(cell) for cell in table.get_row_at(0)]
        assert row[1:3] == ["learner", "changed"] and row[3] and row[3] != "refused by the commons"


async def test_a_refused_token_asks_to_log_in_again_and_does_not_retry(synced_app) -> None:
    app = synced_app(token="not-a-real-token")
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(
            pilot, lambda: not app._sync_running and app.sync_state.phase == SyncPhase.ERROR
        )
        assert app.sync_state.error_kind == "auth"
        await wait_until(pilot, lambda: status_text(app).startswith("log in again to sync"))
        assert "fabriqueterm login" in app.sync_state.detail
        assert app._retry_timer is None


class Forwarder:
    """A plain TCP relay from ``port`` to the commons, opened later: the commons "comes back"."""

    def __init__(self, port: int, upstream: str):
        self.upstream_port = int(upstream.rsplit(":", 1)[1])
        self.listener = socket.create_server(("127.0.0.1", port))
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _address = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, target), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, target: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while chunk := source.recv(65536):
                target.sendall(chunk)
        with contextlib.suppress(OSError):
            target.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        self.listener.close()


async def test_back_online_the_retry_sends_what_waited(
    synced_app, colleague, team, closing, closed_port
) -> None:
    other, learner_id = colleague
    port = closed_port.getsockname()[1]
    app = synced_app(url=f"http://127.0.0.1:{port}")
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(
            pilot, lambda: not app._sync_running and app.sync_state.phase == SyncPhase.OFFLINE
        )
        assert app._retry_timer is not None  # a retry is planned, with backoff
        closed_port.close()
        closing.append(Forwarder(port, team.commons.url))
        await wait_until(pilot, synced(app))
        assert app.store.learners.get(learner_id).first_name == "Inès"
        await wait_until(pilot, lambda: status_text(app).startswith("synced"))
