"""856 ship notice from a `Shipment`, as an HL tree.

    BSN   00, shipment id, date, time, structure: 0001 S-O-P-I (pick and pack), 0004 S-O-I
    HL*S  TD1 (packages, gross weight), TD5 (SCAC, routing), REF*BM bill of lading,
          REF*CN tracking, DTM*011 ship date, N1*ST and N1*SF with N3/N4
    HL*O  PRF (PO number, PO date)
    HL*P  MAN*GM with the carton's SSCC-18 (SOPI only; the check digit is verified), and
          MAN*CP with the carrier's tracking number for that parcel when it has its own
    HL*I  LIN (qualifier/id pairs: UP, VP, BP ...), SN1 (qty shipped, unit)
    CTT   number of HL segments

HL01 numbers the levels from 1 in document order, HL02 names the parent's HL01, HL04 is 1 when
the level has children. Segments inside a level are written in the map's order (pyx12 checks it).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from store.sscc import is_valid_sscc

from .errors import ValidationError
from .outbound import (
    ItemIds,
    OutboundSet,
    Party,
    check_code,
    check_qty,
    check_text,
    date8,
    decimal_text,
    describe_item,
    item_pairs,
    party_segments,
    seg,
    time4,
)
from .segments import Segment

__all__ = ["STRUCTURES", "Carton", "Shipment", "ShippedItem", "ShippedOrder", "build_856"]

# BSN05 (element 1005) for the trees we write.
STRUCTURES = {"SOPI": "0001", "SOI": "0004"}


@dataclass(frozen=True, slots=True)
class ShippedItem:
    """One item line: LIN pairs, SN1 quantity and unit; `line_id` (LIN01/SN101) echoes the PO line."""

    item_ids: ItemIds
    qty: int
    uom: str = "EA"
    line_id: str = ""


@dataclass(frozen=True, slots=True)
class Carton:
    """One carton (pack level): its SSCC-18, the items in it, and the carrier's tracking number
    for this parcel when it has its own (MAN*CP)."""

    sscc: str
    items: tuple[ShippedItem, ...]
    tracking: str = ""


@dataclass(frozen=True, slots=True)
class ShippedOrder:
    """One PO in the shipment: its cartons (SOPI) or its items (SOI)."""

    po_number: str
    po_date: dt.date | None = None
    cartons: tuple[Carton, ...] = ()
    items: tuple[ShippedItem, ...] = ()


@dataclass(frozen=True, slots=True)
class Shipment:
    """One shipment. `structure` is "SOPI" or "SOI". `packages` defaults to the carton count
    (SOPI); `weight` is the gross weight in `weight_uom`."""

    shipment_id: str
    date: dt.date
    time: dt.time
    ship_date: dt.date
    orders: tuple[ShippedOrder, ...]
    ship_to: Party
    ship_from: Party
    structure: str = "SOPI"
    packages: int | None = None
    packaging_code: str = "CTN25"
    weight: Decimal | None = None
    weight_uom: str = "LB"
    scac: str = ""
    routing: str = ""
    transport_method: str = ""
    bill_of_lading: str = ""
    tracking: str = ""
    references: tuple[tuple[str, str], ...] = ()  # further shipment-level REFs


def build_856(shipment: Shipment) -> OutboundSet:
    """The 856 body for `shipment`; `ValidationError` if it cannot be a valid ship notice."""
    s = shipment
    if s.structure not in STRUCTURES:
        raise ValidationError(f"856 structure {s.structure!r} is not one of {', '.join(STRUCTURES)}")
    if not s.orders:
        raise ValidationError("an 856 needs at least one order")
    if s.ship_to.code != "ST" or s.ship_from.code != "SF":
        raise ValidationError("the ship-to party must be N1*ST and the ship-from N1*SF")
    _check_tree(s)
    body: list[Segment] = [
        seg("BSN", "00", check_text(s.shipment_id, "BSN02 shipment id", 2, 30), date8(s.date), time4(s.time),
            STRUCTURES[s.structure]),
    ]
    tree = _Tree()
    tree.level(None, "S", True, _shipment_level(s))
    for order in s.orders:
        oid = tree.level(1, "O", True, _order_level(order))
        if s.structure == "SOPI":
            for carton in order.cartons:
                pid = tree.level(oid, "P", True, _pack_level(carton))
                for item in carton.items:
                    tree.level(pid, "I", False, _item_level(item))
        else:
            for item in order.items:
                tree.level(oid, "I", False, _item_level(item))
    body += tree.segments
    body.append(seg("CTT", str(tree.count)))
    return OutboundSet("856", tuple(body))


class _Tree:
    """HL segments numbered in document order, each followed by its level's segments."""

    def __init__(self) -> None:
        self.segments: list[Segment] = []
        self.count = 0

    def level(self, parent: int | None, code: str, children: bool, content: list[Segment]) -> int:
        self.count += 1
        self.segments.append(seg("HL", str(self.count), "" if parent is None else str(parent), code,
                                 "1" if children else "0"))
        self.segments += content
        return self.count


