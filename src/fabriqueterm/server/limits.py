"""What the commons reads of a request, at most: the limits in one place (docs/server.md, "Limits").

Every request's body is read here first, a chunk at a time, before anything parses it or asks for a
token: a body over its path's limit (declared by ``Content-Length`` or streamed) is answered 413
after reading at most that limit, so a huge body costs the server no more than a body at the limit,
and never holds up another request (``/v1/health`` included). The pull's cursors are bounded by
:class:`~fabriqueterm.sync.protocol.PullRequest` itself (count and key length, else 422), and a
422 lists a bounded number of errors, each location cut short: no answer echoes unbounded input.
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel

from fabriqueterm.i18n import _
from fabriqueterm.sync.protocol import (
    MAX_PUSH_BYTES,
    TooLargeBody,
)

#: A pull body: at most :data:`MAX_PULL_CURSORS` cursors of :data:`MAX_PULL_CURSOR_LENGTH`
#: characters (about 60 bytes each in JSON) and the page size fit in a quarter of this.
MAX_PULL_BYTES = 256 * 1024
#: Every other path (``/v1/health``, ``/v1/me``, the OpenAPI document…) takes no body.
MAX_OTHER_BYTES = 1024
#: Bytes of body each path accepts; any other path gets :data:`MAX_OTHER_BYTES`.
BODY_LIMITS: dict[str, int] = {"/v1/push": MAX_PUSH_BYTES, "/v1/pull": MAX_PULL_BYTES}
#: A 422 lists at most this many errors, each location part at most this many characters.
MAX_ERRORS_SHOWN = 20
MAX_LOCATION_CHARS = 40


class BodyTooLarge(BaseModel):
    """The answer 413 of every path but the push (whose :class:`TooLargeBody` also says how many
    mutations a batch may hold)."""

    detail: str
    max_bytes: int


def body_limit(path: str) -> int:
    """The most bytes of body a request to ``path`` may carry."""
    return BODY_LIMITS.get(path, MAX_OTHER_BYTES)


def too_large(path: str) -> JSONResponse:
    limit = body_limit(path)
    if path == "/v1/push":
        detail = _(
            "The push body is larger than {limit} bytes: send fewer mutations per batch."
        ).format(limit=limit)
        body: BaseModel = TooLargeBody(detail=detail, max_bytes=limit)
    else:
        detail = _(
            "The request body is larger than {limit} bytes, the most this path reads."
        ).format(limit=limit)
        body = BodyTooLarge(detail=detail, max_bytes=limit)
    return JSONResponse(body.model_dump(), status_code=413)


class BodyLimit:
    """ASGI middleware: read the body up to its path's limit, then hand it on (or answer 413)."""

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        limit = body_limit(path)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await too_large(path)(scope, receive, send)
            return
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body.extend(message.get("body", b""))
            more = message.get("more_body", False)
            if len(body) > limit:
                await too_large(path)(scope, receive, send)
                return
        replayed = False

        async def replay() -> dict[str, Any]:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _short(part: Any) -> Any:
    if isinstance(part, str) and len(part) > MAX_LOCATION_CHARS:
        return part[: MAX_LOCATION_CHARS - 1] + "…"
    return part


def bounded_errors(errors: list[Any]) -> list[dict[str, Any]]:
    """A validation error's details as a 422 sends them: the location and the reason only (never
    the input), at most :data:`MAX_ERRORS_SHOWN`, each location part cut short. A key that held
    control characters is shown escaped."""
    details = []
    for error in errors[:MAX_ERRORS_SHOWN]:
        location = [_short(_visible(part)) for part in error.get("loc", ())]
        details.append(
            {
                "loc": location,
                "msg": _short_msg(str(error.get("msg", ""))),
                "type": str(error.get("type", "")),
            }
        )
    return details


def _visible(part: Any) -> Any:
    if isinstance(part, str) and not part.isprintable():
        return part.encode("unicode_escape").decode("ascii")
    return part


def _short_msg(message: str) -> str:
    return message if len(message) <= 300 else message[:299] + "…"
