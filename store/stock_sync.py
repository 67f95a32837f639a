"""Stock levels owed to marketplace and cart channels (the stock-push outbox), and listings.

    list_skus(store, "shopify-main", ["S1", "S2"])        # the channel sells these (or "*")
    due = stock_due(store, "shopify-main")                # [DueStock]: what to push now
    stock_done(store, "shopify-main", [Pushed(...), ...]) # accepted, or failed with a reason

Every stock change marks the SKU for every channel that lists it (the trigger of migration
0008, in the change's transaction). What is pushed is computed when it is pushed, so ten
changes in a second become one push of the latest figure (absolute, so a retry is harmless):

    quantity = min(max_listed, max(0, sum over the channel's locations of
                                        max(0, on_hand - reserved - safety)  -  buffer))

`buffer` and `max_listed` are the channel's `stock_buffer` and `max_listed` settings (oms.toml
`[[channels]]`). A push removes the mark only if no change came in while it was on the wire;
a failed push is retried with backoff, and its reason is kept on the listing for an operator.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, and_, delete, func, insert, or_, select, update

from .bulk import upsert_insert
from .db import Store
from .errors import NotFound
from .models import Channel, ChannelListing, ChannelLocation, Location, Sku, StockLevel, StockSync
from .types import utcnow

__all__ = [
    "DueStock", "Pushed", "configure_stock", "list_skus", "list_in", "listed_ids", "list_new_skus", "mark_listed", "listings", "stock_due", "stock_done", "mark_all", "channel_quantity",
    "pending_pushes",
]

_FIRST_RETRY = 5.0
_MAX_RETRY = 600.0


@dataclass(frozen=True, slots=True)
class DueStock:
    sku_id: int
    sku: str
    qty: int
    changes: int  # the count read; the push clears the mark only if it still holds
    ref: Mapping[str, Any] = field(default_factory=dict)
    attempts: int = 0


@dataclass(frozen=True, slots=True)
class Pushed:
    sku_id: int
    changes: int
    accepted: bool
    qty: int
    ref: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None


def _channel(conn: Connection, code: str) -> tuple[int, dict[str, Any]]:
    row = conn.execute(select(Channel.id, Channel.config).where(Channel.code == code)).first()
    if row is None:
        raise NotFound(f"no channel {code!r}")
    return int(row.id), dict(row.config or {})


def list_skus(store: Store, channel: str, skus: Sequence[str] | str) -> int:
    """The channel sells `skus` (codes, or "*" for every active SKU); each new listing is marked
    for a first push. Returns how many listings were added."""

    def _do(conn: Connection) -> int:
        cid, _ = _channel(conn, channel)
        return list_in(conn, cid, listed_ids(conn, None if skus == "*" else skus, f"channel {channel}"))

    return store.run(_do)


def listed_ids(conn: Connection, skus: Sequence[str] | None, who: str) -> list[int]:
    """The ids of the active SKUs named (None: every active SKU); NotFound names any missing."""
    q = select(Sku.id, Sku.code).where(Sku.active.is_(True))
    if skus is not None:
        q = q.where(Sku.code.in_(list(skus)))
    found = {code: sid for sid, code in conn.execute(q)}
    missing = [c for c in skus or () if c not in found]
    if missing:
        raise NotFound(f"{who}: listings name no SKU {', '.join(missing[:5])}")
    return list(found.values())


def list_in(conn: Connection, channel_id: int, sku_ids: Sequence[int]) -> int:
    """`list_skus` by ids in the caller's transaction; returns how many listings are new."""
    have = {s for (s,) in conn.execute(select(ChannelListing.sku_id).where(ChannelListing.channel_id == channel_id))}
    new = [s for s in dict.fromkeys(sku_ids) if s not in have]
    if new:
        conn.execute(insert(ChannelListing), [{"channel_id": channel_id, "sku_id": s, "ref": {}} for s in new])
        _mark(conn, channel_id, new)
    return len(new)


