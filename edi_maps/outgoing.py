"""Outbound X12 from the store: 855, 856, 810 and 846 queued in the outbox, never invalid.

    queue_855(store, order_id, actor="edi")       order acknowledgment   key edi_855:{order}:{version}
    queue_856(store, shipment_id, actor="edi")    ship notice            key edi_856:{shipment}
    queue_810(store, shipment_id, actor="edi")    invoice for a shipment key edi_810:{shipment}
    queue_846(store, "acme", actor="edi")         stock advice (ATP)     key edi_846:{partner}:{date}

Each call is one write transaction (invariants 1, 5, 6): read the rows, build the set with the
pure builders, wrap it in the partner's envelope with control numbers taken from the store,
check it with pyx12 (`validate_outbound`), then record the `Interchange` (out, pending_ack),
the outbox row and an audit event. A key already in the outbox makes the call a no-op.

A document that cannot be built or does not validate is not queued: its control numbers are
given back (a savepoint is rolled back) and the order goes to the `edi_invalid` operator queue
with the reasons (an 846 has no order: the reasons go to the partner's audit trail). An order
already waiting in another queue keeps it; the EDI reasons are appended to its detail.

855 rules, per line (zero-quantity lines, which the partner cancelled, are left out):
    IR  the item is unknown (no SKU), or every unit was cancelled
    IQ  some units were cancelled; ACK02 says how many we will ship
    IB  some units are backordered or not yet reserved
    IA  everything still ordered is reserved or shipped
BAK02 is AD when every line is IA, RD when every line is IR, RJ when nothing is left to
acknowledge, else AC. Item ids echo the PO (BP buyer part, VP vendor part, else our SKU code,
UP UPC, EN/UK GTIN-13/14); PO1 line ids are our line numbers and the unit is EA (the store
keeps neither PO101 nor the unit yet).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, and_, func, select, update

from store import Store
from store.catalog import channel_location_ids
from store.control import record_interchange, take_control_numbers
from store.errors import NotFound
from store.journal import audit, enqueue
from store.models import (
    Carton as CartonRow,
    Location,
    Order,
    OrderLine,
    OutboxMessage,
    Shipment as ShipmentRow,
    ShipmentLine,
    Sku,
    SkuAlias,
    StockLevel,
    TradingPartner,
)
from store.types import utcnow

from .ack855 import AckLine, OrderAck, build_855
from .asn856 import Carton, Shipment, ShippedItem, ShippedOrder, build_856
from .errors import EdiError, MappingError, ValidationError
from .invoice810 import Invoice, InvoiceLine, build_810
from .outbound import ItemIds, OutboundSet, Party, PartnerEnvelope, wrap
from .pyx12_validate import validate_outbound
from .stock846 import StockItem, StockSnapshot, build_846

__all__ = ["EDI_INVALID", "Queued", "partner_envelope", "queue_810", "queue_846", "queue_855", "queue_856"]

EDI_INVALID = "edi_invalid"  # orders.exception for a document we refused to send
_MAX_REASONS = 8
_SCAC = re.compile(r"[A-Z0-9]{2,4}")
_ENVELOPE_TEXT = ("element", "component", "terminator", "newline", "repetition", "isa_version")


@dataclass(frozen=True, slots=True)
class Queued:
    """What one call did: `status` is queued, already_queued or invalid."""

    status: str
    key: str
    control_number: int | None = None  # ISA13 taken for it (queued only)
    reasons: tuple[str, ...] = ()

    @property
    def queued(self) -> bool:
        return self.status == "queued"


class _Invalid(Exception):
    def __init__(self, reasons: Sequence[str]) -> None:
        self.reasons = tuple(reasons) or ("pyx12 refused the document",)
        super().__init__("; ".join(self.reasons))


# ----------------------------------------------------------------------------- the partner


def partner_envelope(row: Any) -> PartnerEnvelope:
    """The envelope a `trading_partners` row asks for; delimiters from its config when set."""
    config: Mapping[str, Any] = row.config or {}
    extra: dict[str, Any] = {}
    for name in _ENVELOPE_TEXT:
        if name in config:
            if not isinstance(config[name], str):
                raise ValidationError(f"partner {row.code}: config {name} must be text, got {config[name]!r}")
            extra[name] = config[name]
    if "ack_requested" in config:
        extra["ack_requested"] = bool(config["ack_requested"])
    try:
        return PartnerEnvelope(
            row.our_isa_qualifier, row.our_isa_id, row.isa_qualifier, row.isa_id, our_gs_id=row.our_gs_id,
            their_gs_id=row.gs_id, version=row.x12_version, usage=row.test_indicator, **extra,
        )
    except ValidationError as exc:
        raise ValidationError(f"partner {row.code}: {exc.message}") from exc


def _partner(conn: Connection, partner_id: int | None = None, code: str | None = None) -> Any:
    stmt = select(TradingPartner)
    stmt = stmt.where(TradingPartner.id == partner_id) if partner_id is not None else stmt.where(TradingPartner.code == code)
    row = conn.execute(stmt).first()
    if row is None:
        raise NotFound(f"no trading partner {code if code is not None else partner_id!r}")
    return row


# ------------------------------------------------------------------------- the one write path


def _emit(
    conn: Connection, *, partner: Any, set_id: str, key: str, build: Callable[[], OutboundSet], actor: str,
    entity: str, entity_id: int, order_id: int | None, payload: Mapping[str, Any],
) -> Queued:
    """Build, number, validate and queue one document in the caller's transaction."""
    if conn.execute(select(OutboxMessage.id).where(OutboxMessage.idempotency_key == key)).first():
        return Queued("already_queued", key)
    try:
        envelope = partner_envelope(partner)
        body = build()
        # Control numbers taken here are given back with the savepoint if the document fails.
        with conn.begin_nested():
            isa: list[int] = []
            gs: list[int] = []

            def numbers(kind: str, count: int) -> list[int]:
                got = take_control_numbers(conn, partner.id, kind, count)
                {"isa": isa, "gs": gs}.get(kind, []).extend(got)
                return got

            data = wrap(envelope, [body], numbers, utcnow()).decode("latin-1")
            ok, lines = validate_outbound(data)
            if not ok:
                raise _Invalid(lines)
            isa13 = f"{isa[0]:09d}"
            new = record_interchange(
                conn, direction="out", sender=envelope.our_id, receiver=envelope.their_id, control_number=isa13,
                partner_id=partner.id, ack_status="pending_ack", group_control=str(gs[0]),
            )
            if new is None:
                raise ValidationError(f"interchange {isa13} to {envelope.their_id} was sent before; control numbers repeat")
            enqueue(conn, f"edi_{set_id}", partner.code, key, {"data": data, "interchange": isa13, "set": set_id, **payload},
                    order_id)
            audit(conn, actor, entity, entity_id, f"edi.{set_id}_queued",
                  {"key": key, "partner": partner.code, "interchange": isa13})
            return Queued("queued", key, isa[0])
    except EdiError as exc:
        reasons: tuple[str, ...] = (str(exc),)
    except _Invalid as exc:
        reasons = exc.reasons
    reasons = reasons[:_MAX_REASONS]
    if order_id is not None:
        _flag(conn, order_id, set_id, key, reasons, actor)
    else:
        audit(conn, actor, entity, entity_id, f"edi.{set_id}_invalid", {"key": key, "reasons": list(reasons)})
    return Queued("invalid", key, reasons=reasons)


