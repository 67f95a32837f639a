"""Shipping what is reserved: stock leaves through the ledger, the channel is told via the outbox.

This is the minimal path (ship every reserved unit, one shipment per location); cartons,
SSCC labels, partial picks and 856/810 documents build on it.
"""

from __future__ import annotations

from sqlalchemy import Connection, insert, select, update

from .db import Store
from .errors import TransitionError
from .inventory import apply_movement, release
from .journal import audit, enqueue
from .models import Channel, OrderLine, Reservation, Shipment, ShipmentLine
from .orders import _load, status_from_lines, move
from .types import utcnow

__all__ = ["ship_reserved"]


def ship_reserved(
    store: Store, order_id: int, *, carrier: str, tracking: str, actor: str = "operator"
) -> list[int]:
    """Ship every reserved unit of an order; returns the new shipment ids (one per location)."""
    if not tracking.strip():
        raise TransitionError("a shipment needs a tracking number")

    def _do(conn: Connection) -> list[int]:
        order = _load(conn, order_id)
        if order.status not in ("allocated", "backordered", "partially_shipped"):
            raise TransitionError(f"order {order.external_id} is {order.status}; only reserved stock can ship")
        now = utcnow()
        held = conn.execute(
            select(Reservation.id, Reservation.line_id, Reservation.sku_id, Reservation.location_id, Reservation.qty)
            .join(OrderLine, OrderLine.id == Reservation.line_id)
            .where(OrderLine.order_id == order_id, Reservation.state == "active")
            .order_by(Reservation.location_id, Reservation.sku_id)
        ).all()
        if not held:
            raise TransitionError(f"order {order.external_id} has nothing reserved to ship")
        shipments: dict[int, int] = {}
        for r in held:
            if r.location_id not in shipments:
                shipments[r.location_id] = conn.execute(
                    insert(Shipment)
                    .values(order_id=order_id, location_id=r.location_id, status="shipped", carrier=carrier,
                            tracking=tracking, created_at=now, shipped_at=now)
                    .returning(Shipment.id)
                ).scalar_one()
            release(conn, r.sku_id, r.location_id, r.qty)
            apply_movement(conn, r.sku_id, r.location_id, -r.qty, "shipment", reference=f"shipment {shipments[r.location_id]}", actor=actor)
            conn.execute(insert(ShipmentLine).values(shipment_id=shipments[r.location_id], line_id=r.line_id, qty=r.qty))
            conn.execute(
                update(OrderLine)
                .where(OrderLine.id == r.line_id)
                .values(qty_shipped=OrderLine.qty_shipped + r.qty, qty_reserved=OrderLine.qty_reserved - r.qty)
            )
        conn.execute(
            update(Reservation).where(Reservation.id.in_([r.id for r in held])).values(state="consumed", closed_at=now)
        )
        dst = status_from_lines(conn, order_id)
        move(conn, order_id, dst, actor=actor, reason=f"{carrier} {tracking}")
        code = conn.execute(select(Channel.code).where(Channel.id == order.channel_id)).scalar_one()
        for sid in shipments.values():
            enqueue(conn, "shipment_confirm", code, f"shipment_confirm:{sid}",
                    {"order_id": order_id, "shipment_id": sid, "carrier": carrier, "tracking": tracking}, order_id)
            audit(conn, actor, "shipment", sid, "shipment.shipped", {"order_id": order_id, "carrier": carrier, "tracking": tracking})
        return list(shipments.values())

    return store.run(_do)
