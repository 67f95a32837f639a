"""Dropship: a purchase order to the vendor for the lines routed to its location.

    order_from_vendor(conn, order_id, location_id, actor=...)   routing reserved lines at a
                                                                 dropship location: order them
    resync_dropship(conn, order_id, actor=..., reason=...)      units cancelled or changed: the
                                                                 POs follow what is still held
    cancel_dropship(conn, order_id, actor=..., reason=...)      cancel the order's live POs
    mark_sent(store, dropship_id, actor=...)                     the PO reached the vendor
    rearm_850(store, dropship_id, actor=...)                     a dead 850 back to pending
    waits_for_hold(conn, dropship_id)                            its order is on hold: why
    dropship_orders(conn, order_id=...)                          the POs, with their lines
    outbox_rows(conn, dropship_id)                               its dropship_po and 850 rows

A dropship location (`locations.kind = "dropship"`) is a vendor who ships to our customer.
When its `vendor_partner_id` names an EDI trading partner, the PO is written with an outbox
row `dropship_po` (target the partner's code, key `dropship_po:<id>`) that the gateway turns
into an outbound 850 (`edi_maps.outgoing.queue_850`) and uploads; the upload marks the PO
`sent`. A vendor that is not an EDI partner gets no outbox row: its PO stays `open` until an
operator has sent it by other means (mail, the vendor's portal) and says so (`oms dropship
sent`); a PO whose 850 is still in the outbox is not marked sent by hand.

    open ──> sent ──> acknowledged ──> shipped          (acknowledged and shipped come from
      └────────┴──────────┴──> cancelled                 the vendor's 855/856: not read yet)

A PO covers what was reserved at the vendor's location and is not on an earlier live PO of
the same order and location, so calling `order_from_vendor` again after more was reserved
there orders only the difference, and calling it with nothing new is a no-op; units that
have already shipped from there are never ordered again. Its lines (order line, quantity)
are written once, in its `dropship.ordered` audit event: the ledger is append-only, and
there is no table of PO lines.

A PO is never changed: when the order holds less at the vendor's location than its live POs
there ordered (units cancelled, by an operator, an auto-cancel or the customer's 860),
`resync_dropship` cancels them and orders again what is still reserved there (a new number);
more reserved there than ordered is ordered as the difference. Cancellations and applied
changes call it in their own transaction.

Cancelling tells no vendor anything (an 850 cancel or an 860 to the vendor is not built):
rows for the PO that have not left the outbox are stopped (`dead`, with the reason), and the
audit event says whether the vendor may already hold the PO (`tell_vendor`: it was sent, its
850 was being built or uploaded, or it went). Such a PO also puts the order in the
`dropship_cancel_unconfirmed` queue, with a text naming the PO, for an operator to tell them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
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
from .orders import flag_exception
from .types import utcnow

__all__ = [
    "CANCEL_UNCONFIRMED",
    "DROPSHIP_PO",
    "LIVE",
    "STATUSES",
    "DropshipLine",
    "DropshipPO",
    "Outgoing",
    "Resynced",
    "cancel_dropship",
    "dropship_orders",
    "find_dropship",
    "mark_sent",
    "order_from_vendor",
    "outbox_rows",
    "po_number",
    "rearm_850",
    "resync_dropship",
    "still_held",
    "waits_for_hold",
]

DROPSHIP_PO = "dropship_po"  # the outbox kind, and the counter of our PO numbers
STATUSES = ("open", "sent", "acknowledged", "shipped", "cancelled")
LIVE = ("open", "sent", "acknowledged")  # may still be cancelled
# orders.exception for a cancelled PO the vendor may already hold: an operator tells them.
CANCEL_UNCONFIRMED = "dropship_cancel_unconfirmed"
_ORDERED = "dropship.ordered"
_UNSENT = ("pending", "sending", "failed")  # outbox states of a row that has not gone (yet)


def po_number(n: int) -> str:
    """Our PO number for counter value `n`: "DS000123" (fits BEG03, 1-22 characters)."""
    return f"DS{n:06d}"


def _keys(dropship_id: int) -> tuple[str, str]:
    """The outbox keys of a PO: its dropship_po row, and its 850."""
    return f"{DROPSHIP_PO}:{dropship_id}", f"edi_850:{dropship_id}"


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
    # Cancelled, but the vendor may have it (it was sent, or its 850 was going): tell them.
    tell_vendor: bool = False


@dataclass(frozen=True, slots=True)
class _Held:
    """One order line at one location: units still reserved there, and units shipped from there."""

    line_no: int
    active: int
    consumed: int

    @property
    def units(self) -> int:
        return self.active + self.consumed


@dataclass(frozen=True, slots=True)
class Resynced:
    """What `resync_dropship` did: the POs it cancelled and those it ordered in their place."""

    cancelled: tuple[str, ...] = ()  # PO numbers
    ordered: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.cancelled or self.ordered)

    def text(self) -> str:
        parts = []
        if self.cancelled:
            parts.append("dropship PO " + ", ".join(self.cancelled) + " cancelled")
        if self.ordered:
            parts.append("dropship PO " + ", ".join(self.ordered) + " ordered for what is still reserved")
        return "; ".join(parts)


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One outbox row of a PO (`dropship_po:<id>` or `edi_850:<id>`), as it is now."""

    key: str
    state: str  # pending | sending | sent | failed | dead
    attempts: int
    last_error: str | None
    next_attempt_at: dt.datetime
    sent_at: dt.datetime | None