def _flag(conn: Connection, order_id: int, set_id: str, key: str, reasons: Sequence[str], actor: str) -> None:
    """Put the order in the edi_invalid queue (or add to the queue it is already in)."""
    text = f"{set_id} not sent: " + "; ".join(reasons)
    row = conn.execute(select(Order.exception, Order.exception_detail).where(Order.id == order_id)).one()
    if row.exception in (None, EDI_INVALID):
        values: dict[str, Any] = {"exception": EDI_INVALID, "exception_detail": text[:2000]}
    else:
        values = {"exception_detail": f"{row.exception_detail or ''}; {text}".lstrip("; ")[:2000]}
    conn.execute(update(Order).where(Order.id == order_id).values(updated_at=utcnow(), **values))
    audit(conn, actor, "order", order_id, "order.edi_invalid", {"set": set_id, "key": key, "reasons": list(reasons)})


# ----------------------------------------------------------------------------- shared reads


def _item_ids(ids: Mapping[str, str], sku_code: str | None) -> ItemIds:
    """Qualifier/id pairs for a line: the partner's names first, our SKU as VP when it gave none."""
    out: list[tuple[str, str]] = []
    if ids.get("buyer_part"):
        out.append(("BP", ids["buyer_part"]))
    vendor = ids.get("vendor_part") or sku_code or ids.get("sku")
    if vendor:
        out.append(("VP", vendor))
    if ids.get("upc"):
        out.append(("UP", ids["upc"]))
    gtin = ids.get("gtin")
    if gtin:
        out.append(("UK" if len(gtin) == 14 else "EN", gtin))
    return tuple(out)