def list_new_skus(conn: Connection, sku_ids: Sequence[int]) -> None:
    """New SKUs are listed on every channel that lists everything (`list_all`)."""
    for cid, config in conn.execute(select(Channel.id, Channel.config).where(Channel.active.is_(True))):
        if (config or {}).get("list_all"):
            list_in(conn, int(cid), sku_ids)


def _mark(conn: Connection, cid: int, sku_ids: Iterable[int]) -> None:
    for s in sku_ids:
        stmt = upsert_insert(conn, StockSync).values(channel_id=cid, sku_id=s, changes=1, attempts=0)
        conn.execute(stmt.on_conflict_do_update(index_elements=["channel_id", "sku_id"],
                                                set_={"changes": StockSync.changes + 1, "retry_at": None, "attempts": 0}))


def configure_stock(
    store: Store, channel: str, *, stock_buffer: int | None = None, max_listed: int | None = None,
    clear_max: bool = False,
) -> None:
    """Change what the channel is shown (buffer, cap) and push every listed SKU again."""

    def _do(conn: Connection) -> None:
        cid, config = _channel(conn, channel)
        if stock_buffer is not None:
            config["stock_buffer"] = stock_buffer
        if max_listed is not None or clear_max:
            config["max_listed"] = max_listed
        conn.execute(update(Channel).where(Channel.id == cid).values(config=config))
        _mark(conn, cid, [s for (s,) in conn.execute(
            select(ChannelListing.sku_id).where(ChannelListing.channel_id == cid))])

    store.run(_do)


def mark_listed(conn: Connection, channel_id: int) -> int:
    """Mark every listing of the channel for a push, in the caller's transaction."""
    ids = [s for (s,) in conn.execute(select(ChannelListing.sku_id).where(ChannelListing.channel_id == channel_id))]
    _mark(conn, channel_id, ids)
    return len(ids)


def mark_all(store: Store, channel: str) -> int:
    """Push every listed SKU again (after a buffer or location change, or to repair a channel)."""

    def _do(conn: Connection) -> int:
        cid, _ = _channel(conn, channel)
        return mark_listed(conn, cid)

    return store.run(_do)


def _available(conn: Connection, cid: int, sku_ids: Sequence[int]) -> dict[int, int]:
    """Sum of what each SKU can still promise at the channel's locations (all, if it names none)."""
    if not sku_ids:
        return {}
    avail = func.sum(func.max(StockLevel.on_hand - StockLevel.reserved - StockLevel.safety, 0)) \
        if conn.dialect.name == "sqlite" else \
        func.sum(func.greatest(StockLevel.on_hand - StockLevel.reserved - StockLevel.safety, 0))
    scoped = conn.execute(select(func.count()).select_from(ChannelLocation)
                          .where(ChannelLocation.channel_id == cid)).scalar_one()
    q = (select(StockLevel.sku_id, avail).join(Location, Location.id == StockLevel.location_id)
         .where(StockLevel.sku_id.in_(list(sku_ids)), Location.active.is_(True)).group_by(StockLevel.sku_id))
    if scoped:
        q = q.where(StockLevel.location_id.in_(
            select(ChannelLocation.location_id).where(ChannelLocation.channel_id == cid)))
    return {int(s): int(a or 0) for s, a in conn.execute(q)}


def channel_quantity(available: int, config: Mapping[str, Any]) -> int:
    """What the channel is shown: available less its buffer, capped at its maximum listed."""
    qty = max(0, available - int(config.get("stock_buffer") or 0))
    cap = config.get("max_listed")
    return min(qty, int(cap)) if cap is not None else qty


