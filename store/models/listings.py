"""What each marketplace or cart channel lists, and the stock pushes still owed to it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..types import BigID, UTCDateTime
from .base import Base, JSONType

__all__ = ["ChannelListing", "StockSync"]


class ChannelListing(Base):
    """A SKU the channel sells. `ref` is what the connector learnt about the listing (Shopify's
    inventory item id, WooCommerce's product id, eBay's offer id), kept for the next push."""

    __tablename__ = "channel_listings"

    channel_id: Mapped[int] = mapped_column(BigID, ForeignKey("channels.id"), primary_key=True)
    sku_id: Mapped[int] = mapped_column(BigID, ForeignKey("skus.id"), primary_key=True, index=True)
    ref: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    last_qty: Mapped[int | None] = mapped_column(Integer)  # the quantity the channel last accepted
    last_pushed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)


class StockSync(Base):
    """The stock-push outbox: one row per (channel, SKU) whose available-to-promise may have
    changed since the channel last accepted it. A trigger on stock_levels writes it in the
    transaction of the change, for every channel listing the SKU; `changes` counts the changes,
    so a push removes the row only if nothing changed while it was on the wire."""

    __tablename__ = "stock_sync"

    channel_id: Mapped[int] = mapped_column(BigID, ForeignKey("channels.id"), primary_key=True)
    sku_id: Mapped[int] = mapped_column(BigID, ForeignKey("skus.id"), primary_key=True)
    changes: Mapped[int] = mapped_column(Integer, default=1)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    retry_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # NULL: due now
    last_error: Mapped[str | None] = mapped_column(Text)
