"""The app's sync schedule, alone (no app, no commons): which failures are retried, the back-off
between retries, what a person is told after each sync, and the error kinds the database keeps."""

from __future__ import annotations

from pathlib import Path

import pytest

from fabriqueterm.i18n import set_language
from fabriqueterm.sync.engine import SyncReport
from fabriqueterm.sync.errors import (
    AuthError,
    MalformedAnswer,
    NetworkError,
    RefusedError,
    ServerBehind,
    ServerError,
    SyncError,
    SyncErrorKind,
    TimeoutError_,
)
from fabriqueterm.sync.scheduler import (
    DEFAULT_SCHEDULE,
    SyncOutcome,
    SyncPhase,
    SyncSchedule,
    SyncScheduler,
    starting_outcome,
    sync_outcome,
)

URL = "https://commons.example.org"


@pytest.fixture(autouse=True)
def english(fabriqueterm_home: Path) -> None:
    set_language("en")  # after the home fixture, which sets French


def longest(low: float, high: float) -> float:
    """Jitter that always waits the whole back-off."""
    return high


def failed(kind: SyncErrorKind, message: str = "it failed") -> SyncOutcome:
    return sync_outcome(SyncReport(errors=[message], error_kind=kind), None, URL)


def test_the_schedule_is_the_apps() -> None:
    assert SyncSchedule(debounce=3.0, retry_first=5.0, retry_cap=300.0) == DEFAULT_SCHEDULE
    assert SyncScheduler().debounce == 3.0


def test_a_network_error_retries_with_a_doubling_capped_back_off() -> None:
    scheduler = SyncScheduler(jitter=longest)
    waits = [scheduler.after_sync(failed(SyncErrorKind.NETWORK), background=True) for _ in range(9)]
    assert waits == [5.0, 10.0, 20.0, 40.0, 80.0, 160.0, 300.0, 300.0, 300.0]


def test_the_jitter_draws_between_half_the_back_off_and_all_of_it() -> None:
    drawn: list[tuple[float, float]] = []

    def record(low: float, high: float) -> float:
        drawn.append((low, high))
        return low

    scheduler = SyncScheduler(jitter=record)
    assert scheduler.after_sync(failed(SyncErrorKind.TIMEOUT), background=True) == 2.5
    assert scheduler.after_sync(failed(SyncErrorKind.TIMEOUT), background=True) == 5.0
    assert drawn == [(2.5, 5.0), (5.0, 10.0)]
    wait = SyncScheduler().after_sync(failed(SyncErrorKind.NETWORK), background=True)
    assert wait is not None and 2.5 <= wait <= 5.0


@pytest.mark.parametrize(
    "kind",
    [
        SyncErrorKind.NETWORK,
        SyncErrorKind.TIMEOUT,
        SyncErrorKind.SERVER,
        SyncErrorKind.MALFORMED,
        SyncErrorKind.ERROR,
        SyncErrorKind.SERVER_BEHIND,
    ],
)
def test_failures_that_may_pass_by_themselves_are_retried(kind: SyncErrorKind) -> None:
    assert SyncScheduler(jitter=longest).after_sync(failed(kind), background=True) == 5.0


@pytest.mark.parametrize("kind", [SyncErrorKind.AUTH, SyncErrorKind.REFUSED])
def test_a_refused_token_or_request_stops_retrying_and_resets_the_back_off(
    kind: SyncErrorKind,
) -> None:
    scheduler = SyncScheduler(jitter=longest)
    scheduler.after_sync(failed(SyncErrorKind.NETWORK), background=True)
    scheduler.after_sync(failed(SyncErrorKind.NETWORK), background=True)
    assert scheduler.after_sync(failed(kind), background=True) is None
    assert scheduler.failures == 0


def test_a_success_resets_the_back_off() -> None:
    scheduler = SyncScheduler(jitter=longest)
    for _ in range(3):
        scheduler.after_sync(failed(SyncErrorKind.SERVER), background=True)
    synced = sync_outcome(SyncReport(pushed=1), None, URL)
    assert scheduler.after_sync(synced, background=True) is None
    assert scheduler.after_sync(failed(SyncErrorKind.SERVER), background=True) == 5.0


