"""Why a sync did not go through: the error kinds, and the exceptions that carry them
(docs/sync.md, "Failure is normal").

Nothing heavy here (no httpx, no store): the app's shell imports the kinds at start-up.
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar


class SyncErrorKind(StrEnum):
    """A short stable name for what stopped a sync, for status displays, the retry schedule and
    tests. The values are stored in the local database (meta ``sync:last_error_kind``): never
    change them."""

    ERROR = "error"  # anything else: a local change that cannot be sent, a bug
    NETWORK = "network"
    TIMEOUT = "timeout"
    AUTH = "auth"
    SERVER = "server"
    REFUSED = "refused"
    MALFORMED = "malformed"
    SERVER_BEHIND = "server_behind"

    @property
    def offline(self) -> bool:
        """The commons could not be reached (as opposed to: it answered, but no)."""
        return self in (SyncErrorKind.NETWORK, SyncErrorKind.TIMEOUT)

    @classmethod
    def from_stored(cls, text: str | None) -> SyncErrorKind | None:
        """The kind stored in the meta table; None when the last sync went through (empty)."""
        if not text:
            return None
        try:
            return cls(text)
        except ValueError:
            return cls.ERROR  # only this code writes the meta table; never seen, but never fatal


class SyncError(Exception):
    """Something kept the sync from going through; the message says what, for a person."""

    kind: ClassVar[SyncErrorKind] = SyncErrorKind.ERROR


class NetworkError(SyncError):
    """The commons could not be reached (refused, unreachable, cut, timed out)."""

    kind = SyncErrorKind.NETWORK


class TimeoutError_(NetworkError):  # noqa: N801 - not the builtin
    kind = SyncErrorKind.TIMEOUT


class AuthError(SyncError):
    """401: the token is missing, unknown or revoked: log in again; the outbox waits."""

    kind = SyncErrorKind.AUTH


class ServerError(SyncError):
    """The commons answered 5xx (or 429/503 after every retry)."""

    kind = SyncErrorKind.SERVER

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


class RefusedError(SyncError):
    """The commons refused the request itself (4xx other than 401): not worth retrying."""

    kind = SyncErrorKind.REFUSED

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


class MalformedAnswer(SyncError):
    """The answer is not what the protocol says (not JSON, wrong shape): nothing is applied."""

    kind = SyncErrorKind.MALFORMED


class ServerBehind(SyncError):
    """The commons lost mutations it had acknowledged (restored from a backup)."""

    kind = SyncErrorKind.SERVER_BEHIND


class InsecureAddress(RefusedError):
    """The token would travel in clear: ``http://`` to an address other than this computer's
    (loopback). Refused before any connection; not worth retrying."""

    def __init__(self, message: str):
        super().__init__(message, 0)


class CertificateError(RefusedError):
    """The commons' TLS certificate is not trusted (or the CA bundle given cannot be used): not
    worth retrying until the person trusts it (``--ca-bundle``) or fixes the address."""

    def __init__(self, message: str):
        super().__init__(message, 0)
