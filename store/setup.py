"""Applying the admin's configuration (oms.toml) to the store: locations, channels, partners.

Each spec is matched by code and created or updated in one transaction; nothing is deleted
(a channel or partner removed from the file is left as it was, so its orders keep their
history). The result lists what changed, for `oms init` to print.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from .db import Store
from .errors import RulesInvalid, StoreError
from .journal import audit
from .routing.live import activate_rules
from .routing.rules import Rules
from .models import CHANNEL_KINDS, LOCATION_KINDS, Channel, ChannelLocation, Location, TradingPartner
from .stock_sync import list_in, listed_ids, mark_listed

__all__ = ["LocationSpec", "ChannelSpec", "PartnerSpec", "Setup", "apply_setup"]


@dataclass(frozen=True, slots=True)
class LocationSpec:
    code: str
    name: str
    kind: str = "warehouse"
    priority: int = 100
    address1: str | None = None
    city: str | None = None
    region: str | None = None
    postal_code: str | None = None
    country: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    daily_capacity: int | None = None
    regions_served: list[str] | None = None
    cost_per_order_minor: int | None = None
    cost_per_unit_minor: int | None = None
    # A dropship location's vendor, when it is an EDI trading partner (its code): it gets an 850.
    vendor: str | None = None


@dataclass(frozen=True, slots=True)
class ChannelSpec:
    code: str
    name: str
    kind: str
    currency: str = "USD"
    locations: tuple[str, ...] = ()  # empty: every location
    # A marketplace or cart polled over its API (shopify | amazon | woocommerce | ebay), and
    # the stock it is shown: the SKUs it lists (None: every SKU), less a buffer, capped.
    connector: str | None = None
    listings: tuple[str, ...] | None = None
    stock_buffer: int = 0
    max_listed: int | None = None


@dataclass(frozen=True, slots=True)
class PartnerSpec:
    """An EDI trading partner; its orders arrive on a channel of the same code."""

    code: str
    name: str
    isa_qualifier: str
    isa_id: str
    gs_id: str
    our_isa_qualifier: str
    our_isa_id: str
    our_gs_id: str
    x12_version: str = "004010"
    usage: str = "P"
    currency: str = "USD"
    locations: tuple[str, ...] = ()
    # Delimiters, documents exchanged, 855 required: kept as the partner's config.
    settings: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Setup:
    locations: Sequence[LocationSpec] = ()
    channels: Sequence[ChannelSpec] = ()
    partners: Sequence[PartnerSpec] = ()
    routing: Rules | None = None  # None leaves the active rules as they are


def apply_setup(store: Store, setup: Setup, *, actor: str = "config") -> list[str]:
    """Create or update everything in `setup`; returns one line per change."""
    for loc in setup.locations:
        if loc.kind not in LOCATION_KINDS:
            raise StoreError(f"location {loc.code}: kind {loc.kind!r} is not one of {', '.join(LOCATION_KINDS)}")
        if loc.vendor is not None and loc.kind != "dropship":
            raise StoreError(f"location {loc.code}: vendor {loc.vendor!r} is only for kind \"dropship\", not {loc.kind!r}")
    for ch in setup.channels:
        if ch.kind not in CHANNEL_KINDS or ch.kind == "edi":
            raise StoreError(f"channel {ch.code}: kind {ch.kind!r} is not one of marketplace, cart, csv, manual "
                             "(EDI partners go under [[partners]])")
    for p in setup.partners:
        if p.usage not in ("P", "T"):
            raise StoreError(f"partner {p.code}: usage must be P (production) or T (test), not {p.usage!r}")
    return store.run(lambda conn: _apply(conn, setup, actor))


def _upsert(conn: Connection, model: Any, key: dict[str, Any], values: dict[str, Any]) -> tuple[int, bool]:
    """(id, changed): insert, or update the row found by `key` where a value differs."""
    cols = [getattr(model, k) for k in ("id", *values)]
    row = conn.execute(select(*cols).where(*(getattr(model, k) == v for k, v in key.items()))).first()
    if row is None:
        new = conn.execute(insert(model).values(**key, **values).returning(model.id)).scalar_one()
        return int(new), True
    current = dict(zip(("id", *values), row))
    differs = {k: v for k, v in values.items() if current[k] != v}
    if differs:
        conn.execute(update(model).where(model.id == row[0]).values(**differs))
    return int(row[0]), bool(differs)


def _link(conn: Connection, channel: int, codes: Sequence[str], locations: dict[str, int], who: str) -> None:
    missing = [c for c in codes if c not in locations]
    if missing:
        raise StoreError(f"{who}: no location {', '.join(missing)} (define it under [[locations]])")
    conn.execute(delete(ChannelLocation).where(ChannelLocation.channel_id == channel))
    if codes:
        conn.execute(insert(ChannelLocation), [{"channel_id": channel, "location_id": locations[c]} for c in codes])


def _channel_config(ch: ChannelSpec) -> dict[str, Any]:
    if ch.connector is None:
        return {}
    return {"connector": ch.connector, "stock_buffer": ch.stock_buffer, "max_listed": ch.max_listed,
            "list_all": ch.listings is None}


def _list(conn: Connection, cid: int, ch: ChannelSpec) -> None:
    """The channel's listings: every SKU, or the ones named (each must exist)."""
    list_in(conn, cid, listed_ids(conn, ch.listings, f"channel {ch.code}"))
    # Its buffer, cap or locations may have changed: every listing is pushed again.
    mark_listed(conn, cid)


