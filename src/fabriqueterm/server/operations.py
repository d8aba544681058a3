"""What an administrator watches (docs/server.md, "Operations"): the health check that asks the
database, the Prometheus metrics, and the JSON request log.

- :func:`database_health`: a ``SELECT 1`` with a short timeout; the reason when it fails (the
  error's class, never its text: it may hold a host or a user name).
- :class:`Metrics`: requests by route template (never a raw path: ids never become labels) and
  status, latency histograms by route, push outcomes by kind, rows pulled, and coordinators seen
  today (a gauge read from ``srv_token.last_used_at`` at each scrape, so it is right across
  workers and restarts). Several uvicorn workers: prometheus-client's multiprocess mode, when
  ``$PROMETHEUS_MULTIPROC_DIR`` names a folder (``server run --metrics --workers N`` makes one).
- :class:`RequestObserver`: the ASGI middleware that counts every request and, with
  ``--log-format json``, writes one JSON line per request: time, method, route template, status,
  duration, the coordinator's opaque id. Never a token, a query string, a body or a name.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from pydantic import BaseModel
from sqlalchemy import Engine, func, select, text

from fabriqueterm.server.db import is_postgres, token_table

#: The logger of the JSON request lines.
ACCESS_LOGGER = "fabriqueterm.server.access"
#: Environment variables that carry ``server run``'s options to each uvicorn worker.
LOG_FORMAT_ENV = "FABRIQUETERM_SERVER_LOG_FORMAT"
METRICS_ENV = "FABRIQUETERM_SERVER_METRICS"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
#: Milliseconds the health check waits for the database (PostgreSQL; SQLite answers at once).
HEALTH_TIMEOUT_MS = 2000
#: The route label of a request no route matched (a 404): never its path.
UNMATCHED = "<unmatched>"
#: The scope key where the authentication leaves the coordinator's id for the log line.
COORDINATOR_KEY = "fabriqueterm.coordinator_id"

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class HealthUnavailable(BaseModel):
    """``/v1/health``'s answer 503: the server runs but its database does not answer."""

    status: str = "unavailable"
    detail: str
    version: str


def database_health(engine: Engine) -> str | None:
    """None when the database answers ``SELECT 1``; else the reason (the error's class name)."""
    try:
        with engine.connect() as connection:
            if is_postgres(connection):
                with connection.begin():
                    connection.execute(text(f"SET LOCAL statement_timeout = {HEALTH_TIMEOUT_MS}"))
                    connection.execute(text("SELECT 1"))
            else:
                connection.execute(text("SELECT 1"))
                connection.rollback()
    except Exception as error:
        orig = getattr(error, "orig", None)
        return type(orig or error).__name__
    return None


def start_of_day(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


class _SeenToday:
    """The gauge of coordinators whose token was used since midnight UTC, read at scrape time."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Any:
        gauge = GaugeMetricFamily(
            "fabriqueterm_coordinators_seen_today",
            "Coordinators whose token was used since 00:00 UTC (to the minute).",
        )
        try:
            with self.engine.connect() as connection:
                count = connection.execute(
                    select(func.count(func.distinct(token_table.c.coordinator_id))).where(
                        token_table.c.last_used_at >= start_of_day(datetime.now(UTC))
                    )
                ).scalar_one()
        except Exception:
            return  # the database is down: /v1/health says so; the other metrics still answer
        gauge.add_metric([], int(count))
        yield gauge


class Metrics:
    """The commons' metrics: an own registry per app, or prometheus-client's multiprocess files
    when ``$PROMETHEUS_MULTIPROC_DIR`` is set (several workers)."""

    def __init__(self, engine: Engine) -> None:
        self.multiprocess = bool(os.environ.get(MULTIPROC_ENV))
        self._registry = None if self.multiprocess else CollectorRegistry()
        registry = self._registry
        self.requests = Counter(
            "fabriqueterm_requests",
            "HTTP requests by route template, method and status.",
            ["route", "method", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "fabriqueterm_request_duration_seconds",
            "Time to answer a request, by route template.",
            ["route"],
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.push_outcomes = Counter(
            "fabriqueterm_push_mutations",
            "Pushed mutations by outcome (applied, duplicate, conflict, rejected, gap).",
            ["outcome"],
            registry=registry,
        )
        self.rows_pulled = Counter(
            "fabriqueterm_pull_rows", "Changes sent by pulls.", registry=registry
        )
        self._seen_today = _SeenToday(engine)

    def exposition(self) -> bytes:
        """Every metric in Prometheus' text format."""
        if self._registry is None:
            registry = CollectorRegistry()
            MultiProcessCollector(registry)
        else:
            registry = self._registry
        extra = CollectorRegistry()
        extra.register(self._seen_today)
        return generate_latest(registry) + generate_latest(extra)


def may_read_metrics(scope: dict[str, Any]) -> bool:
    """Only a direct client on a loopback address: a request that came through a proxy (it
    carries ``X-Forwarded-For`` or ``X-Real-IP``, or uvicorn rewrote its client from them) never."""
    for name, _value in scope.get("headers", ()):
        if name.lower() in (b"x-forwarded-for", b"x-real-ip", b"forwarded"):
            return False
    client = scope.get("client")
    if not client:
        return False
    try:
        return ipaddress.ip_address(client[0]).is_loopback
    except ValueError:
        return False


class JsonFormatter(logging.Formatter):
    """One JSON object per line: the record's ``fields`` (the request line) or its message."""

    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, "fields", None)
        if fields is None:
            fields = {
                "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
                "level": record.levelname.lower(),
                "logger": record.name,
                "message": record.getMessage(),
            }
        return json.dumps(fields, ensure_ascii=False, separators=(",", ":"))


def configure_json_logging() -> logging.Logger:
    """The request logger, writing JSON lines to stderr (once per process)."""
    logger = logging.getLogger(ACCESS_LOGGER)
    if not any(getattr(h, "_fabriqueterm_json", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        handler._fabriqueterm_json = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return logger


class RequestObserver:
    """ASGI middleware: count and time every request under its route template; with ``logger``,
    write its JSON line."""

    def __init__(
        self,
        app: Any,
        *,
        metrics: Metrics,
        logger: logging.Logger | None,
        static_paths: Callable[[], set[str]] = set,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.logger = logger
        # The paths of routes without parameters: a request answered before routing (a 413 of
        # the body limit) is still labelled by its route when its path is one of them.
        self._static_paths = static_paths
        self._static: set[str] | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def observed_send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        finally:
            elapsed = time.perf_counter() - started
            template = getattr(scope.get("route"), "path", None)
            if template is None:
                if self._static is None:
                    self._static = self._static_paths()
                path = scope.get("path", "")
                template = path if path in self._static else UNMATCHED
            method = str(scope.get("method", ""))
            self.metrics.requests.labels(template, method, str(status)).inc()
            self.metrics.latency.labels(template).observe(elapsed)
            if self.logger is not None:
                self.logger.info(
                    "request",
                    extra={
                        "fields": {
                            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
                            "method": method,
                            "route": template,
                            "status": status,
                            "duration_ms": round(elapsed * 1000, 2),
                            "coordinator": scope.get(COORDINATOR_KEY),
                        }
                    },
                )
