"""Read-only queries behind the stock screen: SKU x location levels a page at a time, one SKU's
movements newest first, and the stock pushes still owed for it.

The catalogue can hold tens of thousands of SKUs; `stock_page` reads only `limit` SKUs whose
code starts with a prefix, from a code onwards (keyset paging on the unique code index), and
their levels. Nothing here writes, and nothing imports a UI.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Connection, and_, or_, select

from ..models import Channel, ChannelListing, Location, Sku, StockLevel, StockMovement, StockSync
from .common import starts_with

__all__ = ["MovementRow", "OwedPush", "StockPage", "StockRow", "movements_of", "owed_pushes", "stock_page"]



@dataclass(frozen=True, slots=True)
class StockRow:
    """One SKU at one location; a SKU with no stock anywhere has one row with location None."""

    sku: str
    name: str
    location: str | None
    on_hand: int
    reserved: int
    safety: int

    @property
    def available(self) -> int:
        return max(0, self.on_hand - self.reserved - self.safety)


@dataclass(frozen=True, slots=True)
class StockPage:
    rows: tuple[StockRow, ...]
    skus: int  # SKUs on this page
    more: bool  # SKUs after the last one on this page match too
    next_after: str | None  # the code to start the next page after


@dataclass(frozen=True, slots=True)
class MovementRow:
    at: dt.datetime
    location: str
    qty: int
    kind: str
    reference: str | None
    actor: str
    note: str | None


@dataclass(frozen=True, slots=True)
class OwedPush:
    """A channel that lists the SKU and is owed a new quantity for it."""

    channel: str
    attempts: int
    last_error: str | None


def _starts_with(conn: Connection, prefix: str) -> ColumnElement[bool]:
    """Code starts with `prefix` as typed or upper-cased (codes are mostly upper case): a range,
    compared byte-wise on PostgreSQL (its pattern operators) whatever the database's collation."""
    return or_(*(starts_with(conn, Sku.code, low) for low in dict.fromkeys((prefix, prefix.upper()))))


def stock_page(conn: Connection, prefix: str = "", *, after: str | None = None, limit: int = 50) -> StockPage:
    """Up to `limit` SKUs starting with `prefix` (by code, after `after`) and their levels per
    location (by location priority)."""
    where: list[ColumnElement[bool]] = [_starts_with(conn, prefix)] if prefix else []
    if after is not None:
        where.append(Sku.code > after)
    skus = conn.execute(
        select(Sku.id, Sku.code, Sku.name).where(*where).order_by(Sku.code).limit(limit + 1)
    ).all()
    more = len(skus) > limit
    skus = skus[:limit]
    levels: dict[int, list[StockRow]] = {}
    if skus:
        names = {int(s.id): (s.code, s.name) for s in skus}
        for r in conn.execute(
            select(StockLevel.sku_id, Location.code, StockLevel.on_hand, StockLevel.reserved, StockLevel.safety)
            .join(Location, Location.id == StockLevel.location_id)
            .where(StockLevel.sku_id.in_(list(names)))
            .order_by(Location.priority, Location.code)
        ):
            code, name = names[int(r.sku_id)]
            levels.setdefault(int(r.sku_id), []).append(
                StockRow(code, name, r.code, int(r.on_hand), int(r.reserved), int(r.safety))
            )
    rows: list[StockRow] = []
    for s in skus:
        rows.extend(levels.get(int(s.id)) or [StockRow(s.code, s.name, None, 0, 0, 0)])
    return StockPage(tuple(rows), len(skus), more, skus[-1].code if more and skus else None)


def movements_of(conn: Connection, sku: str, *, limit: int = 100) -> list[MovementRow]:
    """The SKU's newest `limit` movements at every location, newest first."""
    rows = conn.execute(
        select(StockMovement.at, Location.code, StockMovement.qty, StockMovement.kind, StockMovement.reference,
               StockMovement.actor, StockMovement.note)
        .join(Location, Location.id == StockMovement.location_id)
        .join(Sku, Sku.id == StockMovement.sku_id)
        .where(Sku.code == sku)
        .order_by(StockMovement.id.desc())
        .limit(limit)
    ).all()
    return [MovementRow(r.at, r.code, int(r.qty), r.kind, r.reference, r.actor, r.note) for r in rows]


def owed_pushes(conn: Connection, sku: str) -> list[OwedPush]:
    """Channels listing the SKU that are owed its new quantity (by channel code)."""
    rows = conn.execute(
        select(Channel.code, StockSync.attempts, StockSync.last_error)
        .join(StockSync, StockSync.channel_id == Channel.id)
        .join(Sku, Sku.id == StockSync.sku_id)
        .join(ChannelListing, and_(ChannelListing.channel_id == StockSync.channel_id,
                                   ChannelListing.sku_id == StockSync.sku_id))
        .where(Sku.code == sku)
        .order_by(Channel.code)
    ).all()
    return [OwedPush(r.code, int(r.attempts), r.last_error) for r in rows]
