"""Follow-ups worked in call attempts (docs/domain.md, "Follow-ups as coordinators work them"):
the synced table ``follow_up_attempt`` (append-only rows, one per call), and on ``conflict`` who
made the commons' value and when (docs/sync.md, "Who made each value").

The follow-ups themselves keep their columns: their ``outcome`` now says how they closed. The
calls the devices logged before this release reach the commons as attempts when each device
upgrades (its local schema 7 sends them, with ids every device computes alike).

Revision 0002, after 0001. Frozen once released: never edit it, write the next one
(docs/releasing.md). Plain SQLAlchemy types only, never the models' classes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _fk(column: str, target: str) -> sa.ForeignKeyConstraint:
    # Deferred: a pulled page may hold a child before its parent; checks run at commit.
    return sa.ForeignKeyConstraint([column], [target], deferrable=True, initially="DEFERRED")


def upgrade() -> None:
    op.create_table(
        "follow_up_attempt",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("site_id", sa.String(length=36), nullable=False),
        sa.Column("learner_id", sa.String(length=36), nullable=False),
        sa.Column("follow_up_id", sa.String(length=36), nullable=False),
        sa.Column("attempted_on", sa.Date(), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("callback_date", sa.Date(), nullable=True),
        sa.Column("situation", sa.String(length=16), nullable=False),
        sa.Column("notes", sa.String(length=4000), nullable=False),
        sa.Column("made_by", sa.String(length=200), nullable=False),
        _fk("site_id", "site.id"),
        _fk("learner_id", "learner.id"),
        _fk("follow_up_id", "follow_up.id"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_srv_attempt_follow_up", "follow_up_attempt", ["follow_up_id"])
    # Adding a nullable column is a plain ALTER TABLE on SQLite and PostgreSQL alike.
    op.add_column("conflict", sa.Column("server_author_id", sa.String(length=36), nullable=True))
    op.add_column("conflict", sa.Column("server_author_name", sa.String(length=200), nullable=True))
    op.add_column(
        "conflict", sa.Column("server_changed_at", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    raise NotImplementedError("The commons is never downgraded: restore a backup instead.")
