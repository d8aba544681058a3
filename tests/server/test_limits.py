"""Bounded requests (issue #13, finding 5): every endpoint refuses a body over its limit with 413
naming the limit, after reading at most that limit (streamed bodies included); the pull bounds its
cursors and never echoes unbounded input; a huge body never holds up /v1/health."""

from __future__ import annotations

import asyncio
import json
import warnings
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from commons_helpers import World

from fabriqueterm.domain.ids import uuid7
from fabriqueterm.server.limits import MAX_LOCATION_CHARS, body_limit
from fabriqueterm.sync.protocol import MAX_PULL_CURSOR_LENGTH, MAX_PULL_CURSORS

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

#: What a misbehaving client streams: 100 MB, as in the finding.
HUGE = 100 * 1024 * 1024
CHUNK = 64 * 1024

#: Cases tried, counted for the issue's note (asserted at the end of the module's runs).
TRIED: dict[str, int] = {}


def _count(kind: str) -> None:
    TRIED[kind] = TRIED.get(kind, 0) + 1


def _endpoints(app: Any) -> list[tuple[str, str]]:
    """(method, path) of every route the app serves, docs included."""
    found = []
    for route in app.routes:
        for method in sorted(getattr(route, "methods", None) or ()):
            if method != "HEAD":
                found.append((method, route.path))
    return found


def test_every_route_is_covered(app: Any) -> None:
    endpoints = _endpoints(app)
    assert ("POST", "/v1/push") in endpoints and ("POST", "/v1/pull") in endpoints
    assert ("GET", "/v1/health") in endpoints and ("GET", "/v1/me") in endpoints
    assert len(endpoints) >= 6  # the four of v1, the OpenAPI document and its page


def _assert_413(response: httpx.Response, limit: int) -> None:
    assert response.status_code == 413, (response.status_code, response.text[:300])
    body = response.json()
    assert body["max_bytes"] == limit and str(limit) in body["detail"]
    assert len(response.content) < 1000  # nothing of the body echoed


def test_a_declared_body_over_each_endpoints_limit_gets_413(app: Any, client: TestClient) -> None:
    for method, path in _endpoints(app):
        limit = body_limit(path)
        response = client.request(
            method,
            path,
            content=b" " * (limit + 1),
            headers={"Content-Type": "application/json"},
        )
        _count("declared body over the limit")
        _assert_413(response, limit)


async def _stream_to(app: Any, method: str, path: str, sent: list[int]) -> httpx.Response:
    async def body() -> AsyncIterator[bytes]:
        piece = b" " * CHUNK
        for _ in range(HUGE // CHUNK):
            sent[0] += CHUNK
            yield piece

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://commons") as http:
        return await http.request(
            method, path, content=body(), headers={"Content-Type": "application/json"}
        )


def test_a_streamed_100_mb_body_is_refused_after_reading_at_most_the_limit(app: Any) -> None:
    for method, path in _endpoints(app):
        limit = body_limit(path)
        sent = [0]
        response = asyncio.run(_stream_to(app, method, path, sent))
        _count("streamed 100 MB body")
        _assert_413(response, limit)
        assert sent[0] <= limit + CHUNK, (path, sent[0])


def test_health_answers_while_a_huge_body_is_being_sent(app: Any) -> None:
    async def scenario() -> tuple[int, int]:
        health_done = asyncio.Event()

        async def body() -> AsyncIterator[bytes]:
            yield b'{"cursors": {}, "limit": 1000' + b" " * CHUNK
            await health_done.wait()  # the rest arrives only once health has answered
            for _ in range(HUGE // CHUNK):
                yield b" " * CHUNK

        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://commons") as http:
            pull = asyncio.ensure_future(http.post("/v1/pull", content=body()))
            health = await asyncio.wait_for(http.get("/v1/health"), 60)
            health_done.set()
            refused = await asyncio.wait_for(pull, 60)
        return health.status_code, refused.status_code

    health_status, pull_status = asyncio.run(scenario())
    _count("health during a huge pull")
    assert health_status == 200 and pull_status == 413


def test_a_pull_with_too_many_cursors_is_refused_naming_the_limit(world: World) -> None:
    device = world.device()
    cursors = {uuid7(): 1 for _ in range(MAX_PULL_CURSORS + 1)}
    response = world.http.post(
        "/v1/pull", json={"cursors": cursors, "limit": 1000}, headers=device.headers
    )
    _count("pull with too many cursors")
    assert response.status_code in (413, 422), response.text[:300]
    assert str(MAX_PULL_CURSORS) in response.text
    assert not any(site in response.text for site in cursors)
    # At the limit it is answered, and every key sent is a site id.
    at_limit = dict(list(cursors.items())[:MAX_PULL_CURSORS])
    page = device.pull(at_limit)
    _count("pull at the cursor limit")
    assert sorted(page["not_granted"]) == sorted(at_limit)


def test_a_pull_never_echoes_a_long_cursor_key(world: World) -> None:
    device = world.device()
    for key in ("x" * (MAX_PULL_CURSOR_LENGTH + 1), "é" * 50_000, "\x1b[2J" * 10_000):
        response = world.http.post(
            "/v1/pull", json={"cursors": {key: 1}, "limit": 1000}, headers=device.headers
        )
        _count("pull with a long cursor key")
        assert response.status_code == 422, response.text[:300]
        assert key not in response.text and key[:MAX_LOCATION_CHARS] not in response.text
        assert str(MAX_PULL_CURSOR_LENGTH) in response.text
        assert len(response.content) < 2000


def test_a_422_lists_a_bounded_number_of_errors(world: World) -> None:
    device = world.device()
    cursors = {f"s{i}": "x" for i in range(500)}
    response = world.http.post(
        "/v1/pull",
        content=json.dumps({"cursors": cursors, "limit": 1000}),
        headers={**device.headers, "Content-Type": "application/json"},
    )
    _count("pull with 500 bad cursor values")
    assert response.status_code == 422
    assert len(response.json()["detail"]) <= 20
    assert len(response.content) < 10_000


@pytest.fixture(scope="module", autouse=True)
def _report_counts() -> Any:
    yield
    print("\ncases tried by test_limits:", json.dumps(TRIED, sort_keys=True))
