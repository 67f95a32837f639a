"""Auto-cancel: a routing rule that backorders may give the wait an end (N days after the order
was placed, or the order's cancel-after date). On that day the units still backordered are
cancelled (store.cancellations: the channel is told), and what was reserved or shipped stays."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, select, update

from ..db import Store
from ..cancellations import cancel_units_in
from ..models import Backorder, Channel, Order, OrderLine
from ..orders import _load
from ..types import utcnow
from .backorders import WAITING

__all__ = ["cancel_due"]


def cancel_due(store: Store, today: dt.date | None = None, *, actor: str = "routing") -> list[int]:
    """Cancel the open backordered units of every order whose auto-cancel day has come;
    returns the orders touched. Safe to run again: an order with nothing open left is skipped."""
    day = today or utcnow().date()
    with store.read() as conn:
        due = conn.execute(
            select(Order.id).where(Order.auto_cancel_on <= day, Order.status.in_(WAITING)).order_by(Order.id)
        ).scalars().all()
    done = []
    for oid in due:
        if store.run(lambda conn: _cancel_backorders(conn, oid, day, actor)):
            done.append(oid)
    return done


def _cancel_backorders(conn: Connection, order_id: int, day: dt.date, actor: str) -> bool:
    # Locked first (FOR UPDATE on PostgreSQL; SQLite's write lock is taken already): stock that
    # arrives meanwhile, or another run of this job, cannot change the backorders read below.
    _load(conn, order_id)
    order = conn.execute(
        select(Order.status, Order.external_id, Order.auto_cancel_on, Channel.code)
        .join(Channel, Channel.id == Order.channel_id).where(Order.id == order_id)
    ).one()
    if order.auto_cancel_on is None or order.auto_cancel_on > day or order.status not in WAITING:
        return False  # changed since we looked
    rows = conn.execute(
        select(Backorder.id, Backorder.line_id, Backorder.qty, OrderLine.line_no)
        .join(OrderLine, OrderLine.id == Backorder.line_id)
        .where(OrderLine.order_id == order_id, Backorder.state == "open")
    ).all()
    if not rows:  # filled since: nothing left to cancel
        conn.execute(update(Order).where(Order.id == order_id).values(auto_cancel_on=None))
        return False
    cancelled: dict[int, int] = {}
    for r in rows:
        cancelled[r.line_no] = cancelled.get(r.line_no, 0) + r.qty
    reason = f"backordered units auto-cancelled on {order.auto_cancel_on.isoformat()} (routing rule)"
    conn.execute(update(Order).where(Order.id == order_id).values(auto_cancel_on=None))
    # Unallocated units go first in a cancellation; an order waiting on backorders has none.
    cancel_units_in(conn, order_id, cancelled, reason=reason, actor=actor)
    return True
