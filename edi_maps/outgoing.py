"""Outbound X12 from the store: 855, 856, 810, 846 and 850 queued in the outbox, never invalid.

    queue_855(store, order_id, actor="edi")       order acknowledgment   key edi_855:{order}:{version}
    queue_855(..., occasion="order_cancel:7:1")   re-acknowledgment      key edi_855:{order}:{version}:{occasion}
    queue_856(store, shipment_id, actor="edi")    ship notice            key edi_856:{shipment}
    queue_810(store, shipment_id, actor="edi")    invoice for a shipment key edi_810:{shipment}
    queue_846(store, "acme", actor="edi")         stock advice (ATP)     key edi_846:{partner}:{date}
    queue_850(store, dropship_id, actor="edi")    PO to a dropship vendor key edi_850:{dropship}

Each call runs in two phases, so that pyx12 (tens of milliseconds) never holds the write lock:

    1. read   in a read transaction, read the rows and the partner; after it, build the set
              with the pure builders, wrap it with placeholder control numbers (1 of each
              kind; ISA13 is nine digits either way, GS06 and ST02 fit any number we take) and
              check that trial with pyx12 (`validate_outbound`).
    2. write  one write transaction (invariants 1, 5, 6): a key already in the outbox makes the
              call a no-op; else take the real control numbers from the store, wrap the same
              set, read the numbered text back with our own reader and envelope check (cheap),
              then record the `Interchange` (out, pending_ack), the outbox row and an audit event.

The document says what phase 1 read: a change committed between the phases is as if it had
come just after the call (except an 850's PO cancelled or held meanwhile: phase 2 checks it
again). `read_phase` and `write_phase` are the two phases, for a caller that needs them
apart. A partner whose `trading_partners.config` has a `documents` list (from oms.toml; no
list means every document) that leaves the set out gets nothing: the call builds nothing,
writes nothing and answers `not_exchanged`.

A document that cannot be built or does not validate is not queued and takes no control
numbers (numbers taken in phase 2 are given back with a savepoint if the numbered text fails
its read-back): the order goes to the `edi_invalid` operator queue with the reasons as
"<set> not sent: ..." (an 846 has no order: the reasons go to the partner's audit trail). An
order already waiting in another queue keeps it; the EDI reasons are appended to its detail.
When that set later queues for the order, its text is taken out of the detail again and the
`edi_invalid` exception cleared once nothing else is left (audit `order.edi_invalid_cleared`).

855 rules, per line (zero-quantity lines, which the partner cancelled, are left out):
    IR  the item is unknown (no SKU), or every unit was cancelled
    IQ  some units were cancelled; ACK02 says how many we will ship
    IB  some units are backordered or not yet reserved
    IA  everything still ordered is reserved or shipped
BAK02 is AD when every line is IA, RD when every line is IR, RJ when nothing is left to
acknowledge, else AC. Item ids echo the PO (BP buyer part, VP vendor part, else our SKU code,
UP UPC, EN/UK GTIN-13/14). Line ids (PO101/LIN01/IT101) and units echo the partner's PO1; an
order that did not come with them uses our line numbers and EA.

850 (store.dropship): we are the buyer, so the ids turn round: VP is the vendor's part (a
vendor_part alias on the vendor's channel), BP our SKU, then UPC/GTIN; PO101 is our line
number. PO104 (unit price, optional) is left empty: the customer's price is not what we pay
the vendor, and no vendor cost is kept. The lines are what the PO covers and the order still
holds at the vendor's location. A PO that is cancelled, or whose order is cancelled, closed
or on hold (`HeldOrder`), is refused with MappingError, in phase 1 and again in phase 2's
write transaction (the PO and order rows locked on PostgreSQL), so a cancellation committed
between the phases queues nothing. A refused 850 that could not be valid puts the customer's
order in the edi_invalid queue, like the other sets.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, and_, func, select

from store import Store
from store.catalog import PartnerRef, channel_location_ids, find_partner
from store.control import record_interchange, take_control_numbers
from store.dropship import dropship_orders, still_held, waits_for_hold
from store.errors import ConfigError, NotFound
from store.journal import audit, enqueue
from store.models import (
    Carton as CartonRow,
    DropshipOrder,
    Location,
    Order,
    OrderLine,
    OutboxMessage,
    Shipment as ShipmentRow,
    ShipmentLine,
    Sku,
    SkuAlias,
    StockLevel,
)
from store.orders import clear_exception_text, flag_exception
from store.types import utcnow

from .ack855 import AckLine, OrderAck, build_855
from .asn856 import Carton, Shipment, ShippedItem, ShippedOrder, build_856
from .envelope import check as check_envelope
from .envelope import errors as envelope_errors
from .errors import EdiError, MappingError, ParseError, ValidationError
from .invoice810 import Invoice, InvoiceLine, build_810
from .outbound import ItemIds, OutboundSet, Party, PartnerEnvelope, wrap
from .po850_out import PurchaseLine, PurchaseOrder, build_850
from .pyx12_validate import validate_outbound
from .reader import read
from .stock846 import StockItem, StockSnapshot, build_846

__all__ = [
    "EDI_INVALID", "Checked", "HeldOrder", "Queued", "partner_envelope", "plan_850", "queue_810", "queue_846",
    "queue_850", "queue_855", "queue_856", "read_phase", "write_phase",
]

EDI_INVALID = "edi_invalid"  # orders.exception for a document we refused to send
_MAX_REASONS = 8
_SCAC = re.compile(r"[A-Z0-9]{2,4}")
_ENVELOPE_TEXT = ("element", "component", "terminator", "newline", "repetition", "isa_version")
# Where one set's "<set> not sent: ..." text starts in an order's exception_detail.
_SET_TEXT = r"\d{3} not sent: "


@dataclass(frozen=True, slots=True)
class Queued:
    """What one call did: `status` is queued, already_queued, invalid or not_exchanged (the
    partner does not take this document; `reasons` says so)."""

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
    """The envelope a `trading_partners` row (or a `PartnerRef`) asks for; delimiters from its
    config when set."""
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


def _partner(conn: Connection, partner_id: int | None = None, code: str | None = None) -> PartnerRef:
    # Inactive partners too: a document owed for an order taken in before still goes.
    found = find_partner(conn, partner_id=partner_id, code=code, active_only=False)
    if found is None:
        raise NotFound(f"no trading partner {code if code is not None else partner_id!r}")
    return found


# ------------------------------------------------------------------------- the one write path


def _exchanges(partner: PartnerRef, set_id: str) -> bool:
    """Whether the partner takes `set_id` (store.catalog's rule); a malformed setting is refused."""
    try:
        return partner.sends(set_id)
    except ConfigError as exc:
        raise ValidationError(str(exc)) from None


@dataclass(frozen=True, slots=True)
class _Plan:
    """What phase 1 read: the document to build, for whom, and what to record with it."""

    partner: PartnerRef
    set_id: str
    key: str
    build: Callable[[], OutboundSet]
    entity: str
    entity_id: int
    order_id: int | None
    payload: Mapping[str, Any]
    # Phase 2's check, in its write transaction, that the document is still wanted: raises
    # (MappingError) when what phase 1 read has since been undone (an 850's PO cancelled).
    still_wanted: Callable[[Connection], None] | None = None


@dataclass(frozen=True, slots=True)
class Checked:
    """What phase 1 made: the set built and checked by pyx12 on a trial, for phase 2 to number
    and queue."""

    plan: _Plan
    envelope: PartnerEnvelope
    body: OutboundSet
    now: dt.datetime


def _queue(store: Store, plan_of: Callable[[Connection], _Plan], actor: str) -> Queued:
    """Phase 1 (read, build, pyx12 on a trial) then phase 2 (number, read back, queue)."""
    checked = read_phase(store, plan_of, actor)
    return checked if isinstance(checked, Queued) else write_phase(store, checked, actor)


def read_phase(store: Store, plan_of: Callable[[Connection], _Plan], actor: str) -> Checked | Queued:
    """Phase 1: read what the document says (`plan_of`, in a read transaction), build it and
    check a trial with pyx12 outside any transaction. Returns what phase 2 queues, or what the
    call comes to without it (not_exchanged, already_queued, or invalid: refused and recorded)."""
    with store.read() as conn:
        plan = plan_of(conn)
        queued_before = _queued(conn, plan.key)
    now = utcnow()
    try:
        if not _exchanges(plan.partner, plan.set_id):
            return Queued("not_exchanged", plan.key, reasons=(
                f"partner {plan.partner.code} does not exchange {plan.set_id} (its documents setting)",))
        if queued_before:
            return Queued("already_queued", plan.key)
        envelope = partner_envelope(plan.partner)
        body = plan.build()
        trial = wrap(envelope, [body], _placeholders, now).decode("latin-1")
        ok, lines = validate_outbound(trial)  # the slow part: outside any transaction
        if not ok:
            raise _Invalid(lines)
    except EdiError as exc:
        reasons: tuple[str, ...] = (str(exc),)
    except _Invalid as exc:
        reasons = exc.reasons
    else:
        return Checked(plan, envelope, body, now)
    refused = reasons[:_MAX_REASONS]
    return store.run(lambda conn: _refuse(conn, plan, refused, actor))


def write_phase(store: Store, checked: Checked, actor: str) -> Queued:
    """Phase 2: in one write transaction, see that the document is still wanted (an 850's PO
    not cancelled since phase 1), number it from the store and queue it."""
    return store.run(lambda conn: _commit(conn, checked.plan, checked.envelope, checked.body, checked.now, actor))


def _placeholders(kind: str, count: int) -> list[int]:
    return list(range(1, count + 1))


def _queued(conn: Connection, key: str) -> bool:
    return conn.execute(select(OutboxMessage.id).where(OutboxMessage.idempotency_key == key)).first() is not None


def _commit(
    conn: Connection, plan: _Plan, envelope: PartnerEnvelope, body: OutboundSet, now: dt.datetime, actor: str
) -> Queued:
    """Phase 2: number the checked set from the store and queue it, in the caller's transaction."""
    if plan.still_wanted is not None:
        plan.still_wanted(conn)
    if _queued(conn, plan.key):
        return Queued("already_queued", plan.key)
    partner = plan.partner
    try:
        # Control numbers taken here are given back with the savepoint if the document fails.
        with conn.begin_nested():
            isa: list[int] = []
            gs: list[int] = []

            def numbers(kind: str, count: int) -> list[int]:
                got = take_control_numbers(conn, partner.id, kind, count)
                {"isa": isa, "gs": gs}.get(kind, []).extend(got)
                return got

            data = wrap(envelope, [body], numbers, now).decode("latin-1")
            problems = _read_back(data, body)
            if problems:
                raise _Invalid(problems)
            isa13 = f"{isa[0]:09d}"
            new = record_interchange(
                conn, direction="out", sender=envelope.our_id, receiver=envelope.their_id, control_number=isa13,
                partner_id=partner.id, ack_status="pending_ack", group_control=str(gs[0]),
            )
            if new is None:
                raise ValidationError(f"interchange {isa13} to {envelope.their_id} was sent before; control numbers repeat")
            enqueue(conn, f"edi_{plan.set_id}", partner.code, plan.key,
                    {"data": data, "interchange": isa13, "set": plan.set_id, **plan.payload}, plan.order_id)
            audit(conn, actor, plan.entity, plan.entity_id, f"edi.{plan.set_id}_queued",
                  {"key": plan.key, "partner": partner.code, "interchange": isa13})
            if plan.order_id is not None:
                _clear(conn, plan.order_id, plan.set_id, plan.key, actor)
            return Queued("queued", plan.key, isa[0])
    except EdiError as exc:
        reasons: tuple[str, ...] = (str(exc),)
    except _Invalid as exc:
        reasons = exc.reasons
    return _refuse(conn, plan, reasons[:_MAX_REASONS], actor)


def _read_back(data: str, body: OutboundSet) -> tuple[str, ...]:
    """Why the numbered text is not the set pyx12 checked in a sound envelope, or ()."""
    try:
        tm = read(data.encode("latin-1"))
    except ParseError as exc:
        return (f"the numbered document cannot be read back: {exc}",)
    bad = envelope_errors(check_envelope(tm))
    if bad:
        return tuple(f"the numbered document's envelope: {f}" for f in bad)
    sets = list(tm.sets())
    if len(tm.interchanges) != 1 or len(sets) != 1 or sets[0].id != body.id or sets[0].segments != list(body.body):
        return ("the numbered document does not read back as the one pyx12 checked",)
    return ()


def _refuse(conn: Connection, plan: _Plan, reasons: tuple[str, ...], actor: str) -> Queued:
    """Record why a document was not sent: on its order, else on the partner's audit trail."""
    if plan.still_wanted is not None:
        plan.still_wanted(conn)  # not wanted any more: nothing to report on the order
    if _queued(conn, plan.key):  # queued meanwhile, from rows fixed since phase 1 read them
        return Queued("already_queued", plan.key)
    if plan.order_id is not None:
        _flag(conn, plan.order_id, plan.set_id, plan.key, reasons, actor)
    else:
        audit(conn, actor, plan.entity, plan.entity_id, f"edi.{plan.set_id}_invalid",
              {"key": plan.key, "reasons": list(reasons)})
    return Queued("invalid", plan.key, reasons=reasons)


def _flag(conn: Connection, order_id: int, set_id: str, key: str, reasons: Sequence[str], actor: str) -> None:
    """Put the order in the edi_invalid queue (or add to the queue it is already in). A set
    refused again replaces its earlier text; other sets' texts stay."""
    flag_exception(
        conn, order_id, EDI_INVALID, f"{set_id} not sent: " + "; ".join(reasons), actor=actor,
        action="order.edi_invalid", detail={"set": set_id, "key": key, "reasons": list(reasons)},
        replaces=f"{set_id} not sent: ", text_start=_SET_TEXT,
    )


def _clear(conn: Connection, order_id: int, set_id: str, key: str, actor: str) -> None:
    """The set was queued: take its "not sent" text off the order, and the order out of the
    edi_invalid queue when no other set's text is left."""
    clear_exception_text(conn, order_id, EDI_INVALID, f"{set_id} not sent: ", actor=actor,
                         action="order.edi_invalid_cleared", detail={"set": set_id, "key": key}, text_start=_SET_TEXT)


# ----------------------------------------------------------------------------- shared reads


def _standard_ids(ids: Mapping[str, str]) -> ItemIds:
    """The UPC (UP) and GTIN (UK for 14 digits, else EN) a line carries, in that order."""
    out: list[tuple[str, str]] = []
    if ids.get("upc"):
        out.append(("UP", ids["upc"]))
    gtin = ids.get("gtin")
    if gtin:
        out.append(("UK" if len(gtin) == 14 else "EN", gtin))
    return tuple(out)


def _item_ids(ids: Mapping[str, str], sku_code: str | None) -> ItemIds:
    """Qualifier/id pairs for a line: the partner's names first, our SKU as VP when it gave none."""
    out: list[tuple[str, str]] = []
    if ids.get("buyer_part"):
        out.append(("BP", ids["buyer_part"]))
    vendor = ids.get("vendor_part") or sku_code or ids.get("sku")
    if vendor:
        out.append(("VP", vendor))
    return tuple(out) + _standard_ids(ids)


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


def queue_855(store: Store, order_id: int, *, actor: str = "edi", occasion: str | None = None) -> Queued:
    """Acknowledge a partner's order (once per order version). With `occasion` (say, the key
    of the cancellation that changed it), once per occasion: a new acknowledgment of the order
    as it now is, BAK01 04 (change) when an 855 went to the partner for it before."""

    def plan(conn: Connection) -> _Plan:
        order = _order(conn, order_id)
        key = f"edi_855:{order.id}:{order.version}" + (f":{occasion}" if occasion else "")
        purpose = "00"
        if occasion and conn.execute(select(OutboxMessage.id).where(
                OutboxMessage.order_id == order.id, OutboxMessage.kind == "edi_855").limit(1)).first():
            purpose = "04"
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
            purpose=purpose, seller_order=str(order.id), ack_date=now.date(),
        )
        return _Plan(_partner(conn, order.partner_id), "855", key, lambda: build_855(ack), "order", order.id,
                     order.id, {"order_id": order.id, "ack_type": ack_type})

    return _queue(store, plan, actor)


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
    return AckLine(line.line_ref or str(line.line_no), line.qty, line.uom or "EA",
                   _item_ids(line.item_ids or {}, line.sku_code), status, unit_price_minor=line.unit_price_minor, qty=qty)


