"""Who we trade with and what we sell: channels, trading partners, locations, SKUs, aliases."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from ..types import BigID, UTCDateTime, utcnow
from .base import Base, JSONType

__all__ = [
    "Channel",
    "TradingPartner",
    "Location",
    "ChannelLocation",
    "Sku",
    "SkuAlias",
    "CHANNEL_KINDS",
    "LOCATION_KINDS",
    "ALIAS_KINDS",
]

CHANNEL_KINDS = ("marketplace", "cart", "edi", "csv", "manual")
LOCATION_KINDS = ("warehouse", "store", "dropship")
# Order in which a line's identifiers are tried when resolving it to a SKU.
ALIAS_KINDS = ("sku", "vendor_part", "channel_item_id", "buyer_part", "upc", "gtin")


class Channel(Base):
    __tablename__ = "channels"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    config: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class TradingPartner(Base):
    """An EDI partner; its orders arrive on its own channel (kind 'edi')."""

    __tablename__ = "trading_partners"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"), unique=True)
    isa_qualifier: Mapped[str] = mapped_column(String(2))
    isa_id: Mapped[str] = mapped_column(String(15))
    gs_id: Mapped[str] = mapped_column(String(15))
    our_isa_qualifier: Mapped[str] = mapped_column(String(2))
    our_isa_id: Mapped[str] = mapped_column(String(15))
    our_gs_id: Mapped[str] = mapped_column(String(15))
    x12_version: Mapped[str] = mapped_column(String(12), default="004010")
    test_indicator: Mapped[str] = mapped_column(String(1), default="P")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    config: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)

    __table_args__ = (UniqueConstraint("isa_qualifier", "isa_id"),)


class Location(Base):
    __tablename__ = "locations"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16), default="warehouse")
    address1: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str | None] = mapped_column(String(100))
    region: Mapped[str | None] = mapped_column(String(64))
    postal_code: Mapped[str | None] = mapped_column(String(32))
    country: Mapped[str | None] = mapped_column(String(2))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    # Lower is preferred when nothing smarter decides (routing rules refine this).
    priority: Mapped[int] = mapped_column(Integer, default=100)
    # Orders a day the location can take; routing skips it once today's load reaches this.
    daily_capacity: Mapped[int | None] = mapped_column(Integer)
    # Ship-to regions it serves ("CA", "US-CA"); NULL serves everywhere.
    regions_served: Mapped[list[str] | None] = mapped_column(JSONType)
    # What fulfilling from here costs, for routing's cost sort and the KPIs; NULL when unknown.
    cost_per_order_minor: Mapped[int | None] = mapped_column(Integer)
    cost_per_unit_minor: Mapped[int | None] = mapped_column(Integer)
    # A dropship location is a vendor; when the vendor is an EDI partner it gets an 850.
    vendor_partner_id: Mapped[int | None] = mapped_column(ForeignKey("trading_partners.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class ChannelLocation(Base):
    """Which locations may fulfil (and count toward the stock shown on) a channel.

    A channel with no rows here may use every active location.
    """

    __tablename__ = "channel_locations"

    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"), primary_key=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), primary_key=True)


class Sku(Base):
    __tablename__ = "skus"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    unit_price_minor: Mapped[int | None] = mapped_column(Integer)
    currency: Mapped[str | None] = mapped_column(String(3))
    weight_grams: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class SkuAlias(Base):
    """Another name for a SKU: a channel's item id, a partner's buyer part, a UPC/GTIN.

    `channel_id` NULL means the alias holds for every channel (UPC, GTIN).
    """

    __tablename__ = "sku_aliases"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"), index=True)
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("channels.id"))
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(128))

    __table_args__ = (
        UniqueConstraint("channel_id", "kind", "value"),
        Index(
            "uq_sku_aliases_global",
            "kind",
            "value",
            unique=True,
            sqlite_where=text("channel_id IS NULL"),
            postgresql_where=text("channel_id IS NULL"),
        ),
        Index("ix_sku_aliases_value", "value"),
    )
