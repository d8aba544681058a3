"""The demo's colleague makes a conflict a newcomer meets, with no environment variable: when the
coordinator logs a call of the first learner of "À appeler" (or changes a phone), the colleague
changes the same field on the commons at that moment, and the next sync shows a conflict naming
the colleague."""

from __future__ import annotations

import threading
import time
from datetime import date

import pytest

from fabriqueterm.config import Paths, load_token
from fabriqueterm.demo import commons as demo_commons
from fabriqueterm.demo.colleague import DEFAULT_WAIT, DemoColleague
from fabriqueterm.domain.dates import Clock
from fabriqueterm.store import Store
from fabriqueterm.store.repositories.conflicts import ConflictRepository
from fabriqueterm.sync.engine import sync_once

TODAY = date(2026, 11, 25)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Paths:
    home = tmp_path_factory.mktemp("demo-home")
    demo_commons.build_synced_demo(home, learners=120, seed=3, today=TODAY, replace=False)
    return Paths.under(home)


def _colleague(built: Paths, url: str) -> DemoColleague:
    token = load_token(demo_commons.colleague_token_file(built))
    assert token is not None
    return DemoColleague(
        f"sqlite:///{demo_commons.commons_database(built)}",
        url,
        token.reveal(),
        today=TODAY,
        seed=3,
        app_database=built.database,
    )


def _wait_for(condition, what: str, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        threading.Event().wait(0.05)


def test_logging_the_first_call_of_the_queue_meets_the_colleague(built: Paths) -> None:
    token = load_token(built.secrets_file)
    assert token is not None
    server = demo_commons.start_demo_server(built)
    colleague = _colleague(built, server.url)
    stop = threading.Event()
    # The colleague as the demo runs it: its default pace (45-90 s between edits), no variable.
    thread = threading.Thread(target=colleague.run, args=(stop,), kwargs={"wait": DEFAULT_WAIT})
    try:
        with Store.open(built.database, clock=Clock(TODAY)) as store:
            assert sync_once(store, server.url, token).ok
            thread.start()
            first = store.follow_ups.due(TODAY, limit=1)[0]
            notes = "Joint : cherche un stage en janvier."
            store.follow_ups.log_attempt(  # reached: closes the follow-up
                first.follow_up.id,
                {
                    "attempted_on": TODAY,
                    "outcome": "reached",
                    "situation": "still_looking",
                    "notes": notes,
                },
            )
            # Within a watch tick, long before its first timed edit.
            _wait_for(lambda: colleague.met is not None, "the colleague to meet the change")
            met = colleague.met
            assert met is not None and met.row_id == first.follow_up.id
            assert met.status == "applied" and met.fields == {"outcome": "declined"}

            report = sync_once(store, server.url, token)
            assert report.ok and report.conflicts == 1, report.summary()
            [line] = ConflictRepository(store).open()
            assert (line.row_entity, line.row_id, line.field) == (
                "follow_up",
                first.follow_up.id,
                "outcome",
            )
            assert line.server_author_name == demo_commons.DEMO_COLLEAGUE_NAME
            assert line.learner_name == f"{first.learner.first_name} {first.learner.last_name}"

            # Once per run: a second change of the same kind is not met.
            learner = first.learner
            store.learners.update(learner.id, {"phone": "+33611223344"})
            assert colleague.meet_pending_edit() is None
            assert sync_once(store, server.url, token).conflicts == 0
        assert [e for e in colleague.edits if e is met] == [met]
    finally:
        stop.set()
        if thread.is_alive():
            thread.join(10)
        else:
            colleague.close()
        server.stop()
