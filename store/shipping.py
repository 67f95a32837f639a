"""Shipping: what leaves one location, packed in cartons with SSCC-18 labels, with a carrier and
a tracking number; stock leaves through the ledger, the channel is told through the outbox.

    ship(store, order_id, "DAL", carrier="UPS", tracking="1Z...",
         cartons=[Pack(lines={1: 2}), Pack(skus={"S2": 1}, tracking="1Z...2"), Pack()],
         gs1_company_prefix="0614141", sscc_extension=0)            -> Shipped
    ship_in(conn, ...)                                             the same, in the caller's transaction

One call is one shipment from one location. What ships is what its cartons hold: a carton
names order lines (`lines`, line number -> units) or SKUs (`skus`, spread over the order's lines
of that SKU in line order); one carton may name nothing and takes every unit reserved at the
location that no other carton took. With no cartons the units ship loose (no SSCC): `lines`
of the call, or every unit reserved at the location. Any subset of what is reserved at the
location may ship (a partial shipment); a reservation row partly shipped is split (store.
reservations). Each carton gets an SSCC-18 from the GS1 company prefix and extension digit
(oms.toml [shipping]) and a serial from the `sscc` counter, so no two cartons share one.

Refused with ShippingError, changing nothing: no tracking number (an order is never marked
shipped without one) or no carrier; an order on hold, cancelled, already shipped or for pick-up
in store; a line not on the order; more units than are reserved for a line at the location.

Writes, in one transaction: the shipment, its cartons and lines, the stock movements (kind
`shipment`), the reservations consumed, the lines' qty_shipped, the order's status
(partially_shipped | shipped, from its lines), a `shipment.shipped` audit event and a
`shipment_confirm` outbox row for the order's channel (the dispatcher turns it into an 856
and 810 for an EDI partner; a marketplace connector confirms the shipment with it).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, insert, select, update

from .counters import take
from .db import Store
from .errors import NotFound, ShippingError, StoreError
from .inventory import apply_movement
from .journal import audit, enqueue
from .models import Carton, Channel, Location, Order, OrderLine, Reservation, Shipment, ShipmentLine, Sku
from .orders import OrderSummary, _load, move, status_from_lines
from .reservations import take_reserved
from .sscc import make_sscc
from .types import utcnow

__all__ = ["Pack", "ShippedCarton", "Shipped", "SHIPPABLE", "ship", "ship_in"]

# Order statuses a shipment can leave from.
SHIPPABLE = ("allocated", "backordered", "partially_shipped")


@dataclass(frozen=True, slots=True)
class Pack:
    """One carton as the packer filled it: order lines and/or SKUs with their units; neither
    means "the rest" (every unit reserved at the location no other carton took)."""

    lines: Mapping[int, int] = field(default_factory=dict)
    skus: Mapping[str, int] = field(default_factory=dict)
    tracking: str | None = None  # the carrier's number for this parcel, when it has its own
    weight_grams: int | None = None

    @property
    def is_rest(self) -> bool:
        return not self.lines and not self.skus


@dataclass(frozen=True, slots=True)
class ShippedCarton:
    sscc: str
    tracking: str | None
    lines: tuple[tuple[int, int], ...]  # (line number, units)


@dataclass(frozen=True, slots=True)
class Shipped:
    shipment_id: int
    order_id: int
    external_id: str
    location: str
    order_status: str
    lines: tuple[tuple[int, int], ...]  # (line number, units) over the whole shipment
    cartons: tuple[ShippedCarton, ...] = ()

    @property
    def units(self) -> int:
        return sum(q for _, q in self.lines)


@dataclass(slots=True)
class _Line:
    id: int
    line_no: int
    sku_id: int | None
    sku: str | None
    item: str
    qty: int
    qty_shipped: int
    qty_cancelled: int
    here: int  # units reserved at the shipping location
    free: int = 0  # of those, not yet packed by this call

    def name(self) -> str:
        return f"line {self.line_no} ({self.sku or self.item})"


_X12_SAFE = re.compile(r"[A-Za-z0-9 \-./,]*")


def ship(
    store: Store,
    order_id: int,
    location: str | int,
    *,
    carrier: str,
    tracking: str,
    cartons: Sequence[Pack] = (),
    lines: Mapping[int, int] | None = None,
    service: str | None = None,
    cost_minor: int | None = None,
    gs1_company_prefix: str | None = None,
    sscc_extension: int = 0,
    actor: str = "operator",
) -> Shipped:
    """Ship from `location` (code, or id); see the module docstring."""
    return store.run(lambda conn: ship_in(
        conn, order_id, location, carrier=carrier, tracking=tracking, cartons=cartons, lines=lines, service=service,
        cost_minor=cost_minor, gs1_company_prefix=gs1_company_prefix, sscc_extension=sscc_extension, actor=actor,
    ))


def ship_in(
    conn: Connection,
    order_id: int,
    location: str | int,
    *,
    carrier: str,
    tracking: str,
    cartons: Sequence[Pack] = (),
    lines: Mapping[int, int] | None = None,
    service: str | None = None,
    cost_minor: int | None = None,
    gs1_company_prefix: str | None = None,
    sscc_extension: int = 0,
    actor: str,
) -> Shipped:
    """`ship` inside the caller's transaction."""
    order = _load(conn, order_id)
    who = f"order {order.external_id}"
    carrier, tracking = (carrier or "").strip(), (tracking or "").strip()
    if not tracking:
        raise ShippingError(f"{who} not shipped: a shipment needs a tracking number "
                            "(an order is never marked shipped without one)")
    if not carrier:
        raise ShippingError(f"{who} not shipped: a shipment needs a carrier")
    if cost_minor is not None and cost_minor < 0:
        raise ShippingError(f"{who} not shipped: the shipping cost cannot be negative ({cost_minor})")
    if cartons and lines is not None:
        raise ShippingError(f"{who} not shipped: give cartons or loose lines, not both")
    for name, value, most in [("carrier", carrier, 64), ("service", service or "", 64), ("tracking number", tracking, 128),
                              *(("carton tracking number", p.tracking or "", 128) for p in cartons)]:
        if len(value.strip()) > most:
            raise ShippingError(f"{who} not shipped: the {name} {value.strip()[:20]}... is longer than {most} characters")
    fulfilment, partner = conn.execute(select(Order.fulfilment, Order.partner_id).where(Order.id == order_id)).one()
    if partner is not None:
        # An EDI partner's order is announced by an 856: REF*CN holds 30 characters, MAN*CP 48,
        # and X12 takes no delimiters or control characters. Refused here, not after the shipment.
        for name, value, most in [("tracking number", tracking, 30),
                                  *(("carton tracking number", p.tracking or "", 48) for p in cartons)]:
            text = value.strip()
            if len(text) > most or not _X12_SAFE.fullmatch(text):
                raise ShippingError(f"{who} not shipped: the {name} {text[:40]!r} cannot go in the partner's 856 "
                                    f"(at most {most} letters, digits, spaces and - . / ,)")
    if fulfilment == "pickup":
        raise ShippingError(f"{who} is for pick-up in store; it is handed over, not shipped "
                            "(ready_for_pickup, then picked_up)")
    _check_status(conn, order, "shipped")
    loc_id, loc_code = _location(conn, location)
    stock = _lines_at(conn, order_id, loc_id)
    packed = _pack(who, loc_code, stock, cartons, lines)
    for p in cartons:
        if p.weight_grams is not None and p.weight_grams <= 0:
            raise ShippingError(f"{who} not shipped: a carton weight must be positive, got {p.weight_grams} g")
    ssccs: list[str] = []
    if cartons:
        if not gs1_company_prefix:
            raise ShippingError(f"{who} not shipped: cartons need SSCC-18 labels; set gs1_company_prefix "
                                "in the [shipping] section of oms.toml")
        serials = take(conn, "sscc", len(cartons))
        try:
            ssccs = [make_sscc(sscc_extension, gs1_company_prefix, n) for n in serials]
        except StoreError as exc:
            raise ShippingError(f"{who} not shipped: {exc}") from exc
    now = utcnow()
    sid = conn.execute(
        insert(Shipment).values(
            order_id=order_id, location_id=loc_id, status="shipped", carrier=carrier, service=(service or None),
            tracking=tracking, cost_minor=cost_minor, created_at=now, shipped_at=now,
        ).returning(Shipment.id)
    ).scalar_one()
    boxes: list[tuple[int | None, Pack | None, dict[int, int]]] = []
    for n, (pack, content) in enumerate(zip(cartons, packed)):
        cid = conn.execute(insert(Carton).values(
            shipment_id=sid, sscc=ssccs[n], tracking=(pack.tracking or "").strip() or None,
            weight_grams=pack.weight_grams,
        ).returning(Carton.id)).scalar_one()
        boxes.append((cid, pack, content))
    if not cartons:
        boxes.append((None, None, packed[0]))
    totals = _take_out(conn, stock, boxes, sid, loc_id, now, actor=actor)
    dst = status_from_lines(conn, order_id)
    move(conn, order_id, dst, actor=actor, reason=f"{carrier} {tracking}")
    result = Shipped(
        sid, order_id, order.external_id, loc_code, dst, tuple(sorted(totals.items())),
        tuple(ShippedCarton(ssccs[n], (p.tracking or "").strip() or None, tuple(sorted(c.items())))
              for n, (_, p, c) in enumerate(boxes) if p is not None),
    )
    _announce(conn, order, result, carrier=carrier, tracking=tracking, service=service, cost_minor=cost_minor,
              actor=actor)
    return result


