"""The order state machine: an explicit table of allowed moves and one named function per move.

    received ──> allocated ──> partially_shipped ──> shipped ──> closed
       │  ^          │  ^              
       v  │          v  │             (on_hold from any open state and back;
    backordered <────┘  │              cancelled from any state before shipping)
                         └──> ready_for_pickup ──> picked_up ──> closed   (pick-up in store)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select, update

from .db import Store
from .errors import NotFound, StoreError, TransitionError
from .journal import audit
from .models import Channel, Order, OrderLine
from .types import utcnow

__all__ = [
    "STATUSES",
    "TRANSITIONS",
    "OrderSummary",
    "can_move",
    "move",
    "hold",
    "release_hold",
    "cancel",
    "cancel_in",
    "close",
    "get_order",
    "find_order",
    "status_from_lines",
    "flag_exception",
    "clear_exception_text",
]

STATUSES = (
    "received",
    "on_hold",
    "allocated",
    "backordered",
    "partially_shipped",
    "shipped",
    "ready_for_pickup",
    "picked_up",
    "closed",
    "cancelled",
)

TRANSITIONS: dict[str, frozenset[str]] = {
    "received": frozenset({"on_hold", "allocated", "backordered", "cancelled"}),
    "on_hold": frozenset({"received", "allocated", "backordered", "partially_shipped", "ready_for_pickup",
                          "cancelled"}),
    "allocated": frozenset({"on_hold", "backordered", "partially_shipped", "shipped", "ready_for_pickup", "cancelled"}),
    "backordered": frozenset({"on_hold", "allocated", "partially_shipped", "cancelled"}),
    "partially_shipped": frozenset({"on_hold", "partially_shipped", "shipped"}),
    "shipped": frozenset({"closed"}),
    # Pick-up in store: the store sets the order aside, the customer collects it.
    "ready_for_pickup": frozenset({"on_hold", "picked_up", "cancelled"}),
    "picked_up": frozenset({"closed"}),
    "closed": frozenset(),
    "cancelled": frozenset(),
}


@dataclass(frozen=True, slots=True)
class OrderSummary:
    id: int
    channel_id: int
    external_id: str
    status: str
    exception: str | None
    hold_reason: str | None


def can_move(src: str, dst: str) -> bool:
    return dst in TRANSITIONS.get(src, frozenset())


def _load(conn: Connection, order_id: int, *, lock: bool = True) -> OrderSummary:
    stmt = select(
        Order.id, Order.channel_id, Order.external_id, Order.status, Order.exception, Order.hold_reason
    ).where(Order.id == order_id)
    if lock and conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    row = conn.execute(stmt).first()
    if row is None:
        raise NotFound(f"no order {order_id}")
    return OrderSummary(*row)


def find_order(conn: Connection, ref: str, channel: str | None = None) -> int:
    """The id of the order an operator names: its external id (on `channel` when given), `#id`,
    or a plain number that is no external id. NotFound, or StoreError when it is ambiguous."""
    ref = ref.strip()
    if ref.startswith("#") and ref[1:].isdigit():
        oid = conn.execute(select(Order.id).where(Order.id == int(ref[1:]))).scalar_one_or_none()
        if oid is None:
            raise NotFound(f"no order with id {ref[1:]}")
        return int(oid)
    stmt = select(Order.id, Channel.code).join(Channel, Channel.id == Order.channel_id).where(Order.external_id == ref)
    if channel is not None:
        stmt = stmt.where(Channel.code == channel)
    hits = conn.execute(stmt.order_by(Channel.code)).all()
    if len(hits) == 1:
        return int(hits[0].id)
    if len(hits) > 1:
        raise StoreError(f"order {ref} is on several channels ({', '.join(h.code for h in hits)}); "
                         "say which with --channel")
    if channel is None and ref.isdigit():
        oid = conn.execute(select(Order.id).where(Order.id == int(ref))).scalar_one_or_none()
        if oid is not None:
            return int(oid)
    if channel is not None and conn.execute(select(Channel.id).where(Channel.code == channel)).first() is None:
        raise NotFound(f"no channel {channel!r}")
    raise NotFound(f"no order {ref}" + (f" on channel {channel}" if channel else ""))


def get_order(store: Store, order_id: int) -> OrderSummary:
    with store.read() as conn:
        return _load(conn, order_id, lock=False)


def _cannot(order: OrderSummary, dst: str) -> TransitionError:
    allowed = ", ".join(sorted(TRANSITIONS.get(order.status, ()))) or "nothing"
    return TransitionError(f"order {order.external_id} is {order.status}; it cannot become {dst} (allowed: {allowed})")


def move(
    conn: Connection, order_id: int, dst: str, *, actor: str, reason: str | None = None, hold_kind: str | None = None
) -> str:
    """Move an order to `dst` inside the caller's transaction; returns the old status. A hold
    records its reason and kind (`hold_kind`, default manual); leaving on_hold clears both."""
    order = _load(conn, order_id)
    if not can_move(order.status, dst):
        raise _cannot(order, dst)
    values: dict[str, object] = {"status": dst, "updated_at": utcnow()}
    if dst == "on_hold":
        values["hold_reason"] = reason
        values["hold_kind"] = hold_kind = hold_kind or "manual"
    elif order.status == "on_hold":
        values["hold_reason"] = None
        values["hold_kind"] = None
    conn.execute(update(Order).where(Order.id == order_id).values(**values))
    detail: dict[str, object] = {"from": order.status, "to": dst}
    if reason:
        detail["reason"] = reason
    if dst == "on_hold":
        detail["kind"] = hold_kind
    audit(conn, actor, "order", order_id, f"order.{dst}", detail)
    return order.status


def hold(store: Store, order_id: int, reason: str, kind: str = "manual", *, actor: str = "operator") -> None:
    """Stop an order where it is; its reservations stay. A reason is required (store.holds)."""
    from .holds import hold as _hold

    _hold(store, order_id, reason, kind, actor=actor)


def status_from_lines(conn: Connection, order_id: int) -> str:
    """Where a held order goes back to, read from its lines."""
    row = conn.execute(
        select(
            func.sum(OrderLine.qty),
            func.sum(OrderLine.qty_reserved),
            func.sum(OrderLine.qty_backordered),
            func.sum(OrderLine.qty_shipped),
            func.sum(OrderLine.qty_cancelled),
            func.count(OrderLine.id).filter(OrderLine.sku_id.is_(None)),
        ).where(OrderLine.order_id == order_id)
    ).one()
    qty, reserved, backordered, shipped, cancelled, unknown = (int(v or 0) for v in row)
    if unknown:
        return "received"
    if shipped and shipped + cancelled >= qty:
        return "shipped"
    if shipped:
        return "partially_shipped"
    if reserved + cancelled >= qty and reserved:
        return "allocated"
    if backordered:
        return "backordered"
    return "received"


def release_hold(store: Store, order_id: int, *, actor: str = "operator", reason: str = "hold released") -> str:
    """Take an order off hold, back to the state its lines say it is in (store.holds)."""
    from .holds import release

    return release(store, order_id, reason=reason, actor=actor)


def cancel(store: Store, order_id: int, reason: str, *, actor: str = "operator") -> int:
    """Cancel an order that has not shipped: release every reservation and close backorders;
    the channel is told (store.cancellations). Returns the number of units given back to stock."""
    if not reason.strip():
        raise TransitionError("a cancellation needs a reason")
    return store.run(lambda conn: cancel_in(conn, order_id, reason, actor=actor))


def cancel_in(conn: Connection, order_id: int, reason: str, *, actor: str, notify: bool = True) -> int:
    """`cancel` inside the caller's transaction; `notify=False` when the channel itself asked
    (an EDI 860). TransitionError when the order cannot become cancelled (it has shipped)."""
    from .cancellations import cancel_units_in

    order = _load(conn, order_id)
    if not can_move(order.status, "cancelled"):
        raise _cannot(order, "cancelled")
    return cancel_units_in(conn, order_id, None, reason=reason, actor=actor, notify=notify).released


def close(store: Store, order_id: int, *, actor: str = "system") -> None:
    store.run(lambda conn: move(conn, order_id, "closed", actor=actor))


# ----------------------------------------------------------------------- exception queues
#
# An order waits in at most one exception queue (orders.exception); its exception_detail is
# "; "-joined texts, each starting with a label such as "855 not sent: ". A caller whose texts
# may themselves hold "; " says where one of its texts starts (`text_start`, a regex; by
# default the prefix itself), so that one text can be replaced or taken out again.


def _texts_without(detail: str, prefix: str, text_start: str | None) -> str:
    """`detail` without the texts that start with `prefix`."""
    start = text_start if text_start is not None else re.escape(prefix)
    parts = re.split(f"; (?={start})", detail)
    return "; ".join(p for p in parts if p and not p.startswith(prefix))


def flag_exception(
    conn: Connection,
    order_id: int,
    queue: str,
    text: str,
    *,
    actor: str,
    action: str,
    detail: Mapping[str, Any],
    replaces: str | None = None,
    text_start: str | None = None,
) -> None:
    """Put the order in the `queue` exception queue with `text`; an order that already waits in
    a queue (this one or another) keeps it, and `text` is appended to its detail. An earlier
    text starting with `replaces` is taken out first, so a problem reported again is listed
    once. Audits `action` with `detail`, in the caller's transaction."""
    row = conn.execute(select(Order.exception, Order.exception_detail).where(Order.id == order_id)).first()
    if row is None:
        raise NotFound(f"no order {order_id}")
    kept = ""
    if row.exception is not None:
        kept = row.exception_detail or ""
        if replaces is not None:
            kept = _texts_without(kept, replaces, text_start)
    values: dict[str, Any] = {"exception_detail": "; ".join(x for x in (kept, text) if x)[:2000]}
    if row.exception is None:
        values["exception"] = queue
    conn.execute(update(Order).where(Order.id == order_id).values(updated_at=utcnow(), **values))
    audit(conn, actor, "order", order_id, action, dict(detail))


def clear_exception_text(
    conn: Connection,
    order_id: int,
    queue: str,
    prefix: str,
    *,
    actor: str,
    action: str,
    detail: Mapping[str, Any],
    text_start: str | None = None,
) -> bool:
    """Take the text starting with `prefix` off the order's exception detail, and the order out
    of the `queue` exception queue when nothing else is left (an order in another queue stays
    in it). Audits `action` with `detail` plus the order's exception after. False (nothing
    written) when the order holds no such text."""
    row = conn.execute(select(Order.exception, Order.exception_detail).where(Order.id == order_id)).first()
    if row is None:
        raise NotFound(f"no order {order_id}")
    current = row.exception_detail or ""
    if row.exception is None or prefix not in current:
        return False
    kept = _texts_without(current, prefix, text_start)
    if kept == current:
        return False
    values: dict[str, Any] = {"exception_detail": kept or None}
    if row.exception == queue and not kept:
        values["exception"] = None
    conn.execute(update(Order).where(Order.id == order_id).values(updated_at=utcnow(), **values))
    audit(conn, actor, "order", order_id, action, {**detail, "exception": values.get("exception", row.exception)})
    return True
