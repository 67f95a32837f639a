"""fulfilment, routing and returns: routing rule sets, decisions and location load; order
fulfilment type, pickup location, hold kind, coordinates, auto-cancel day and links; location
regions, costs and dropship vendor; shipment cost; return currency, new order and line reason;
dropship purchase orders; counters

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "routing_rulesets",
        sa.Column("digest", sa.String(length=16), nullable=False),
        sa.Column("rules", _JSON, nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_routing_rulesets")),
    )
    op.create_table(
        "routing_decisions",
        sa.Column("id", _ID, nullable=False),
        sa.Column("order_id", _ID, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("ruleset", sa.String(length=16), nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("cost_minor", sa.BigInteger(), nullable=True),
        sa.Column("result", _JSON, nullable=False),
        sa.Column("explanation", _JSON, nullable=False),
        sa.Column("inputs", _JSON, nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_routing_decisions_order_id_orders")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_decisions")),
    )
    op.create_index(op.f("ix_routing_decisions_order_id"), "routing_decisions", ["order_id"])
    op.create_index("ix_routing_decisions_at", "routing_decisions", ["at"])
    op.create_table(
        "location_load",
        sa.Column("location_id", _ID, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["location_id"], ["locations.id"], name=op.f("fk_location_load_location_id_locations")),
        sa.PrimaryKeyConstraint("location_id", "day", name=op.f("pk_location_load")),
    )
    op.create_table(
        "dropship_orders",
        sa.Column("id", _ID, nullable=False),
        sa.Column("order_id", _ID, nullable=False),
        sa.Column("location_id", _ID, nullable=False),
        sa.Column("number", sa.String(length=22), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_dropship_orders_order_id_orders")),
        sa.ForeignKeyConstraint(["location_id"], ["locations.id"], name=op.f("fk_dropship_orders_location_id_locations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dropship_orders")),
        sa.UniqueConstraint("number", name=op.f("uq_dropship_orders_number")),
    )
    op.create_index(op.f("ix_dropship_orders_order_id"), "dropship_orders", ["order_id"])
    op.create_table(
        "counters",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("next_value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_counters")),
    )
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("hold_kind", sa.String(length=12), nullable=True))
        batch.add_column(sa.Column("ship_to_latitude", sa.Float(), nullable=True))
        batch.add_column(sa.Column("ship_to_longitude", sa.Float(), nullable=True))
        batch.add_column(sa.Column("fulfilment", sa.String(length=12), server_default="ship", nullable=False))
        batch.add_column(sa.Column("pickup_location_id", _ID, nullable=True))
        batch.add_column(sa.Column("auto_cancel_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("origin_order_id", _ID, nullable=True))
        batch.add_column(sa.Column("origin_kind", sa.String(length=12), nullable=True))
        batch.create_foreign_key(op.f("fk_orders_pickup_location_id_locations"), "locations", ["pickup_location_id"], ["id"])
        batch.create_foreign_key(op.f("fk_orders_origin_order_id_orders"), "orders", ["origin_order_id"], ["id"])
        batch.create_index("ix_orders_auto_cancel_on", ["auto_cancel_on"])
    with op.batch_alter_table("locations") as batch:
        batch.add_column(sa.Column("regions_served", _JSON, nullable=True))
        batch.add_column(sa.Column("cost_per_order_minor", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("cost_per_unit_minor", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("vendor_partner_id", _ID, nullable=True))
        batch.create_foreign_key(
            op.f("fk_locations_vendor_partner_id_trading_partners"), "trading_partners", ["vendor_partner_id"], ["id"]
        )
    with op.batch_alter_table("shipments") as batch:
        batch.add_column(sa.Column("cost_minor", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("returns") as batch:
        batch.add_column(sa.Column("currency", sa.String(length=3), nullable=True))
        batch.add_column(sa.Column("new_order_id", _ID, nullable=True))
        batch.create_foreign_key(op.f("fk_returns_new_order_id_orders"), "orders", ["new_order_id"], ["id"])
    with op.batch_alter_table("return_lines") as batch:
        batch.add_column(sa.Column("reason", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("return_lines") as batch:
        batch.drop_column("reason")
    with op.batch_alter_table("returns") as batch:
        batch.drop_constraint(op.f("fk_returns_new_order_id_orders"), type_="foreignkey")
        batch.drop_column("new_order_id")
        batch.drop_column("currency")
    with op.batch_alter_table("shipments") as batch:
        batch.drop_column("cost_minor")
    with op.batch_alter_table("locations") as batch:
        batch.drop_constraint(op.f("fk_locations_vendor_partner_id_trading_partners"), type_="foreignkey")
        for col in ("vendor_partner_id", "cost_per_unit_minor", "cost_per_order_minor", "regions_served"):
            batch.drop_column(col)
    with op.batch_alter_table("orders") as batch:
        batch.drop_index("ix_orders_auto_cancel_on")
        batch.drop_constraint(op.f("fk_orders_origin_order_id_orders"), type_="foreignkey")
        batch.drop_constraint(op.f("fk_orders_pickup_location_id_locations"), type_="foreignkey")
        for col in ("origin_kind", "origin_order_id", "auto_cancel_on", "pickup_location_id", "fulfilment",
                    "ship_to_longitude", "ship_to_latitude", "hold_kind"):
            batch.drop_column(col)
    op.drop_table("counters")
    op.drop_index(op.f("ix_dropship_orders_order_id"), table_name="dropship_orders")
    op.drop_table("dropship_orders")
    op.drop_table("location_load")
    op.drop_index("ix_routing_decisions_at", table_name="routing_decisions")
    op.drop_index(op.f("ix_routing_decisions_order_id"), table_name="routing_decisions")
    op.drop_table("routing_decisions")
    op.drop_table("routing_rulesets")
