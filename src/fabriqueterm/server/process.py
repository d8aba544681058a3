"""A commons served by ``fabriqueterm server run`` in a subprocess on 127.0.0.1: started at a free
port, waited for until ``/v1/health`` answers, stopped with a bounded wait. One piece for the demo,
the tests that need a real uvicorn and the benchmarks."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

#: Seconds to wait for a stopping server before killing it.
STOP_TIMEOUT = 5.0


class CommonsStartError(RuntimeError):
    """The server process ended, or did not answer in time; its log says why."""


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class CommonsProcess:
    """A running commons subprocess; ``stop()`` (or leaving ``with``) ends it."""

    url: str
    process: subprocess.Popen[bytes]
    log_file: Path
    _log: IO[bytes]

    def stop(self) -> None:
        """SIGTERM, a bounded wait, then SIGKILL. Safe to call twice."""
        try:
            if self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(STOP_TIMEOUT)
        finally:
            self._log.close()

    def __enter__(self) -> CommonsProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def start_commons(
    database_url: str,
    *,
    home: Path,
    log_file: Path,
    workers: int = 1,
    timeout: float = 60.0,
    migrate: bool = True,
    extra_args: tuple[str, ...] = (),
) -> CommonsProcess:
    """Start ``fabriqueterm server run`` on ``database_url`` with ``$FABRIQUETERM_HOME`` = ``home``,
    its output appended to ``log_file``, and return once it answers ``/v1/health``.

    ``migrate``: first bring the database to head (creating it when empty), as ``fabriqueterm
    server migrate`` would: these commons are the demo's, the tests' and the benchmarks' own.
    Without it, a database that is not at head makes the server refuse to start (its log says why).
    ``extra_args``: more options of ``server run`` (``--metrics``, ``--log-format json``…).
    """
    import httpx

    if migrate:
        _migrate(database_url)

    port = free_port()
    environment = {**os.environ, "FABRIQUETERM_HOME": str(home)}
    environment.pop("FABRIQUETERM_SERVER_DATABASE_URL", None)
    log = log_file.open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "fabriqueterm", "server", "run", "--host", "127.0.0.1", "--port", str(port),
         "--database-url", database_url, "--workers", str(workers), "--log-level", "warning", *extra_args],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        env=environment,
    )  # fmt: skip
    server = CommonsProcess(f"http://127.0.0.1:{port}", process, log_file, log)
    deadline = time.monotonic() + timeout
    try:
        while process.poll() is None and time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(server.url + "/v1/health", timeout=1.0).status_code == 200:
                    return server
            time.sleep(0.05)
    except BaseException:
        server.stop()
        raise
    server.stop()
    raise CommonsStartError(f"the commons server did not start; see {log_file}")


def _migrate(database_url: str) -> None:
    from fabriqueterm.server.db import make_engine
    from fabriqueterm.server.migrations import upgrade

    engine = make_engine(database_url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
