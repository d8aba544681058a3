"""No token in clear, through real TLS: a certificate authority and a server certificate for
127.0.0.1/localhost made with ``openssl`` at test time; ``fabriqueterm server run --certfile
--keyfile`` under uvicorn, and Debian's nginx in front of a plain-HTTP commons, rendered from the
shipped deploy/nginx/fabriqueterm.conf. The client logs in and syncs through both, trusting the CA
through ``--ca-bundle``; without it, it is refused with a sentence; ``http://`` to another computer
is refused before anything is sent."""

from __future__ import annotations

import contextlib
import os
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from commons_helpers import Device, World, make_world
from sqlalchemy import text
from tls_helpers import Pki, make_pki, nginx_in_front, stop, wait_healthy

from fabriqueterm.cli import main
from fabriqueterm.config import Config, Paths, load_config, save_config, save_token
from fabriqueterm.server.db import make_engine
from fabriqueterm.server.migrations import upgrade
from fabriqueterm.server.process import free_port
from fabriqueterm.store.db import Store
from fabriqueterm.sync.client import CA_BUNDLE_ENV, CommonsClient
from fabriqueterm.sync.errors import CertificateError, InsecureAddress, SyncErrorKind


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """A CA, and a server certificate it signed for 127.0.0.1, ::1 and localhost."""
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('tls-commons') / 'commons.sqlite3'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


def _serve(database: str, folder: Path, *tls: str | Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    environment = {**os.environ, "FABRIQUETERM_HOME": str(folder)}
    environment.pop("FABRIQUETERM_SERVER_DATABASE_URL", None)
    with (folder / "server.log").open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "fabriqueterm", "server", "run", "--host", "127.0.0.1",
             "--port", str(port), "--database-url", database, "--log-level", "warning",
             *map(str, tls)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=environment,
        )  # fmt: skip
    return process, port


