"""Channels, partners, locations, SKUs and aliases: look-ups and the write functions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Select, delete, insert, select

from .db import Store
from .errors import ConfigError, NotFound, StoreError
from .journal import audit
from .models import (
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

__all__ = [
    "NewSku",
    "add_channel",
    "add_location",
    "add_partner",
    "add_skus",
    "add_alias",
    "limit_channel_locations",
    "sku_id",
    "location_id",
    "channel_id",
    "channel_location_ids",
    "PartnerRef",
    "exchanges_document",
    "find_partner",
    "list_partners",
]


def exchanges_document(config: Mapping[str, Any], document: str) -> bool:
    """Whether a partner whose `trading_partners.config` is `config` exchanges `document`
    ("997", "855", ...): its `documents` list (set ids as text or numbers) names it, or it has
    no list (every document). A setting that is not such a list raises `ConfigError`."""
    documents = config.get("documents")
    if documents is None:
        return True
    if not isinstance(documents, list | tuple) or not all(
        isinstance(d, str | int) and not isinstance(d, bool) for d in documents
    ):
        raise ConfigError(f"config documents must be a list of set ids, got {documents!r}")
    return document in {str(d) for d in documents}


@dataclass(frozen=True, slots=True)
class PartnerRef:
    id: int
    code: str
    channel_id: int
    isa_qualifier: str
    isa_id: str
    our_isa_qualifier: str
    our_isa_id: str
    our_gs_id: str
    config: Mapping[str, Any] = field(default_factory=dict)  # delimiters, documents, require_855 (oms.toml)
    currency: str = "USD"  # its channel's: an order that names no currency is in this one
    gs_id: str = ""
    x12_version: str = "004010"
    test_indicator: str = "P"

    def sends(self, document: str) -> bool:
        """Whether we send this partner `document` ("997", "855", ...); unset means every one.
        A malformed `documents` setting raises `ConfigError` naming the partner."""
        try:
            return exchanges_document(self.config, document)
        except ConfigError as exc:
            raise ConfigError(f"partner {self.code}: {exc}") from None


def find_partner(
    conn: Connection,
    *,
    partner_id: int | None = None,
    code: str | None = None,
    isa_qualifier: str | None = None,
    isa_id: str | None = None,
    active_only: bool = True,
) -> PartnerRef | None:
    """A trading partner by id, by code, or by the ISA05/ISA06 its interchanges carry; only an
    active one unless `active_only` is False."""
    stmt = _partner_select(active_only)
    if partner_id is not None:
        stmt = stmt.where(TradingPartner.id == partner_id)
    elif code is not None:
        stmt = stmt.where(TradingPartner.code == code)
    else:
        stmt = stmt.where(TradingPartner.isa_qualifier == (isa_qualifier or ""), TradingPartner.isa_id == (isa_id or ""))
    row = conn.execute(stmt).first()
    return None if row is None else _partner_ref(row)


def list_partners(conn: Connection, *, active_only: bool = True) -> list[PartnerRef]:
    """Every trading partner (only the active ones unless `active_only` is False), by code."""
    return [_partner_ref(row) for row in conn.execute(_partner_select(active_only).order_by(TradingPartner.code))]


def _partner_select(active_only: bool) -> Select[Any]:
    stmt = select(
        TradingPartner.id, TradingPartner.code, TradingPartner.channel_id, TradingPartner.isa_qualifier,
        TradingPartner.isa_id, TradingPartner.our_isa_qualifier, TradingPartner.our_isa_id, TradingPartner.our_gs_id,
        TradingPartner.config, Channel.currency, TradingPartner.gs_id, TradingPartner.x12_version,
        TradingPartner.test_indicator,
    ).join(Channel, Channel.id == TradingPartner.channel_id)
    if active_only:
        stmt = stmt.where(TradingPartner.active.is_(True))
    return stmt


def _partner_ref(row: Any) -> PartnerRef:
    return PartnerRef(row.id, row.code, row.channel_id, row.isa_qualifier, row.isa_id, row.our_isa_qualifier,
                      row.our_isa_id, row.our_gs_id, dict(row.config or {}), row.currency, row.gs_id,
                      row.x12_version, row.test_indicator)


@dataclass(frozen=True, slots=True)
class NewSku:
    code: str
    name: str
    unit_price_minor: int | None = None
    currency: str | None = None
    weight_grams: int | None = None


def _one(conn: Connection, stmt: object, what: str) -> int:
    value = conn.execute(stmt).scalar_one_or_none()  # type: ignore[call-overload]
    if value is None:
        raise NotFound(what)
    return int(value)


def sku_id(conn: Connection, code: str) -> int:
    return _one(conn, select(Sku.id).where(Sku.code == code), f"no SKU {code!r}")


def location_id(conn: Connection, code: str) -> int:
    return _one(conn, select(Location.id).where(Location.code == code), f"no location {code!r}")


def channel_id(conn: Connection, code: str) -> int:
    return _one(conn, select(Channel.id).where(Channel.code == code), f"no channel {code!r}")


def channel_location_ids(conn: Connection, channel: int) -> list[int]:
    """Active locations serving a channel, preferred first. No rows means every location."""
    linked = select(ChannelLocation.location_id).where(ChannelLocation.channel_id == channel)
    base = select(Location.id).where(Location.active.is_(True)).order_by(Location.priority, Location.id)
    ids = conn.execute(base.where(Location.id.in_(linked))).scalars().all()
    if not ids:
        ids = conn.execute(base).scalars().all()
    return list(ids)


def add_channel(
    store: Store, code: str, name: str, kind: str, *, currency: str = "USD", actor: str = "system"
) -> int:
    if kind not in CHANNEL_KINDS:
        raise StoreError(f"channel kind {kind!r} is not one of {', '.join(CHANNEL_KINDS)}")

    return store.run(lambda conn: _insert_channel(conn, code, name, kind, currency, actor))


def _insert_channel(conn: Connection, code: str, name: str, kind: str, currency: str, actor: str) -> int:
    new = conn.execute(
        insert(Channel).values(code=code, name=name, kind=kind, currency=currency, active=True, config={}).returning(Channel.id)
    ).scalar_one()
    audit(conn, actor, "channel", new, "channel.added", {"code": code, "kind": kind})
    return int(new)


def add_partner(
    store: Store,
    code: str,
    name: str,
    *,
    isa_qualifier: str,
    isa_id: str,
    gs_id: str,
    our_isa_qualifier: str,
    our_isa_id: str,
    our_gs_id: str,
    x12_version: str = "004010",
    actor: str = "system",
) -> int:
    """A trading partner and the EDI channel its orders arrive on (same code)."""

    def _do(conn: Connection) -> int:
        ch = _insert_channel(conn, code, name, "edi", "USD", actor)
        pid = conn.execute(
            insert(TradingPartner)
            .values(
                code=code, name=name, channel_id=ch, isa_qualifier=isa_qualifier, isa_id=isa_id, gs_id=gs_id,
                our_isa_qualifier=our_isa_qualifier, our_isa_id=our_isa_id, our_gs_id=our_gs_id,
                x12_version=x12_version, test_indicator="P", active=True, config={},
            )
            .returning(TradingPartner.id)
        ).scalar_one()
        audit(conn, actor, "partner", pid, "partner.added", {"code": code, "isa_id": isa_id})
        return int(pid)

    return store.run(_do)


def add_location(
    store: Store,
    code: str,
    name: str,
    *,
    kind: str = "warehouse",
    priority: int = 100,
    city: str | None = None,
    region: str | None = None,
    country: str | None = None,
    latitude: float | None = None,
    longitude: float | None = None,
    actor: str = "system",
) -> int:
    if kind not in LOCATION_KINDS:
        raise StoreError(f"location kind {kind!r} is not one of {', '.join(LOCATION_KINDS)}")

    def _do(conn: Connection) -> int:
        new = conn.execute(
            insert(Location)
            .values(
                code=code, name=name, kind=kind, priority=priority, city=city, region=region, country=country,
                latitude=latitude, longitude=longitude, active=True,
            )
            .returning(Location.id)
        ).scalar_one()
        audit(conn, actor, "location", new, "location.added", {"code": code, "kind": kind})
        return int(new)

    return store.run(_do)


def limit_channel_locations(store: Store, channel: str, locations: Sequence[str]) -> None:
    """Let only these locations fulfil the channel (and count toward its stock)."""

    def _do(conn: Connection) -> None:
        ch = channel_id(conn, channel)
        conn.execute(delete(ChannelLocation).where(ChannelLocation.channel_id == ch))
        rows = [{"channel_id": ch, "location_id": location_id(conn, code)} for code in locations]
        if rows:
            conn.execute(insert(ChannelLocation), rows)
        audit(conn, "system", "channel", ch, "channel.locations_set", {"locations": list(locations)})

    store.run(_do)


def add_skus(store: Store, skus: Iterable[NewSku], *, actor: str = "system") -> int:
    rows = [
        {"code": s.code, "name": s.name, "unit_price_minor": s.unit_price_minor, "currency": s.currency,
         "weight_grams": s.weight_grams, "active": True}
        for s in skus
    ]

    def _do(conn: Connection) -> int:
        if rows:
            conn.execute(insert(Sku), rows)
            audit(conn, actor, "sku", None, "sku.added", {"count": len(rows), "first": rows[0]["code"]})
            # Imported here: stock_sync reads the catalog's models through this package.
            from .stock_sync import list_new_skus

            codes = [r["code"] for r in rows]
            list_new_skus(conn, [s for (s,) in conn.execute(select(Sku.id).where(Sku.code.in_(codes)))])
        return len(rows)

    return store.run(_do)


def add_alias(
    store: Store, sku: str, kind: str, value: str, *, channel: str | None = None, actor: str = "system"
) -> None:
    """Another name for a SKU, for one channel or (channel None) for all."""
    if kind not in ALIAS_KINDS or kind == "sku":
        raise StoreError(f"alias kind {kind!r} is not one of {', '.join(ALIAS_KINDS[1:])}")

    def _do(conn: Connection) -> None:
        s = sku_id(conn, sku)
        ch = channel_id(conn, channel) if channel else None
        conn.execute(insert(SkuAlias).values(sku_id=s, channel_id=ch, kind=kind, value=value))
        audit(conn, actor, "sku", s, "sku.alias_added", {"kind": kind, "value": value, "channel": channel})

    store.run(_do)
