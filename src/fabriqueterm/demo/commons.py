"""The demo's own commons: ``fabriqueterm demo`` syncs with a real commons server on 127.0.0.1.

The demo home holds both sides: the commons database (``commons.sqlite3``, loaded with the demo
network and granted to a demo coordinator) and the app's database, made by a real first sync from
it. ``config.toml`` points at the local server while the demo runs, and ``secrets.toml`` holds the
demo coordinator's token. A simulated colleague (:mod:`.colleague`) holds the same sites and
edits a row from time to time. The server runs as a subprocess and always stops with the demo.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

from fabriqueterm.config import Config, Paths, load_config, load_token, save_config, save_token
from fabriqueterm.domain.dates import Clock
from fabriqueterm.i18n import _
from fabriqueterm.server.process import CommonsProcess, CommonsStartError, free_port, start_commons

DEMO_COORDINATOR = "coordination@demo.fabriques.example"
DEMO_COORDINATOR_NAME = "Dominique Demo"
DEMO_COLLEAGUE = "camille.collegue@demo.fabriques.example"
DEMO_COLLEAGUE_NAME = "Camille Collègue"
#: The demo app syncs this often, so the colleague's edits arrive while a newcomer looks.
DEMO_SYNC_MINUTES = 1
#: Seconds to wait for the server to answer /v1/health.
START_TIMEOUT = 20.0
#: Seconds to wait for the server to stop after SIGTERM, then after SIGKILL.
STOP_TIMEOUT = 5.0


class DemoServerError(Exception):
    """The demo's commons server could not start; the message says why and where its log is."""


def commons_database(paths: Paths) -> Path:
    return paths.data_dir / "commons.sqlite3"


def colleague_token_file(paths: Paths) -> Path:
    return paths.config_dir / "colleague.toml"


def server_log(paths: Paths) -> Path:
    return paths.data_dir / "commons.log"


def _sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def _remove_database(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)


def set_server_url(paths: Paths, url: str, **settings: Any) -> None:
    """Point the demo home's ``config.toml`` at ``url`` (keeping its other settings but ``settings``)."""
    config = load_config(paths.config_file) if paths.config_file.exists() else Config()
    save_config(paths.config_file, replace(config, server_url=url, **settings))


# --- building both sides -------------------------------------------------------------------------


def build_synced_demo(
    home: Path, *, learners: int, seed: int, today: date | None, replace: bool
) -> str:
    """Build the demo's commons and the app's database by a first real sync from it; say what was
    made. Same seed and ``today``, same data. Without ``replace``, an existing demo is refused."""
    from fabriqueterm.demo.load import load_demo
    from fabriqueterm.demo.network import generate
    from fabriqueterm.server import admin
    from fabriqueterm.server.db import make_engine
    from fabriqueterm.server.migrations import upgrade
    from fabriqueterm.store import Store
    from fabriqueterm.sync.engine import sync_once

    home = Path(home)
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    paths = Paths.under(home)
    paths.ensure()
    database, commons = paths.database, commons_database(paths)
    for path in (database, commons):
        if not path.resolve().is_relative_to(home.resolve()):  # pragma: no cover - Paths.under
            raise ValueError(f"{path} is not inside the demo home {home}")
    day = today or date.today()
    data = generate(
        learners=learners, seed=seed, today=day
    )  # first: bad arguments keep the old demo
    if not replace and database.exists():
        with Store.open(database, clock=Clock(day)) as store:
            if store.sites.count():
                raise FileExistsError(
                    _(
                        "{file} already holds demo data; rebuild it with “fabriqueterm demo --build”."
                    ).format(file=database)
                )
    _remove_database(database)
    _remove_database(commons)

    engine = make_engine(_sqlite_url(commons))
    try:
        upgrade(engine)  # a new commons: every revision, up to head
        admin.add_coordinator(engine, email=DEMO_COORDINATOR, name=DEMO_COORDINATOR_NAME)
        admin.add_coordinator(engine, email=DEMO_COLLEAGUE, name=DEMO_COLLEAGUE_NAME)
        load_demo(engine, learners=learners, seed=seed, email=DEMO_COORDINATOR, today=day)
        for site in data.rows["site"]:  # the colleague holds the same sites
            admin.grant(engine, email=DEMO_COLLEAGUE, site_id=site["id"])
        token = admin.issue_token(engine, email=DEMO_COORDINATOR).value
        colleague = admin.issue_token(engine, email=DEMO_COLLEAGUE).value
    finally:
        engine.dispose()
    save_token(paths.secrets_file, token)
    save_token(colleague_token_file(paths), colleague)
    set_server_url(paths, "", sync_interval_minutes=DEMO_SYNC_MINUTES)

    with Store.open(database, clock=Clock(day)) as store:
        store.bulk_insert({}, meta={"demo_seed": str(seed), "demo_today": day.isoformat()})
        with _serve_in_thread(commons) as url:
            report = sync_once(store, url, token)
        if not report.ok:
            raise DemoServerError(
                _("The demo's first sync failed: {summary}").format(summary=report.summary())
            )
        sites, cohorts = store.sites.count(), store.cohorts.count()
        learners_count = store.learners.count()
    return _(
        "Demo network written to {path} by a first sync ({pulled} rows) from its commons {commons}: "
        "{sites} sites, {cohorts} cohorts, {learners} learners (seed {seed}, as of {today})."
    ).format(
        path=database,
        pulled=report.pulled,
        commons=commons,
        sites=sites,
        cohorts=cohorts,
        learners=learners_count,
        seed=seed,
        today=day.isoformat(),
    )


