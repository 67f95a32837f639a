"""Cancelling units of an order, or all of it, before they ship; the channel is told.

    cancel_units(store, order_id, {2: 1}, reason="out of stock at the supplier")  -> Cancelled
    cancel_units(store, order_id, None, reason="customer asked")                  every open unit
    cancel_units_in(conn, order_id, lines, reason=..., actor=...)                 in the caller's transaction

`lines` maps a line number to the units to cancel; None means every open unit of every line
(open = ordered - shipped - already cancelled). On each line the units go in this order:
units not yet allocated, then open backorders (the newest rows shrink or close first), then
reserved units, whose reservations are released (a row larger than what is cancelled is
split: the released part closes, the rest stays active) so the stock is available again.

Refused with TransitionError, changing nothing: a line not on the order, more units than are
still open on a line (shipped units cannot be cancelled: they come back as a return), an
order that is shipped, picked up, closed or already cancelled.

The order's status follows its lines: cancelled when nothing shipped and nothing is left,
shipped when what is left has all shipped, else allocated / backordered / partially_shipped
as its lines say (an order on hold stays on hold; a pick-up order ready for pick-up stays
ready). Writes, in one transaction: the lines' qty_cancelled, the reservations and backorders,
an `order.units_cancelled` audit event and (unless `notify=False`, for a cancellation the
channel itself asked for) an `order_cancel` outbox row for the order's channel with the lines
and units cancelled and the reason; for an EDI partner that takes 855s the dispatcher turns it
into an 855 showing the cancelled lines. The order's dropship POs follow what it still holds at
each vendor (store.dropship.resync_dropship): a PO ordering units now cancelled is cancelled,
and what is still reserved there is ordered again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select, update

from .counters import take
from .db import Store
from .dropship import resync_dropship
from .errors import TransitionError
from .journal import audit, enqueue
from .models import Channel, Order, OrderLine, Sku
from .orders import OrderSummary, _load, move, status_from_lines
from .reservations import shrink_backorders, take_reserved
from .types import utcnow

__all__ = ["Cancelled", "cancel_units", "cancel_units_in"]

_FINAL = {
    "shipped": "has shipped",
    "picked_up": "has been picked up",
    "closed": "is closed",
    "cancelled": "is already cancelled",
}


@dataclass(frozen=True, slots=True)
class Cancelled:
    order_id: int
    external_id: str
    status: str  # the order's status afterwards
    lines: tuple[tuple[int, int], ...]  # (line number, units cancelled)
    released: int  # reserved units given back to stock
    backorders_closed: int  # backordered units no longer waited for

    @property
    def units(self) -> int:
        return sum(q for _, q in self.lines)


def cancel_units(
    store: Store, order_id: int, lines: Mapping[int, int] | None, *, reason: str, actor: str = "operator",
    notify: bool = True,
) -> Cancelled:
    """Cancel `lines` (line number -> units) of an order, or every open unit with None."""
    return store.run(lambda conn: cancel_units_in(conn, order_id, lines, reason=reason, actor=actor, notify=notify))


def cancel_units_in(
    conn: Connection, order_id: int, lines: Mapping[int, int] | None, *, reason: str, actor: str,
    notify: bool = True,
) -> Cancelled:
    """`cancel_units` inside the caller's transaction (routing's auto-cancel, an EDI 860)."""
    reason = (reason or "").strip()
    if not reason:
        raise TransitionError("a cancellation needs a reason")
    order = _load(conn, order_id)
    who = f"order {order.external_id}"
    if order.status in _FINAL:
        raise TransitionError(f"{who} {_FINAL[order.status]}; nothing is left to cancel"
                              + (" (shipped units come back as a return)" if order.status in ("shipped", "picked_up",
                                                                                               "closed") else ""))
    rows = {r.line_no: r for r in conn.execute(
        select(OrderLine, Sku.code.label("sku_code")).outerjoin(Sku, Sku.id == OrderLine.sku_id)
        .where(OrderLine.order_id == order_id).order_by(OrderLine.line_no)
    )}
    wanted = _wanted(who, rows, lines)
    now = utcnow()
    released = closed = 0
    for line_no, qty in wanted.items():
        r = rows[line_no]
        unallocated = r.qty - r.qty_reserved - r.qty_backordered - r.qty_shipped - r.qty_cancelled
        left = qty - min(qty, max(unallocated, 0))
        from_backorder = min(left, r.qty_backordered)
        shrink_backorders(conn, r.id, from_backorder, now)
        from_reserved = left - from_backorder
        if from_reserved:
            take_reserved(conn, r.id, from_reserved, state="released", now=now, newest_first=True)
        conn.execute(update(OrderLine).where(OrderLine.id == r.id).values(
            qty_cancelled=OrderLine.qty_cancelled + qty,
            qty_backordered=OrderLine.qty_backordered - from_backorder,
            qty_reserved=OrderLine.qty_reserved - from_reserved,
        ))
        released += from_reserved
        closed += from_backorder
    status = _settle(conn, order, reason, actor)
    # What a vendor was to ship of the units cancelled: its PO no longer says what we want.
    resync_dropship(conn, order_id, actor=actor, reason=reason)
    done = Cancelled(order_id, order.external_id, status, tuple(wanted.items()), released, closed)
    audit(conn, actor, "order", order_id, "order.units_cancelled", {
        "lines": {str(n): q for n, q in done.lines}, "reason": reason, "released": released,
        "backorders_closed": closed, "status": status,
    })
    if notify:
        _notify(conn, order, rows, done, reason)
    return done


def _wanted(who: str, rows: Mapping[int, Any], lines: Mapping[int, int] | None) -> dict[int, int]:
    """Units to cancel per line number, each checked against what is still open on the line."""
    if lines is None:
        wanted = {n: r.qty - r.qty_shipped - r.qty_cancelled for n, r in rows.items()}
        wanted = {n: q for n, q in wanted.items() if q > 0}
        if not wanted and any(r.qty_shipped for r in rows.values()):
            raise TransitionError(f"{who} has no open units left to cancel")
        return wanted  # empty for an order of zero-quantity lines: the order itself is cancelled
    if not lines:
        raise TransitionError(f"{who}: name the lines to cancel, or cancel the whole order")
    for line_no, qty in sorted(lines.items()):
        r = rows.get(line_no)
        if r is None:
            raise TransitionError(f"{who} has no line {line_no} (its lines: {', '.join(map(str, rows)) or 'none'})")
        if qty <= 0:
            raise TransitionError(f"{who} line {line_no}: units to cancel must be positive, got {qty}")
        can = r.qty - r.qty_shipped - r.qty_cancelled
        if qty > can:
            why = [f"{r.qty} ordered"]
            if r.qty_shipped:
                why.append(f"{r.qty_shipped} shipped (shipped units cannot be cancelled; they come back as a return)")
            if r.qty_cancelled:
                why.append(f"{r.qty_cancelled} already cancelled")
            raise TransitionError(f"{who} line {line_no} ({r.sku_code or r.item}): cannot cancel {qty} units: "
                                  f"{', '.join(why)}; {can} can be cancelled")
    return {n: q for n, q in sorted(lines.items())}


def _settle(conn: Connection, order: OrderSummary, reason: str, actor: str) -> str:
    """Move the order to where its lines now say it is; returns that status."""
    open_units, shipped = (int(v or 0) for v in conn.execute(
        select(func.coalesce(func.sum(OrderLine.qty - OrderLine.qty_shipped - OrderLine.qty_cancelled), 0),
               func.coalesce(func.sum(OrderLine.qty_shipped), 0))
        .where(OrderLine.order_id == order.id)
    ).one())
    why = f"cancelled: {reason}"
    if open_units == 0:
        if not shipped:
            move(conn, order.id, "cancelled", actor=actor, reason=reason)  # order.cancelled says the rest
            return "cancelled"
        if order.status == "on_hold":  # nothing left to hold: the hold ends with what shipped
            move(conn, order.id, "partially_shipped", actor=actor, reason=why)
        move(conn, order.id, "shipped", actor=actor, reason=why)
        return "shipped"
    if order.status == "on_hold":
        return "on_hold"  # a hold stays; releasing it reads the lines again
    if order.status == "ready_for_pickup":
        return "ready_for_pickup"  # what is left is still all set aside at the store
    dst = status_from_lines(conn, order.id)
    if dst != order.status:
        move(conn, order.id, dst, actor=actor, reason=why)
    return dst


def _notify(conn: Connection, order: OrderSummary, rows: Mapping[int, Any], done: Cancelled, reason: str) -> None:
    channel, currency = conn.execute(
        select(Channel.code, Order.currency).join(Order, Order.channel_id == Channel.id).where(Order.id == order.id)
    ).one()
    [n] = take(conn, "order_cancel")
    payload = {
        "order_id": order.id, "external_id": order.external_id, "reason": reason, "status": done.status,
        "whole_order": done.status == "cancelled",
        "lines": [{"line_no": ln, "line_ref": rows[ln].line_ref, "item": rows[ln].item, "sku": rows[ln].sku_code,
                   "qty": q} for ln, q in done.lines],
        "value_minor": sum(rows[ln].unit_price_minor * q for ln, q in done.lines), "currency": currency,
    }
    enqueue(conn, "order_cancel", channel, f"order_cancel:{order.id}:{n}", payload, order.id)
