"""Backorders meet stock: when units arrive, the orders waiting for them are routed again,
most urgent first (priority, then the oldest backorder), until what arrived is taken."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import Connection, insert, select, update

from ..models import Backorder, Order, OrderLine, Reservation
from ..errors import ConflictError
from ..orders import _load, move, status_from_lines
from ..journal import audit
from ..types import utcnow
from .engine import LineFacts
from .live import Router

__all__ = ["fill_backorders", "WAITING"]

# Orders whose backorders may be filled; held and cancelled ones wait for an operator.
WAITING = ("backordered", "allocated", "partially_shipped")


def fill_backorders(
    conn: Connection, sku_ids: Collection[int], *, location: int | None = None, actor: str = "routing"
) -> list[int]:
    """Route again the orders with open backorders of `sku_ids`; returns those that got stock.

    With `location` (where units just arrived), only orders that location serves are tried,
    and it stops once those units are taken; a decision that places nothing is not kept."""
    if not sku_ids:
        return []
    candidates = conn.execute(
        select(OrderLine.order_id)
        .join(Backorder, Backorder.line_id == OrderLine.id)
        .join(Order, Order.id == OrderLine.order_id)
        .where(Backorder.state == "open", Backorder.sku_id.in_(sorted(sku_ids)), Order.status.in_(WAITING))
        .order_by(Order.priority.desc(), Backorder.created_at, Backorder.id)
    ).scalars().all()
    order_ids = list(dict.fromkeys(candidates))
    if not order_ids:
        return []
    router = Router(conn, sku_ids)
    places = [location] if location is not None else list(router.sites)
    filled: list[int] = []
    for oid in order_ids:
        if not any(router.avail.get((s, loc), 0) > 0 for s in sku_ids for loc in places):
            break  # what arrived is taken
        if _fill_order(conn, router, oid, location, actor):
            filled.append(oid)
    router.flush(actor)
    return filled


def _fill_order(conn: Connection, router: Router, order_id: int, location: int | None, actor: str) -> bool:
    # Locked (FOR UPDATE on PostgreSQL), then read: another receipt or a cancellation of this
    # order cannot fill or close the same backorders under us.
    if _load(conn, order_id).status not in WAITING:
        return False
    open_rows = conn.execute(
        select(Backorder.id, Backorder.line_id, Backorder.qty, OrderLine.line_no, OrderLine.sku_id,
               OrderLine.unit_price_minor)
        .join(OrderLine, OrderLine.id == Backorder.line_id)
        .where(OrderLine.order_id == order_id, Backorder.state == "open")
        .order_by(OrderLine.line_no, Backorder.id)
    ).all()
    waiting: dict[int, list[int]] = {}
    for r in open_rows:
        waiting.setdefault(r.line_no, [r.line_id, r.sku_id, r.unit_price_minor, 0])[3] += r.qty
    facts = router.facts_of_order(
        order_id, [LineFacts(n, sku, qty, price) for n, (_, sku, price, qty) in sorted(waiting.items())])
    if location is not None and location not in facts.locations:
        return False  # the units arrived where this order's channel is not served
    decision = router.route([(order_id, facts)], "receipt", keep_empty=False)[order_id]
    if not decision.placements:
        return False
    now = utcnow()
    for line_no, loc, qty in decision.placements:
        line_id, sku = waiting[line_no][0], waiting[line_no][1]
        conn.execute(insert(Reservation).values(line_id=line_id, sku_id=sku, location_id=loc, qty=qty,
                                                state="active", created_at=now))
        conn.execute(update(OrderLine).where(OrderLine.id == line_id).values(
            qty_reserved=OrderLine.qty_reserved + qty, qty_backordered=OrderLine.qty_backordered - qty))
        left = qty
        for r in open_rows:
            if r.line_id != line_id or left == 0:
                continue
            take = min(left, r.qty)
            left -= take
            values: dict[str, object] = {"state": "filled", "closed_at": now} if take == r.qty else {"qty": r.qty - take}
            done = conn.execute(update(Backorder).where(Backorder.id == r.id, Backorder.state == "open",
                                                        Backorder.qty == r.qty).values(**values))
            if done.rowcount != 1:
                raise ConflictError(f"order {order_id}: its backorders changed while stock was given to them")
    status = status_from_lines(conn, order_id)
    current = conn.execute(select(Order.status).where(Order.id == order_id)).scalar_one()
    if status != current:
        move(conn, order_id, status, actor=actor, reason="backorder filled from new stock")
    audit(conn, actor, "order", order_id, "order.backorder_filled",
          {"placements": [[n, router.sites[loc].code, q] for n, loc, q in decision.placements],
           "still_backordered": [list(b) for b in decision.backordered]})
    return True
