"""Indexes for the operator's order list: one channel newest first, and search by the start
of an external id or a buyer's name

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_SEARCHED = ("external_id", "buyer_name")


def upgrade() -> None:
    op.create_index("ix_orders_channel_id_id", "orders", ["channel_id", "id"], unique=False)
    for column in _SEARCHED:
        # Pattern ops: PostgreSQL compares byte-wise whatever the collation, so a prefix is a range.
        op.create_index(f"ix_orders_{column}", "orders", [column], unique=False,
                        postgresql_ops={column: "varchar_pattern_ops"})


def downgrade() -> None:
    for column in _SEARCHED:
        op.drop_index(f"ix_orders_{column}", table_name="orders")
    op.drop_index("ix_orders_channel_id_id", table_name="orders")
