"""Client ids per coordinator (docs/sync.md, "Identity"; issue #13): ``srv_client`` is keyed by
``(coordinator_id, client_id)``, so a client_id another coordinator already uses is simply a new
client (before: 409, which told that the id existed); ``srv_change`` records the coordinator of
each write beside its client_id, filled for the existing entries from ``srv_client`` (where a
client_id named one coordinator only).

Revision 0003, after 0002. Frozen once released: never edit it, write the next one
(docs/releasing.md). Plain SQLAlchemy types only, never the models' classes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("srv_change", sa.Column("coordinator_id", sa.String(length=36), nullable=True))
    op.execute(
        "UPDATE srv_change SET coordinator_id = (SELECT c.coordinator_id FROM srv_client c "
        "WHERE c.client_id = srv_change.client_id) WHERE client_id IS NOT NULL"
    )
    # A new primary key: the same on SQLite and PostgreSQL, a new table filled from the old one.
    op.create_table(
        "srv_client_new",
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("coordinator_id", sa.String(length=36), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["coordinator_id"], ["srv_coordinator.id"]),
        sa.PrimaryKeyConstraint("coordinator_id", "client_id", name="srv_client_pk"),
    )
    op.execute(
        "INSERT INTO srv_client_new (client_id, coordinator_id, last_seq, created_at, updated_at) "
        "SELECT client_id, coordinator_id, last_seq, created_at, updated_at FROM srv_client"
    )
    op.drop_table("srv_client")
    op.rename_table("srv_client_new", "srv_client")


def downgrade() -> None:
    raise NotImplementedError("The commons is never downgraded: restore a backup instead.")
