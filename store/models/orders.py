"""Orders, their lines, reservations (line x location x qty) and backorders."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    BigInteger,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from ..types import BigID, UTCDateTime, utcnow
from .base import Base, JSONType

__all__ = ["Order", "OrderLine", "Reservation", "Backorder"]


class Order(Base):
    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"))
    external_id: Mapped[str] = mapped_column(String(128))
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("trading_partners.id"))
    # Monotonic version from the source (explicit version, else updated-at in microseconds).
    version: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[str] = mapped_column(String(20), default="received")
    # An operator queue the order waits in (unknown_item, version_conflict, ...), or NULL.
    exception: Mapped[str | None] = mapped_column(String(32))
    exception_detail: Mapped[str | None] = mapped_column(String(2000))
    hold_reason: Mapped[str | None] = mapped_column(String(500))
    # fraud | address | credit | manual | routing (a routing rule's hold queue), while on_hold.
    hold_kind: Mapped[str | None] = mapped_column(String(12))
    # A newer version that arrived after allocation and waits for an operator's decision.
    pending_version: Mapped[int | None] = mapped_column(BigInteger)
    pending_payload: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    buyer_name: Mapped[str | None] = mapped_column(String(200))
    buyer_ref: Mapped[str | None] = mapped_column(String(128))
    ship_to_name: Mapped[str | None] = mapped_column(String(200))
    ship_to_address1: Mapped[str | None] = mapped_column(String(200))
    ship_to_address2: Mapped[str | None] = mapped_column(String(200))
    ship_to_city: Mapped[str | None] = mapped_column(String(100))
    ship_to_region: Mapped[str | None] = mapped_column(String(64))
    ship_to_postal_code: Mapped[str | None] = mapped_column(String(32))
    ship_to_country: Mapped[str | None] = mapped_column(String(2))
    # Where the parcel goes, when the source knows (or a region centroid stood in): routing's distance.
    ship_to_latitude: Mapped[float | None] = mapped_column(Float)
    ship_to_longitude: Mapped[float | None] = mapped_column(Float)
    # ship (from a warehouse, a store or a dropship vendor) | pickup (in the store named below).
    fulfilment: Mapped[str] = mapped_column(String(12), default="ship", server_default="ship")
    pickup_location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"))
    currency: Mapped[str] = mapped_column(String(3))
    total_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    placed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    requested_ship_date: Mapped[dt.date | None] = mapped_column(Date)
    cancel_after: Mapped[dt.date | None] = mapped_column(Date)
    # Set by a routing rule that backorders with auto-cancel: open units are cancelled on this day.
    auto_cancel_on: Mapped[dt.date | None] = mapped_column(Date)
    # An exchange or reship is a new order linked to the one it replaces.
    origin_order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    origin_kind: Mapped[str | None] = mapped_column(String(12))  # exchange | reship
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("channel_id", "external_id"),
        Index("ix_orders_status_id", "status", "id"),
        Index("ix_orders_exception", "exception"),
        Index("ix_orders_auto_cancel_on", "auto_cancel_on"),
        # The order list (migration 0009): one channel newest first; search by the start of an
        # external id or buyer name, compared byte-wise on PostgreSQL whatever the collation.
        Index("ix_orders_channel_id_id", "channel_id", "id"),
        Index("ix_orders_document_id", "document_id"),
        Index("ix_orders_received_at", "received_at"),
        Index("ix_orders_external_id", "external_id", postgresql_ops={"external_id": "varchar_pattern_ops"}),
        Index("ix_orders_buyer_name", "buyer_name", postgresql_ops={"buyer_name": "varchar_pattern_ops"}),
    )


class OrderLine(Base):
    __tablename__ = "order_lines"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    line_no: Mapped[int] = mapped_column(Integer)
    # NULL while the item is unknown; `item` keeps the identifier exactly as received.
    sku_id: Mapped[int | None] = mapped_column(ForeignKey("skus.id"))
    item: Mapped[str] = mapped_column(String(128))
    item_kind: Mapped[str] = mapped_column(String(16), default="sku")
    item_ids: Mapped[dict[str, str]] = mapped_column(JSONType, default=dict)
    description: Mapped[str | None] = mapped_column(String(300))
    # The source's own id for the line (EDI PO101, a marketplace line id), echoed in replies
    # and used to find the line a change (860) names; and the unit it was ordered in.
    line_ref: Mapped[str | None] = mapped_column(String(64))
    uom: Mapped[str | None] = mapped_column(String(8))
    qty: Mapped[int] = mapped_column(Integer)
    unit_price_minor: Mapped[int] = mapped_column(BigInteger)
    qty_reserved: Mapped[int] = mapped_column(Integer, default=0)
    qty_backordered: Mapped[int] = mapped_column(Integer, default=0)
    qty_shipped: Mapped[int] = mapped_column(Integer, default=0)
    qty_cancelled: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (
        UniqueConstraint("order_id", "line_no"),
        # EDI partners send zero-quantity lines (a line they cancelled); they are kept, not reserved.
        CheckConstraint("qty >= 0", name="qty_nonneg"),
        CheckConstraint(
            "qty_reserved + qty_backordered + qty_shipped + qty_cancelled <= qty", name="qty_accounted"
        ),
    )


class Reservation(Base):
    """Stock promised to one order line at one location. Active rows sum to stock_levels.reserved."""

    __tablename__ = "reservations"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"), index=True)
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"))
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    qty: Mapped[int] = mapped_column(Integer)
    # active -> released (cancel, reroute) | consumed (shipped)
    state: Mapped[str] = mapped_column(String(12), default="active")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint("qty > 0", name="qty_positive"),
        Index("ix_reservations_sku_location_state", "sku_id", "location_id", "state"),
    )


class Backorder(Base):
    """Quantity of a line that could not be reserved: an explicit row, never negative stock."""

    __tablename__ = "backorders"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"), index=True)
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"), index=True)
    qty: Mapped[int] = mapped_column(Integer)
    # open -> filled | cancelled
    state: Mapped[str] = mapped_column(String(12), default="open")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (CheckConstraint("qty > 0", name="qty_positive"),)
