"""order lines may have quantity 0 (EDI partners send cancelled lines)

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("order_lines") as batch:
        batch.drop_constraint(op.f("ck_order_lines_qty_positive"), type_="check")
        batch.create_check_constraint("qty_nonneg", "qty >= 0")


def downgrade() -> None:
    with op.batch_alter_table("order_lines") as batch:
        batch.drop_constraint(op.f("ck_order_lines_qty_nonneg"), type_="check")
        batch.create_check_constraint("qty_positive", "qty > 0")
