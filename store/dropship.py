"""Dropship: a purchase order to the vendor for the lines routed to its location.

    order_from_vendor(conn, order_id, location_id, actor=...)   routing reserved lines at a
                                                                 dropship location: order them
    cancel_dropship(conn, order_id, actor=..., reason=...)      the order was cancelled
    mark_sent(store, dropship_id, actor=...)                     the PO reached the vendor
    dropship_orders(conn, order_id=...)                          the POs, with their lines

A dropship location (`locations.kind = "dropship"`) is a vendor who ships to our customer.
When its `vendor_partner_id` names an EDI trading partner, the PO is written with an outbox
row `dropship_po` (target the partner's code, key `dropship_po:<id>`) that the gateway turns
into an outbound 850 (`edi_maps.outgoing.queue_850`) and uploads; the upload marks the PO
`sent`. A vendor that is not an EDI partner gets no outbox row: its PO stays `open` until an
operator has sent it by other means (mail, the vendor's portal) and says so (`oms dropship
sent`).

    open ──> sent ──> acknowledged ──> shipped          (acknowledged and shipped come from
      └────────┴──────────┴──> cancelled                 the vendor's 855/856: not read yet)

A PO covers what was reserved at the vendor's location and is not on an earlier live PO of
the same order and location, so calling `order_from_vendor` again after more was reserved
there orders only the difference, and calling it with nothing new is a no-op. Its lines
(order line, quantity) are written once, in its `dropship.ordered` audit event: the ledger
is append-only, and there is no table of PO lines.

Cancelling tells no vendor anything (an 850 cancel or an 860 to the vendor is not built):
rows for the PO that have not left the outbox are stopped (`dead`, with the reason), and the
audit event says whether the vendor may already hold the PO (`tell_vendor`), for an operator.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from .counters import take
from .db import Store
from .errors import NotFound, ShippingError
from .journal import audit, enqueue
from .models import (
    AuditEvent,
    DropshipOrder,
    Interchange,
    Location,
    Order,
    OrderLine,
    OutboxMessage,
    Reservation,
    Sku,
    TradingPartner,
)
from .types import utcnow

__all__ = [
    "DROPSHIP_PO",
    "LIVE",
    "STATUSES",
    "DropshipLine",
    "DropshipPO",
    "cancel_dropship",
    "dropship_orders",
    "find_dropship",
    "mark_sent",
    "order_from_vendor",
    "po_number",
]

DROPSHIP_PO = "dropship_po"  # the outbox kind, and the counter of our PO numbers
STATUSES = ("open", "sent", "acknowledged", "shipped", "cancelled")
LIVE = ("open", "sent", "acknowledged")  # may still be cancelled
_ORDERED = "dropship.ordered"


def po_number(n: int) -> str:
    """Our PO number for counter value `n`: "DS000123" (fits BEG03, 1-22 characters)."""
    return f"DS{n:06d}"


@dataclass(frozen=True, slots=True)
class DropshipLine:
    line_id: int
    line_no: int
    qty: int
    sku: str | None = None  # our SKU code (read back with the PO)


@dataclass(frozen=True, slots=True)
class DropshipPO:
    id: int
    number: str
    order_id: int
    order: str  # the order's external id
    location_id: int
    location: str  # its code
    vendor: str | None  # the vendor's partner code; None: not an EDI partner (an operator sends it)
    status: str
    created_at: dt.datetime
    sent_at: dt.datetime | None
    lines: tuple[DropshipLine, ...]


# ----------------------------------------------------------------------------- writing


def order_from_vendor(conn: Connection, order_id: int, location_id: int, *, actor: str) -> int:
    """Order from the vendor behind dropship location `location_id` what the order has reserved
    there and no live PO covers yet, in the caller's transaction (routing's, after it reserved).
    Returns the new PO's id, or the latest live PO's when nothing is left to order.
    `ShippingError` when the location is not a dropship vendor, the order is closed or
    cancelled, or nothing of the order is reserved there."""
    location = conn.execute(
        select(Location.code, Location.kind, Location.vendor_partner_id, TradingPartner.code.label("vendor"))
        .outerjoin(TradingPartner, TradingPartner.id == Location.vendor_partner_id)
        .where(Location.id == location_id)
    ).first()
    if location is None:
        raise NotFound(f"no location {location_id}")
    stmt = select(Order.external_id, Order.status).where(Order.id == order_id)
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update()  # two routings of one order order once
    order = conn.execute(stmt).first()
    if order is None:
        raise NotFound(f"no order {order_id}")
    where = f"order {order.external_id}, location {location.code}"
    if location.kind != "dropship":
        raise ShippingError(f"{where}: the location is a {location.kind}, not a dropship vendor")
    if order.status in ("cancelled", "closed", "shipped", "picked_up"):
        raise ShippingError(f"{where}: the order is {order.status}; nothing is ordered from the vendor")
    wanted = _reserved_at(conn, order_id, location_id)
    if not wanted:
        raise ShippingError(f"{where}: nothing of the order is reserved at this dropship location")
    live = dropship_orders(conn, order_id, location_id=location_id, statuses=LIVE)
    covered: dict[int, int] = {}
    for po in live:
        for ln in po.lines:
            covered[ln.line_id] = covered.get(ln.line_id, 0) + ln.qty
    lines = [DropshipLine(line_id, line_no, qty - covered.get(line_id, 0))
             for line_id, line_no, qty in wanted if qty > covered.get(line_id, 0)]
    if not lines:
        return live[-1].id  # everything reserved there is on order already
    now = utcnow()
    number = po_number(take(conn, DROPSHIP_PO)[0])
    new = int(conn.execute(
        insert(DropshipOrder)
        .values(order_id=order_id, location_id=location_id, number=number, status="open", created_at=now)
        .returning(DropshipOrder.id)
    ).scalar_one())
    audit(conn, actor, "dropship", new, _ORDERED, {
        "order_id": order_id, "number": number, "location": location.code, "vendor": location.vendor,
        "lines": [[ln.line_id, ln.line_no, ln.qty] for ln in lines],
    })
    audit(conn, actor, "order", order_id, "order.dropship_ordered", {
        "dropship_id": new, "number": number, "location": location.code, "vendor": location.vendor,
        "units": sum(ln.qty for ln in lines),
    })
    if location.vendor is not None:
        enqueue(conn, DROPSHIP_PO, location.vendor, f"{DROPSHIP_PO}:{new}",
                {"dropship_id": new, "order_id": order_id, "location_id": location_id, "number": number}, order_id)
    return new


def _reserved_at(conn: Connection, order_id: int, location_id: int) -> list[tuple[int, int, int]]:
    """(line id, line number, units) reserved for the order at the location, still held or shipped."""
    rows = conn.execute(
        select(OrderLine.id, OrderLine.line_no, func.sum(Reservation.qty))
        .join(Reservation, Reservation.line_id == OrderLine.id)
        .where(OrderLine.order_id == order_id, Reservation.location_id == location_id,
               Reservation.state.in_(("active", "consumed")))
        .group_by(OrderLine.id, OrderLine.line_no)
        .order_by(OrderLine.line_no)
    ).all()
    return [(int(a), int(b), int(c)) for a, b, c in rows]


def cancel_dropship(
    conn: Connection, order_id: int, *, actor: str, reason: str, location_id: int | None = None
) -> list[int]:
    """Cancel the order's live POs (at one location, or all), in the caller's transaction (the
    order's cancellation). Their unsent outbox rows are stopped; returns the ids cancelled."""
    cancelled: list[int] = []
    for po in dropship_orders(conn, order_id, location_id=location_id, statuses=LIVE):
        conn.execute(update(DropshipOrder).where(DropshipOrder.id == po.id).values(status="cancelled"))
        stopped, may_have = _stop_unsent(conn, po, reason)
        audit(conn, actor, "dropship", po.id, "dropship.cancelled", {
            "order_id": order_id, "number": po.number, "was": po.status, "reason": reason, "vendor": po.vendor,
            "stopped": stopped,
            # Nothing cancels it at the vendor: an operator must, when it may have reached them.
            "tell_vendor": po.status != "open" or may_have,
        })
        cancelled.append(po.id)
    return cancelled


def _stop_unsent(conn: Connection, po: DropshipPO, reason: str) -> tuple[list[str], bool]:
    """Outbox rows for the PO not yet sending (its dropship_po row, its built 850) become dead
    with the reason, and the 850's interchange awaits no 997. Returns the keys stopped and
    whether a row was being sent or was sent (the vendor may have it)."""
    keys = [f"{DROPSHIP_PO}:{po.id}", f"edi_850:{po.id}"]
    rows = conn.execute(
        select(OutboxMessage.id, OutboxMessage.idempotency_key, OutboxMessage.state, OutboxMessage.payload)
        .where(OutboxMessage.idempotency_key.in_(keys))
    ).all()
    stopped: list[str] = []
    may_have = False
    for row in rows:
        if row.state in ("pending", "failed"):
            conn.execute(update(OutboxMessage).where(OutboxMessage.id == row.id).values(
                state="dead", last_error=f"not sent: dropship PO {po.number} was cancelled ({reason})"[:4000]))
            stopped.append(row.idempotency_key)
            isa13 = row.payload.get("interchange") if isinstance(row.payload, dict) else None
            if isa13 and po.vendor is not None:
                conn.execute(
                    update(Interchange)
                    .where(Interchange.direction == "out", Interchange.control_number == str(isa13),
                           Interchange.partner_id == select(TradingPartner.id).where(TradingPartner.code == po.vendor)
                           .scalar_subquery(),
                           Interchange.ack_status == "pending_ack")
                    .values(ack_status=None)
                )
        elif row.state in ("sending", "sent") and row.idempotency_key.startswith("edi_850:"):
            may_have = True
    return stopped, may_have


def mark_sent(store: Store, dropship_id: int, *, actor: str, outbox_id: int | None = None) -> str:
    """The PO reached its vendor: an open PO becomes sent (an operator's word for a vendor
    without EDI; the dispatcher's upload of its 850, whose outbox row `outbox_id` is marked
    sent in the same transaction). Returns the PO's status after."""

    def _do(conn: Connection) -> str:
        now = utcnow()
        if outbox_id is not None:
            conn.execute(update(OutboxMessage).where(OutboxMessage.id == outbox_id)
                         .values(state="sent", sent_at=now, last_error=None))
        row = conn.execute(
            select(DropshipOrder.number, DropshipOrder.status, DropshipOrder.order_id)
            .where(DropshipOrder.id == dropship_id)
        ).first()
        if row is None:
            raise NotFound(f"no dropship PO {dropship_id}")
        if row.status == "open":
            conn.execute(update(DropshipOrder).where(DropshipOrder.id == dropship_id)
                         .values(status="sent", sent_at=now))
        elif outbox_id is None:
            raise ShippingError(f"dropship PO {row.number} is {row.status}; only an open PO can be marked sent")
        detail: dict[str, Any] = {"order_id": row.order_id, "number": row.number, "was": row.status}
        if row.status == "cancelled":
            detail["tell_vendor"] = True  # its 850 went out as it was being cancelled
        audit(conn, actor, "dropship", dropship_id, "dropship.sent", detail)
        return "sent" if row.status == "open" else str(row.status)

    return store.run(_do)


# ----------------------------------------------------------------------------- reading


def dropship_orders(
    conn: Connection,
    order_id: int | None = None,
    *,
    location_id: int | None = None,
    statuses: Sequence[str] | None = None,
    ids: Sequence[int] | None = None,
) -> list[DropshipPO]:
    """Dropship POs, oldest first: an order's (or every order's), at one location, in some
    statuses, or by id; each with its lines."""
    stmt = (
        select(DropshipOrder, Order.external_id, Location.code, TradingPartner.code.label("vendor"))
        .join(Order, Order.id == DropshipOrder.order_id)
        .join(Location, Location.id == DropshipOrder.location_id)
        .outerjoin(TradingPartner, TradingPartner.id == Location.vendor_partner_id)
        .order_by(DropshipOrder.id)
    )
    if order_id is not None:
        stmt = stmt.where(DropshipOrder.order_id == order_id)
    if location_id is not None:
        stmt = stmt.where(DropshipOrder.location_id == location_id)
    if statuses is not None:
        stmt = stmt.where(DropshipOrder.status.in_(list(statuses)))
    if ids is not None:
        stmt = stmt.where(DropshipOrder.id.in_(list(ids)))
    rows = conn.execute(stmt).all()
    lines = _lines(conn, [r.id for r in rows])
    return [
        DropshipPO(r.id, r.number, r.order_id, r.external_id, r.location_id, r.code, r.vendor, r.status,
                   r.created_at, r.sent_at, lines.get(r.id, ()))
        for r in rows
    ]


def find_dropship(conn: Connection, number: str) -> DropshipPO:
    """A PO by its number ("DS000123") or id; `NotFound` otherwise."""
    stmt = select(DropshipOrder.id).where(DropshipOrder.number == number)
    if number.isdigit():
        stmt = select(DropshipOrder.id).where((DropshipOrder.number == number) | (DropshipOrder.id == int(number)))
    found = conn.execute(stmt).scalars().first()
    if found is None:
        raise NotFound(f"no dropship PO {number!r}")
    return dropship_orders(conn, ids=[int(found)])[0]


def _lines(conn: Connection, ids: Sequence[int]) -> dict[int, tuple[DropshipLine, ...]]:
    if not ids:
        return {}
    ordered = conn.execute(
        select(AuditEvent.entity_id, AuditEvent.detail)
        .where(AuditEvent.entity == "dropship", AuditEvent.action == _ORDERED, AuditEvent.entity_id.in_(list(ids)))
    ).all()
    line_ids = {int(a) for _, detail in ordered for a, _b, _c in detail.get("lines", ())}
    skus = dict(conn.execute(
        select(OrderLine.id, Sku.code).join(Sku, Sku.id == OrderLine.sku_id).where(OrderLine.id.in_(line_ids))
    ).all()) if line_ids else {}
    return {
        int(entity_id): tuple(DropshipLine(int(a), int(b), int(c), skus.get(int(a))) for a, b, c in detail.get("lines", ()))
        for entity_id, detail in ordered
    }
