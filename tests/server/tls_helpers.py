"""Helpers of the TLS and scale-out tests: a certificate authority and a server certificate made
with ``openssl`` at test time, and Debian's nginx configured from the shipped
deploy/nginx/fabriqueterm.conf in front of one or several plain-HTTP commons processes."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import ssl
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from string import Template

import httpx
import pytest

from fabriqueterm.server.process import free_port

REPOSITORY = Path(__file__).resolve().parents[2]
NGINX_TEMPLATE = REPOSITORY / "deploy" / "nginx" / "fabriqueterm.conf"
START_TIMEOUT = 60.0
#: The access log of the test's nginx also names the app server that answered each request.
ACCESS_FORMAT = "log_format upstreams '$upstream_addr $status \"$request\"';"


@dataclass(frozen=True)
class Pki:
    ca: Path
    certificate: Path
    key: Path


@dataclass(frozen=True)
class Nginx:
    url: str
    http_port: int
    access_log: Path
    error_log: Path


def _openssl(*args: str | Path) -> None:
    subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True)


def make_pki(folder: Path) -> Pki:
    """A CA, and a server certificate it signed for 127.0.0.1, ::1 and localhost."""
    ca_key, ca, key, request, certificate = (
        folder / name for name in ("ca.key", "ca.pem", "server.key", "server.csr", "server.pem")
    )
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca,
             "-days", "2", "-subj", "/CN=fabriqueterm test CA",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign")  # fmt: skip
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", request,
             "-subj", "/CN=localhost")  # fmt: skip
    extensions = folder / "server.ext"
    extensions.write_text(
        "basicConstraints=CA:FALSE\n"
        "keyUsage=critical,digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth\n"
        "subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\n"
    )
    _openssl("x509", "-req", "-in", request, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
             "-out", certificate, "-days", "2", "-extfile", extensions)  # fmt: skip
    return Pki(ca=ca, certificate=certificate, key=key)


def wait_healthy(url: str, process: subprocess.Popen[bytes] | None, log: Path, ca: Path) -> None:
    """Until ``url``/v1/health answers over TLS trusting ``ca``, bounded; fails with the log."""
    context = ssl.create_default_context(cafile=str(ca))
    deadline = time.monotonic() + START_TIMEOUT
    while (process is None or process.poll() is None) and time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url + "/v1/health", verify=context, timeout=1.0).status_code == 200:
                return
        time.sleep(0.05)
    raise AssertionError(f"{url} did not answer: {log.read_text(errors='replace')}")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def nginx_binary() -> str:
    """Debian's nginx, or skip (fail in CI: .ci/run installs it)."""
    nginx = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/sbin")
    if nginx is None:
        if os.environ.get("CI"):
            pytest.fail("nginx is not installed (.ci/run installs Debian's nginx)")
        pytest.skip("nginx is not installed (apt-get install nginx); CI runs this test")
    return nginx


def render_site(pki: Pki, tls_port: int, http_port: int, upstreams: Sequence[str]) -> str:
    """The shipped template rendered; its one ``server ${UPSTREAM};`` line repeated for every
    app server (docs/server.md, "Several app servers")."""
    template = NGINX_TEMPLATE.read_text()
    line = "    server ${UPSTREAM};\n"
    assert line in template, "the template's upstream line changed"
    template = template.replace(
        line, "".join(line.replace("${UPSTREAM}", upstream) for upstream in upstreams)
    )
    site = Template(template).safe_substitute(
        SERVER_NAME="localhost",
        HTTP_LISTEN=f"127.0.0.1:{http_port}",
        TLS_LISTEN=f"127.0.0.1:{tls_port}",
        CERTIFICATE=pki.certificate,
        CERTIFICATE_KEY=pki.key,
    )
    rendered = [line for line in site.splitlines() if not line.lstrip().startswith("#")]
    assert not [line for line in rendered if "${" in line], "a placeholder is not rendered"
    return site


@contextlib.contextmanager
def nginx_in_front(folder: Path, pki: Pki, upstreams: Sequence[str]) -> Iterator[Nginx]:
    """``https://localhost:PORT``: nginx ending TLS in front of ``upstreams`` (``host:port`` of
    commons processes in plain HTTP), round robin between them; stopped on exit."""
    nginx = nginx_binary()
    tls_port, http_port = free_port(), free_port()
    (folder / "fabriqueterm.conf").write_text(render_site(pki, tls_port, http_port, upstreams))
    for temporary in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (folder / temporary).mkdir()
    user = pwd.getpwuid(os.getuid()).pw_name
    (folder / "nginx.conf").write_text(
        f"user {user};\n"  # as root, the workers would otherwise read and write as nobody
        f"worker_processes 1;\npid {folder}/nginx.pid;\nerror_log {folder}/error.log;\n"
        "events { worker_connections 256; }\n"
        "http {\n"
        f"  {ACCESS_FORMAT}\n"
        f"  access_log {folder}/access.log upstreams;\n"
        f"  client_body_temp_path {folder}/body;\n  proxy_temp_path {folder}/proxy;\n"
        f"  fastcgi_temp_path {folder}/fastcgi;\n  uwsgi_temp_path {folder}/uwsgi;\n"
        f"  scgi_temp_path {folder}/scgi;\n"
        f"  include {folder}/fabriqueterm.conf;\n"
        "}\n"
    )
    with (folder / "nginx.log").open("ab") as log:
        proxy = subprocess.Popen(
            [nginx, "-e", f"{folder}/error.log", "-p", str(folder), "-c", str(folder / "nginx.conf"),
             "-g", "daemon off;"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"https://localhost:{tls_port}"
    try:
        wait_healthy(url, proxy, folder / "error.log", pki.ca)
        yield Nginx(url, http_port, folder / "access.log", folder / "error.log")
    finally:
        stop(proxy)