# ------------------------------------------------------------------------------- 856 and 810


@dataclass(frozen=True, slots=True)
class _Shipped:
    """One order line in a shipment (per carton when there are cartons)."""

    carton_id: int | None
    line_no: int
    line_ref: str  # the partner's PO101, else our line number
    uom: str
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
    shipped = [_Shipped(c, n, ref or str(n), uom or "EA", _item_ids(ids or {}, code), int(q), p)
               for c, n, ref, uom, ids, p, code, q in rows]
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
        select(sums.c.carton_id, OrderLine.line_no, OrderLine.line_ref, OrderLine.uom, OrderLine.item_ids,
               OrderLine.unit_price_minor, Sku.code, sums.c.qty)
        .join(OrderLine, OrderLine.id == sums.c.line_id)
        .outerjoin(Sku, Sku.id == OrderLine.sku_id)
        .order_by(sums.c.carton_id, OrderLine.line_no)
    ).all()


def queue_856(store: Store, shipment_id: int, *, actor: str = "edi") -> Queued:
    """Announce a shipment: SOPI with each carton's SSCC when it was packed in cartons, else SOI."""

    def plan(conn: Connection) -> _Plan:
        ship, order, location, shipped = _shipment(conn, shipment_id)
        cartons = conn.execute(
            select(CartonRow.id, CartonRow.sscc, CartonRow.weight_grams, CartonRow.tracking)
            .where(CartonRow.shipment_id == shipment_id).order_by(CartonRow.id)
        ).all()
        when = ship.shipped_at or ship.created_at
        scac, routing = _carrier(ship.carrier, ship.service)

        def item(s: _Shipped) -> ShippedItem:
            return ShippedItem(s.item_ids, s.qty, s.uom, s.line_ref)

        def build() -> OutboundSet:
            boxed = {s.carton_id is not None for s in shipped}
            if len(boxed) > 1:
                raise ValidationError(f"shipment {shipment_id}: some lines are in cartons and some are not")
            weights = [c.weight_grams for c in cartons]
            if True in boxed:
                po = ShippedOrder(order.external_id, _date(order.placed_at, order.received_at), cartons=tuple(
                    Carton(c.sscc, tuple(item(s) for s in shipped if s.carton_id == c.id), c.tracking or "")
                    for c in cartons))
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

        return _Plan(_partner(conn, order.partner_id), "856", f"edi_856:{shipment_id}", build, "shipment", shipment_id,
                     order.id, {"order_id": order.id, "shipment_id": shipment_id})

    return _queue(store, plan, actor)


