"""The other answers: who you are, the health check, the error bodies."""

from __future__ import annotations

from pydantic import (
    Field,
)

from fabriqueterm.sync.protocol.wire import (
    MAX_PUSH_BYTES,
    MAX_PUSH_MUTATIONS,
    PROTOCOL_VERSION,
    _Payload,
)


class CoordinatorOut(_Payload):
    id: str
    email: str
    name: str


class SiteOut(_Payload):
    id: str
    name: str
    city: str
    region: str


class WhoAmI(_Payload):
    coordinator: CoordinatorOut
    sites: list[SiteOut]
    server_id: str = Field(
        description="The commons database's random id; another id means another server."
    )
    protocol_version: int = PROTOCOL_VERSION


class Health(_Payload):
    status: str = "ok"
    protocol_version: int = PROTOCOL_VERSION
    version: str


class ErrorBody(_Payload):
    detail: str


class TooLargeBody(_Payload):
    detail: str
    max_mutations: int = MAX_PUSH_MUTATIONS
    max_bytes: int = MAX_PUSH_BYTES
