"""846 inventory advice from a `StockSnapshot`.

    BIA   00, report type (SI seller inventory by default; MM, DD ... per partner),
          reference, date [, time]
    N1    parties (SU supplier, ST ...), optional
    LIN   per item: [line id,] qualifier/id pairs (UP, VP, BP ...)
     QTY  33 quantity available (zero allowed, never negative), unit
     QTY  17 quantity on hand, when given
    CTT   number of LIN segments

The QTY qualifiers and report types are common retail usage, not checked against every
partner's guide (reference/edi.md section 4).
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
    party_segments,
    seg,
    time4,
)
from .segments import Segment

__all__ = ["AVAILABLE", "ON_HAND", "StockItem", "StockSnapshot", "build_846"]

AVAILABLE = "33"
ON_HAND = "17"


@dataclass(frozen=True, slots=True)
class StockItem:
    item_ids: ItemIds
    available: int
    on_hand: int | None = None
    uom: str = "EA"
    line_id: str = ""


@dataclass(frozen=True, slots=True)
class StockSnapshot:
    reference: str
    date: dt.date
    items: tuple[StockItem, ...]
    time: dt.time | None = None
    report_type: str = "SI"
    purpose: str = "00"
    parties: tuple[Party, ...] = ()


def build_846(snapshot: StockSnapshot) -> OutboundSet:
    """The 846 body for `snapshot`; `ValidationError` if it cannot be a valid advice."""
    s = snapshot
    if not s.items:
        raise ValidationError(f"stock advice {s.reference!r} has no items")
    body: list[Segment] = [
        seg("BIA", check_code(s.purpose, "BIA01 purpose"), check_code(s.report_type, "BIA02 report type"),
            check_text(s.reference, "BIA03 reference", 1, 30), date8(s.date), time4(s.time) if s.time else ""),
    ]
    for party in s.parties:
        body += party_segments(party)
    seen: set[ItemIds] = set()
    for item in s.items:
        where = f"stock {describe_item(item.item_ids)}"
        if item.item_ids in seen:
            raise ValidationError(f"{where} is listed twice")
        seen.add(item.item_ids)
        uom = check_code(item.uom, f"{where} unit")
        body.append(seg("LIN", check_text(item.line_id, f"{where} line id", 1, 20, required=False),
                        *item_pairs(item.item_ids, where, most=15)))
        body.append(seg("QTY", AVAILABLE, check_qty(item.available, f"{where} quantity available",
                                                    allow_zero=True, digits=15), uom))
        if item.on_hand is not None:
            body.append(seg("QTY", ON_HAND, check_qty(item.on_hand, f"{where} quantity on hand",
                                                      allow_zero=True, digits=15), uom))
    body.append(seg("CTT", str(len(s.items))))
    return OutboundSet("846", tuple(body))