def queue_810(store: Store, shipment_id: int, *, actor: str = "edi") -> Queued:
    """Invoice what one shipment shipped, at the order's prices (invoice number INV-{shipment})."""

    def plan(conn: Connection) -> _Plan:
        ship, order, _location, shipped = _shipment(conn, shipment_id)
        by_line: dict[int, _Shipped] = {}
        for s in shipped:  # cartons do not matter on an invoice
            prior = by_line.get(s.line_no)
            by_line[s.line_no] = s if prior is None else _Shipped(None, s.line_no, s.line_ref, s.uom, s.item_ids,
                                                                  prior.qty + s.qty, s.unit_price_minor)
        scac, routing = _carrier(ship.carrier, ship.service)
        ship_to = _ship_to(order)
        invoice = Invoice(
            f"INV-{shipment_id}", utcnow().date(), order.external_id, order.currency,
            tuple(InvoiceLine(s.line_ref, s.qty, s.uom, s.unit_price_minor, s.item_ids) for s in by_line.values()),
            po_date=_date(order.placed_at, order.received_at), ship_date=(ship.shipped_at or ship.created_at).date(),
            parties=(ship_to,) if ship_to.name else (), scac=scac, routing=routing,
        )
        return _Plan(_partner(conn, order.partner_id), "810", f"edi_810:{shipment_id}", lambda: build_810(invoice),
                     "shipment", shipment_id, order.id,
                     {"order_id": order.id, "shipment_id": shipment_id, "invoice": invoice.invoice_number})

    return _queue(store, plan, actor)