def _order(conn: Connection, order_id: int) -> Any:
    row = conn.execute(select(Order).where(Order.id == order_id)).first()
    if row is None:
        raise NotFound(f"no order {order_id}")
    order = row
    if order.partner_id is None:
        raise MappingError(f"order {order.external_id} is not from an EDI trading partner")
    return order


def _date(value: dt.datetime | None, fallback: dt.datetime) -> dt.date:
    return (value or fallback).date()


def _ship_to(order: Any) -> Party:
    return Party(
        "ST", order.ship_to_name or order.buyer_name or "", address1=order.ship_to_address1 or "",
        address2=order.ship_to_address2 or "", city=order.ship_to_city or "", region=order.ship_to_region or "",
        postal_code=order.ship_to_postal_code or "", country=order.ship_to_country or "",
    )


def _carrier(carrier: str | None, service: str | None) -> tuple[str, str]:
    """(SCAC, routing): a carrier that looks like a SCAC goes to TD503/CAD04, else to routing."""
    carrier = (carrier or "").strip()
    scac = carrier if _SCAC.fullmatch(carrier) else ""
    routing = " ".join(x for x in ((carrier if not scac else ""), (service or "").strip()) if x)
    return scac, routing


# ------------------------------------------------------------------------------------- 855


def queue_855(store: Store, order_id: int, *, actor: str = "edi") -> Queued:
    """Acknowledge a partner's order (once per order version)."""

    def _do(conn: Connection) -> Queued:
        order = _order(conn, order_id)
        key = f"edi_855:{order.id}:{order.version}"
        lines = conn.execute(
            select(OrderLine, Sku.code.label("sku_code")).outerjoin(Sku, Sku.id == OrderLine.sku_id)
            .where(OrderLine.order_id == order.id).order_by(OrderLine.line_no)
        ).all()
        acks = tuple(_ack_line(ln) for ln in lines if ln.qty > 0)
        statuses = {a.status for a in acks}
        ack_type = "RJ" if not acks else "AD" if statuses == {"IA"} else "RD" if statuses == {"IR"} else "AC"
        now = utcnow()
        ack = OrderAck(
            order.external_id, _date(order.placed_at, order.received_at), ack_type, acks, currency=order.currency,
            seller_order=str(order.id), ack_date=now.date(),
        )
        partner = _partner(conn, order.partner_id)
        return _emit(conn, partner=partner, set_id="855", key=key, build=lambda: build_855(ack), actor=actor,
                     entity="order", entity_id=order.id, order_id=order.id,
                     payload={"order_id": order.id, "ack_type": ack_type})

    return store.run(_do)


def _ack_line(line: Any) -> AckLine:
    remaining = line.qty - line.qty_cancelled
    qty: int | None = None
    if line.sku_id is None or remaining <= 0:
        status = "IR"
    elif line.qty_cancelled:
        status, qty = "IQ", remaining
    elif line.qty_backordered or line.qty_reserved + line.qty_shipped < line.qty:
        status = "IB"
    else:
        status = "IA"
    return AckLine(str(line.line_no), line.qty, "EA", _item_ids(line.item_ids or {}, line.sku_code), status,
                   unit_price_minor=line.unit_price_minor, qty=qty)


# ------------------------------------------------------------------------------- 856 and 810


@dataclass(frozen=True, slots=True)
class _Shipped:
    """One order line in a shipment (per carton when there are cartons)."""

    carton_id: int | None
    line_no: int
    item_ids: ItemIds
    qty: int
    unit_price_minor: int


