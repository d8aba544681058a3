"""The pull payloads: cursors in, a page of changes out (with the restore epoch)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import (
    Field,
    StrictStr,
)

from fabriqueterm.sync.protocol.wire import (
    MAX_EPOCH_LENGTH,
    PULL_LIMIT_DEFAULT,
    PULL_LIMIT_MAX,
    PULL_LIMIT_MIN,
    WholeNumber,
    _Payload,
    _Request,
)

#: At most this many cursors (site ids) in one pull, each at most this many characters (else 422).
MAX_PULL_CURSORS = 1000
MAX_PULL_CURSOR_LENGTH = 64


class PullRequest(_Request):
    cursors: dict[Annotated[StrictStr, Field(max_length=MAX_PULL_CURSOR_LENGTH)], WholeNumber] = (
        Field(
            default_factory=dict,
            max_length=MAX_PULL_CURSORS,
            description="Site id → cursor (the last sequence number received for that site; 0 or "
            "absent: from the beginning). Sites not granted are ignored and listed in not_granted. "
            f"At most {MAX_PULL_CURSORS} cursors, each key at most {MAX_PULL_CURSOR_LENGTH} "
            "characters (else 422).",
        )
    )
    limit: WholeNumber = Field(default=PULL_LIMIT_DEFAULT, ge=PULL_LIMIT_MIN, le=PULL_LIMIT_MAX)
    epoch: Annotated[StrictStr, Field(max_length=MAX_EPOCH_LENGTH)] | None = Field(
        default=None,
        description="The last epoch the commons answered (absent on a first pull): another one "
        "now means the commons was restored from a backup since.",
    )


class PulledChange(_Payload):
    seq: int = Field(description="The server sequence number of this change.")
    site_id: str = Field(description="The granted site this change came through.")
    entity: str
    id: str
    row: dict[str, Any] | None = Field(
        description="The full current row (tombstones included), or null when the row left your scope."
    )


class PullResponse(_Payload):
    changes: list[PulledChange] = Field(description="In sequence order.")
    cursors: dict[str, int] = Field(
        description="The new cursor of every granted site: store them with the page."
    )
    more: bool = Field(
        description="True when more changes remain: pull again with the new cursors."
    )
    sites: list[str] = Field(description="The ids of the sites granted to you now.")
    not_granted: list[str] = Field(
        default_factory=list,
        description="Sites you sent a cursor for that are not granted to you: evict them.",
    )
    resync_required: list[str] = Field(
        default_factory=list,
        description="Sites whose cursor is older than what the server keeps: pull them again from 0.",
    )
    restored: list[str] = Field(
        default_factory=list,
        description="Among resync_required, the sites pulled again because the commons was "
        "restored from a backup: send again what you hold that it lacks.",
    )
    epoch: str = Field(
        default="",
        description="The commons' restore epoch: store it with the cursors and send it back.",
    )
