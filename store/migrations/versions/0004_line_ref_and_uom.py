"""order lines keep the source's line id (PO101) and unit of measure, for 855/856/810 and 860

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("order_lines") as batch:
        batch.add_column(sa.Column("line_ref", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("uom", sa.String(length=8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("order_lines") as batch:
        batch.drop_column("uom")
        batch.drop_column("line_ref")