def stock_due(store: Store, channel: str, *, limit: int = 250, now: dt.datetime | None = None) -> list[DueStock]:
    """The listings of `channel` marked and due, with the quantity to push now (oldest SKU id first)."""
    at = now or utcnow()
    with store.read() as conn:
        cid, config = _channel(conn, channel)
        rows = conn.execute(
            select(StockSync.sku_id, StockSync.changes, StockSync.attempts, Sku.code, ChannelListing.ref)
            .join(Sku, Sku.id == StockSync.sku_id)
            .join(ChannelListing, and_(ChannelListing.channel_id == StockSync.channel_id,
                                       ChannelListing.sku_id == StockSync.sku_id))
            .where(StockSync.channel_id == cid, or_(StockSync.retry_at.is_(None), StockSync.retry_at <= at))
            .order_by(StockSync.sku_id).limit(limit)
        ).all()
        avail = _available(conn, cid, [r.sku_id for r in rows])
    return [DueStock(int(r.sku_id), r.code, channel_quantity(avail.get(r.sku_id, 0), config), int(r.changes),
                     dict(r.ref or {}), int(r.attempts)) for r in rows]


def stock_done(store: Store, channel: str, results: Sequence[Pushed], *, now: dt.datetime | None = None) -> int:
    """Record pushes: an accepted one clears its mark (if nothing changed meanwhile) and keeps
    the quantity and the listing's ref; a refused one is retried later with its reason kept.
    Returns how many marks were cleared."""
    at = now or utcnow()

    def _do(conn: Connection) -> int:
        cid, _ = _channel(conn, channel)
        cleared = 0
        for p in results:
            listing = update(ChannelListing).where(ChannelListing.channel_id == cid, ChannelListing.sku_id == p.sku_id)
            if p.accepted:
                gone = conn.execute(delete(StockSync).where(
                    StockSync.channel_id == cid, StockSync.sku_id == p.sku_id, StockSync.changes == p.changes
                )).rowcount
                cleared += gone
                if not gone:
                    # A change came in while this push was on the wire, or another gateway pushed
                    # and cleared the mark meanwhile (ours may have landed after theirs): push
                    # the current figure once more, now, whatever backoff the row had.
                    _mark(conn, cid, [p.sku_id])
                conn.execute(listing.values(last_qty=p.qty, last_pushed_at=at, last_error=None, ref=dict(p.ref)))
            else:
                row = conn.execute(select(StockSync.attempts).where(
                    StockSync.channel_id == cid, StockSync.sku_id == p.sku_id)).first()
                attempts = (int(row.attempts) if row else 0) + 1
                wait = min(_MAX_RETRY, _FIRST_RETRY * 2 ** (attempts - 1))
                conn.execute(update(StockSync).where(StockSync.channel_id == cid, StockSync.sku_id == p.sku_id)
                             .values(attempts=attempts, retry_at=at + dt.timedelta(seconds=wait), last_error=p.error))
                conn.execute(listing.values(last_error=p.error, ref=dict(p.ref)))
        return cleared

    return store.run(_do)


@dataclass(frozen=True, slots=True)
class Listing:
    sku: str
    last_qty: int | None
    last_pushed_at: dt.datetime | None
    last_error: str | None
    pending: bool


def listings(store: Store, channel: str) -> list[Listing]:
    """What the channel lists, what it last accepted, and whether a push is owed."""
    with store.read() as conn:
        cid, _ = _channel(conn, channel)
        rows = conn.execute(
            select(Sku.code, ChannelListing.last_qty, ChannelListing.last_pushed_at, ChannelListing.last_error,
                   StockSync.sku_id.is_not(None).label("pending"))
            .join(Sku, Sku.id == ChannelListing.sku_id)
            .outerjoin(StockSync, and_(StockSync.channel_id == cid, StockSync.sku_id == ChannelListing.sku_id))
            .where(ChannelListing.channel_id == cid).order_by(Sku.code)
        ).all()
    return [Listing(r.code, r.last_qty, r.last_pushed_at, r.last_error, bool(r.pending)) for r in rows]


def pending_pushes(store: Store, channel: str | None = None) -> int:
    """Stock pushes owed (to one channel or all), for heartbeats and the gateway screen."""
    with store.read() as conn:
        q = select(func.count()).select_from(StockSync)
        if channel is not None:
            q = q.join(Channel, Channel.id == StockSync.channel_id).where(Channel.code == channel)
        return int(conn.execute(q).scalar_one())


__all__ += ["Listing"]
