"""Stock: one level row per SKU and location, and the append-only movement ledger."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..types import BigID, UTCDateTime, utcnow
from .base import Base

__all__ = ["StockLevel", "StockMovement", "MOVEMENT_KINDS"]

MOVEMENT_KINDS = ("receipt", "adjustment", "count", "shipment", "return", "transfer_in", "transfer_out")


class StockLevel(Base):
    """on_hand is physical stock; reserved is promised to order lines; safety is held back.

    Available to reserve = on_hand - reserved - safety. The CHECKs are a second guard
    behind the conditional UPDATE that reserves (invariant 4).
    """

    __tablename__ = "stock_levels"

    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"), primary_key=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), primary_key=True)
    on_hand: Mapped[int] = mapped_column(Integer, default=0)
    reserved: Mapped[int] = mapped_column(Integer, default=0)
    safety: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        CheckConstraint("on_hand >= 0", name="on_hand_nonneg"),
        CheckConstraint("reserved >= 0", name="reserved_nonneg"),
        CheckConstraint("reserved <= on_hand", name="reserved_le_on_hand"),
        CheckConstraint("safety >= 0", name="safety_nonneg"),
    )


class StockMovement(Base):
    """Every change to on_hand, never updated or deleted. Sum of qty = on_hand."""

    __tablename__ = "stock_movements"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"))
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    qty: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    reference: Mapped[str | None] = mapped_column(String(200))
    actor: Mapped[str] = mapped_column(String(64), default="system")
    note: Mapped[str | None] = mapped_column(String(500))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        CheckConstraint("qty <> 0", name="qty_nonzero"),
        Index("ix_stock_movements_sku_location", "sku_id", "location_id"),
        Index("ix_stock_movements_sku_id_id", "sku_id", "id"),
    )