def _apply(conn: Connection, setup: Setup, actor: str) -> list[str]:
    changes: list[str] = []
    for loc in setup.locations:
        values = {k: getattr(loc, k) for k in LocationSpec.__slots__ if k not in ("code", "vendor")}
        lid, changed = _upsert(conn, Location, {"code": loc.code}, {**values, "active": True})
        if changed:
            changes.append(f"location {loc.code}")
            audit(conn, actor, "location", lid, "location.configured", {"code": loc.code})
    locations = {code: lid for lid, code in conn.execute(select(Location.id, Location.code))}
    for ch in setup.channels:
        cid, changed = _upsert(
            conn, Channel, {"code": ch.code},
            {"name": ch.name, "kind": ch.kind, "currency": ch.currency, "active": True, "config": _channel_config(ch)},
        )
        _link(conn, cid, ch.locations, locations, f"channel {ch.code}")
        if ch.connector is not None:
            _list(conn, cid, ch)
        if changed:
            changes.append(f"channel {ch.code}")
            audit(conn, actor, "channel", cid, "channel.configured", {"code": ch.code})
    for p in setup.partners:
        cid, ch_changed = _upsert(
            conn, Channel, {"code": p.code},
            {"name": p.name, "kind": "edi", "currency": p.currency, "active": True, "config": {}},
        )
        _link(conn, cid, p.locations, locations, f"partner {p.code}")
        pid, changed = _upsert(
            conn, TradingPartner, {"code": p.code},
            {
                "name": p.name, "channel_id": cid, "isa_qualifier": p.isa_qualifier, "isa_id": p.isa_id,
                "gs_id": p.gs_id, "our_isa_qualifier": p.our_isa_qualifier, "our_isa_id": p.our_isa_id,
                "our_gs_id": p.our_gs_id, "x12_version": p.x12_version, "test_indicator": p.usage,
                "active": True, "config": dict(p.settings),
            },
        )
        if changed or ch_changed:
            changes.append(f"partner {p.code}")
            audit(conn, actor, "partner", pid, "partner.configured", {"code": p.code, "isa_id": p.isa_id})
    if setup.routing is not None:
        for n, rule in enumerate(setup.routing.rules, 1):
            missing = [c for c in rule.locations.codes if c not in locations]
            if missing:
                raise RulesInvalid(f"routing.rules[{n}] ({rule.name}).locations.codes: no location {', '.join(missing)}")
        if activate_rules(conn, setup.routing, actor=actor):
            changes.append(f"routing rules {setup.routing.digest} ({len(setup.routing.rules)} rules)")
    changes += _vendors(conn, setup.locations, actor)
    return changes


def _vendors(conn: Connection, specs: Sequence[LocationSpec], actor: str) -> list[str]:
    """Each dropship location's vendor partner, once the partners exist (a location may name a
    partner defined after it)."""
    partners = {code: pid for pid, code in conn.execute(select(TradingPartner.id, TradingPartner.code))}
    changes: list[str] = []
    for loc in specs:
        vendor = None
        if loc.vendor is not None:
            vendor = partners.get(loc.vendor)
            if vendor is None:
                raise StoreError(f"location {loc.code}: vendor {loc.vendor!r} is not a partner (define it under [[partners]])")
        lid, changed = _upsert(conn, Location, {"code": loc.code}, {"vendor_partner_id": vendor})
        if changed:
            changes.append(f"location {loc.code} vendor {loc.vendor or '(none)'}")
            audit(conn, actor, "location", lid, "location.vendor_set", {"code": loc.code, "vendor": loc.vendor})
    return changes