@pytest.fixture(scope="module")
def tls_commons(database: str, pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``https://127.0.0.1:PORT``: the commons serving TLS itself."""
    folder = tmp_path_factory.mktemp("tls-server")
    process, port = _serve(database, folder, "--certfile", pki.certificate, "--keyfile", pki.key)
    url = f"https://127.0.0.1:{port}"
    try:
        wait_healthy(url, process, folder / "server.log", pki.ca)
        yield url
    finally:
        stop(process)


@pytest.fixture(scope="module")
def nginx_commons(
    database: str, pki: Pki, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """``https://localhost:PORT``: Debian's nginx, configured from the shipped template, ending
    TLS in front of the commons in plain HTTP on 127.0.0.1."""
    folder = tmp_path_factory.mktemp("nginx")
    server, upstream_port = _serve(database, folder)
    try:
        with nginx_in_front(folder, pki, [f"127.0.0.1:{upstream_port}"]) as nginx:
            wait_healthy(nginx.url, server, folder / "server.log", pki.ca)
            # Plain HTTP only redirects to https: no token accepted in clear.
            answer = httpx.get(f"http://127.0.0.1:{nginx.http_port}/v1/me", timeout=5)
            assert answer.status_code == 301
            assert answer.headers["location"].startswith("https://")
            yield nginx.url
    finally:
        stop(server)


@pytest.fixture
def world(database: str) -> Iterator[World]:
    engine = make_engine(database)
    yield make_world(engine, None)
    engine.dispose()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Paths:
    """A coordinator's home, in English, with no CA bundle in the environment."""
    monkeypatch.setenv("FABRIQUETERM_HOME", str(tmp_path / "home"))
    monkeypatch.delenv(CA_BUNDLE_ENV, raising=False)
    paths = Paths.default()
    paths.ensure()
    save_config(paths.config_file, Config(language="en", auto_sync=False))
    return paths


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _push_a_cohort(url: str, world: World, ca: Path) -> str:
    """A colleague's cohort on the commons, sent over TLS: what the client must receive."""
    with httpx.Client(base_url=url, verify=ssl.create_default_context(cafile=str(ca))) as http:
        return Device(http, world.token_a).create_cohort(world.site_a1)


def _login_and_sync(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    home: Paths,
    url: str,
    world: World,
    pki: Pki,
) -> None:
    cohort = _push_a_cohort(url, world, pki.ca)
    monkeypatch.setenv("COMMONS_TOKEN", world.token_a)
    code, out, err = _cli(
        capsys, "login", url, "--token-env", "COMMONS_TOKEN", "--ca-bundle", str(pki.ca)
    )
    assert code == 0, err
    assert "Logged in as Alice Coordinatrice" in out
    config = load_config(home.config_file)
    assert config.server_url == url and config.ca_bundle == str(pki.ca) and not config.allow_http
    # A later sync (cron) trusts the same CA from the config alone.
    code, out, err = _cli(capsys, "sync", "--quiet")
    assert code == 0, err
    assert "0 sent" in out and "not finished" not in out
    with Store.open(home.database) as store, store.read() as session:
        assert session.execute(text("SELECT 1 FROM cohort WHERE id = :id"), {"id": cohort}).first()


def test_login_and_sync_over_tls_trusting_the_ca_bundle(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    home: Paths,
    tls_commons: str,
    world: World,
    pki: Pki,
) -> None:
    _login_and_sync(capsys, monkeypatch, home, tls_commons, world, pki)


def test_login_and_sync_through_nginx(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    home: Paths,
    nginx_commons: str,
    world: World,
    pki: Pki,
) -> None:
    _login_and_sync(capsys, monkeypatch, home, nginx_commons, world, pki)


def test_the_ca_bundle_variable_is_trusted(
    monkeypatch: pytest.MonkeyPatch, home: Paths, tls_commons: str, world: World, pki: Pki
) -> None:
    monkeypatch.setenv(CA_BUNDLE_ENV, str(pki.ca))
    with CommonsClient(tls_commons, world.token_a) as client:
        assert client.me().coordinator.email == world.email_a


def test_a_commons_whose_certificate_is_not_trusted_is_refused_with_a_sentence(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    home: Paths,
    tls_commons: str,
    world: World,
) -> None:
    monkeypatch.setenv("COMMONS_TOKEN", world.token_a)
    code, out, err = _cli(capsys, "login", tls_commons, "--token-env", "COMMONS_TOKEN")
    assert code == 1
    assert "certificate is not trusted" in err and "--ca-bundle" in err
    assert "Traceback" not in err + out
    assert load_config(home.config_file).server_url == ""  # nothing stored
    # The same for a sync configured without the CA: one sentence, remembered, not retried.
    save_config(home.config_file, Config(language="en", server_url=tls_commons))
    save_token(home.secrets_file, world.token_a)
    code, out, err = _cli(capsys, "sync", "--quiet")
    assert code == 1 and "certificate is not trusted" in out


def test_an_unreadable_ca_bundle_is_a_sentence(home: Paths, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.pem"
    with CommonsClient("https://127.0.0.1:9", "secret", ca_bundle=missing) as client:
        with pytest.raises(CertificateError) as caught:
            client.me()
        assert str(missing) in str(caught.value) and client.requests == 0
    not_pem = tmp_path / "not.pem"
    not_pem.write_text("hello")
    client = CommonsClient("https://127.0.0.1:9", "secret", ca_bundle=not_pem)
    with client, pytest.raises(CertificateError):
        client.me()


def test_http_to_another_computer_is_refused_before_anything_is_sent(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, home: Paths
) -> None:
    sent: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(500)

    for url in ("http://commons.example.org", "http://10.1.2.3:8765", "http://[2001:db8::1]"):
        client = CommonsClient(url, "secret-token", transport=httpx.MockTransport(record))
        with client, pytest.raises(InsecureAddress) as caught:
            client.me()
        assert "https://" in str(caught.value) and "--allow-http" in str(caught.value)
        assert caught.value.kind == SyncErrorKind.REFUSED
    assert sent == []
    # Loopback needs no TLS (the demo, a tunnel); --allow-http (a lab) sends anyway.
    for url, allow in (
        ("http://127.0.0.1:8765", False),
        ("http://127.3.2.1", False),
        ("http://[::1]:8765", False),
        ("http://localhost:8765", False),
        ("http://commons.lab", True),
    ):
        with (
            CommonsClient(
                url, "secret-token", transport=httpx.MockTransport(record), allow_http=allow
            ) as client,
            contextlib.suppress(Exception),
        ):
            client.me()
    assert len(sent) >= 5
    # login refuses before asking for the token, and connects nowhere.
    monkeypatch.setenv("COMMONS_TOKEN", "secret-token")
    code, out, err = _cli(
        capsys, "login", "http://commons.example.org", "--token-env", "COMMONS_TOKEN"
    )
    assert code == 2 and "--allow-http" in err and "https://" in err
    assert load_config(home.config_file).server_url == ""
    # A sync configured by hand for http:// to another computer: refused, said, not sent.
    save_config(home.config_file, Config(language="en", server_url="http://commons.example.org"))
    save_token(home.secrets_file, "secret-token")
    code, out, err = _cli(capsys, "sync", "--quiet")
    assert code == 1 and "--allow-http" in out and "Traceback" not in err


def test_the_server_refuses_missing_or_unusable_tls_files(
    capsys: pytest.CaptureFixture[str], database: str, pki: Pki, tmp_path: Path
) -> None:
    paths = Paths.default()  # this test's own home: its messages in English
    paths.ensure()
    save_config(paths.config_file, Config(language="en"))

    def run(*tls: str | Path) -> tuple[int, str]:
        code = main(["server", "run", "--database-url", database, *map(str, tls)])
        return code, capsys.readouterr().err

    missing = tmp_path / "missing.pem"
    code, err = run("--certfile", missing, "--keyfile", pki.key)
    assert code == 2 and str(missing) in err and "cannot be read" in err
    code, err = run("--certfile", pki.certificate)
    assert code == 2 and "--keyfile" in err
    code, err = run("--certfile", pki.ca, "--keyfile", pki.key)  # not the key of this certificate
    assert code == 2 and "private key" in err
    assert "Traceback" not in err