# ----------------------------------------------------------------------------- writing


def order_from_vendor(conn: Connection, order_id: int, location_id: int, *, actor: str) -> int:
    """Order from the vendor behind dropship location `location_id` what the order has reserved
    there and no live PO covers yet, in the caller's transaction (routing's, after it reserved).
    Returns the new PO's id, or the latest live PO's when nothing is left to order.
    `ShippingError` when the location is not a dropship vendor, the order is closed or
    cancelled, or nothing of the order is reserved there (or all of it has shipped)."""
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
    held = _held_at(conn, order_id, location_id)
    if not held:
        raise ShippingError(f"{where}: nothing of the order is reserved at this dropship location")
    live = dropship_orders(conn, order_id, location_id=location_id, statuses=LIVE)
    lines = _to_order(held, _ordered(live))
    if not lines:
        if live:
            return live[-1].id  # everything reserved there is on order already
        raise ShippingError(f"{where}: everything of the order there has shipped; nothing is left to order")
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
        enqueue(conn, DROPSHIP_PO, location.vendor, _keys(new)[0],
                {"dropship_id": new, "order_id": order_id, "location_id": location_id, "number": number}, order_id)
    return new


def _held_at(conn: Connection, order_id: int, location_id: int) -> dict[int, _Held]:
    """Order line id -> what the order holds at the location (reserved, and shipped from there)."""
    active = func.coalesce(func.sum(Reservation.qty).filter(Reservation.state == "active"), 0)
    consumed = func.coalesce(func.sum(Reservation.qty).filter(Reservation.state == "consumed"), 0)
    rows = conn.execute(
        select(OrderLine.id, OrderLine.line_no, active, consumed)
        .join(Reservation, Reservation.line_id == OrderLine.id)
        .where(OrderLine.order_id == order_id, Reservation.location_id == location_id,
               Reservation.state.in_(("active", "consumed")))
        .group_by(OrderLine.id, OrderLine.line_no)
        .order_by(OrderLine.line_no)
    ).all()
    return {int(a): _Held(int(b), int(c), int(d)) for a, b, c, d in rows}


def _ordered(pos: Sequence[DropshipPO]) -> dict[int, int]:
    """Order line id -> units the POs ordered."""
    out: dict[int, int] = {}
    for po in pos:
        for ln in po.lines:
            out[ln.line_id] = out.get(ln.line_id, 0) + ln.qty
    return out