def test_without_background_sync_nothing_is_retried() -> None:
    scheduler = SyncScheduler(jitter=longest)
    scheduler.after_sync(failed(SyncErrorKind.NETWORK), background=True)
    assert scheduler.after_sync(failed(SyncErrorKind.NETWORK), background=False) is None
    assert scheduler.failures == 0


def test_a_success_says_what_it_did() -> None:
    outcome = sync_outcome(SyncReport(pushed=2, pulled=5), None, URL)
    assert outcome.phase == SyncPhase.SYNCED and outcome.error_kind is None
    assert outcome.detail == "2 sent, 5 received, 0 conflicts, 0 rejected"


@pytest.mark.parametrize("kind", [SyncErrorKind.NETWORK, SyncErrorKind.TIMEOUT])
def test_an_unreachable_commons_is_offline_and_the_changes_wait(kind: SyncErrorKind) -> None:
    outcome = failed(kind, "The commons cannot be reached (offline?).")
    assert outcome.phase == SyncPhase.OFFLINE and outcome.error_kind == kind
    assert "cannot be reached" in outcome.detail and "wait on this device" in outcome.detail


def test_a_refused_token_asks_to_log_in_again() -> None:
    outcome = failed(SyncErrorKind.AUTH)
    assert outcome.phase == SyncPhase.ERROR and outcome.error_kind == SyncErrorKind.AUTH
    assert f"fabriqueterm login {URL}" in outcome.detail


def test_other_errors_show_the_reports_last_error() -> None:
    report = SyncReport(
        errors=["first", "The commons answered 500"], error_kind=SyncErrorKind.SERVER
    )
    outcome = sync_outcome(report, None, URL)
    assert outcome == SyncOutcome(SyncPhase.ERROR, "The commons answered 500", SyncErrorKind.SERVER)


def test_the_stored_kind_stands_in_when_the_report_names_none() -> None:
    outcome = sync_outcome(SyncReport(errors=["cut"]), SyncErrorKind.TIMEOUT, URL)
    assert outcome.phase == SyncPhase.OFFLINE and outcome.error_kind == SyncErrorKind.TIMEOUT


def test_before_the_first_sync() -> None:
    assert starting_outcome("", logged_in=False) == SyncOutcome(SyncPhase.NOT_CONFIGURED)
    assert starting_outcome(URL, logged_in=True) == SyncOutcome(SyncPhase.NOT_STARTED)
    waiting = starting_outcome(URL, logged_in=False)
    assert waiting.phase == SyncPhase.NOT_STARTED
    assert waiting.detail.startswith("Not logged in") and URL in waiting.detail


def test_error_kinds_keep_the_values_stored_in_the_database() -> None:
    assert {kind.value for kind in SyncErrorKind} == {
        "error",
        "network",
        "timeout",
        "auth",
        "server",
        "refused",
        "malformed",
        "server_behind",
    }
    assert SyncErrorKind.from_stored("") is None and SyncErrorKind.from_stored(None) is None
    assert SyncErrorKind.from_stored("server_behind") is SyncErrorKind.SERVER_BEHIND
    assert [kind for kind in SyncErrorKind if kind.offline] == [
        SyncErrorKind.NETWORK,
        SyncErrorKind.TIMEOUT,
    ]


def test_each_error_type_carries_its_kind() -> None:
    assert [
        error.kind
        for error in (
            SyncError,
            NetworkError,
            TimeoutError_,
            AuthError,
            ServerError,
            RefusedError,
            MalformedAnswer,
            ServerBehind,
        )
    ] == [
        SyncErrorKind.ERROR,
        SyncErrorKind.NETWORK,
        SyncErrorKind.TIMEOUT,
        SyncErrorKind.AUTH,
        SyncErrorKind.SERVER,
        SyncErrorKind.REFUSED,
        SyncErrorKind.MALFORMED,
        SyncErrorKind.SERVER_BEHIND,
    ]
