"""Helpers of the sync engine's tests: a real commons (uvicorn on 127.0.0.1 at a free port, in a
thread of the test process so the tests can call the admin functions on its engine), a fault-making
TCP proxy in front of it, and local clients (each its own SQLite file)."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn

from fabriqueterm.server import admin
from fabriqueterm.server.app import create_app
from fabriqueterm.server.process import free_port
from fabriqueterm.store.db import Store
from fabriqueterm.store.replica import Replica
from fabriqueterm.sync.client import CommonsClient, RetryPolicy
from fabriqueterm.sync.engine import SyncReport, sync_once

COHORT = {
    "name": "Promo 1",
    "programme": "Développeur·se web et web mobile",
    "start_date": "2026-01-05",
    "end_date": "2026-07-03",
    "capacity": 14,
    "funders": "Région",
    "status": "running",
}
LEARNER = {
    "first_name": "Inès",
    "last_name": "Martin",
    "email": "ines.martin@example.org",
    "phone": "+33612345678",
    "birth_year": 1999,
    "gender": "F",
    "qpv": True,
    "qualification": "4",
    "job_seeker": True,
    "refugee": False,
    "status": "enrolled",
}

#: Fast retries: the tests must not wait for real backoff.
FAST = RetryPolicy(attempts=3, base=0.01, cap=0.02)


@dataclass
class Commons:
    url: str
    engine: Any


@contextmanager
def serve_commons(database: Path) -> Iterator[Commons]:
    """The commons API served by uvicorn on 127.0.0.1 at a free port, stopped on exit."""
    app = create_app(f"sqlite:///{database}")
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise AssertionError("the commons did not start")
        time.sleep(0.02)
    try:
        yield Commons(f"http://127.0.0.1:{port}", app.state.engine)
    finally:
        server.should_exit = True
        thread.join(10)
        app.state.engine.dispose()


@dataclass
class Team:
    """One coordinator (two sites granted, a third site not yet) and their token."""

    commons: Commons
    email: str
    token: str
    site1: str
    site2: str
    site3: str

    def grant(self, site: str) -> None:
        admin.grant(self.commons.engine, email=self.email, site_id=site)

    def revoke(self, site: str) -> None:
        admin.revoke(self.commons.engine, email=self.email, site_id=site)


def make_team(commons: Commons) -> Team:
    tag = uuid.uuid4().hex[:8]
    engine = commons.engine
    sites = [
        admin.add_site(engine, name=f"Fabrique {n} {tag}", city=n).value
        for n in ("Lille", "Roubaix", "Brest")
    ]
    email = f"c-{tag}@example.org"
    admin.add_coordinator(engine, email=email, name="Camille Coordinatrice")
    for site in sites[:2]:
        admin.grant(engine, email=email, site_id=site)
    return Team(commons, email, admin.issue_token(engine, email=email).value, *sites)


class Device:
    """One local database of the app, syncing with the commons (or a proxy in front of it)."""

    def __init__(self, path: Path, team: Team, url: str | None = None):
        self.store = Store.open(path)
        self.team = team
        self.url = url or team.commons.url
        self.replica = Replica(self.store)

    def sync(self, *, url: str | None = None, timeout: float = 10.0, **options: Any) -> SyncReport:
        client = CommonsClient(url or self.url, self.team.token, timeout=timeout, retry=FAST)
        with client:
            return sync_once(self.store, url or self.url, self.team.token, client=client, **options)

    def rows(self, entity: str) -> dict[str, dict[str, Any]]:
        return self.replica.rows(entity)

    def close(self) -> None:
        self.store.close()


class FaultProxy:
    """A TCP proxy, one HTTP request per connection, that can misbehave on the next requests.

    Faults (consumed in order, each by the first request whose path starts with its prefix):
    ``drop``: forward the request, wait for the server's answer, then close without sending it;
    ``hang``: never answer; ``500``: answer 500 itself; ``garbage``: answer 200 with broken JSON.
    """

    def __init__(self, upstream_port: int):
        self.upstream_port = upstream_port
        self.faults: list[tuple[str, str]] = []
        self.forwarded: list[str] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._closing = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def fault(self, mode: str, path: str = "/") -> None:
        self.faults.append((path, mode))

    def close(self) -> None:
        self._closing.set()
        self._listener.close()

    def _accept(self) -> None:
        while not self._closing.is_set():
            try:
                connection, _address = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        with connection:
            request = _read_request(connection)
            if request is None:
                return
            line = request.split(b"\r\n", 1)[0].decode()
            path = line.split(" ")[1]
            mode = "forward"
            for index, (prefix, fault) in enumerate(self.faults):
                if path.startswith(prefix):
                    mode = fault
                    del self.faults[index]
                    break
            if mode == "hang":
                self._closing.wait(30)
                return
            if mode == "500":
                connection.sendall(
                    b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}"
                )
                return
            if mode == "garbage":
                body = b'{"results": [tru'
                connection.sendall(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
                    + str(len(body)).encode()
                    + b"\r\nconnection: close\r\n\r\n"
                    + body
                )
                return
            head, body = request.split(b"\r\n\r\n", 1)
            lines = [h for h in head.split(b"\r\n") if not h.lower().startswith(b"connection:")]
            forwarded = b"\r\n".join([*lines, b"connection: close"]) + b"\r\n\r\n" + body
            with socket.create_connection(("127.0.0.1", self.upstream_port)) as upstream:
                upstream.sendall(forwarded)
                answer = b""
                while chunk := upstream.recv(65536):
                    answer += chunk
            self.forwarded.append(path)
            if mode == "drop":
                return  # the server committed; the client never hears of it
            connection.sendall(answer)


def _read_request(connection: socket.socket) -> bytes | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    length = 0
    for header in head.split(b"\r\n")[1:]:
        name, _sep, value = header.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = connection.recv(65536)
        if not chunk:
            return None
        body += chunk
    return head + b"\r\n\r\n" + body