# ------------------------------------------------------------------------------------- 846


def queue_846(store: Store, partner_code: str, *, actor: str = "edi", skus: Sequence[str] | None = None) -> Queued:
    """Advise a partner of available-to-promise stock at the locations serving its channel
    (once per partner and UTC day). Every active SKU unless `skus` names some; each item as
    the partner knows it (BP, and VP from its vendor_part alias) plus UPC/GTIN, VP our SKU code
    when it has no vendor part of its own."""

    def plan(conn: Connection) -> _Plan:
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
        return _Plan(partner, "846", key, lambda: build_846(snapshot), "partner", partner.id, None,
                     {"partner": partner.code, "items": len(rows)})

    return _queue(store, plan, actor)


# ------------------------------------------------------------------------------------- 850


class HeldOrder(MappingError):
    """The customer's order is on hold: its dropship PO waits for the hold to end (the
    dispatcher tries its row again later rather than stopping it)."""


def queue_850(store: Store, dropship_id: int, *, actor: str = "edi") -> Queued:
    """Send a dropship PO (store.dropship) to its vendor: what it covers that the order still
    holds at the vendor's location, shipped to the customer. `MappingError` when the PO is
    cancelled, its order is cancelled or closed, nothing of it is still held there, or its
    vendor is not an EDI partner; `HeldOrder` while the order is on hold."""
    return _queue(store, plan_850(dropship_id), actor)


