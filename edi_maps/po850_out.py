"""850 purchase order we send a dropship vendor, from a `PurchaseOrder`.

    BEG   00 original, DS dropship (SA stand-alone), our PO number, PO date
    CUR   BY and the currency, when it is not the vendor's own
    REF   CO the customer's order number (so the vendor's packing slip names it)
    DTM   010 requested ship date, 001 cancel after, when the customer's order has them
    N1    ST the end customer (N3 street, N4 city, state, postal code, country): a dropship
          PO ships to them, so a ship-to without a name and street is refused
    PO1   per line: our line number, quantity, unit, unit price, then qualifier/id pairs
          (VP the vendor's part, BP our SKU, UP/EN/UK the UPC or GTIN)
    CTT   number of PO1 lines, hash total of their quantities

This is the set our inbound mapping (`edi_maps.po850`) reads, from the other side.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from .errors import ValidationError
from .outbound import (
    ItemIds,
    OutboundSet,
    Party,
    check_code,
    check_qty,
    check_text,
    date8,
    describe_item,
    item_pairs,
    minor_exponent,
    party_segments,
    price_text,
    seg,
)
from .segments import Segment

__all__ = ["ORDER_TYPES", "PurchaseLine", "PurchaseOrder", "build_850"]

# BEG02 (element 92) for what we send.
ORDER_TYPES = ("DS", "SA")


@dataclass(frozen=True, slots=True)
class PurchaseLine:
    """One PO1: `line_id` is PO101 (the vendor echoes it on its 855/856); `item_ids` at least one pair."""

    line_id: str
    qty: int
    uom: str
    item_ids: ItemIds
    unit_price_minor: int | None = None


@dataclass(frozen=True, slots=True)
class PurchaseOrder:
    """`currency` prices the lines; `write_currency` adds the CUR segment (the vendor would
    otherwise assume its own). `customer_order` goes to REF*CO."""

    po_number: str
    date: dt.date
    ship_to: Party
    lines: tuple[PurchaseLine, ...]
    currency: str = "USD"
    write_currency: bool = False
    order_type: str = "DS"
    purpose: str = "00"
    customer_order: str = ""
    ship_date: dt.date | None = None
    cancel_after: dt.date | None = None


def build_850(po: PurchaseOrder) -> OutboundSet:
    """The 850 body for `po`; `ValidationError` naming what is wrong if it cannot be valid."""
    where = f"PO {po.po_number!r}"
    if po.order_type not in ORDER_TYPES:
        raise ValidationError(f"{where}: BEG02 {po.order_type!r} is not one of {', '.join(ORDER_TYPES)}")
    if not po.lines:
        raise ValidationError(f"{where} has no lines")
    if po.ship_to.code != "ST":
        raise ValidationError(f"{where}: the ship-to party must be N1*ST, not N1*{po.ship_to.code}")
    if not po.ship_to.name or not po.ship_to.address1:
        raise ValidationError(f"{where}: the customer's ship-to needs a name and a street address")
    minor_exponent(po.currency)  # a bad currency is named before anything else
    body: list[Segment] = [
        seg("BEG", check_code(po.purpose, "BEG01 purpose"), po.order_type,
            check_text(po.po_number, "BEG03 PO number", 1, 22), "", date8(po.date)),
    ]
    if po.write_currency:
        body.append(seg("CUR", "BY", po.currency))
    if po.customer_order:
        body.append(seg("REF", "CO", check_text(po.customer_order, f"{where} customer order number (REF*CO)", 1, 30)))
    if po.ship_date is not None:
        body.append(seg("DTM", "010", date8(po.ship_date)))
    if po.cancel_after is not None:
        body.append(seg("DTM", "001", date8(po.cancel_after)))
    body += party_segments(po.ship_to)
    seen: set[str] = set()
    for line in po.lines:
        if line.line_id in seen:
            raise ValidationError(f"{where}: line {line.line_id!r} is listed twice")
        seen.add(line.line_id)
        body.append(_po1(line, po.currency, where))
    body.append(seg("CTT", str(len(po.lines)), check_qty(sum(ln.qty for ln in po.lines), f"{where} hash total")))
    return OutboundSet("850", tuple(body))


def _po1(line: PurchaseLine, currency: str, po: str) -> Segment:
    where = f"{po} line {line.line_id!r} ({describe_item(line.item_ids)})"
    price = ("" if line.unit_price_minor is None
             else price_text(line.unit_price_minor, currency, f"{where} unit price"))
    return seg(
        "PO1", check_text(line.line_id, f"{where} id", 1, 20), check_qty(line.qty, f"{where} quantity"),
        check_code(line.uom, f"{where} unit"), price, "", *item_pairs(line.item_ids, where, most=10),
    )