def _check_tree(s: Shipment) -> None:
    seen: set[str] = set()
    for order in s.orders:
        where = f"PO {order.po_number!r}"
        if s.structure == "SOPI":
            if order.items:
                raise ValidationError(f"{where}: SOPI puts items in cartons, not directly under the order")
            if not order.cartons:
                raise ValidationError(f"{where}: no cartons; an order in the ship notice must ship something")
            for carton in order.cartons:
                if not is_valid_sscc(carton.sscc):
                    raise ValidationError(f"{where}: {carton.sscc!r} is not a valid SSCC-18 (18 digits, GS1 check digit)")
                if carton.sscc in seen:
                    raise ValidationError(f"{where}: SSCC {carton.sscc} is on two cartons")
                seen.add(carton.sscc)
                if not carton.items:
                    raise ValidationError(f"{where}: carton {carton.sscc} holds no items")
        else:
            if order.cartons:
                raise ValidationError(f"{where}: SOI has no carton level; use SOPI for cartons")
            if not order.items:
                raise ValidationError(f"{where}: no items; an order in the ship notice must ship something")


def _shipment_level(s: Shipment) -> list[Segment]:
    packages = s.packages
    if packages is None and s.structure == "SOPI":
        packages = sum(len(o.cartons) for o in s.orders)
    out: list[Segment] = []
    if packages is not None or s.weight is not None:
        weight = [] if s.weight is None else [
            "G", decimal_text(s.weight, "shipment weight"), check_code(s.weight_uom, "weight unit")]
        out.append(seg(
            "TD1", check_text(s.packaging_code, "TD101 packaging code", 3, 5) if packages is not None else "",
            check_qty(packages, "TD102 package count", digits=7) if packages is not None else "", "", "", "", *weight,
        ))
    if s.scac or s.routing or s.transport_method:
        out.append(seg(
            "TD5", "B" if s.scac else "", "2" if s.scac else "",
            check_code(s.scac, "SCAC", 2, 4) if s.scac else "",
            check_code(s.transport_method, "TD504 transport method", 1, 2) if s.transport_method else "",
            check_text(s.routing, "TD505 routing", 1, 35, required=False),
        ))
    refs = [("BM", s.bill_of_lading), ("CN", s.tracking), *s.references]
    for qualifier, value in refs:
        if value:
            out.append(seg("REF", check_code(qualifier, "REF qualifier", 2, 3),
                           check_text(value, f"REF*{qualifier}", 1, 30)))
    out.append(seg("DTM", "011", date8(s.ship_date)))
    out += party_segments(s.ship_to)
    out += party_segments(s.ship_from)
    return out


def _order_level(order: ShippedOrder) -> list[Segment]:
    po = check_text(order.po_number, "PO number", 1, 22)
    return [seg("PRF", po, "", "", date8(order.po_date) if order.po_date else "")]


def _pack_level(carton: Carton) -> list[Segment]:
    out = [seg("MAN", "GM", carton.sscc)]
    if carton.tracking:
        out.append(seg("MAN", "CP", check_text(carton.tracking, f"carton {carton.sscc} tracking", 1, 48)))
    return out


def _item_level(item: ShippedItem) -> list[Segment]:
    where = f"shipped {describe_item(item.item_ids)}"
    line_id = check_text(item.line_id, f"{where} line id", 1, 20, required=False)
    return [
        seg("LIN", line_id, *item_pairs(item.item_ids, where, most=15)),
        seg("SN1", line_id, check_qty(item.qty, f"{where} quantity shipped"), check_code(item.uom, f"{where} unit")),
    ]
