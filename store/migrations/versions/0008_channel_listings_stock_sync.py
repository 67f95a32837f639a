"""Marketplace channels: listings, and the stock-push outbox a trigger on stock_levels fills

Every change to a SKU's available-to-promise (on_hand - reserved - safety) at any location, by
any write path, marks the SKU for every channel that lists it, in the same transaction: the
trigger is the one place no code path can forget. Rows coalesce per (channel, SKU): `changes`
counts them, and a push deletes the row only if it still holds the count it read.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# Rows are written in channel order so two transactions never wait on each other crosswise.
_MARK = (
    "INSERT INTO stock_sync (channel_id, sku_id, changes, attempts)"
    " SELECT cl.channel_id, NEW.sku_id, 1, 0 FROM channel_listings cl WHERE cl.sku_id = NEW.sku_id"
    " ORDER BY cl.channel_id"
    " ON CONFLICT (channel_id, sku_id) DO UPDATE SET changes = stock_sync.changes + 1"
)
_ATP_NEW = "(NEW.on_hand - NEW.reserved - NEW.safety)"
_ATP_OLD = "(OLD.on_hand - OLD.reserved - OLD.safety)"


def upgrade() -> None:
    op.create_table(
        "channel_listings",
        sa.Column("channel_id", _ID, nullable=False),
        sa.Column("sku_id", _ID, nullable=False),
        sa.Column("ref", _JSON, nullable=False),
        sa.Column("last_qty", sa.Integer(), nullable=True),
        sa.Column("last_pushed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["channel_id"], ["channels.id"], name=op.f("fk_channel_listings_channel_id_channels")),
        sa.ForeignKeyConstraint(["sku_id"], ["skus.id"], name=op.f("fk_channel_listings_sku_id_skus")),
        sa.PrimaryKeyConstraint("channel_id", "sku_id", name=op.f("pk_channel_listings")),
    )
    op.create_index(op.f("ix_channel_listings_sku_id"), "channel_listings", ["sku_id"], unique=False)
    op.create_table(
        "stock_sync",
        sa.Column("channel_id", _ID, nullable=False),
        sa.Column("sku_id", _ID, nullable=False),
        sa.Column("changes", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("retry_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["channel_id"], ["channels.id"], name=op.f("fk_stock_sync_channel_id_channels")),
        sa.ForeignKeyConstraint(["sku_id"], ["skus.id"], name=op.f("fk_stock_sync_sku_id_skus")),
        sa.PrimaryKeyConstraint("channel_id", "sku_id", name=op.f("pk_stock_sync")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION oms_stock_sync() RETURNS trigger LANGUAGE plpgsql AS $$\n"
            "BEGIN\n"
            f"  IF TG_OP = 'INSERT' OR {_ATP_NEW} IS DISTINCT FROM {_ATP_OLD} THEN\n"
            f"    {_MARK};\n"
            "  END IF;\n"
            "  RETURN NULL;\n"
            "END $$"
        )
        op.execute("CREATE TRIGGER stock_levels_sync AFTER INSERT OR UPDATE ON stock_levels"
                   " FOR EACH ROW EXECUTE FUNCTION oms_stock_sync()")
    else:
        op.execute(f"CREATE TRIGGER stock_levels_sync_insert AFTER INSERT ON stock_levels BEGIN {_MARK}; END")
        op.execute(f"CREATE TRIGGER stock_levels_sync_update AFTER UPDATE ON stock_levels"
                   f" WHEN {_ATP_NEW} IS NOT {_ATP_OLD} BEGIN {_MARK}; END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS stock_levels_sync ON stock_levels")
        op.execute("DROP FUNCTION IF EXISTS oms_stock_sync()")
    else:
        op.execute("DROP TRIGGER IF EXISTS stock_levels_sync_insert")
        op.execute("DROP TRIGGER IF EXISTS stock_levels_sync_update")
    op.drop_table("stock_sync")
    op.drop_index(op.f("ix_channel_listings_sku_id"), table_name="channel_listings")
    op.drop_table("channel_listings")
