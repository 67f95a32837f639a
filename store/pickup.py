"""Pick-up in store: the store sets the order aside, then the customer collects it.

    ready_for_pickup(store, order_id)                      allocated -> ready_for_pickup
    picked_up(store, order_id, collected_by="J. Smith")    ready_for_pickup -> picked_up

An order with orders.fulfilment = "pickup" is routed to its pick-up store
(orders.pickup_location_id). It is ready when every open unit is reserved at that store; the
channel is told (`pickup_ready` outbox row: the customer can come). When the customer collects
it, the reservations are consumed and the stock leaves through the ledger (movement kind
`pickup`); a shipment row with carrier "pickup" and no tracking number records the hand-over
(pick-up is not shipping: no tracking number is needed) and the channel gets the same
`shipment_confirm` row a shipment sends, marked `"pickup": true`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert, select

from .db import Store
from .errors import TransitionError
from .journal import enqueue
from .models import Channel, Location, Order, Shipment
from .orders import OrderSummary, _load, move
from .shipping import Shipped, _announce, _Line, _lines_at, _take_out
from .types import utcnow

__all__ = ["ready_for_pickup", "ready_for_pickup_in", "picked_up", "picked_up_in"]


def ready_for_pickup(store: Store, order_id: int, *, actor: str = "operator") -> str:
    """Everything is set aside at the pick-up store; returns the pick-up store's code."""
    return store.run(lambda conn: ready_for_pickup_in(conn, order_id, actor=actor))


def ready_for_pickup_in(conn: Connection, order_id: int, *, actor: str) -> str:
    order = _load(conn, order_id)
    store_id, store_code, store_name = _pickup_store(conn, order)
    if order.status != "allocated":
        raise TransitionError(f"order {order.external_id} is {order.status}; only an allocated order "
                              "(every unit reserved) can be ready for pick-up")
    lines = _lines_at(conn, order_id, store_id)
    _all_here(order, lines, store_code)
    move(conn, order_id, "ready_for_pickup", actor=actor, reason=f"set aside at {store_code}")
    channel = _channel(conn, order)
    enqueue(conn, "pickup_ready", channel, f"pickup_ready:{order_id}", {
        "order_id": order_id, "external_id": order.external_id, "location": store_code, "location_name": store_name,
        "lines": [{"line_no": ln.line_no, "qty": ln.here} for ln in lines.values() if ln.here],
    }, order_id)
    return store_code


def picked_up(
    store: Store, order_id: int, *, collected_by: str | None = None, actor: str = "operator"
) -> Shipped:
    """The customer collected the order: stock leaves the store through the ledger."""
    return store.run(lambda conn: picked_up_in(conn, order_id, collected_by=collected_by, actor=actor))


def picked_up_in(conn: Connection, order_id: int, *, collected_by: str | None = None, actor: str) -> Shipped:
    order = _load(conn, order_id)
    store_id, store_code, _ = _pickup_store(conn, order)
    if order.status != "ready_for_pickup":
        raise TransitionError(f"order {order.external_id} is {order.status}; only an order ready for pick-up "
                              "can be picked up")
    lines = _lines_at(conn, order_id, store_id)
    _all_here(order, lines, store_code)
    now = utcnow()
    sid = conn.execute(insert(Shipment).values(
        order_id=order_id, location_id=store_id, status="shipped", carrier="pickup", tracking=None,
        created_at=now, shipped_at=now,
    ).returning(Shipment.id)).scalar_one()
    content = {ln.line_no: ln.here for ln in lines.values() if ln.here}
    totals = _take_out(conn, lines, [(None, None, content)], sid, store_id, now, actor=actor, kind="pickup")
    who = (collected_by or "").strip()
    move(conn, order_id, "picked_up", actor=actor, reason=f"collected by {who}" if who else "collected")
    done = Shipped(sid, order_id, order.external_id, store_code, "picked_up", tuple(sorted(totals.items())))
    _announce(conn, order, done, carrier="pickup", tracking=None, service=None, cost_minor=None, actor=actor,
              pickup=True)
    return done


def _pickup_store(conn: Connection, order: OrderSummary) -> tuple[int, str, str]:
    fulfilment, store_id = conn.execute(
        select(Order.fulfilment, Order.pickup_location_id).where(Order.id == order.id)).one()
    if fulfilment != "pickup":
        raise TransitionError(f"order {order.external_id} is to be shipped, not picked up in store")
    if store_id is None:
        raise TransitionError(f"order {order.external_id} is for pick-up but names no pick-up store")
    row = conn.execute(select(Location.code, Location.name).where(Location.id == store_id)).one()
    return int(store_id), str(row.code), str(row.name)


def _all_here(order: OrderSummary, lines: dict[int, _Line], store: str) -> None:
    """Every open unit reserved at the pick-up store, or TransitionError naming the lines that are not."""
    short = [f"line {ln.line_no} ({ln.sku or ln.item}) has {ln.here} of {ln.qty - ln.qty_shipped - ln.qty_cancelled}"
             for ln in lines.values() if ln.here < ln.qty - ln.qty_shipped - ln.qty_cancelled]
    if short:
        raise TransitionError(f"order {order.external_id} is not all at {store}: {'; '.join(short)} units reserved "
                              "there (bring the rest to the store first)")
    if not any(ln.here for ln in lines.values()):
        raise TransitionError(f"order {order.external_id} has nothing reserved at {store}")


def _channel(conn: Connection, order: OrderSummary) -> Any:
    return conn.execute(select(Channel.code).where(Channel.id == order.channel_id)).scalar_one()
