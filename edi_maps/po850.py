"""850 purchase order (and its line items) → the canonical order intake takes.

    BEG   purpose, type, PO number (the order's external id), release, PO date
    CUR   currency (else the partner's)
    DTM   010 requested ship, 037 ship not before → requested ship date;
          001 cancel after, 038 ship no later than → cancel-after date
    N1    ST ship-to (N2/N3/N4 below it), BY buying party; BT is ignored for now
    PO1   line: PO101 line id and PO103 unit (kept: 855/856/810 echo them, an 860 names
          the line by PO101), qty, unit price (explicit decimal), then qualifier/id pairs
          (VP/VN/VA/VC vendor part, SK our SKU, BP/IN/PI/CB buyer part, UP/UI UPC,
          EN/UK/UA GTIN); a line naming no item still goes in, to the unknown_item queue
    PID   free-form description of the line above it
    CTT   number of PO1 lines: a difference is noted for the operator, not a rejection
          (partners count differently)
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from store.canonical import Address, CanonicalLine, CanonicalOrder
from store.money import currency_exponent

from .errors import MappingError
from .segments import Group, Segment, TransactionSet

__all__ = [
    "ITEM_QUALIFIERS", "MappedOrder", "address_of", "count_note", "currency_of", "group_stamp", "item_ids",
    "line_items", "order_from_850", "parse_amount", "parse_date", "parse_qty", "parties_of", "ship_window",
]


@dataclass(frozen=True, slots=True)
class MappedOrder:
    order: CanonicalOrder
    notes: tuple[str, ...] = ()

# PO1 product id qualifiers → our identifier kinds, in the order the main item is chosen.
ITEM_QUALIFIERS = {
    "VP": "vendor_part",
    "VN": "vendor_part",
    "SK": "sku",
    "VA": "vendor_part",
    "VC": "vendor_part",
    "BP": "buyer_part",
    "IN": "buyer_part",
    "PI": "buyer_part",
    "CB": "buyer_part",
    "UP": "upc",
    "UI": "upc",
    "EN": "gtin",
    "UK": "gtin",
    "UA": "gtin",
}
_SHIP_DATES = ("010", "037")
_CANCEL_DATES = ("001", "038")


def parse_date(value: str, where: Segment) -> dt.date:
    try:
        if len(value) == 8:
            return dt.date(int(value[:4]), int(value[4:6]), int(value[6:]))
        if len(value) == 6:
            return dt.date(2000 + int(value[:2]), int(value[2:4]), int(value[4:]))
    except ValueError:
        pass
    raise MappingError(f"{where.tag} date {value!r} is not CCYYMMDD", segment_index=where.index, offset=where.offset)


def parse_amount(value: str, where: Segment, exponent: int = 2) -> int:
    try:
        amount = Decimal(value or "0")
    except InvalidOperation:
        raise MappingError(f"{where.tag} amount {value!r} is not a number", segment_index=where.index, offset=where.offset) from None
    minor = amount.scaleb(exponent)
    if minor != minor.to_integral_value():
        raise MappingError(
            f"{where.tag} amount {value} has more decimals than the currency", segment_index=where.index, offset=where.offset
        )
    return int(minor)


def parse_qty(value: str, where: Segment, element: str = "PO102") -> int:
    try:
        qty = Decimal(value)
    except InvalidOperation:
        raise MappingError(f"{element} quantity {value!r} is not a number", segment_index=where.index, offset=where.offset) from None
    if qty != qty.to_integral_value() or qty < 0:
        raise MappingError(
            f"{element} quantity {value} is not a whole number of units", segment_index=where.index, offset=where.offset
        )
    return int(qty)


def parties_of(ts: TransactionSet) -> dict[str, tuple[Segment, list[Segment]]]:
    """N1 loops by entity code: the N1 and the segments under it (N2, N3, N4, PER, ...)."""
    parties: dict[str, tuple[Segment, list[Segment]]] = {}
    current: list[Segment] | None = None
    for seg in ts.segments:
        if seg.tag == "N1":
            current = []
            parties.setdefault(seg.get(1), (seg, current))
        elif seg.tag in ("N2", "N3", "N4", "PER", "REF") and current is not None:
            current.append(seg)
        elif seg.tag in ("PO1", "POC"):  # the line items start
            break
        else:
            current = None
    return parties


def address_of(n1: Segment, under: list[Segment]) -> Address:
    n2 = next((s for s in under if s.tag == "N2"), None)
    n3 = next((s for s in under if s.tag == "N3"), None)
    n4 = next((s for s in under if s.tag == "N4"), None)
    name = n1.get(2) or (n2.get(1) if n2 else "") or None
    country = n4.get(4) if n4 else ""
    return Address(
        name=name,
        address1=(n3.get(1) if n3 else None) or None,
        address2=(n3.get(2) if n3 else None) or None,
        city=(n4.get(1) if n4 else None) or None,
        region=(n4.get(2) if n4 else None) or None,
        postal_code=(n4.get(3) if n4 else None) or None,
        country=country[:2] if len(country) in (2, 3) else None,
    )


def item_ids(seg: Segment, first: int) -> tuple[dict[str, str], tuple[str, str] | None]:
    """Qualifier/id pairs from element `first` on: every known kind, and the main (kind, id)."""
    ids: dict[str, str] = {}
    main: tuple[int, str, str] | None = None
    order = list(ITEM_QUALIFIERS)
    for n in range(first, len(seg.elements), 2):
        qualifier, value = seg.get(n), seg.get(n + 1).strip()
        kind = ITEM_QUALIFIERS.get(qualifier)
        if kind is None or not value:
            continue
        ids.setdefault(kind, value)
        rank = order.index(qualifier)
        if main is None or rank < main[0]:
            main = (rank, kind, value)
    return ids, (main[1], main[2]) if main else None


def currency_of(ts: TransactionSet, default: str) -> str:
    """CUR02 when the set has a CUR naming a currency, else `default` (the partner's)."""
    cur = ts.first("CUR")
    if cur is not None and len(cur.get(2)) == 3:
        return cur.get(2).upper()
    return default


def line_items(ts: TransactionSet, tag: str) -> list[tuple[Segment, Segment | None]]:
    """Each `tag` line segment (PO1, POC) with the PID describing it: the first PID after it,
    before the next line or the CTT."""
    segments = ts.segments
    out: list[tuple[Segment, Segment | None]] = []
    for i, seg in enumerate(segments):
        if seg.tag != tag:
            continue
        pid = None
        for nxt in segments[i + 1 :]:
            if nxt.tag in (tag, "CTT"):
                break
            if nxt.tag == "PID":
                pid = nxt
                break
        out.append((seg, pid))
    return out


def count_note(ts: TransactionSet, counted: int, what: str) -> list[str]:
    """A note when CTT01 says another number of line items than `counted` (`what`: "the PO has
    3 PO1 lines"); partners count differently, so it is never a rejection."""
    ctt = ts.first("CTT")
    if ctt is not None and ctt.get(1).strip().isdigit() and int(ctt.get(1)) != counted:
        return [f"CTT01 says {int(ctt.get(1))} line items, {what}"]
    return []


def _line(po1: Segment, pid: Segment | None, exponent: int) -> CanonicalLine:
    ids, main = item_ids(po1, 6)
    description = (pid.get(5) or None) if pid is not None else None
    if main is None:
        # Kept, so the order shows it in the unknown_item queue; no alias can match this text.
        main = ("buyer_part", f"no item id on PO1 {po1.get(1) or '#' + str(po1.position)}")
    return CanonicalLine(
        item=main[1], item_kind=main[0], item_ids=ids, qty=parse_qty(po1.get(2), po1),
        unit_price_minor=parse_amount(po1.get(4), po1, exponent), description=description,
        line_ref=po1.get(1).strip()[:64] or None, uom=po1.get(3).strip()[:8] or None,
    )


def order_from_850(ts: TransactionSet, group: Group, *, channel: str, currency: str = "USD") -> MappedOrder:
    """Map one 850 to a canonical order; MappingError (with the segment) if it cannot be."""
    if ts.id != "850":
        raise MappingError(f"transaction set {ts.id} is not an 850", segment_index=ts.header.index, offset=ts.header.offset)
    beg = ts.first("BEG")
    if beg is None or not beg.get(3):
        raise MappingError("850 has no BEG with a PO number", segment_index=ts.header.index, offset=ts.header.offset)
    currency = currency_of(ts, currency)
    ship, cancel = ship_window(ts)
    by_code = parties_of(ts)
    ship_to = address_of(*by_code["ST"]) if "ST" in by_code else Address()
    buyer = by_code.get("BY")

    exponent = currency_exponent(currency)
    lines = [_line(po1, pid, exponent) for po1, pid in line_items(ts, "PO1")]
    if not lines:
        raise MappingError(f"PO {beg.get(3)} has no PO1 lines", segment_index=beg.index, offset=beg.offset)
    notes = count_note(ts, len(lines), f"the PO has {len(lines)} PO1 lines")
    po_date = parse_date(beg.get(5), beg) if beg.get(5) else None
    order = CanonicalOrder(
        channel=channel,
        external_id=beg.get(3),
        lines=tuple(lines),
        currency=currency,
        # An original is version 1 whatever envelope it came in, so a resend is a no-op;
        # a replacement (BEG01 05) counts from the group's date and time.
        version=1 if beg.get(1) != "05" else group_stamp(group),
        placed_at=dt.datetime.combine(po_date, dt.time(), dt.timezone.utc) if po_date else None,
        buyer_name=(buyer[0].get(2) or None) if buyer else None,
        buyer_ref=(buyer[0].get(4) or None) if buyer else None,
        ship_to=ship_to,
        requested_ship_date=ship,
        cancel_after=cancel,
    )
    return MappedOrder(order, tuple(notes))


def ship_window(ts: TransactionSet) -> tuple[dt.date | None, dt.date | None]:
    """(requested ship date, cancel-after date) from the header DTMs, before the line items."""
    dates: dict[str, Segment] = {}
    for seg in ts.segments:
        if seg.tag in ("PO1", "POC"):
            break
        if seg.tag == "DTM" and seg.get(2):
            dates.setdefault(seg.get(1), seg)
    ship = next((dates[q] for q in _SHIP_DATES if q in dates), None)
    cancel = next((dates[q] for q in _CANCEL_DATES if q in dates), None)
    return (parse_date(ship.get(2), ship) if ship else None, parse_date(cancel.get(2), cancel) if cancel else None)


def group_stamp(group: Group) -> int:
    """GS04 date + GS05 time as a number that grows with time (CCYYMMDDHHMM)."""
    date = group.header.get(4)
    if len(date) == 6:
        date = "20" + date
    clock = (group.header.get(5) + "0000")[:4]
    stamp = f"{date}{clock}"
    return int(stamp) if stamp.isdigit() else 2
