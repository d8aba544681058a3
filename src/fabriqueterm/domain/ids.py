"""Row ids: UUIDv7 (sorts by creation time) made on the client, and UUIDv5 for rows that two
devices may generate independently (follow-ups of a completer), so they merge instead of duplicating."""

from __future__ import annotations

import os
import time
import uuid

#: Namespace of fabriqueterm's deterministic ids.
NAMESPACE = uuid.UUID("6f1c3a52-4d0b-4b7e-9a57-0c2f7e1d9b21")


def uuid7(unix_ms: int | None = None, random_bytes: bytes | None = None) -> str:
    """A UUIDv7 (RFC 9562) as text. Both parts can be given for deterministic data (demo, tests)."""
    ms = time.time_ns() // 1_000_000 if unix_ms is None else unix_ms
    rand = os.urandom(10) if random_bytes is None else random_bytes
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= (int.from_bytes(rand[:2], "big") & 0x0FFF) << 64
    value |= 0b10 << 62
    value |= int.from_bytes(rand[2:10], "big") & ((1 << 62) - 1)
    return str(uuid.UUID(int=value))


def follow_up_id(learner_id: str, milestone: str) -> str:
    """The id of the follow-up the app generates for ``learner_id`` at ``milestone``."""
    return str(uuid.uuid5(NAMESPACE, f"follow_up:{learner_id}:{milestone}"))


def partner_site_id(partner_id: str, site_id: str) -> str:
    """The id of the link between a partner and a site: one link per pair, on every device."""
    return str(uuid.uuid5(NAMESPACE, f"partner_site:{partner_id}:{site_id}"))


def migrated_attempt_id(follow_up_id: str) -> str:
    """The id of the attempt that records a call logged before attempts existed (schema 7): the
    same on every device that upgrades, so their copies merge."""
    return str(uuid.uuid5(NAMESPACE, f"follow_up_attempt:{follow_up_id}:migrated"))
