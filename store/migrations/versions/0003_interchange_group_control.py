"""outbound interchanges remember their GS06, so a partner's 997 can be matched to them

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("interchanges") as batch:
        batch.add_column(sa.Column("group_control", sa.String(length=9), nullable=True))
        batch.create_index("ix_interchanges_partner_group", ["partner_id", "direction", "group_control"])


def downgrade() -> None:
    with op.batch_alter_table("interchanges") as batch:
        batch.drop_index("ix_interchanges_partner_group")
        batch.drop_column("group_control")
