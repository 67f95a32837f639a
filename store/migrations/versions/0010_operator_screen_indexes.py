"""Indexes for the operator's screens at a million orders: an order's outbox messages (its
confirmations and history), the orders and interchanges of a document, orders by the day
they arrived (the dashboard), and a SKU's newest movements

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_INDEXES = (
    ("ix_outbox_order_id", "outbox", ["order_id"]),
    ("ix_orders_document_id", "orders", ["document_id"]),
    ("ix_orders_received_at", "orders", ["received_at"]),
    ("ix_interchanges_document_id", "interchanges", ["document_id"]),
    ("ix_stock_movements_sku_id_id", "stock_movements", ["sku_id", "id"]),
)


def upgrade() -> None:
    for name, table, columns in _INDEXES:
        op.create_index(name, table, columns, unique=False)


def downgrade() -> None:
    for name, table, _ in reversed(_INDEXES):
        op.drop_index(name, table_name=table)
