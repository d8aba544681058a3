"""The commons' schema as ``create_schema`` built it before migrations (release 0.1): the synced
tables, the server's ``srv_*`` tables, the indexes the server's queries need, the counter row and
the server's random id.

Revision 0001, the first. A database made before migrations has exactly this schema and no
``alembic_version`` table: ``fabriqueterm server migrate`` stamps it 0001 instead of running this.

Frozen: never edit it, write the next revision (docs/releasing.md). Written out with plain
SQLAlchemy types on purpose, not from the models: the models change, this must not.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from fabriqueterm.domain.ids import uuid7

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _synced_columns() -> list[sa.Column]:
    """The columns every synced row has (a fresh set per table)."""
    return [
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
    ]


def _fk(column: str, target: str) -> sa.ForeignKeyConstraint:
    # Deferred: a pulled page may hold a child before its parent; checks run at commit.
    return sa.ForeignKeyConstraint([column], [target], deferrable=True, initially="DEFERRED")


def upgrade() -> None:
    # --- the synced tables (the app's models as of release 0.1), parents first -----------------
    op.create_table(
        "site",
        *_synced_columns(),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("city", sa.String(length=120), nullable=False),
        sa.Column("region", sa.String(length=120), nullable=False),
        sa.Column("operator", sa.String(length=200), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "partner",
        *_synced_columns(),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kinds", sa.String(length=100), nullable=False),
        sa.Column("contact_name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("city", sa.String(length=120), nullable=False),
        sa.Column("notes", sa.String(length=4000), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "partner_site",
        *_synced_columns(),
        sa.Column("partner_id", sa.String(length=36), nullable=False),
        sa.Column("site_id", sa.String(length=36), nullable=False),
        _fk("partner_id", "partner.id"),
        _fk("site_id", "site.id"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "cohort",
        *_synced_columns(),
        sa.Column("site_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("programme", sa.String(length=200), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("funders", sa.String(length=500), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        _fk("site_id", "site.id"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "learner",
        *_synced_columns(),
        sa.Column("site_id", sa.String(length=36), nullable=False),
        sa.Column("cohort_id", sa.String(length=36), nullable=False),
        sa.Column("first_name", sa.String(length=100), nullable=False),
        sa.Column("last_name", sa.String(length=100), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("birth_year", sa.Integer(), nullable=True),
        sa.Column("gender", sa.String(length=1), nullable=False),
        sa.Column("qpv", sa.Boolean(), nullable=False),
        sa.Column("qualification", sa.String(length=4), nullable=False),
        sa.Column("job_seeker", sa.Boolean(), nullable=False),
        sa.Column("refugee", sa.Boolean(), nullable=False),
        sa.Column("prescriber_id", sa.String(length=36), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("dropout_date", sa.Date(), nullable=True),
        sa.Column("dropout_reason", sa.String(length=300), nullable=False),
        _fk("site_id", "site.id"),
        _fk("cohort_id", "cohort.id"),
        _fk("prescriber_id", "partner.id"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "follow_up",
        *_synced_columns(),
        sa.Column("site_id", sa.String(length=36), nullable=False),
        sa.Column("learner_id", sa.String(length=36), nullable=False),
        sa.Column("milestone", sa.String(length=8), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("done_date", sa.Date(), nullable=True),
        sa.Column("channel", sa.String(length=8), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("notes", sa.String(length=4000), nullable=False),
        _fk("site_id", "site.id"),
        _fk("learner_id", "learner.id"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "placement",
        *_synced_columns(),
        sa.Column("site_id", sa.String(length=36), nullable=False),
        sa.Column("learner_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("partner_id", sa.String(length=36), nullable=True),
        sa.Column("job_title", sa.String(length=200), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("source_followup_id", sa.String(length=36), nullable=True),
        sa.Column("notes", sa.String(length=4000), nullable=False),
        _fk("site_id", "site.id"),
        _fk("learner_id", "learner.id"),
        _fk("partner_id", "partner.id"),
        _fk("source_followup_id", "follow_up.id"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "conflict",
        *_synced_columns(),
        sa.Column("site_id", sa.String(length=36), nullable=False),
        sa.Column("row_entity", sa.String(length=24), nullable=False),
        sa.Column("row_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("field", sa.String(length=64), nullable=False),
        sa.Column("server_value", sa.Text(), nullable=True),
        sa.Column("client_value", sa.Text(), nullable=True),
        sa.Column("base_value", sa.Text(), nullable=True),
        sa.Column("coordinator_id", sa.String(length=36), nullable=False),
        sa.Column("coordinator_name", sa.String(length=200), nullable=False),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution", sa.String(length=16), nullable=False),
        _fk("site_id", "site.id"),
        sa.PrimaryKeyConstraint("id"),
    )
    # Indexes the server's queries need on the synced tables.
    op.create_index("ix_srv_partner_site_partner", "partner_site", ["partner_id"])
    op.create_index("ix_srv_partner_site_site", "partner_site", ["site_id"])
    op.create_index("ix_srv_learner_cohort", "learner", ["cohort_id"])
    op.create_index("ix_srv_follow_up_learner", "follow_up", ["learner_id"])
    op.create_index("ix_srv_placement_learner", "placement", ["learner_id"])
    op.create_index("ix_srv_conflict_row", "conflict", ["row_entity", "row_id"])

    # --- the server's own tables ---------------------------------------------------------------
    op.create_table(
        "srv_coordinator",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email"),
    )
    op.create_table(
        "srv_grant",
        sa.Column("coordinator_id", sa.String(length=36), nullable=False),
        sa.Column("site_id", sa.String(length=36), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["coordinator_id"], ["srv_coordinator.id"]),
        sa.PrimaryKeyConstraint("coordinator_id", "site_id"),
    )
    op.create_table(
        "srv_token",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("coordinator_id", sa.String(length=36), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=12), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["coordinator_id"], ["srv_coordinator.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_table(
        "srv_client",
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("coordinator_id", sa.String(length=36), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["coordinator_id"], ["srv_coordinator.id"]),
        sa.PrimaryKeyConstraint("client_id"),
    )
    op.create_table(
        "srv_change",
        sa.Column("entity", sa.String(length=24), nullable=False),
        sa.Column("row_id", sa.String(length=36), nullable=False),
        sa.Column("site_id", sa.String(length=36), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=True),
        sa.Column("row_site", sa.String(length=36), nullable=True),
        sa.Column("row_json", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("entity", "row_id", "site_id"),
    )
    op.create_index("ix_srv_change_seq", "srv_change", ["seq"])
    op.create_index("ix_srv_change_site_seq", "srv_change", ["site_id", "seq"])
    counter = op.create_table(
        "srv_counter",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "srv_horizon",
        sa.Column("site_id", sa.String(length=36), nullable=False),
        sa.Column("purged_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("site_id"),
    )
    op.create_table(
        "srv_partner_origin",
        sa.Column("partner_id", sa.String(length=36), nullable=False),
        sa.Column("coordinator_id", sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint("partner_id"),
    )
    op.create_table(
        "srv_erasure",
        sa.Column("row_id", sa.String(length=36), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("row_id"),
    )
    meta = op.create_table(
        "srv_meta",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )

    # --- the one counter row and the server's random id ----------------------------------------
    op.bulk_insert(counter, [{"id": 1, "value": 0}])
    op.bulk_insert(meta, [{"key": "server_id", "value": uuid7()}])


def downgrade() -> None:
    raise NotImplementedError("The commons is never downgraded: restore a backup instead.")
