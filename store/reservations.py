"""Taking units off a line's active reservations (shipped: consumed; given back: released) and
off its open backorders (cancelled).

A reservation row is never left half-used: when only part of it goes, the row is split, the part
that went becomes a closed row of its own (same line, SKU, location and created_at) and the rest
stays active with the smaller quantity. Active rows still sum to stock_levels.reserved.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection, insert, select, update

from .errors import StockError
from .inventory import release
from .models import Backorder, Reservation

__all__ = ["Taken", "take_reserved", "shrink_backorders"]


@dataclass(frozen=True, slots=True)
class Taken:
    """Units taken off one reservation row, at one location."""

    sku_id: int
    location_id: int
    qty: int


def take_reserved(
    conn: Connection,
    line_id: int,
    qty: int,
    *,
    state: str,
    now: dt.datetime,
    location_id: int | None = None,
    newest_first: bool = False,
) -> list[Taken]:
    """Close `qty` reserved units of a line (at `location_id` when given) as `state`
    (consumed | released), giving them back to stock_levels.reserved; oldest rows first unless
    `newest_first`. Raises StockError, changing nothing, when fewer units are reserved there."""
    if state not in ("consumed", "released"):
        raise StockError(f"a reservation closes as consumed or released, not {state!r}")
    stmt = select(Reservation).where(Reservation.line_id == line_id, Reservation.state == "active")
    if location_id is not None:
        stmt = stmt.where(Reservation.location_id == location_id)
    order = Reservation.id.desc() if newest_first else Reservation.id
    rows = conn.execute(stmt.order_by(order)).all()
    if sum(r.qty for r in rows) < qty:
        raise StockError(f"line {line_id}: {qty} units asked, {sum(r.qty for r in rows)} reserved")
    taken: list[Taken] = []
    left = qty
    for r in rows:
        if left <= 0:
            break
        take = min(left, r.qty)
        release(conn, r.sku_id, r.location_id, take)
        if take == r.qty:
            conn.execute(update(Reservation).where(Reservation.id == r.id).values(state=state, closed_at=now))
        else:
            conn.execute(update(Reservation).where(Reservation.id == r.id).values(qty=r.qty - take))
            conn.execute(insert(Reservation).values(
                line_id=r.line_id, sku_id=r.sku_id, location_id=r.location_id, qty=take, state=state,
                created_at=r.created_at, closed_at=now,
            ))
        taken.append(Taken(r.sku_id, r.location_id, take))
        left -= take
    return taken


def shrink_backorders(conn: Connection, line_id: int, qty: int, now: dt.datetime) -> None:
    """Cancel `qty` backordered units of a line, newest backorder first (a row shrinks or closes)."""
    rows = conn.execute(
        select(Backorder.id, Backorder.qty).where(Backorder.line_id == line_id, Backorder.state == "open")
        .order_by(Backorder.id.desc())
    ).all()
    for bid, have in rows:
        if qty <= 0:
            break
        part = min(qty, have)
        if part == have:
            conn.execute(update(Backorder).where(Backorder.id == bid).values(state="cancelled", closed_at=now))
        else:
            conn.execute(update(Backorder).where(Backorder.id == bid).values(qty=have - part))
        qty -= part