def _shipment(conn: Connection, shipment_id: int) -> tuple[Any, Any, Any, list[_Shipped]]:
    row = conn.execute(select(ShipmentRow).where(ShipmentRow.id == shipment_id)).first()
    if row is None:
        raise NotFound(f"no shipment {shipment_id}")
    ship = row
    order = _order(conn, ship.order_id)
    if ship.status != "shipped":
        raise MappingError(f"shipment {shipment_id} is {ship.status}; only shipped goods are announced or invoiced")
    location = conn.execute(select(Location).where(Location.id == ship.location_id)).one()
    rows = _shipped_rows(conn, shipment_id)
    shipped = [_Shipped(c, n, _item_ids(ids or {}, code), int(q), p) for c, n, ids, p, code, q in rows]
    return ship, order, location, shipped


def _shipped_rows(conn: Connection, shipment_id: int) -> Sequence[Any]:
    # Grouped on the line id, its columns joined after (PostgreSQL cannot group JSON).
    sums = (
        select(ShipmentLine.carton_id.label("carton_id"), ShipmentLine.line_id.label("line_id"),
               func.sum(ShipmentLine.qty).label("qty"))
        .where(ShipmentLine.shipment_id == shipment_id)
        .group_by(ShipmentLine.carton_id, ShipmentLine.line_id)
        .subquery()
    )
    return conn.execute(
        select(sums.c.carton_id, OrderLine.line_no, OrderLine.item_ids, OrderLine.unit_price_minor, Sku.code, sums.c.qty)
        .join(OrderLine, OrderLine.id == sums.c.line_id)
        .outerjoin(Sku, Sku.id == OrderLine.sku_id)
        .order_by(sums.c.carton_id, OrderLine.line_no)
    ).all()


def queue_856(store: Store, shipment_id: int, *, actor: str = "edi") -> Queued:
    """Announce a shipment: SOPI with each carton's SSCC when it was packed in cartons, else SOI."""

    def _do(conn: Connection) -> Queued:
        ship, order, location, shipped = _shipment(conn, shipment_id)
        cartons = conn.execute(
            select(CartonRow.id, CartonRow.sscc, CartonRow.weight_grams)
            .where(CartonRow.shipment_id == shipment_id).order_by(CartonRow.id)
        ).all()
        when = ship.shipped_at or ship.created_at
        scac, routing = _carrier(ship.carrier, ship.service)

        def item(s: _Shipped) -> ShippedItem:
            return ShippedItem(s.item_ids, s.qty, "EA", str(s.line_no))

        def build() -> OutboundSet:
            boxed = {s.carton_id is not None for s in shipped}
            if len(boxed) > 1:
                raise ValidationError(f"shipment {shipment_id}: some lines are in cartons and some are not")
            weights = [c.weight_grams for c in cartons]
            if True in boxed:
                po = ShippedOrder(order.external_id, _date(order.placed_at, order.received_at), cartons=tuple(
                    Carton(c.sscc, tuple(item(s) for s in shipped if s.carton_id == c.id)) for c in cartons))
            else:
                po = ShippedOrder(order.external_id, _date(order.placed_at, order.received_at),
                                  items=tuple(item(s) for s in shipped))
            notice = Shipment(
                f"SHIP-{shipment_id}", when.date(), when.time(), when.date(), (po,), _ship_to(order),
                Party("SF", location.name, address1=location.address1 or "", city=location.city or "",
                      region=location.region or "", postal_code=location.postal_code or "",
                      country=location.country or ""),
                structure="SOPI" if True in boxed else "SOI",
                weight=(Decimal(sum(w for w in weights if w)) / 1000 if weights and all(weights) else None),
                weight_uom="KG", scac=scac, routing=routing, bill_of_lading=ship.bol or "", tracking=ship.tracking or "",
            )
            return build_856(notice)

        partner = _partner(conn, order.partner_id)
        return _emit(conn, partner=partner, set_id="856", key=f"edi_856:{shipment_id}", build=build, actor=actor,
                     entity="shipment", entity_id=shipment_id, order_id=order.id,
                     payload={"order_id": order.id, "shipment_id": shipment_id})

    return store.run(_do)