def _to_order(held: Mapping[int, _Held], covered: Mapping[int, int]) -> list[DropshipLine]:
    """What a new PO orders: per line, what is held and no live PO covers, but never units that
    have shipped already (at most what is still reserved)."""
    out: list[DropshipLine] = []
    for line_id, h in held.items():
        need = min(h.active, h.units - covered.get(line_id, 0))
        if need > 0:
            out.append(DropshipLine(line_id, h.line_no, need))
    return out


def still_held(conn: Connection, po: DropshipPO) -> tuple[DropshipLine, ...]:
    """The PO's lines cut to what its order still holds (reserved, or shipped) at the PO's
    location, after the earlier live POs of the same order and location took theirs; lines
    left with nothing are left out. What an 850 may order."""
    held = {line_id: h.units for line_id, h in _held_at(conn, po.order_id, po.location_id).items()}
    for earlier in dropship_orders(conn, po.order_id, location_id=po.location_id, statuses=LIVE):
        if earlier.id >= po.id:
            break
        for ln in earlier.lines:
            held[ln.line_id] = held.get(ln.line_id, 0) - ln.qty
    cut = (DropshipLine(ln.line_id, ln.line_no, min(ln.qty, held.get(ln.line_id, 0)), ln.sku) for ln in po.lines)
    return tuple(ln for ln in cut if ln.qty > 0)


def resync_dropship(conn: Connection, order_id: int, *, actor: str, reason: str) -> Resynced:
    """Make the order's dropship POs follow what it still holds at each vendor, in the caller's
    transaction (a cancellation's, a change's). Where the order holds less (reserved, or shipped
    from there) than its live POs ordered, those POs are cancelled (`cancel_dropship`, with
    `reason`) and what is still reserved there is ordered again on a new PO; where more is
    reserved than ordered, the difference is ordered. Nothing to do is a no-op."""
    live = dropship_orders(conn, order_id, statuses=LIVE)
    vendors = set(conn.execute(  # dropship locations where the order has units reserved
        select(Reservation.location_id).distinct()
        .join(OrderLine, OrderLine.id == Reservation.line_id)
        .join(Location, Location.id == Reservation.location_id)
        .where(OrderLine.order_id == order_id, Reservation.state == "active", Location.kind == "dropship")
    ).scalars())
    cancelled: list[str] = []
    ordered: list[str] = []
    for loc in sorted({po.location_id for po in live} | vendors):
        here = [po for po in live if po.location_id == loc]
        held = _held_at(conn, order_id, loc)
        covered = _ordered(here)
        units = {line_id: h.units for line_id, h in held.items()}
        short = any(units.get(line_id, 0) < qty for line_id, qty in covered.items())
        if short:
            cancel_dropship(conn, order_id, actor=actor, reason=reason, location_id=loc)
            cancelled += [po.number for po in here]
            covered = {}
        if loc in vendors and _to_order(held, covered):
            new = order_from_vendor(conn, order_id, loc, actor=actor)
            ordered.append(conn.execute(select(DropshipOrder.number).where(DropshipOrder.id == new)).scalar_one())
    done = Resynced(tuple(cancelled), tuple(ordered))
    if done:
        audit(conn, actor, "order", order_id, "order.dropship_resynced",
              {"reason": reason, "cancelled": cancelled, "ordered": ordered})
    return done


def cancel_dropship(
    conn: Connection, order_id: int, *, actor: str, reason: str, location_id: int | None = None
) -> list[int]:
    """Cancel the order's live POs (at one location, or all), in the caller's transaction (the
    order's cancellation). Their unsent outbox rows are stopped; a PO the vendor may already
    hold puts the order in the `dropship_cancel_unconfirmed` queue. Returns the ids cancelled."""
    cancelled: list[int] = []
    for po in dropship_orders(conn, order_id, location_id=location_id, statuses=LIVE):
        conn.execute(update(DropshipOrder).where(DropshipOrder.id == po.id).values(status="cancelled"))
        stopped, may_have = _stop_unsent(conn, po, reason)
        # Nothing cancels it at the vendor: an operator must, when it may have reached them.
        tell = po.status != "open" or may_have
        audit(conn, actor, "dropship", po.id, "dropship.cancelled", {
            "order_id": order_id, "number": po.number, "was": po.status, "reason": reason, "vendor": po.vendor,
            "stopped": stopped, "tell_vendor": tell,
        })
        if tell:
            _unconfirmed(conn, po, f"was cancelled ({reason})", actor)
        cancelled.append(po.id)
    return cancelled


