"""The commons API, version 1 (FastAPI). See :mod:`fabriqueterm.sync.protocol` for the payloads.

GET  /v1/health   no auth: is the server up, does its database answer, which protocol
GET  /metrics     Prometheus' text format, with ``server run --metrics``, from loopback only
GET  /v1/me       the coordinator behind the token and their granted sites
POST /v1/push     a batch of mutations, one answer each
POST /v1/pull     changes after per-site cursors, a page at a time
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import anyio
import anyio.to_thread
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine, select
from sqlalchemy.exc import OperationalError

from fabriqueterm import __version__
from fabriqueterm.domain.dates import utcnow
from fabriqueterm.i18n import _
from fabriqueterm.server.auth import Coordinator, granted_sites, token_use, touch_token
from fabriqueterm.server.db import (
    POOL_OVERFLOW,
    POOL_SIZE,
    SYNCED_TABLES,
    make_engine,
    read_transaction,
    server_id,
    write_transaction,
)
from fabriqueterm.server.limits import (
    MAX_PULL_BYTES,
    BodyLimit,
    BodyTooLarge,
    bounded_errors,
)
from fabriqueterm.server.migrations import check_schema, upgrade
from fabriqueterm.server.operations import (
    COORDINATOR_KEY,
    LOG_FORMAT_ENV,
    METRICS_ENV,
    HealthUnavailable,
    Metrics,
    RequestObserver,
    configure_json_logging,
    database_health,
    may_read_metrics,
)
from fabriqueterm.server.pull import pull_page
from fabriqueterm.server.push import push
from fabriqueterm.sync.protocol import (
    MAX_PUSH_BYTES,
    MAX_PUSH_MUTATIONS,
    CoordinatorOut,
    ErrorBody,
    Health,
    PullRequest,
    PullResponse,
    PushRequest,
    PushResponse,
    SiteOut,
    TooLargeBody,
    WhoAmI,
)

log = logging.getLogger(__name__)

#: Environment variable read by :func:`create_app_from_env` (uvicorn workers).
DATABASE_URL_ENV = "FABRIQUETERM_SERVER_DATABASE_URL"

#: Threads serving the API's (synchronous) endpoints per process; anyio's default is 40. As many
#: as the database pool's connections: a request never waits for one (nor times out waiting).
THREADS = POOL_SIZE + POOL_OVERFLOW
#: Pushes inside their write transaction at once per process. They take the sequence counter one
#: after the other anyway (docs/sync.md, "Ordering on PostgreSQL"); more would only queue on its
#: lock, each with an open transaction and a connection, and compete for the interpreter with the
#: one holding the lock, which then holds it longer (docs/server.md, "Load").
PUSH_SLOTS = 2
#: Environment variables overriding them (measurements: benchmarks/load.py).
THREADS_ENV = "FABRIQUETERM_SERVER_THREADS"
PUSH_SLOTS_ENV = "FABRIQUETERM_SERVER_PUSH_SLOTS"

_bearer = HTTPBearer(
    auto_error=False, description="A token issued by `fabriqueterm server admin token issue`."
)

_AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "Missing, unknown or revoked token."},
}
_BODY_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "The body cannot be read (not UTF-8 JSON)."},
}
_BUSY_RESPONSES: dict[int | str, dict[str, Any]] = {
    503: {
        "model": ErrorBody,
        "description": "The database is busy: retry after Retry-After seconds.",
    },
}


def engine_of(request: Request) -> Engine:
    return request.app.state.engine


def current_coordinator(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Coordinator:
    use = None
    if credentials is not None and credentials.scheme.lower() == "bearer":
        with read_transaction(engine_of(request)) as connection:
            use = token_use(connection, credentials.credentials)
    if use is None:
        raise HTTPException(
            status_code=401,
            detail=_("Missing, unknown or revoked token: log in again."),
            headers={"WWW-Authenticate": "Bearer"},
        )
    now = utcnow()
    if use.needs_touch(now):  # at most once a minute per token, not a write per request
        with write_transaction(engine_of(request)) as connection:
            touch_token(connection, use.token_id, now)
    request.scope[COORDINATOR_KEY] = use.coordinator.id  # the log line's opaque id
    return use.coordinator


Authenticated = Annotated[Coordinator, Depends(current_coordinator)]


def create_app(
    database_url: str,
    *,
    migrate: bool = True,
    metrics: bool = False,
    log_format: str = "text",
) -> FastAPI:
    """The commons API on ``database_url`` (``sqlite:///file`` or ``postgresql+psycopg://…``).

    ``migrate``: bring the database to head first (a commons of its own: tests, the OpenAPI
    document, the demo's first sync). A served commons passes False: a database that is not at
    head is refused with :class:`~fabriqueterm.server.migrations.SchemaNotCurrent`, whose message
    names ``fabriqueterm server migrate``.

    ``metrics``: answer ``/metrics`` (to loopback clients only, never through a proxy);
    ``log_format="json"``: one JSON line per request on stderr (docs/server.md, "Operations").
    """
    engine = make_engine(database_url)
    try:
        if migrate:
            upgrade(engine)
        else:
            check_schema(engine)
    except BaseException:
        engine.dispose()
        raise
    threads = int(os.environ.get(THREADS_ENV) or THREADS)
    slots = int(os.environ.get(PUSH_SLOTS_ENV) or PUSH_SLOTS)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = threads
        # Awaited on the event loop: a push waiting for its turn holds no thread and no
        # connection (pulls go on meanwhile).
        app.state.push_slots = anyio.Semaphore(slots)
        yield

    app = FastAPI(
        lifespan=lifespan,
        title="fabriqueterm commons",
        version=__version__,
        summary="The commons of the fabriques' network: sync API v1 (see docs/sync.md).",
        openapi_url="/v1/openapi.json",
        docs_url="/v1/docs",
        redoc_url=None,
    )
    app.state.engine = engine
    app.state.metrics = Metrics(engine)
    app.add_middleware(BodyLimit)
    app.add_middleware(
        RequestObserver,
        metrics=app.state.metrics,
        logger=configure_json_logging() if log_format == "json" else None,
        static_paths=lambda: {
            path for route in app.routes if "{" not in (path := str(getattr(route, "path", "{")))
        },
    )

    @app.exception_handler(OperationalError)
    async def _busy(request: Request, error: OperationalError) -> JSONResponse:
        log.warning("database unavailable: %s", type(error.orig).__name__)
        return JSONResponse(
            {"detail": _("The commons database is busy; try again shortly.")},
            status_code=503,
            headers={"Retry-After": "5"},
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        # The default answer echoes the input back; keep the location and the reason only, bounded.
        return JSONResponse({"detail": bounded_errors(list(error.errors()))}, status_code=422)

    @app.get(
        "/v1/health",
        response_model=Health,
        responses={
            503: {
                "model": HealthUnavailable,
                "description": "The server runs but its database does not answer.",
            }
        },
        tags=["v1"],
        summary="Is the server up and does its database answer (no token needed)",
    )
    def health(request: Request) -> Any:
        reason = database_health(engine_of(request))
        if reason is not None:
            log.warning("health: the database does not answer (%s)", reason)
            return JSONResponse(
                HealthUnavailable(
                    detail=_("The commons database does not answer ({reason}).").format(
                        reason=reason
                    ),
                    version=__version__,
                ).model_dump(),
                status_code=503,
                headers={"Retry-After": "5"},
            )
        return Health(version=__version__)

    if metrics:

        @app.get("/metrics", include_in_schema=False)
        def prometheus(request: Request) -> Response:
            if not may_read_metrics(request.scope):
                return JSONResponse({"detail": "Not Found"}, status_code=404)
            return Response(
                request.app.state.metrics.exposition(),
                media_type="text/plain; version=0.0.4; charset=utf-8",
            )

    @app.get(
        "/v1/me",
        response_model=WhoAmI,
        responses={**_AUTH_RESPONSES, **_BUSY_RESPONSES},
        tags=["v1"],
        summary="The coordinator behind the token and their granted sites",
    )
    def me(request: Request, coordinator: Authenticated) -> WhoAmI:
        site = SYNCED_TABLES["site"]
        with read_transaction(engine_of(request)) as connection:
            granted = sorted(granted_sites(connection, coordinator.id))
            rows = connection.execute(
                select(site.c.id, site.c.name, site.c.city, site.c.region)
                .where(site.c.id.in_(granted))
                .order_by(site.c.name, site.c.id)
            ).all()
            return WhoAmI(
                coordinator=CoordinatorOut(
                    id=coordinator.id, email=coordinator.email, name=coordinator.name
                ),
                sites=[SiteOut(id=r.id, name=r.name, city=r.city, region=r.region) for r in rows],
                server_id=server_id(connection),
            )

    @app.post(
        "/v1/push",
        response_model=PushResponse,
        responses={
            **_AUTH_RESPONSES,
            **_BODY_RESPONSES,
            413: {
                "model": TooLargeBody,
                "description": f"More than {MAX_PUSH_MUTATIONS} mutations or {MAX_PUSH_BYTES} bytes.",
            },
            **_BUSY_RESPONSES,
        },
        tags=["v1"],
        summary="Push a batch of mutations; one answer per mutation",
    )
    async def push_batch(request: Request, payload: PushRequest, coordinator: Authenticated) -> Any:
        if len(payload.mutations) > MAX_PUSH_MUTATIONS:
            return JSONResponse(
                TooLargeBody(
                    detail=_("At most {limit} mutations per push: send smaller batches.").format(
                        limit=MAX_PUSH_MUTATIONS
                    )
                ).model_dump(),
                status_code=413,
            )
        slots = getattr(request.app.state, "push_slots", None)
        if slots is None:  # served without its lifespan (a TestClient outside ``with``)
            slots = request.app.state.push_slots = anyio.Semaphore(PUSH_SLOTS)
        async with slots:
            answer = await anyio.to_thread.run_sync(push, engine_of(request), coordinator, payload)
        outcomes = request.app.state.metrics.push_outcomes
        for result in answer.results:
            outcomes.labels(str(result.status.value)).inc()
        return Response(content=answer.model_dump_json(), media_type="application/json")

    @app.post(
        "/v1/pull",
        response_model=PullResponse,
        responses={
            **_AUTH_RESPONSES,
            **_BODY_RESPONSES,
            413: {
                "model": BodyTooLarge,
                "description": f"A body over {MAX_PULL_BYTES} bytes.",
            },
            **_BUSY_RESPONSES,
        },
        tags=["v1"],
        summary="Pull the changes of your sites after your cursors, a page at a time",
    )
    def pull_changes(request: Request, payload: PullRequest, coordinator: Authenticated) -> Any:
        # The rows come as JSON from the database: sent as they are, without a round trip.
        page = pull_page(engine_of(request), coordinator, payload)
        request.app.state.metrics.rows_pulled.inc(len(page.changes))
        return Response(content=page.to_json(), media_type="application/json")

    return app


def create_app_from_env() -> FastAPI:
    """The app on ``$FABRIQUETERM_SERVER_DATABASE_URL`` (what each uvicorn worker calls): it never
    changes the schema, and refuses a database that is not at head (``fabriqueterm server
    migrate``; the command that starts the workers has checked it already)."""
    return create_app(
        os.environ[DATABASE_URL_ENV],
        migrate=False,
        metrics=os.environ.get(METRICS_ENV) == "1",
        log_format=os.environ.get(LOG_FORMAT_ENV, "text"),
    )


def openapi_document(app: FastAPI) -> str:
    """The OpenAPI schema as the repository keeps it (``openapi.json``)."""
    return json.dumps(app.openapi(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
