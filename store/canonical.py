"""The plain order every source is mapped to before intake (EDI 850, marketplace API, CSV, JSONL)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from .errors import OrderInvalid
from .models.catalog import ALIAS_KINDS

__all__ = ["Address", "CanonicalLine", "CanonicalOrder"]


@dataclass(frozen=True, slots=True)
class Address:
    name: str | None = None
    address1: str | None = None
    address2: str | None = None
    city: str | None = None
    region: str | None = None
    postal_code: str | None = None
    country: str | None = None
    latitude: float | None = None
    longitude: float | None = None


@dataclass(frozen=True, slots=True)
class CanonicalLine:
    """One ordered item. `item` is the identifier as the channel sent it; `item_ids` may add
    others the source knew (buyer_part, vendor_part, upc, gtin, sku)."""

    item: str
    qty: int
    unit_price_minor: int
    item_kind: str = "channel_item_id"
    item_ids: Mapping[str, str] = field(default_factory=dict)
    description: str | None = None
    line_ref: str | None = None  # the source's id for the line (PO101), echoed back
    uom: str | None = None  # unit of measure as ordered (EA, CA, ...), None = each

    def identifiers(self) -> list[tuple[str, str]]:
        """(kind, value) pairs to try, in resolution order."""
        ids = dict(self.item_ids)
        ids.setdefault(self.item_kind, self.item)
        return [(k, ids[k]) for k in ALIAS_KINDS if ids.get(k)]


@dataclass(frozen=True, slots=True)
class CanonicalOrder:
    channel: str
    external_id: str
    lines: tuple[CanonicalLine, ...]
    currency: str
    version: int | None = None
    updated_at: dt.datetime | None = None
    placed_at: dt.datetime | None = None
    buyer_name: str | None = None
    buyer_ref: str | None = None
    ship_to: Address = Address()
    requested_ship_date: dt.date | None = None
    cancel_after: dt.date | None = None
    priority: int = 0
    # ship (default) or pickup: the customer collects the order at `pickup_location` (a code).
    fulfilment: str = "ship"
    pickup_location: str | None = None

    def effective_version(self) -> int:
        """The comparable version: explicit, else updated-at in microseconds, else 0."""
        if self.version is not None:
            return self.version
        if self.updated_at is not None:
            return int(self.updated_at.timestamp() * 1_000_000)
        return 0

    def validate(self) -> None:
        """Raise OrderInvalid with an operator-readable reason if the order cannot be taken."""
        if not self.channel:
            raise OrderInvalid("channel is empty")
        if not self.external_id:
            raise OrderInvalid("external id is empty")
        if len(self.external_id) > 128:
            raise OrderInvalid("external id is longer than 128 characters")
        if len(self.currency) != 3 or not self.currency.isalpha() or not self.currency.isupper():
            raise OrderInvalid(f"currency {self.currency!r} is not an ISO 4217 code")
        if not self.lines:
            raise OrderInvalid("order has no lines")
        for n, line in enumerate(self.lines, 1):
            if not line.item:
                raise OrderInvalid(f"line {n}: item identifier is empty")
            if line.item_kind not in ALIAS_KINDS:
                raise OrderInvalid(f"line {n}: unknown identifier kind {line.item_kind!r}")
            if line.line_ref is not None and len(line.line_ref) > 64:
                raise OrderInvalid(f"line {n}: line id is longer than 64 characters")
            if line.uom is not None and len(line.uom) > 8:
                raise OrderInvalid(f"line {n}: unit of measure {line.uom!r} is longer than 8 characters")
            if line.qty < 0:
                raise OrderInvalid(f"line {n}: quantity {line.qty} is negative")
            if line.unit_price_minor < 0:
                raise OrderInvalid(f"line {n}: unit price {line.unit_price_minor} is negative")
        for name in ("updated_at", "placed_at"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise OrderInvalid(f"{name} has no timezone")
        if self.version is not None and self.version < 0:
            raise OrderInvalid("version is negative")
        if self.fulfilment not in ("ship", "pickup"):
            raise OrderInvalid(f"fulfilment {self.fulfilment!r} is not ship or pickup")
        if self.fulfilment == "pickup" and not self.pickup_location:
            raise OrderInvalid("a pick-up order names no pick-up store")
        lat, lon = self.ship_to.latitude, self.ship_to.longitude
        if (lat is None) != (lon is None):
            raise OrderInvalid("ship-to coordinates need both latitude and longitude")
        if lat is not None and lon is not None and not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise OrderInvalid(f"ship-to coordinates {lat}, {lon} are not on Earth")


def _iso(value: dt.date | dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def order_to_dict(order: CanonicalOrder) -> dict[str, object]:
    """JSON-safe form, kept with an order that waits for an operator (pending versions)."""
    return {
        "channel": order.channel,
        "external_id": order.external_id,
        "currency": order.currency,
        "version": order.version,
        "updated_at": _iso(order.updated_at),
        "placed_at": _iso(order.placed_at),
        "buyer_name": order.buyer_name,
        "buyer_ref": order.buyer_ref,
        "ship_to": {k: getattr(order.ship_to, k) for k in Address.__slots__},
        "requested_ship_date": _iso(order.requested_ship_date),
        "cancel_after": _iso(order.cancel_after),
        "priority": order.priority,
        "fulfilment": order.fulfilment,
        "pickup_location": order.pickup_location,
        "lines": [
            {
                "item": ln.item,
                "item_kind": ln.item_kind,
                "item_ids": dict(ln.item_ids),
                "qty": ln.qty,
                "unit_price_minor": ln.unit_price_minor,
                "description": ln.description,
                "line_ref": ln.line_ref,
                "uom": ln.uom,
            }
            for ln in order.lines
        ],
    }


__all__ += ["order_to_dict"]
