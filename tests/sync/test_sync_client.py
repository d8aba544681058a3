"""The HTTP client alone (httpx.MockTransport: only for answers the real commons cannot be made to
give on demand): Retry-After, bounded backoff with jitter, error types."""

from __future__ import annotations

import httpx
import pytest

from fabriqueterm.sync.client import (
    AuthError,
    CommonsClient,
    MalformedAnswer,
    RetryPolicy,
    ServerError,
)

ME = {
    "coordinator": {"id": "c1", "email": "c@example.org", "name": "Camille"},
    "sites": [],
    "server_id": "s1",
    "protocol_version": 1,
}


def _client(answers: list[httpx.Response], sleeps: list[float], attempts: int = 4) -> CommonsClient:
    queue = list(answers)

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["Authorization"] == "Bearer secret-token"
        return queue.pop(0)

    return CommonsClient(
        "https://commons.test",
        "secret-token",
        transport=httpx.MockTransport(handler),
        retry=RetryPolicy(attempts=attempts, base=0.5, cap=4.0),
        sleep=sleeps.append,
    )


def test_retry_after_is_honoured():
    sleeps: list[float] = []
    client = _client(
        [httpx.Response(429, headers={"Retry-After": "2"}), httpx.Response(200, json=ME)], sleeps
    )
    assert client.me().coordinator.name == "Camille"
    assert sleeps == [2.0]
    assert client.requests == 2


def test_backoff_is_bounded_jittered_and_gives_up_with_the_status():
    sleeps: list[float] = []
    client = _client([httpx.Response(502)] * 4, sleeps)
    with pytest.raises(ServerError) as caught:
        client.me()
    assert caught.value.status == 502
    assert len(sleeps) == 3 and client.requests == 4
    assert all(0 <= wait <= bound for wait, bound in zip(sleeps, (0.5, 1.0, 2.0), strict=True))


def test_401_is_not_retried():
    sleeps: list[float] = []
    client = _client([httpx.Response(401, json={"detail": "no"})], sleeps)
    with pytest.raises(AuthError):
        client.me()
    assert sleeps == [] and client.requests == 1


@pytest.mark.parametrize("body", [b"not json", b'{"coordinator": 3}', b"[]"])
def test_malformed_answers_are_their_own_error(body):
    client = _client([httpx.Response(200, content=body)], [])
    with pytest.raises(MalformedAnswer):
        client.me()


def test_the_token_never_shows_in_a_repr():
    client = _client([], [])
    assert "secret-token" not in repr(client.__dict__)


@pytest.mark.parametrize(
    "change",
    [
        {"seq": "1", "site_id": "s", "entity": "learner", "id": "x", "row": None},
        {"seq": 1, "site_id": "s", "entity": "learner", "id": "x"},
        {"seq": 1, "site_id": "s", "entity": "learner", "id": "x", "row": [1]},
        {"seq": True, "site_id": "s", "entity": "learner", "id": "x", "row": None},
    ],
)
def test_a_pull_page_with_a_malformed_change_is_refused_whole(change):
    from fabriqueterm.sync.protocol import PullRequest

    page = {"changes": [change], "cursors": {"s": 1}, "more": False, "sites": ["s"]}
    client = _client([httpx.Response(200, json=page)], [])
    with pytest.raises(MalformedAnswer):
        client.pull(PullRequest(cursors={}))


def test_a_well_formed_pull_page_is_read():
    from fabriqueterm.sync.protocol import PullRequest

    change = {"seq": 7, "site_id": "s", "entity": "learner", "id": "x", "row": {"id": "x"}}
    page = {"changes": [change], "cursors": {"s": 7}, "more": True, "sites": ["s"]}
    read = _client([httpx.Response(200, json=page)], []).pull(PullRequest(cursors={}))
    assert (read.cursors, read.more, read.changes[0].seq, read.changes[0].row) == (
        {"s": 7},
        True,
        7,
        {"id": "x"},
    )