@contextlib.contextmanager
def _serve_in_thread(database: Path) -> Iterator[str]:
    """The commons on ``database`` served in a thread of this process (for the build's first sync)."""
    import uvicorn

    from fabriqueterm.server.app import create_app

    app = create_app(_sqlite_url(database))
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, name="demo-commons-build", daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT
    try:
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise DemoServerError(_("The demo's commons did not start."))
            time.sleep(0.01)
        yield f"http://127.0.0.1:{server.config.port}"
    finally:
        server.should_exit = True
        thread.join(STOP_TIMEOUT)
        app.state.engine.dispose()


# --- the server while the demo runs ----------------------------------------------------------------


#: The demo's commons served by ``fabriqueterm server run`` in a subprocess.
DemoServer = CommonsProcess


def start_demo_server(paths: Paths, *, timeout: float = START_TIMEOUT) -> DemoServer:
    """Start the demo's commons on 127.0.0.1 at a free port and wait until it answers."""
    database = commons_database(paths)
    if not database.exists():
        raise DemoServerError(
            _("The demo's commons {file} is missing: run “fabriqueterm demo --build”.").format(
                file=database
            )
        )
    log_file = server_log(paths)
    deadline = time.monotonic() + timeout
    for _attempt in range(3):  # another program may take the free port first
        try:
            return start_commons(
                _sqlite_url(database),
                home=paths.data_dir.parent,
                log_file=log_file,
                timeout=max(deadline - time.monotonic(), 1.0),
            )
        except CommonsStartError:
            if time.monotonic() >= deadline:
                break
    raise DemoServerError(_("The demo's commons did not start; see {file}.").format(file=log_file))


def start_colleague(
    paths: Paths,
    server: DemoServer,
    *,
    today: date,
    seed: int,
    wait: tuple[float, float] | None = None,
) -> Any:
    """Start the simulated colleague beside ``server``; returns the event that stops it and its thread."""
    from fabriqueterm.demo.colleague import DEFAULT_WAIT
    from fabriqueterm.demo.colleague import start_colleague as start

    token = load_token(colleague_token_file(paths))
    if token is None:
        return None
    return start(
        _sqlite_url(commons_database(paths)), server.url, token.reveal(), today=today, seed=seed,
        wait=wait or DEFAULT_WAIT, app_database=paths.database,
    )  # fmt: skip


def run_demo(paths: Paths, *, today: date | None, seed: int) -> int:
    """Serve the demo's commons, open the app on the demo home, and stop everything when it closes."""
    from fabriqueterm.tui.app import run_app

    server = start_demo_server(paths)
    colleague = None
    try:
        set_server_url(paths, server.url)
        colleague = start_colleague(paths, server, today=today or date.today(), seed=seed)
        return run_app(paths, today=today, demo=True)
    finally:
        if colleague is not None:
            thread, stop = colleague
            stop.set()
            thread.join(STOP_TIMEOUT)
        server.stop()
        with contextlib.suppress(Exception):
            set_server_url(paths, "")
