"""Shipments with cartons, and returns (RMA) with their lines."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, BigInteger
from sqlalchemy.orm import Mapped, mapped_column

from ..types import BigID, UTCDateTime, utcnow
from .base import Base

__all__ = ["Shipment", "Carton", "ShipmentLine", "Return", "ReturnLine", "DropshipOrder"]


class Shipment(Base):
    __tablename__ = "shipments"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    # pending -> packed -> shipped | cancelled
    status: Mapped[str] = mapped_column(String(12), default="pending")
    carrier: Mapped[str | None] = mapped_column(String(64))
    service: Mapped[str | None] = mapped_column(String(64))
    tracking: Mapped[str | None] = mapped_column(String(128))
    bol: Mapped[str | None] = mapped_column(String(64))
    # What the shipment cost (label, handling), when known: cost per order in the KPIs.
    cost_minor: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    shipped_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Carton(Base):
    __tablename__ = "cartons"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id"), index=True)
    # SSCC-18 with its GS1 check digit.
    sscc: Mapped[str] = mapped_column(String(18), unique=True)
    weight_grams: Mapped[int | None] = mapped_column(Integer)
    tracking: Mapped[str | None] = mapped_column(String(128))


class ShipmentLine(Base):
    __tablename__ = "shipment_lines"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id"), index=True)
    carton_id: Mapped[int | None] = mapped_column(ForeignKey("cartons.id"))
    line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"), index=True)
    qty: Mapped[int] = mapped_column(Integer)

    __table_args__ = (CheckConstraint("qty > 0", name="qty_positive"),)


class Return(Base):
    __tablename__ = "returns"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    rma: Mapped[str] = mapped_column(String(64), unique=True)
    # authorised -> received -> inspected -> closed | cancelled
    status: Mapped[str] = mapped_column(String(12), default="authorised")
    # refund | exchange | reship, decided at authorisation or inspection
    resolution: Mapped[str | None] = mapped_column(String(12))
    location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"))
    reason: Mapped[str | None] = mapped_column(String(500))
    refund_minor: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str | None] = mapped_column(String(3))
    # The exchange or reship order this return created.
    new_order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    received_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class ReturnLine(Base):
    __tablename__ = "return_lines"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    return_id: Mapped[int] = mapped_column(ForeignKey("returns.id"), index=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"))
    qty: Mapped[int] = mapped_column(Integer)
    qty_received: Mapped[int] = mapped_column(Integer, default=0)
    qty_restocked: Mapped[int] = mapped_column(Integer, default=0)
    qty_scrapped: Mapped[int] = mapped_column(Integer, default=0)
    condition: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (
        CheckConstraint("qty > 0", name="qty_positive"),
        CheckConstraint("qty_restocked + qty_scrapped <= qty_received", name="disposition_le_received"),
    )


class DropshipOrder(Base):
    """A purchase order to a dropship vendor for the lines routed to its location."""

    __tablename__ = "dropship_orders"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    number: Mapped[str] = mapped_column(String(22), unique=True)  # our PO number (BEG03)
    # open -> sent -> acknowledged -> shipped | cancelled
    status: Mapped[str] = mapped_column(String(12), default="open")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