# --------------------------------------------------------------------------------- shared


def _check_status(conn: Connection, order: OrderSummary, verb: str) -> None:
    if order.status in SHIPPABLE:
        return
    who = f"order {order.external_id}"
    if order.status == "on_hold":
        kind = conn.execute(select(Order.hold_kind).where(Order.id == order.id)).scalar_one()
        raise ShippingError(f"{who} is on hold ({kind or 'manual'}: {order.hold_reason}); release the hold "
                            f"before it is {verb}")
    raise ShippingError(f"{who} is {order.status}; only an allocated, backordered or partly shipped order "
                        f"can be {verb}")


def _location(conn: Connection, location: str | int) -> tuple[int, str]:
    col = Location.id if isinstance(location, int) else Location.code
    row = conn.execute(select(Location.id, Location.code).where(col == location)).first()
    if row is None:
        raise NotFound(f"no location {location!r}")
    return int(row.id), str(row.code)


def _lines_at(conn: Connection, order_id: int, location_id: int) -> dict[int, _Line]:
    """The order's lines with what each has reserved at the location, by line number."""
    lines = {
        r.line_no: _Line(r.id, r.line_no, r.sku_id, r.code, r.item, r.qty, r.qty_shipped, r.qty_cancelled, 0)
        for r in conn.execute(
            select(OrderLine.id, OrderLine.line_no, OrderLine.sku_id, Sku.code, OrderLine.item, OrderLine.qty,
                   OrderLine.qty_shipped, OrderLine.qty_cancelled)
            .outerjoin(Sku, Sku.id == OrderLine.sku_id)
            .where(OrderLine.order_id == order_id).order_by(OrderLine.line_no)
        )
    }
    by_id = {ln.id: ln for ln in lines.values()}
    for line_id, qty in conn.execute(
        select(Reservation.line_id, Reservation.qty).where(
            Reservation.line_id.in_(list(by_id)), Reservation.location_id == location_id,
            Reservation.state == "active")
    ):
        by_id[line_id].here += int(qty)
    for ln in lines.values():
        ln.free = ln.here
    return lines