def _unconfirmed(conn: Connection, po: DropshipPO, what: str, actor: str) -> None:
    """Put the PO's order in the dropship_cancel_unconfirmed queue: the vendor may ship it."""
    vendor = po.vendor or f"the vendor of {po.location}"
    text = (f"dropship PO {po.number} {what} but {vendor} may already have it: "
            f"tell them it is cancelled")
    flag_exception(conn, po.order_id, CANCEL_UNCONFIRMED, text, actor=actor, action="order.dropship_cancel_unconfirmed",
                   detail={"dropship_id": po.id, "number": po.number, "vendor": po.vendor},
                   replaces=f"dropship PO {po.number} ", text_start=r"dropship PO \S+ ")


def _stop_unsent(conn: Connection, po: DropshipPO, reason: str) -> tuple[list[str], bool]:
    """Outbox rows for the PO not yet sending (its dropship_po row, its built 850) become dead
    with the reason, and the 850's interchange awaits no 997. Returns the keys stopped and
    whether the vendor may have it: its 850 was being sent or was sent, or its dropship_po row
    was being turned into an 850 (which then may have been queued)."""
    rows = conn.execute(
        select(OutboxMessage.id, OutboxMessage.idempotency_key, OutboxMessage.state, OutboxMessage.payload)
        .where(OutboxMessage.idempotency_key.in_(_keys(po.id)))
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
        elif row.state == "sending" or (row.state == "sent" and row.idempotency_key.startswith("edi_850:")):
            may_have = True
    return stopped, may_have


def mark_sent(store: Store, dropship_id: int, *, actor: str, outbox_id: int | None = None) -> str:
    """The PO reached its vendor: an open PO becomes sent (an operator's word for a vendor
    without EDI; the dispatcher's upload of its 850, whose outbox row `outbox_id` is marked
    sent in the same transaction). An operator's word is refused while the PO's dropship_po or
    850 row is still in the outbox (the gateway sends it). Returns the PO's status after."""

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
        if outbox_id is None:
            waiting = [r for r in outbox_rows(conn, dropship_id) if r.state in _UNSENT]
            if waiting:
                w = waiting[-1]
                what = "its 850" if w.key.startswith("edi_850:") else "it"
                raise ShippingError(
                    f"dropship PO {row.number}: {what} is in the outbox for the gateway to send ({w.key} {w.state}); "
                    "it is not marked sent by hand while the gateway may send it")
        if row.status == "open":
            conn.execute(update(DropshipOrder).where(DropshipOrder.id == dropship_id)
                         .values(status="sent", sent_at=now))
        elif outbox_id is None:
            raise ShippingError(f"dropship PO {row.number} is {row.status}; only an open PO can be marked sent")
        detail: dict[str, Any] = {"order_id": row.order_id, "number": row.number, "was": row.status}
        if row.status == "cancelled":
            detail["tell_vendor"] = True  # its 850 went out as it was being cancelled
            [po] = dropship_orders(conn, ids=[dropship_id])
            _unconfirmed(conn, po, "was cancelled as its 850 went out", actor)
        audit(conn, actor, "dropship", dropship_id, "dropship.sent", detail)
        return "sent" if row.status == "open" else str(row.status)

    return store.run(_do)


def rearm_850(store: Store, dropship_id: int, *, actor: str) -> Outgoing | None:
    """Put the PO's dead 850 back in the outbox (pending, due now, its attempts counted from
    zero again) for the gateway to send; audited. Returns its row after, None when the PO has
    no 850 row. `ShippingError` for a cancelled PO (its 850 must not go)."""

    def _do(conn: Connection) -> Outgoing | None:
        row = conn.execute(
            select(DropshipOrder.number, DropshipOrder.status, DropshipOrder.order_id)
            .where(DropshipOrder.id == dropship_id)
        ).first()
        if row is None:
            raise NotFound(f"no dropship PO {dropship_id}")
        if row.status == "cancelled":
            raise ShippingError(f"dropship PO {row.number} is cancelled; its 850 is not sent")
        key = _keys(dropship_id)[1]
        found = [r for r in outbox_rows(conn, dropship_id) if r.key == key]
        if not found:
            return None
        if found[0].state == "dead":
            conn.execute(update(OutboxMessage).where(OutboxMessage.idempotency_key == key).values(
                state="pending", attempts=0, next_attempt_at=utcnow(), claimed_by=None))
            audit(conn, actor, "dropship", dropship_id, "dropship.850_rearmed", {
                "order_id": row.order_id, "number": row.number, "key": key, "last_error": found[0].last_error})
            found = [r for r in outbox_rows(conn, dropship_id) if r.key == key]
        return found[0]

    return store.run(_do)


# ----------------------------------------------------------------------------- reading


def waits_for_hold(conn: Connection, dropship_id: int) -> str | None:
    """Why the PO must not go to its vendor now, when its order is on hold ("dropship PO
    DS000001 waits for the hold on order W-1 (fraud: card declined)"); None otherwise."""
    row = conn.execute(
        select(DropshipOrder.number, Order.external_id, Order.status, Order.hold_kind, Order.hold_reason)
        .join(Order, Order.id == DropshipOrder.order_id).where(DropshipOrder.id == dropship_id)
    ).first()
    if row is None or row.status != "on_hold":
        return None
    return (f"dropship PO {row.number} waits for the hold on order {row.external_id} "
            f"({row.hold_kind or 'manual'}: {row.hold_reason or 'no reason given'})")



def outbox_rows(conn: Connection, dropship_id: int) -> list[Outgoing]:
    """The PO's outbox rows: its dropship_po row, then its 850 (each when there is one)."""
    rows = conn.execute(
        select(OutboxMessage.idempotency_key, OutboxMessage.state, OutboxMessage.attempts, OutboxMessage.last_error,
               OutboxMessage.next_attempt_at, OutboxMessage.sent_at)
        .where(OutboxMessage.idempotency_key.in_(_keys(dropship_id)))
        .order_by(OutboxMessage.id)
    ).all()
    return [Outgoing(*r) for r in rows]


def dropship_orders(
    conn: Connection,
    order_id: int | None = None,
    *,
    location_id: int | None = None,
    statuses: Sequence[str] | None = None,
    ids: Sequence[int] | None = None,
) -> list[DropshipPO]:
    """Dropship POs, oldest first: an order's (or every order's), at one location, in some
    statuses, or by id; each with its lines, and a cancelled one with whether the vendor may
    have it (`tell_vendor`)."""
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
    tell = _tell_vendor(conn, [r.id for r in rows if r.status == "cancelled"])
    return [
        DropshipPO(r.id, r.number, r.order_id, r.external_id, r.location_id, r.code, r.vendor, r.status,
                   r.created_at, r.sent_at, lines.get(r.id, ()), r.id in tell)
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


def _tell_vendor(conn: Connection, ids: Sequence[int]) -> set[int]:
    """Of these cancelled POs, those the vendor may have (their cancellation, or an 850 that
    went as they were cancelled, said `tell_vendor`)."""
    if not ids:
        return set()
    events = conn.execute(
        select(AuditEvent.entity_id, AuditEvent.detail)
        .where(AuditEvent.entity == "dropship", AuditEvent.action.in_(("dropship.cancelled", "dropship.sent")),
               AuditEvent.entity_id.in_(list(ids)))
    ).all()
    return {int(entity_id) for entity_id, detail in events if isinstance(detail, dict) and detail.get("tell_vendor")}


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
