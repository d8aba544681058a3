"""The commons API over HTTP: explicit timeouts, bounded retries with exponential backoff and
jitter, ``Retry-After`` honoured, and every failure turned into one of a few small error types
(docs/sync.md, "Failure is normal"; the types are in :mod:`fabriqueterm.sync.errors`). No local
state here: see :mod:`fabriqueterm.sync.engine`."""

from __future__ import annotations

import ipaddress
import json
import os
import random
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from fabriqueterm import __version__
from fabriqueterm.i18n import _
from fabriqueterm.sync.errors import (
    AuthError,
    CertificateError,
    InsecureAddress,
    MalformedAnswer,
    NetworkError,
    RefusedError,
    ServerError,
    SyncError,
    TimeoutError_,
)
from fabriqueterm.sync.protocol import (
    PulledChange,
    PullRequest,
    PullResponse,
    PushRequest,
    PushResponse,
    WhoAmI,
)

M = TypeVar("M", bound=BaseModel)

#: Connect quickly or not at all; a pull page of 5,000 rows may take a few seconds to read.
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
#: Longest wait honoured from a Retry-After header (seconds).
MAX_RETRY_AFTER = 60.0


@dataclass
class RetryPolicy:
    """Bounded retries: ``attempts`` tries in all, waits of ``base`` × 2^n (capped at ``cap``),
    with full jitter; a Retry-After header replaces the computed wait."""

    attempts: int = 4
    base: float = 0.5
    cap: float = 8.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), MAX_RETRY_AFTER)
        return random.uniform(0, min(self.cap, self.base * 2**attempt))


#: The policy of clients made without one (tests shorten it).
DEFAULT_RETRY = RetryPolicy()


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None  # an HTTP date: fall back to our own backoff


#: A CA bundle (PEM) to trust instead of the system's certificates, e.g. a self-signed commons'.
CA_BUNDLE_ENV = "FABRIQUETERM_CA_BUNDLE"


def is_loopback(host: str) -> bool:
    """``localhost`` or an address of this computer (127.0.0.0/8, ::1): nothing leaves it."""
    host = host.strip("[]").rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def insecure_address(url: str, *, allow_http: bool = False) -> str | None:
    """Why the token must not be sent to ``url`` (a sentence naming the fix), or None when it may:
    ``https://``, ``http://`` to this computer, or any ``http://`` when ``allow_http`` (a lab)."""
    parsed = httpx.URL(url)
    if parsed.scheme == "https" or allow_http or is_loopback(parsed.host):
        return None
    return _(
        "Refused: {url} is not encrypted (http://), so the token would cross the network in clear. Use the commons' https:// address, or, on a lab network only, log in again with --allow-http."
    ).format(url=url)


def resolve_ca_bundle(configured: str | os.PathLike[str] | None) -> str | None:
    """The CA bundle to trust: ``$FABRIQUETERM_CA_BUNDLE`` when set, else ``configured`` (the
    config's ``ca_bundle``), else None (the system's certificates)."""
    return os.environ.get(CA_BUNDLE_ENV) or (os.fspath(configured) if configured else None)


def _tls_context(ca_bundle: str | None) -> ssl.SSLContext | bool:
    """What httpx verifies certificates with; a :class:`CertificateError` when the bundle cannot be
    read."""
    if not ca_bundle:
        return True
    try:
        return ssl.create_default_context(cafile=ca_bundle)
    except (OSError, ssl.SSLError) as error:
        detail = getattr(error, "strerror", None) or getattr(error, "reason", None) or error
        raise CertificateError(
            _(
                "The CA bundle {file} cannot be used ({detail}): give a readable PEM file with --ca-bundle or {env}."
            ).format(file=ca_bundle, detail=detail, env=CA_BUNDLE_ENV)
        ) from None