def _pack(
    who: str, loc: str, stock: dict[int, _Line], cartons: Sequence[Pack], lines: Mapping[int, int] | None
) -> list[dict[int, int]]:
    """What each carton holds (line number -> units), or the one loose lot when there are no
    cartons; every unit checked against what is reserved at the location."""
    if sum(1 for p in cartons if p.is_rest) > 1:
        raise ShippingError(f"{who} not shipped: only one carton can take \"the rest\"; name the contents of the others")
    wanted: list[dict[int, int]] = []
    rest_at: int | None = None
    if lines is not None and not lines:
        raise ShippingError(f"{who} not shipped: no lines given to ship")
    packs = list(cartons) if cartons else [Pack(lines=lines) if lines is not None else Pack()]
    for n, pack in enumerate(packs, 1):
        where = f"{who}, carton {n}" if cartons else who
        content: dict[int, int] = {}
        for line_no, qty in pack.lines.items():
            ln = stock.get(line_no)
            if ln is None:
                raise ShippingError(f"{where}: the order has no line {line_no} (its lines: "
                                    f"{', '.join(map(str, stock)) or 'none'})")
            _take(where, loc, ln, qty, content)
        for sku, qty in pack.skus.items():
            mine = [ln for ln in stock.values() if ln.sku == sku]
            if not mine:
                raise ShippingError(f"{where}: the order has no line for SKU {sku}")
            if qty <= 0:
                raise ShippingError(f"{where}: {sku}: units to ship must be positive, got {qty}")
            left = qty
            for ln in mine:
                part = min(left, ln.free)
                if part:
                    _take(where, loc, ln, part, content)
                    left -= part
            if left:
                have = sum(ln.here for ln in mine)
                elsewhere = have - sum(ln.free for ln in mine) - (qty - left)
                raise ShippingError(f"{where}: {qty} x {sku} asked, {have} reserved for it at {loc}"
                                    + (f", {elsewhere} of them already in other cartons" if elsewhere else ""))
        if pack.is_rest:
            rest_at = n - 1
        wanted.append(content)
    if rest_at is not None:
        rest = wanted[rest_at]
        for ln in stock.values():
            if ln.free:
                rest[ln.line_no] = rest.get(ln.line_no, 0) + ln.free
                ln.free = 0
        if not rest:
            what = f"carton {rest_at + 1} (the rest)" if cartons else "the shipment"
            reserved = sum(ln.here for ln in stock.values())
            raise ShippingError(f"{who} not shipped: {what} would hold nothing; "
                                + (f"no units are reserved for it at {loc}" if not reserved
                                   else "every unit reserved there is in the other cartons"))
    return wanted


