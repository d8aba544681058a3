"""${message}

Revision ${up_revision}, after ${down_revision | comma,n}. Frozen once released: never edit it,
write the next one (docs/releasing.md). Plain SQLAlchemy types only (sa.String, sa.DateTime…),
never the models' classes: models change, a released revision must not.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
${imports if imports else ""}
revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = ${repr(branch_labels)}
depends_on = ${repr(depends_on)}


def upgrade() -> None:
    ${upgrades if upgrades else "pass"}


def downgrade() -> None:
    ${downgrades if downgrades else "pass"}