def _certificate_problem(error: BaseException) -> ssl.SSLError | None:
    """The TLS error behind an httpx transport error, if any."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, ssl.SSLError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


#: TLS errors that are a cut connection, not a certificate or protocol problem: retried.
_TLS_CUT = (ssl.SSLEOFError, ssl.SSLZeroReturnError, ssl.SSLSyscallError)


class CommonsClient:
    """One coordinator's connection to the commons (``base_url``), authenticated by ``token``.

    The token is never sent over ``http://`` except to this computer (loopback) or when
    ``allow_http`` (a lab); ``ca_bundle`` (else ``$FABRIQUETERM_CA_BUNDLE``) is a PEM file of
    certificates to trust instead of the system's. Either refusal is raised by the first call, as
    a :class:`SyncError`, before anything is sent."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        allow_http: bool = False,
        ca_bundle: str | os.PathLike[str] | None = None,
    ):
        reveal = getattr(token, "reveal", None)
        secret = reveal() if callable(reveal) else str(token)
        base_url = base_url.rstrip("/")
        #: Why nothing may be sent (raised by the first call), or None.
        self.refusal: SyncError | None = None
        verify: ssl.SSLContext | bool = True
        problem = insecure_address(base_url, allow_http=allow_http)
        if problem is not None:
            self.refusal = InsecureAddress(problem)
        else:
            try:
                verify = _tls_context(resolve_ca_bundle(ca_bundle))
            except CertificateError as error:
                self.refusal = error
        self._http = httpx.Client(
            base_url=base_url,
            timeout=timeout,
            transport=transport,
            verify=verify,
            headers={
                "Authorization": f"Bearer {secret}",
                "User-Agent": f"fabriqueterm/{__version__}",
            },
        )
        self.retry = retry or DEFAULT_RETRY
        self._sleep = sleep
        #: Round trips made (tests and benchmarks count them).
        self.requests = 0

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> CommonsClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- the API -----------------------------------------------------------------------------

    def me(self) -> WhoAmI:
        """The coordinator behind the token and their sites (checks the token)."""
        return self._call("GET", "/v1/me", None, WhoAmI)

    def push(self, request: PushRequest) -> PushResponse:
        """One batch; safe to retry: the server skips mutation numbers it already applied."""
        return self._call("POST", "/v1/push", request, PushResponse)

    def pull(self, request: PullRequest) -> PullResponse:
        """One page of changes after the cursors."""
        return self._call("POST", "/v1/pull", request, PullResponse, parse=_parse_pull)

    # --- plumbing ----------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        body: BaseModel | None,
        answer: type[M],
        *,
        parse: Callable[[bytes], Any] | None = None,
    ) -> M:
        content = body.model_dump_json().encode() if body is not None else None
        last: SyncError | None = None
        for attempt in range(self.retry.attempts):
            if attempt:
                wait = self.retry.delay(attempt - 1, getattr(last, "retry_after", None))
                self._sleep(wait)
            try:
                response = self._send(method, path, content)
            except (InsecureAddress, CertificateError):
                raise
            except SyncError as error:
                last = error
                continue
            status = response.status_code
            if status == 401:
                raise AuthError(_("The commons refused the token: run “fabriqueterm login” again."))
            if status in (429, 503) or status >= 500:
                last = ServerError(
                    _("The commons answered {status}; will try again later.").format(status=status),
                    status,
                )
                last.retry_after = _retry_after(response)  # type: ignore[attr-defined]
                continue
            if status != 200:
                raise RefusedError(
                    _("The commons refused the request ({status}): {detail}").format(
                        status=status, detail=_detail(response)
                    ),
                    status,
                )
            try:
                if parse is not None:
                    return parse(response.content)
                return answer.model_validate_json(response.content)
            except (ValidationError, ValueError, TypeError, KeyError):
                raise MalformedAnswer(
                    _(
                        "The commons sent an answer that cannot be read; nothing was changed locally."
                    )
                ) from None
        assert last is not None
        raise last

    def _send(self, method: str, path: str, content: bytes | None) -> httpx.Response:
        if self.refusal is not None:
            raise self.refusal
        self.requests += 1
        try:
            return self._http.request(
                method,
                path,
                content=content,
                headers={"Content-Type": "application/json"} if content else None,
            )
        except httpx.TimeoutException:
            raise TimeoutError_(_("The commons did not answer in time.")) from None
        except httpx.TransportError as error:
            tls = _certificate_problem(error)
            if isinstance(tls, ssl.SSLCertVerificationError):
                raise CertificateError(
                    _(
                        "The commons' certificate is not trusted ({detail}). If the commons uses its own certificate authority, give its CA bundle with “fabriqueterm login URL --ca-bundle FILE” or {env}."
                    ).format(detail=tls.verify_message or tls.reason, env=CA_BUNDLE_ENV)
                ) from None
            if tls is not None and not isinstance(tls, _TLS_CUT):
                raise CertificateError(
                    _("The secure connection to the commons failed ({detail}).").format(
                        detail=tls.reason or tls
                    )
                ) from None
            raise NetworkError(_("The commons cannot be reached (offline?).")) from None


def _parse_pull(content: bytes) -> PullResponse:
    """A pull page, checked as strictly as the model would but about 10x faster: the envelope
    through pydantic, the thousands of changes by hand (their rows are checked where applied)."""
    data = json.loads(content)
    if not isinstance(data, dict) or not isinstance(data.get("changes"), list):
        raise ValueError("not a pull page")
    raw_changes = data.pop("changes")
    page = PullResponse.model_validate({**data, "changes": []})
    changes = []
    for change in raw_changes:
        if (
            not isinstance(change, dict)
            or set(change) != _CHANGE_KEYS
            or type(change["seq"]) is not int
            or not isinstance(change["entity"], str)
            or not isinstance(change["id"], str)
            or not isinstance(change["site_id"], str)
            or not (change["row"] is None or isinstance(change["row"], dict))
        ):
            raise ValueError("not a pulled change")
        changes.append(PulledChange.model_construct(**change))
    page.changes = changes
    return page


_CHANGE_KEYS = frozenset(PulledChange.model_fields)


def _detail(response: httpx.Response) -> str:
    try:
        data: Any = response.json()
    except ValueError:
        return response.reason_phrase
    detail = data.get("detail") if isinstance(data, dict) else None
    return detail if isinstance(detail, str) else response.reason_phrase
