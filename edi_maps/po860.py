"""860 purchase order change → the change `store.changes.apply_change` applies.

    BCH   01 purpose: 01 cancels the whole PO, anything else changes it; 03 the PO number
    DTM   010/037 new requested ship date, 001/038 new cancel-after date (header only)
    N1    ST with N2/N3/N4: a new ship-to
    POC   one line change: 01 the PO1 line id it names, 02 what changes, 03 the new quantity
          ordered, 05 unit, 06 unit price, 08.. qualifier/id pairs (find the line when 01 is
          empty; name the item of an added line)
    PID   description of an added line

POC02 change codes and what they do to the line:
    AI                      add the line
    DI                      cancel what is still open on it
    QD QI RQ CA RZ PQ CT    new quantity (POC03) and, when given, unit price (POC06)
    PC                      new unit price
    NC                      nothing (the line is repeated for context)
    RS CB DR                reschedule: kept as a note (we keep no per-line dates)
An unknown code rejects the whole 860 (nothing is applied) with the code named.
"""

from __future__ import annotations

from dataclasses import dataclass

from store.canonical import Address, CanonicalLine
from store.changes import LineChange, OrderChange
from store.money import currency_exponent

from .errors import MappingError
from .po850 import (
    address_of, count_note, currency_of, item_ids, line_items, parse_amount, parse_qty, parties_of, ship_window,
)
from .segments import Segment, TransactionSet

__all__ = ["MappedChange", "change_from_860", "CHANGE_CODES"]

_UPDATE = ("QD", "QI", "RQ", "CA", "RZ", "PQ", "CT")
_RESCHEDULE = ("RS", "CB", "DR")
CHANGE_CODES = ("AI", "DI", "PC", "NC", *_UPDATE, *_RESCHEDULE)


@dataclass(frozen=True, slots=True)
class MappedChange:
    change: OrderChange
    notes: tuple[str, ...] = ()


def change_from_860(ts: TransactionSet, *, channel: str, currency: str = "USD") -> MappedChange:
    """Map one 860 to an order change; MappingError (with the segment) if it cannot be."""
    if ts.id != "860":
        raise MappingError(f"transaction set {ts.id} is not an 860", segment_index=ts.header.index, offset=ts.header.offset)
    bch = ts.first("BCH")
    if bch is None or not bch.get(3):
        raise MappingError("860 has no BCH with a PO number", segment_index=ts.header.index, offset=ts.header.offset)
    currency = currency_of(ts, currency)
    po = bch.get(3)
    if bch.get(1) == "01":
        return MappedChange(OrderChange(channel, po, cancel=True, reason=f"cancelled by 860 {ts.control_number}"))
    ship, cancel_after = ship_window(ts)
    by_code = parties_of(ts)
    ship_to: Address | None = None
    if "ST" in by_code and len(by_code["ST"][1]) > 0:  # a new address, not only a name or code
        ship_to = address_of(*by_code["ST"])
    exponent = currency_exponent(currency)
    lines = [_line_change(poc, pid, exponent) for poc, pid in line_items(ts, "POC")]
    if not lines and ship_to is None and ship is None and cancel_after is None:
        raise MappingError(f"860 for PO {po} changes nothing we keep (no POC lines, ship-to or dates)",
                           segment_index=bch.index, offset=bch.offset)
    notes = count_note(ts, len(lines), f"the 860 has {len(lines)} POC lines")
    change = OrderChange(channel, po, lines=tuple(lines), ship_to=ship_to, requested_ship_date=ship,
                         cancel_after=cancel_after, reason=f"860 {ts.control_number}")
    return MappedChange(change, tuple(notes))


def _line_change(poc: Segment, pid: Segment | None, exponent: int) -> LineChange:
    code = poc.get(2).strip()
    ref = poc.get(1).strip()[:64] or None
    ids, main = item_ids(poc, 8)
    qty = parse_qty(poc.get(3), poc, "POC03") if poc.get(3).strip() else None
    price = parse_amount(poc.get(6), poc, exponent) if poc.get(6).strip() else None
    if code == "AI":
        if main is None or qty is None:
            raise MappingError(f"POC {ref or ''} adds a line without an item id or a quantity",
                               segment_index=poc.index, offset=poc.offset)
        line = CanonicalLine(
            item=main[1], item_kind=main[0], item_ids=ids, qty=qty, unit_price_minor=price or 0,
            description=(pid.get(5) or None) if pid is not None else None, line_ref=ref,
            uom=poc.get(5).strip()[:8] or None,
        )
        return LineChange("add", ref, ids, qty, price, line)
    if code == "DI":
        return LineChange("cancel", ref, ids)
    if code in _UPDATE:
        if qty is None and price is None:
            raise MappingError(f"POC {ref or ''} ({code}) gives neither a quantity nor a price",
                               segment_index=poc.index, offset=poc.offset)
        return LineChange("update", ref, ids, qty=qty, unit_price_minor=price)
    if code == "PC":
        if price is None:
            raise MappingError(f"POC {ref or ''} (PC price change) has no POC06 price",
                               segment_index=poc.index, offset=poc.offset)
        return LineChange("update", ref, ids, unit_price_minor=price)
    if code == "NC":
        return LineChange("none", ref, ids)
    if code in _RESCHEDULE:
        return LineChange("none", ref, ids, note=f"rescheduled ({code}); line dates are not kept, see the order's dates")
    raise MappingError(f"POC02 change code {code!r} is not one we apply ({', '.join(CHANGE_CODES)})",
                       segment_index=poc.index, offset=poc.offset)