def plan_850(dropship_id: int) -> Callable[[Connection], _Plan]:
    """Phase 1's read for `queue_850` (for `read_phase`)."""

    def plan(conn: Connection) -> _Plan:
        found = dropship_orders(conn, ids=[dropship_id])
        if not found:
            raise NotFound(f"no dropship PO {dropship_id}")
        po = found[0]
        _po_wanted(conn, po.id, po.order_id)
        if po.vendor is None:
            raise MappingError(f"dropship PO {po.number}: location {po.location} has no EDI vendor; an operator sends it")
        partner = _partner(conn, code=po.vendor)
        order = conn.execute(select(Order).where(Order.id == po.order_id)).one()
        lines = still_held(conn, po)  # a unit cancelled since the PO was written is not ordered
        if not lines:
            raise MappingError(f"dropship PO {po.number}: nothing of order {order.external_id} is still reserved at "
                               f"location {po.location}; nothing is ordered from the vendor")
        qty = {ln.line_id: ln.qty for ln in lines}
        rows = conn.execute(
            select(OrderLine.id, OrderLine.line_no, OrderLine.uom, OrderLine.sku_id, Sku.code)
            .outerjoin(Sku, Sku.id == OrderLine.sku_id)
            .where(OrderLine.id.in_(list(qty))).order_by(OrderLine.line_no)
        ).all()
        names = _vendor_names(conn, partner, [r.sku_id for r in rows if r.sku_id is not None])
        # PO104 (unit price) is optional; what we pay the vendor is not the customer's price,
        # and no vendor cost is kept: it is left empty, and so CUR, which prices the lines.
        purchase = PurchaseOrder(
            po.number, po.created_at.date(), _ship_to(order),
            tuple(PurchaseLine(str(r.line_no), qty[r.id], r.uom or "EA",
                               _vendor_item_ids(names.get(r.sku_id, {}), r.code), None)
                  for r in rows),
            currency=order.currency, write_currency=False,
            customer_order=order.external_id, ship_date=order.requested_ship_date, cancel_after=order.cancel_after,
        )
        return _Plan(partner, "850", f"edi_850:{po.id}", lambda: build_850(purchase), "dropship", po.id, order.id,
                     {"order_id": order.id, "dropship_id": po.id, "number": po.number},
                     still_wanted=lambda conn: _po_wanted(conn, po.id, po.order_id, lock=True))

    return plan


