"""Read-only queries behind the order screen: one order with everything about it.

    order_detail(conn, order_id) -> OrderDetail   header, lines, reservations, routing
                                                  decisions, shipments, confirmations, source
                                                  document and history (audit events)
    ship_choices(conn, order_id) -> [ShipFrom]    where units are reserved, line by line

Nothing here writes, and nothing imports a UI.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, or_, select

from ..errors import NotFound
from ..models import (
    AuditEvent,
    Carton,
    Channel,
    Document,
    Location,
    Order,
    OrderLine,
    OutboxMessage,
    Reservation,
    Return,
    RoutingDecision,
    Shipment,
    ShipmentLine,
    Sku,
    TradingPartner,
)
from ..routing.explain import explain_lines
from .common import format_money
from .documents import x12_segments

__all__ = [
    "HISTORY_LIMIT",
    "DecisionRow",
    "CartonRow",
    "ConfirmationRow",
    "HistoryRow",
    "LineRow",
    "OrderDetail",
    "OrderHeader",
    "ReservationRow",
    "ShipFrom",
    "ShipmentRow",
    "SourceDocument",
    "explain",
    "external_id",
    "order_detail",
    "ship_choices",
]

# The newest audit events shown; an order's history rarely comes near it.
HISTORY_LIMIT = 500
# Raw documents are shown up to this many characters (a whole EDI interchange can be large).
SOURCE_LIMIT = 200_000


@dataclass(frozen=True, slots=True)
class OrderHeader:
    id: int
    external_id: str
    channel: str
    partner: str | None
    status: str
    exception: str | None
    exception_detail: str | None
    hold_kind: str | None
    hold_reason: str | None
    buyer: str | None
    ship_to: str
    fulfilment: str
    priority: int
    placed_at: dt.datetime | None
    received_at: dt.datetime
    updated_at: dt.datetime
    ship_by: dt.date | None
    cancel_after: dt.date | None
    total: str
    currency: str
    document_id: int | None


@dataclass(frozen=True, slots=True)
class LineRow:
    line_no: int
    item: str
    item_kind: str
    sku: str | None
    description: str | None
    qty: int
    reserved: int
    backordered: int
    shipped: int
    cancelled: int
    unit_price: str

    @property
    def open(self) -> int:
        return self.qty - self.reserved - self.backordered - self.shipped - self.cancelled


@dataclass(frozen=True, slots=True)
class ReservationRow:
    line_no: int
    sku: str
    location: str
    qty: int
    state: str
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class DecisionRow:
    id: int
    at: dt.datetime
    trigger: str
    outcome: str
    rule: str | None
    cost: str | None
    explanation: dict[str, Any]


@dataclass(frozen=True, slots=True)
class CartonRow:
    sscc: str
    tracking: str | None
    weight_grams: int | None
    lines: tuple[tuple[int, int], ...]  # (line number, units)


@dataclass(frozen=True, slots=True)
class ShipmentRow:
    id: int
    location: str
    status: str
    carrier: str | None
    service: str | None
    tracking: str | None
    shipped_at: dt.datetime | None
    lines: tuple[tuple[int, int], ...]  # (line number, units), loose and in cartons
    cartons: tuple[CartonRow, ...]


@dataclass(frozen=True, slots=True)
class ConfirmationRow:
    """A shipment_confirm outbox message: the channel being told the order shipped."""

    id: int
    state: str
    target: str
    attempts: int
    last_error: str | None
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class HistoryRow:
    at: dt.datetime
    actor: str
    action: str
    detail: str


@dataclass(frozen=True, slots=True)
class SourceDocument:
    id: int
    kind: str
    source: str
    received_at: dt.datetime
    text: str
    truncated: bool


@dataclass(frozen=True, slots=True)
class OrderDetail:
    header: OrderHeader
    lines: tuple[LineRow, ...]
    reservations: tuple[ReservationRow, ...]
    decisions: tuple[DecisionRow, ...]
    shipments: tuple[ShipmentRow, ...]
    confirmations: tuple[ConfirmationRow, ...]
    history: tuple[HistoryRow, ...]
    document: SourceDocument | None


@dataclass(frozen=True, slots=True)
class ShipFrom:
    """A location with units of the order reserved there: (line number, SKU, units) each."""

    location: str
    name: str
    lines: tuple[tuple[int, str, int], ...]

    @property
    def units(self) -> int:
        return sum(q for _, _, q in self.lines)


def _address(o: Any) -> str:
    parts = [o.ship_to_name, o.ship_to_address1, o.ship_to_address2, o.ship_to_city,
             " ".join(p for p in (o.ship_to_region, o.ship_to_postal_code) if p), o.ship_to_country]
    return ", ".join(p for p in parts if p) or "-"


def _header(conn: Connection, order_id: int) -> OrderHeader:
    row = conn.execute(
        select(Order, Channel.code.label("channel_code"), TradingPartner.code.label("partner_code"))
        .join(Channel, Channel.id == Order.channel_id)
        .outerjoin(TradingPartner, TradingPartner.id == Order.partner_id)
        .where(Order.id == order_id)
    ).first()
    if row is None:
        raise NotFound(f"no order {order_id}")
    buyer = " ".join(p for p in (row.buyer_name, f"({row.buyer_ref})" if row.buyer_ref else None) if p) or None
    return OrderHeader(
        id=row.id, external_id=row.external_id, channel=row.channel_code, partner=row.partner_code,
        status=row.status, exception=row.exception, exception_detail=row.exception_detail,
        hold_kind=row.hold_kind, hold_reason=row.hold_reason, buyer=buyer, ship_to=_address(row),
        fulfilment=row.fulfilment, priority=row.priority, placed_at=row.placed_at, received_at=row.received_at,
        updated_at=row.updated_at, ship_by=row.requested_ship_date, cancel_after=row.cancel_after,
        total=format_money(row.total_minor, row.currency), currency=row.currency, document_id=row.document_id,
    )


def _lines(conn: Connection, order_id: int, currency: str) -> tuple[LineRow, ...]:
    return tuple(
        LineRow(r.line_no, r.item, r.item_kind, r.sku, r.description, r.qty, r.qty_reserved, r.qty_backordered,
                r.qty_shipped, r.qty_cancelled, format_money(r.unit_price_minor, currency))
        for r in conn.execute(
            select(OrderLine, Sku.code.label("sku")).outerjoin(Sku, Sku.id == OrderLine.sku_id)
            .where(OrderLine.order_id == order_id).order_by(OrderLine.line_no)
        )
    )


def _reservations(conn: Connection, order_id: int) -> tuple[ReservationRow, ...]:
    return tuple(
        ReservationRow(r.line_no, r.sku, r.location, r.qty, r.state, r.created_at)
        for r in conn.execute(
            select(OrderLine.line_no, Sku.code.label("sku"), Location.code.label("location"), Reservation.qty,
                   Reservation.state, Reservation.created_at)
            .join(OrderLine, OrderLine.id == Reservation.line_id)
            .join(Sku, Sku.id == Reservation.sku_id)
            .join(Location, Location.id == Reservation.location_id)
            .where(OrderLine.order_id == order_id)
            .order_by(Reservation.state != "active", OrderLine.line_no, Location.code, Reservation.id)
        )
    )


def _decisions(conn: Connection, order_id: int, currency: str) -> tuple[DecisionRow, ...]:
    return tuple(
        DecisionRow(r.id, r.at, r.trigger, r.outcome, r.rule,
                    format_money(r.cost_minor, currency) if r.cost_minor is not None else None,
                    dict(r.explanation or {}))
        for r in conn.execute(
            select(RoutingDecision.id, RoutingDecision.at, RoutingDecision.trigger, RoutingDecision.outcome,
                   RoutingDecision.rule, RoutingDecision.cost_minor, RoutingDecision.explanation)
            .where(RoutingDecision.order_id == order_id).order_by(RoutingDecision.id.desc())
        )
    )


def _shipments(conn: Connection, order_id: int) -> tuple[ShipmentRow, ...]:
    ships = conn.execute(
        select(Shipment, Location.code.label("location")).join(Location, Location.id == Shipment.location_id)
        .where(Shipment.order_id == order_id).order_by(Shipment.id)
    ).all()
    if not ships:
        return ()
    ids = [s.id for s in ships]
    contents: dict[int, list[tuple[int | None, int, int]]] = {}
    for sid, cid, line_no, qty in conn.execute(
        select(ShipmentLine.shipment_id, ShipmentLine.carton_id, OrderLine.line_no, ShipmentLine.qty)
        .join(OrderLine, OrderLine.id == ShipmentLine.line_id)
        .where(ShipmentLine.shipment_id.in_(ids)).order_by(ShipmentLine.id)
    ):
        contents.setdefault(sid, []).append((cid, line_no, qty))
    cartons: dict[int, list[Any]] = {}
    for c in conn.execute(select(Carton).where(Carton.shipment_id.in_(ids)).order_by(Carton.id)):
        cartons.setdefault(c.shipment_id, []).append(c)
    out = []
    for s in ships:
        lines: dict[int, int] = {}
        for _, n, q in contents.get(s.id, []):
            lines[n] = lines.get(n, 0) + q
        boxes = tuple(
            CartonRow(c.sscc, c.tracking, c.weight_grams,
                      tuple((n, q) for cid, n, q in contents.get(s.id, []) if cid == c.id))
            for c in cartons.get(s.id, [])
        )
        out.append(ShipmentRow(s.id, s.location, s.status, s.carrier, s.service, s.tracking, s.shipped_at,
                               tuple(sorted(lines.items())), boxes))
    return tuple(out)


def _confirmations(conn: Connection, order_id: int) -> tuple[ConfirmationRow, ...]:
    return tuple(
        ConfirmationRow(r.id, r.state, r.target, r.attempts, r.last_error, r.created_at)
        for r in conn.execute(
            select(OutboxMessage.id, OutboxMessage.state, OutboxMessage.target, OutboxMessage.attempts,
                   OutboxMessage.last_error, OutboxMessage.created_at)
            .where(OutboxMessage.order_id == order_id, OutboxMessage.kind == "shipment_confirm")
            .order_by(OutboxMessage.id)
        )
    )


def _detail_text(detail: Any) -> str:
    if not isinstance(detail, dict):
        return str(detail or "")
    return ", ".join(f"{k}={v}" for k, v in detail.items() if v not in (None, "", [], {}))


def _history(conn: Connection, order_id: int, shipment_ids: list[int]) -> tuple[HistoryRow, ...]:
    returns = select(Return.id).where(Return.order_id == order_id)
    messages = select(OutboxMessage.id).where(OutboxMessage.order_id == order_id)
    about = [
        (AuditEvent.entity == "order") & (AuditEvent.entity_id == order_id),
        (AuditEvent.entity == "return") & AuditEvent.entity_id.in_(returns),
        (AuditEvent.entity == "outbox") & AuditEvent.entity_id.in_(messages),
    ]
    if shipment_ids:
        about.append((AuditEvent.entity == "shipment") & AuditEvent.entity_id.in_(shipment_ids))
    rows = conn.execute(
        select(AuditEvent.at, AuditEvent.actor, AuditEvent.action, AuditEvent.detail)
        .where(or_(*about)).order_by(AuditEvent.id.desc()).limit(HISTORY_LIMIT)
    ).all()
    return tuple(HistoryRow(r.at, r.actor, r.action, _detail_text(r.detail)) for r in rows)


def _document(conn: Connection, document_id: int | None) -> SourceDocument | None:
    if document_id is None:
        return None
    row = conn.execute(
        select(Document.id, Document.kind, Document.source, Document.received_at, Document.payload)
        .where(Document.id == document_id)
    ).first()
    if row is None:
        return None
    raw = bytes(row.payload or b"")
    text = raw[:SOURCE_LIMIT].decode("utf-8", errors="replace")
    if row.kind == "x12" and (segments := x12_segments(text)) is not None:
        separator = text.lstrip("\ufeff\r\n\t ")[3]  # the ISA's element separator
        text = "\n".join(separator.join(elements) for elements in segments)
    return SourceDocument(row.id, row.kind, row.source, row.received_at, text, len(raw) > SOURCE_LIMIT)


def order_detail(conn: Connection, order_id: int) -> OrderDetail:
    """Everything the order screen shows. NotFound for no such order."""
    header = _header(conn, order_id)
    shipments = _shipments(conn, order_id)
    return OrderDetail(
        header=header,
        lines=_lines(conn, order_id, header.currency),
        reservations=_reservations(conn, order_id),
        decisions=_decisions(conn, order_id, header.currency),
        shipments=shipments,
        confirmations=_confirmations(conn, order_id),
        history=_history(conn, order_id, [s.id for s in shipments]),
        document=_document(conn, header.document_id),
    )


def external_id(conn: Connection, order_id: int) -> str:
    """The order's own id as its channel knows it (what a form's title names). NotFound."""
    found = conn.execute(select(Order.external_id).where(Order.id == order_id)).scalar_one_or_none()
    if found is None:
        raise NotFound(f"no order {order_id}")
    return str(found)


def ship_choices(conn: Connection, order_id: int) -> list[ShipFrom]:
    """Locations where the order has units reserved, most units first."""
    rows = conn.execute(
        select(Location.code, Location.name, OrderLine.line_no, Sku.code.label("sku"), Reservation.qty)
        .join(OrderLine, OrderLine.id == Reservation.line_id)
        .join(Sku, Sku.id == Reservation.sku_id)
        .join(Location, Location.id == Reservation.location_id)
        .where(OrderLine.order_id == order_id, Reservation.state == "active")
    ).all()
    by_loc: dict[str, tuple[str, dict[tuple[int, str], int]]] = {}
    for r in rows:
        _, lines = by_loc.setdefault(r.code, (r.name, {}))
        lines[(r.line_no, r.sku)] = lines.get((r.line_no, r.sku), 0) + r.qty
    out = [ShipFrom(code, name, tuple((n, s, q) for (n, s), q in sorted(lines.items())))
           for code, (name, lines) in by_loc.items()]
    return sorted(out, key=lambda f: (-f.units, f.location))


def explain(d: DecisionRow) -> list[str]:
    """A routing decision as lines a person reads (see `store.routing.explain`)."""
    return explain_lines(at=d.at, trigger=d.trigger, outcome=d.outcome, rule=d.rule, cost=d.cost,
                         explanation=d.explanation)
