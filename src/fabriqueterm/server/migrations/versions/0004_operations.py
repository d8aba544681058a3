"""Operations (issue #14, item 5): a coordinator can be disabled (``srv_coordinator.disabled_at``:
all their tokens and grants stop at once), each token records when it was last used
(``srv_token.last_used_at``, written at most once a minute), and every admin command that changes
something is recorded in ``srv_audit`` (who, what, when).

Revision 0004, after 0003. Frozen once released: never edit it, write the next one
(docs/releasing.md). Plain SQLAlchemy types only, never the models' classes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "srv_coordinator", sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column("srv_token", sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "srv_audit",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=400), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_srv_audit_at", "srv_audit", ["at"])


def downgrade() -> None:
    raise NotImplementedError("The commons is never downgraded: restore a backup instead.")