def _po_wanted(conn: Connection, dropship_id: int, order_id: int, *, lock: bool = False) -> None:
    """`MappingError` unless the PO and its order still want the vendor to ship: the PO is
    cancelled, or the order cancelled or closed; `HeldOrder` while the order is on hold. With
    `lock` (phase 2), the order's and the PO's rows are locked on PostgreSQL, in the order a
    cancellation takes them, so a cancellation either came before (and is seen here) or
    waits for this transaction (and stops the 850 it queued)."""
    pg = lock and conn.dialect.name == "postgresql"
    o_stmt = select(Order.external_id, Order.status).where(Order.id == order_id)
    p_stmt = select(DropshipOrder.number, DropshipOrder.status).where(DropshipOrder.id == dropship_id)
    order = conn.execute(o_stmt.with_for_update() if pg else o_stmt).one()
    po = conn.execute(p_stmt.with_for_update() if pg else p_stmt).one()
    if po.status == "cancelled":
        raise MappingError(f"dropship PO {po.number} is cancelled; nothing is ordered from the vendor")
    if order.status in ("cancelled", "closed"):
        raise MappingError(f"dropship PO {po.number}: order {order.external_id} is {order.status}; "
                           "nothing is ordered from the vendor")
    held = waits_for_hold(conn, dropship_id)
    if held is not None:
        raise HeldOrder(held)