def _take(where: str, loc: str, ln: _Line, qty: int, content: dict[int, int]) -> None:
    if qty <= 0:
        raise ShippingError(f"{where}: {ln.name()}: units to ship must be positive, got {qty}")
    if qty > ln.free:
        packed = ln.here - ln.free
        detail = f"{ln.here} reserved at {loc}" + (f", {packed} of them already in other cartons" if packed else "")
        if ln.qty_shipped:
            detail += f"; {ln.qty_shipped} shipped before"
        raise ShippingError(f"{where}: {ln.name()}: {qty} units asked, {detail}")
    ln.free -= qty
    content[ln.line_no] = content.get(ln.line_no, 0) + qty


def _take_out(
    conn: Connection,
    stock: Mapping[int, _Line],
    boxes: Sequence[tuple[int | None, Any, Mapping[int, int]]],
    shipment_id: int,
    location_id: int,
    now: dt.datetime,
    *,
    actor: str,
    kind: str = "shipment",
) -> dict[int, int]:
    """Record the shipment lines per carton, consume the reservations, take the stock out
    through the ledger and count the units shipped on each line; units per line number."""
    totals: dict[int, int] = {}
    for carton_id, _pack_, content in boxes:
        for line_no, qty in sorted(content.items()):
            conn.execute(insert(ShipmentLine).values(
                shipment_id=shipment_id, carton_id=carton_id, line_id=stock[line_no].id, qty=qty))
            totals[line_no] = totals.get(line_no, 0) + qty
    for line_no, qty in sorted(totals.items()):
        ln = stock[line_no]
        assert ln.sku_id is not None  # a line with units reserved has a SKU
        take_reserved(conn, ln.id, qty, state="consumed", now=now, location_id=location_id)
        apply_movement(conn, ln.sku_id, location_id, -qty, kind, reference=f"shipment {shipment_id}", actor=actor)
        conn.execute(update(OrderLine).where(OrderLine.id == ln.id).values(
            qty_shipped=OrderLine.qty_shipped + qty, qty_reserved=OrderLine.qty_reserved - qty))
    return totals


def _announce(
    conn: Connection, order: OrderSummary, done: Shipped, *, carrier: str, tracking: str | None,
    service: str | None, cost_minor: int | None, actor: str, pickup: bool = False,
) -> None:
    """The shipment_confirm outbox row for the order's channel and the shipment's audit event."""
    channel = conn.execute(select(Channel.code).where(Channel.id == order.channel_id)).scalar_one()
    refs = {int(r.line_no): r for r in conn.execute(
        select(OrderLine.line_no, OrderLine.line_ref, OrderLine.item, Sku.code.label("sku"))
        .outerjoin(Sku, Sku.id == OrderLine.sku_id).where(OrderLine.order_id == order.id))}
    payload: dict[str, Any] = {
        "order_id": order.id, "external_id": order.external_id, "shipment_id": done.shipment_id,
        "location": done.location, "carrier": carrier, "tracking": tracking, "service": service,
        "shipped_at": utcnow().isoformat(),
        "lines": [{"line_no": n, "line_ref": refs[n].line_ref if n in refs else None,
                   "item": refs[n].item if n in refs else None, "sku": refs[n].sku if n in refs else None, "qty": q}
                  for n, q in done.lines],
        "cartons": [{"sscc": c.sscc, "tracking": c.tracking} for c in done.cartons],
    }
    if pickup:
        payload["pickup"] = True
    enqueue(conn, "shipment_confirm", channel, f"shipment_confirm:{done.shipment_id}", payload, order.id)
    detail: dict[str, Any] = {
        "order_id": order.id, "location": done.location, "carrier": carrier, "tracking": tracking,
        "units": done.units, "cartons": [c.sscc for c in done.cartons], "order_status": done.order_status,
    }
    if service:
        detail["service"] = service
    if cost_minor is not None:
        detail["cost_minor"] = cost_minor
    audit(conn, actor, "shipment", done.shipment_id, "shipment.picked_up" if pickup else "shipment.shipped", detail)
