"""Ship everything reserved in one go: a convenience over store.shipping for callers that do not
pack (the demo, tests, a store without GS1 labels). Each location ships loose, without cartons."""

from __future__ import annotations

from sqlalchemy import Connection, select

from .db import Store
from .errors import TransitionError
from .models import OrderLine, Reservation
from .orders import _load
from .shipping import SHIPPABLE, ship_in

__all__ = ["ship_reserved"]


def ship_reserved(
    store: Store, order_id: int, *, carrier: str, tracking: str, actor: str = "operator"
) -> list[int]:
    """Ship every reserved unit of an order, one shipment per location; returns the new shipment
    ids. TransitionError when the order cannot ship or has nothing reserved; ShippingError
    without a tracking number."""

    def _do(conn: Connection) -> list[int]:
        order = _load(conn, order_id)
        if order.status not in SHIPPABLE:
            raise TransitionError(f"order {order.external_id} is {order.status}; only reserved stock can ship")
        locations = conn.execute(
            select(Reservation.location_id).distinct()
            .join(OrderLine, OrderLine.id == Reservation.line_id)
            .where(OrderLine.order_id == order_id, Reservation.state == "active")
            .order_by(Reservation.location_id)
        ).scalars().all()
        if not locations:
            raise TransitionError(f"order {order.external_id} has nothing reserved to ship")
        return [ship_in(conn, order_id, loc, carrier=carrier, tracking=tracking, actor=actor).shipment_id
                for loc in locations]

    return store.run(_do)
