"""The synced tables, one per thing of docs/domain.md, shared by the app's local store and the
commons server.

Every synced row carries what sync needs: a client-generated UUID (v7) primary key, created/updated
timestamps in UTC (audit only: clocks never order anything), the server ``version`` (sequence number
of its last write, null until first synced) and a ``deleted_at`` tombstone. Rows that belong to a
site carry ``site_id`` so a scope check is one lookup.

These are storage models: they do not validate. Input is validated at the boundary by
:mod:`fabriqueterm.domain.validation` before it reaches them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Column, DateTime, ForeignKey, String, Text
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware (SQLite keeps no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _fk(target: str, *, nullable: bool = False) -> Column:
    # Deferred: a pulled page may hold a child before its parent; checks run at commit.
    return Column(
        String(36),
        ForeignKey(target, deferrable=True, initially="DEFERRED"),
        nullable=nullable,
    )


class SyncedRow(SQLModel):
    """Columns every synced row has."""

    id: str = Field(primary_key=True, max_length=36)
    created_at: datetime = Field(sa_type=UTCDateTime())
    updated_at: datetime = Field(sa_type=UTCDateTime())
    version: int | None = Field(default=None)
    deleted_at: datetime | None = Field(default=None, sa_type=UTCDateTime())


class Site(SyncedRow, table=True):
    """Fabrique: a training place."""

    __tablename__ = "site"
    name: str = Field(max_length=200)
    city: str = Field(max_length=120)
    region: str = Field(default="", max_length=120)
    operator: str = Field(default="", max_length=200)
    address: str = Field(default="", max_length=300)
    active: bool = Field(default=True)


class Cohort(SyncedRow, table=True):
    """Promotion: one run of a programme at a site."""

    __tablename__ = "cohort"
    site_id: str = Field(sa_column=_fk("site.id"))
    name: str = Field(max_length=200)
    programme: str = Field(max_length=200)
    start_date: date
    end_date: date
    capacity: int = Field(default=0)
    #: Funders' names, separated by "; ".
    funders: str = Field(default="", max_length=500)
    status: str = Field(max_length=16)


class Partner(SyncedRow, table=True):
    """Partenaire: an organisation a site works with. Seen through its links to sites."""

    __tablename__ = "partner"
    name: str = Field(max_length=200)
    #: Kinds (PartnerKind values), comma-separated, e.g. "employer,training".
    kinds: str = Field(max_length=100)
    contact_name: str = Field(default="", max_length=200)
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=20)
    city: str = Field(default="", max_length=120)
    notes: str = Field(default="", max_length=4000)


class PartnerSite(SyncedRow, table=True):
    """A partner's link to one site: what puts a partner in a coordinator's scope."""

    __tablename__ = "partner_site"
    partner_id: str = Field(sa_column=_fk("partner.id"))
    site_id: str = Field(sa_column=_fk("site.id"))


class Learner(SyncedRow, table=True):
    """Apprenant·e: a person in a cohort."""

    __tablename__ = "learner"
    site_id: str = Field(sa_column=_fk("site.id"))
    cohort_id: str = Field(sa_column=_fk("cohort.id"))
    first_name: str = Field(max_length=100)
    last_name: str = Field(max_length=100)
    email: str | None = Field(default=None, max_length=254)
    #: E.164, e.g. "+33612345678".
    phone: str | None = Field(default=None, max_length=20)
    birth_year: int | None = Field(default=None)
    gender: str = Field(max_length=1)
    qpv: bool = Field(default=False)
    qualification: str = Field(max_length=4)
    job_seeker: bool = Field(default=False)
    refugee: bool = Field(default=False)
    prescriber_id: str | None = Field(default=None, sa_column=_fk("partner.id", nullable=True))
    status: str = Field(max_length=16)
    dropout_date: date | None = Field(default=None)
    dropout_reason: str = Field(default="", max_length=300)


class Placement(SyncedRow, table=True):
    """Sortie: where a learner went."""

    __tablename__ = "placement"
    site_id: str = Field(sa_column=_fk("site.id"))
    learner_id: str = Field(sa_column=_fk("learner.id"))
    kind: str = Field(max_length=24)
    partner_id: str | None = Field(default=None, sa_column=_fk("partner.id", nullable=True))
    job_title: str = Field(default="", max_length=200)
    start_date: date
    #: The follow-up this was learned from, if any.
    source_followup_id: str | None = Field(
        default=None, sa_column=_fk("follow_up.id", nullable=True)
    )
    notes: str = Field(default="", max_length=4000)


class FollowUp(SyncedRow, table=True):
    """Suivi: a contact with a learner after the training."""

    __tablename__ = "follow_up"
    site_id: str = Field(sa_column=_fk("site.id"))
    learner_id: str = Field(sa_column=_fk("learner.id"))
    milestone: str = Field(max_length=8)
    due_date: date
    done_date: date | None = Field(default=None)
    channel: str | None = Field(default=None, max_length=8)
    #: How it closed (Closing: reached, declined, unreachable); null while open.
    outcome: str | None = Field(default=None, max_length=16)
    notes: str = Field(default="", max_length=4000)


class FollowUpAttempt(SyncedRow, table=True):
    """Un essai: one call (or message, or visit) made for a follow-up. Append-only: a device only
    ever creates them, so two devices calling the same learner offline never conflict over them.
    The follow-up's call-back date is its latest attempt's."""

    __tablename__ = "follow_up_attempt"
    site_id: str = Field(sa_column=_fk("site.id"))
    learner_id: str = Field(sa_column=_fk("learner.id"))
    follow_up_id: str = Field(sa_column=_fk("follow_up.id"))
    attempted_on: date
    channel: str = Field(max_length=8)
    #: Outcome value: reached, no_answer, message_left, wrong_number, declined.
    outcome: str = Field(max_length=16)
    #: When to call again (no answer, message left, wrong number); null otherwise.
    callback_date: date | None = Field(default=None)
    #: Situation value learned when reached (placements, still_looking, other); empty otherwise.
    situation: str = Field(default="", max_length=16)
    notes: str = Field(default="", max_length=4000)
    #: Who made the attempt, as the coordinator's name (shown in the follow-up's history).
    made_by: str = Field(default="", max_length=200)


class Conflict(SyncedRow, table=True):
    """A disagreement the commons settled without throwing anything away (docs/sync.md): the same
    field changed on two sides, a row edited after its deletion, or a create meeting a different row with
    the same id. The server kept ``server_value``; the coordinator reviews and decides offline,
    pushing a new mutation plus this record marked resolved. Values are JSON text, wiped (null) when
    the learner they concern is erased."""

    __tablename__ = "conflict"
    site_id: str = Field(sa_column=_fk("site.id"))
    row_entity: str = Field(max_length=24)
    row_id: str = Field(max_length=36)
    #: ConflictKind value: "field", "deleted" or "create".
    kind: str = Field(max_length=16)
    field: str = Field(max_length=64)
    server_value: str | None = Field(default=None, sa_type=Text)
    client_value: str | None = Field(default=None, sa_type=Text)
    base_value: str | None = Field(default=None, sa_type=Text)
    #: Who pushed the mutation that conflicted.
    coordinator_id: str = Field(max_length=36)
    coordinator_name: str = Field(default="", max_length=200)
    detected_at: datetime = Field(sa_type=UTCDateTime())
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime())
    #: ConflictResolution value ("kept_server", "took_client", "edited"), empty while open.
    resolution: str = Field(default="", max_length=16)
    #: Who made the commons' value (the last write of the row before the conflict): the
    #: coordinator, their name and when the commons took it. Null in records made before these
    #: columns existed ("a colleague"); migration version 7 locally, nullable on the commons.
    server_author_id: str | None = Field(default=None, max_length=36)
    server_author_name: str | None = Field(default=None, max_length=200)
    server_changed_at: datetime | None = Field(default=None, sa_type=UTCDateTime())


#: Synced entities by their wire name, in an order where parents come before children.
ENTITIES: dict[str, type[SyncedRow]] = {
    "site": Site,
    "partner": Partner,
    "partner_site": PartnerSite,
    "cohort": Cohort,
    "learner": Learner,
    "follow_up": FollowUp,
    "follow_up_attempt": FollowUpAttempt,
    "placement": Placement,
    "conflict": Conflict,
}

#: Personal fields wiped when a learner is erased (right to be forgotten).
LEARNER_PERSONAL_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "birth_year",
    "dropout_reason",
)

#: The values an erased learner's personal fields take (empty text, or null where allowed).
ERASED_LEARNER_VALUES: dict[str, Any] = {
    "first_name": "",
    "last_name": "",
    "email": None,
    "phone": None,
    "birth_year": None,
    "dropout_reason": "",
}
assert tuple(ERASED_LEARNER_VALUES) == LEARNER_PERSONAL_FIELDS
