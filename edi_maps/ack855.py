"""855 purchase order acknowledgment from an `OrderAck`.

    BAK   00 (purpose), type, PO number, PO date [, seller's order number, date acknowledged]
    PO1   each line echoed: line id, qty ordered, unit, unit price, qualifier/id pairs
     ACK  the line's status: IA accepted, IB backordered, IR rejected, IQ quantity changed
          (ACK02 the new quantity), IP price changed, DR date rescheduled; with a date
          (ACK04 qualifier, ACK05 CCYYMMDD) when one is given
    CTT   number of PO1 lines

BAK02 must agree with the lines: AD (detail, no change) only with every line IA at the ordered
quantity; RD/RJ (rejected) only with every line IR, and RJ may leave the lines out; AC (detail
and changes) with any statuses.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from .errors import ValidationError
from .outbound import (
    ItemIds,
    OutboundSet,
    check_code,
    check_qty,
    check_text,
    date8,
    item_pairs,
    price_text,
    seg,
)
from .segments import Segment

__all__ = ["ACK_TYPES", "LINE_STATUSES", "AckLine", "OrderAck", "build_855"]

ACK_TYPES = ("AC", "AD", "RD", "RJ")
LINE_STATUSES = ("IA", "IB", "IR", "IQ", "IP", "DR")


@dataclass(frozen=True, slots=True)
class AckLine:
    """One PO line as ordered, and what we say about it.

    `qty` is ACK02: the new quantity for IQ (required there), else the ordered quantity.
    `date` goes to ACK05 with `date_qualifier` (068 current schedule ship) in ACK04.
    """

    line_id: str
    qty_ordered: int
    uom: str
    item_ids: ItemIds
    status: str = "IA"
    unit_price_minor: int | None = None
    qty: int | None = None
    date: dt.date | None = None
    date_qualifier: str = "068"


@dataclass(frozen=True, slots=True)
class OrderAck:
    po_number: str
    po_date: dt.date
    ack_type: str
    lines: tuple[AckLine, ...]
    currency: str = "USD"
    purpose: str = "00"
    seller_order: str = ""
    ack_date: dt.date | None = None


def build_855(ack: OrderAck) -> OutboundSet:
    """The 855 body for `ack`; `ValidationError` if it cannot be a valid acknowledgment."""
    if ack.ack_type not in ACK_TYPES:
        raise ValidationError(f"BAK02 {ack.ack_type!r} is not one of {', '.join(ACK_TYPES)}")
    check_code(ack.purpose, "BAK01 purpose")
    if not ack.lines and ack.ack_type != "RJ":
        raise ValidationError(f"an 855 of type {ack.ack_type} needs its lines")
    body: list[Segment] = [
        seg(
            "BAK", ack.purpose, ack.ack_type, check_text(ack.po_number, "PO number", 1, 22), date8(ack.po_date),
            "", "", "", check_text(ack.seller_order, "seller order number", 1, 30, required=False),
            date8(ack.ack_date) if ack.ack_date else "",
        )
    ]
    seen: set[str] = set()
    for line in ack.lines:
        _agree(ack.ack_type, line)
        if line.line_id in seen:
            raise ValidationError(f"PO line {line.line_id!r} is acknowledged twice")
        seen.add(line.line_id)
        body.extend(_line(line, ack.currency))
    body.append(seg("CTT", str(len(ack.lines))))
    return OutboundSet("855", tuple(body))


def _agree(ack_type: str, line: AckLine) -> None:
    where = f"PO line {line.line_id!r}"
    if line.status not in LINE_STATUSES:
        raise ValidationError(f"{where}: ACK01 {line.status!r} is not one of {', '.join(LINE_STATUSES)}")
    if ack_type == "AD" and (line.status != "IA" or line.qty not in (None, line.qty_ordered)):
        raise ValidationError(f"{where}: an AD acknowledgment (no change) cannot say {line.status} with a change")
    if ack_type in ("RD", "RJ") and line.status != "IR":
        raise ValidationError(f"{where}: a rejected ({ack_type}) acknowledgment cannot say {line.status}")
    if line.status == "IQ" and (line.qty is None or line.qty == line.qty_ordered):
        raise ValidationError(f"{where}: IQ (quantity changed) needs a new quantity other than the ordered one")
    if line.status in ("IA", "IB") and line.qty not in (None, line.qty_ordered):
        raise ValidationError(f"{where}: {line.status} with quantity {line.qty} of {line.qty_ordered}; use IQ")
    if line.status == "DR" and line.date is None:
        raise ValidationError(f"{where}: DR (date rescheduled) needs the new date")


def _line(line: AckLine, currency: str) -> list[Segment]:
    where = f"PO line {line.line_id!r}"
    uom = check_code(line.uom, f"{where} unit of measure")
    price = "" if line.unit_price_minor is None else price_text(line.unit_price_minor, currency, f"{where} unit price")
    po1 = seg(
        "PO1", check_text(line.line_id, f"{where} id", 1, 20), check_qty(line.qty_ordered, f"{where} quantity ordered"),
        uom, price, "", *item_pairs(line.item_ids, where, most=10),
    )
    qty = line.qty_ordered if line.qty is None else line.qty
    ack = seg(
        "ACK", line.status, check_qty(qty, f"{where} acknowledged quantity", allow_zero=True), uom,
        check_code(line.date_qualifier, f"{where} date qualifier", 3, 3) if line.date else "",
        date8(line.date) if line.date else "",
    )
    return [po1, ack]