def queue_810(store: Store, shipment_id: int, *, actor: str = "edi") -> Queued:
    """Invoice what one shipment shipped, at the order's prices (invoice number INV-{shipment})."""

    def _do(conn: Connection) -> Queued:
        ship, order, _location, shipped = _shipment(conn, shipment_id)
        by_line: dict[int, _Shipped] = {}
        for s in shipped:  # cartons do not matter on an invoice
            prior = by_line.get(s.line_no)
            by_line[s.line_no] = s if prior is None else _Shipped(None, s.line_no, s.item_ids, prior.qty + s.qty,
                                                                  s.unit_price_minor)
        scac, routing = _carrier(ship.carrier, ship.service)
        ship_to = _ship_to(order)
        invoice = Invoice(
            f"INV-{shipment_id}", utcnow().date(), order.external_id, order.currency,
            tuple(InvoiceLine(str(s.line_no), s.qty, "EA", s.unit_price_minor, s.item_ids) for s in by_line.values()),
            po_date=_date(order.placed_at, order.received_at), ship_date=(ship.shipped_at or ship.created_at).date(),
            parties=(ship_to,) if ship_to.name else (), scac=scac, routing=routing,
        )
        partner = _partner(conn, order.partner_id)
        return _emit(conn, partner=partner, set_id="810", key=f"edi_810:{shipment_id}", build=lambda: build_810(invoice),
                     actor=actor, entity="shipment", entity_id=shipment_id, order_id=order.id,
                     payload={"order_id": order.id, "shipment_id": shipment_id, "invoice": invoice.invoice_number})

    return store.run(_do)


# ------------------------------------------------------------------------------------- 846


def queue_846(store: Store, partner_code: str, *, actor: str = "edi", skus: Sequence[str] | None = None) -> Queued:
    """Advise a partner of available-to-promise stock at the locations serving its channel
    (once per partner and UTC day). Every active SKU unless `skus` names some; each item as
    the partner knows it (BP, and VP from its vendor_part alias) plus UPC/GTIN, VP our SKU code
    when it has no vendor part of its own."""

    def _do(conn: Connection) -> Queued:
        partner = _partner(conn, code=partner_code)
        today = utcnow()
        key = f"edi_846:{partner.code}:{today.date().isoformat()}"
        locs = channel_location_ids(conn, partner.channel_id)
        free = StockLevel.on_hand - StockLevel.reserved - StockLevel.safety
        avail = func.max(free, 0) if conn.dialect.name == "sqlite" else func.greatest(free, 0)
        stmt = (
            select(Sku.id, Sku.code, func.coalesce(func.sum(avail), 0))
            .select_from(Sku)
            .outerjoin(StockLevel, and_(StockLevel.sku_id == Sku.id, StockLevel.location_id.in_(locs)))
            .where(Sku.active.is_(True))
            .group_by(Sku.id, Sku.code)
            .order_by(Sku.code)
        )
        if skus is not None:
            stmt = stmt.where(Sku.code.in_(list(skus)))
        rows = conn.execute(stmt).all()
        missing = set(skus or ()) - {code for _id, code, _q in rows}
        if missing:
            raise NotFound(f"no active SKU {', '.join(sorted(missing))}")
        names: dict[int, dict[str, str]] = {}
        for sku, kind, value, channel in conn.execute(
            select(SkuAlias.sku_id, SkuAlias.kind, SkuAlias.value, SkuAlias.channel_id)
            .where(SkuAlias.sku_id.in_([r[0] for r in rows]),
                   (SkuAlias.channel_id == partner.channel_id) | SkuAlias.channel_id.is_(None))
            .order_by(SkuAlias.channel_id.is_(None), SkuAlias.id)  # the partner's own names first
        ):
            names.setdefault(sku, {}).setdefault(kind, value)
        snapshot = StockSnapshot(
            f"ATP-{today:%Y%m%d}", today.date(),
            tuple(StockItem(_item_ids(names.get(sku, {}), code), int(qty)) for sku, code, qty in rows),
            time=today.time(),
        )
        return _emit(conn, partner=partner, set_id="846", key=key, build=lambda: build_846(snapshot), actor=actor,
                     entity="partner", entity_id=partner.id, order_id=None,
                     payload={"partner": partner.code, "items": len(rows)})

    return store.run(_do)
