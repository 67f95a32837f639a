"""Typed SQLAlchemy models for everything the store holds."""

from __future__ import annotations

from .base import Base, JSONType
from .catalog import (
    ALIAS_KINDS,
    CHANNEL_KINDS,
    LOCATION_KINDS,
    Channel,
    ChannelLocation,
    Location,
    Sku,
    SkuAlias,
    TradingPartner,
)
from .listings import ChannelListing, StockSync
from .fulfilment import Carton, DropshipOrder, Return, ReturnLine, Shipment, ShipmentLine
from .orders import Backorder, Order, OrderLine, Reservation
from .routing import LocationLoad, RoutingDecision, RoutingRuleset
from .stock import MOVEMENT_KINDS, StockLevel, StockMovement
from .system import (
    AuditEvent,
    ControlNumber,
    Counter,
    Document,
    DocumentError,
    Heartbeat,
    Interchange,
    Lease,
    OutboxMessage,
    SyncCursor,
)

__all__ = [
    "Base", "JSONType", "ALIAS_KINDS", "CHANNEL_KINDS", "LOCATION_KINDS", "MOVEMENT_KINDS",
    "Channel", "ChannelLocation", "Location", "Sku", "SkuAlias", "TradingPartner",
    "Carton", "DropshipOrder", "Return", "ReturnLine", "Shipment", "ShipmentLine",
    "Backorder", "Order", "OrderLine", "Reservation",
    "LocationLoad", "RoutingDecision", "RoutingRuleset",
    "StockLevel", "StockMovement", "ChannelListing", "StockSync",
    "AuditEvent", "ControlNumber", "Counter", "Document", "DocumentError", "Heartbeat", "Interchange",
    "Lease", "OutboxMessage", "SyncCursor",
]
