"""Routing: the rule sets, each decision with its explanation, and each location's daily load."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..types import BigID, UTCDateTime, utcnow
from .base import Base, JSONType

__all__ = ["RoutingRuleset", "RoutingDecision", "LocationLoad"]


class RoutingRuleset(Base):
    """The rules as configured, kept by content hash; exactly one is active."""

    __tablename__ = "routing_rulesets"

    digest: Mapped[str] = mapped_column(String(16), primary_key=True)
    rules: Mapped[dict[str, Any]] = mapped_column(JSONType)
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class RoutingDecision(Base):
    """Where an order (or its backordered part) was sent and why.

    `inputs` holds everything the decision saw (the order's facts, the stock and load at
    each location), so `oms route --dry-run` can replay it against other rules.
    """

    __tablename__ = "routing_decisions"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # intake | receipt | change | operator | items_resolved
    trigger: Mapped[str] = mapped_column(String(16))
    ruleset: Mapped[str] = mapped_column(String(16))
    rule: Mapped[str | None] = mapped_column(String(64))
    # allocated | split | backordered | held | cancelled | unroutable
    outcome: Mapped[str] = mapped_column(String(16))
    cost_minor: Mapped[int | None] = mapped_column(BigInteger)
    # What was decided, compactly: {"placements": [[line_no, location_id, qty]], "backordered": [[line_no, qty]]}.
    result: Mapped[dict[str, Any]] = mapped_column(JSONType)
    explanation: Mapped[dict[str, Any]] = mapped_column(JSONType)
    inputs: Mapped[dict[str, Any]] = mapped_column(JSONType)

    __table_args__ = (Index("ix_routing_decisions_at", "at"),)


class LocationLoad(Base):
    """Orders and units routed to a location on a (UTC) day: its daily capacity is checked here."""

    __tablename__ = "location_load"

    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    orders: Mapped[int] = mapped_column(Integer, default=0)
    units: Mapped[int] = mapped_column(Integer, default=0)