def _vendor_names(conn: Connection, partner: PartnerRef, sku_ids: Sequence[int]) -> dict[int, dict[str, str]]:
    """Each SKU's names: the vendor's own (aliases on its channel) before everyone's."""
    names: dict[int, dict[str, str]] = {}
    for sku, kind, value, channel in conn.execute(
        select(SkuAlias.sku_id, SkuAlias.kind, SkuAlias.value, SkuAlias.channel_id)
        .where(SkuAlias.sku_id.in_(list(sku_ids)),
               (SkuAlias.channel_id == partner.channel_id) | SkuAlias.channel_id.is_(None))
        .order_by(SkuAlias.channel_id.is_(None), SkuAlias.id)
    ):
        if kind == "vendor_part" and channel != partner.channel_id:
            continue  # a vendor part is one vendor's name
        names.setdefault(sku, {}).setdefault(kind, value)
    return names


def _vendor_item_ids(names: Mapping[str, str], sku_code: str | None) -> ItemIds:
    """VP the vendor's part, BP our SKU (we are the buyer here), then UPC and GTIN."""
    out: list[tuple[str, str]] = []
    if names.get("vendor_part"):
        out.append(("VP", names["vendor_part"]))
    if sku_code:
        out.append(("BP", sku_code))
    return tuple(out) + _standard_ids(names)
