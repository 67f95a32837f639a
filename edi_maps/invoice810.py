"""810 invoice from an `Invoice`; money in integer minor units of one currency.

    BIG   invoice date, invoice number, PO date, PO number
    CUR   SE (selling party) and the currency
    REF   references (IA vendor number, DP department ...)
    N1    RE remit-to, ST ship-to, BT bill-to ... with N3/N4
    ITD   terms (optional)
    DTM   011 ship date
    IT1   line id, qty, unit, unit price as an explicit decimal (R), qualifier/id pairs
     PID  F (free-form) description, when given
    TDS   total in IMPLIED two decimals (N2, no point): lines + charges - allowances
    CAD   carrier (transport method, SCAC, routing), when given
    SAC   C charge / A allowance, code, amount (N2 too), description
    ISS   units shipped (when every line has one unit) and weight
    CTT   number of IT1 lines

`total_minor(invoice)` is what TDS01 says, in the currency's minor units.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from .errors import ValidationError
from .outbound import (
    ItemIds,
    OutboundSet,
    Party,
    amount_n2,
    check_code,
    check_qty,
    check_text,
    date8,
    decimal_text,
    item_pairs,
    minor_exponent,
    party_segments,
    price_text,
    seg,
)
from .segments import Segment

__all__ = ["Charge", "Invoice", "InvoiceLine", "Terms", "build_810", "line_amount_minor", "total_minor"]


@dataclass(frozen=True, slots=True)
class InvoiceLine:
    line_id: str
    qty: int
    uom: str
    unit_price_minor: int
    item_ids: ItemIds
    description: str = ""


@dataclass(frozen=True, slots=True)
class Charge:
    """A SAC: `indicator` C (charge, adds to the total) or A (allowance, subtracts);
    `code` SAC02 (D240 freight, C310 discount ...); `amount_minor` positive."""

    indicator: str
    code: str
    amount_minor: int
    description: str = ""


@dataclass(frozen=True, slots=True)
class Terms:
    """ITD: type (01 basic), basis date (3 invoice date), discount percent and days, net days."""

    type_code: str = "01"
    basis_date_code: str = "3"
    discount_percent: Decimal | None = None
    discount_days: int | None = None
    net_days: int | None = None
    description: str = ""


@dataclass(frozen=True, slots=True)
class Invoice:
    invoice_number: str
    invoice_date: dt.date
    po_number: str
    currency: str
    lines: tuple[InvoiceLine, ...]
    po_date: dt.date | None = None
    ship_date: dt.date | None = None
    references: tuple[tuple[str, str], ...] = ()
    parties: tuple[Party, ...] = ()
    terms: Terms | None = None
    charges: tuple[Charge, ...] = ()
    scac: str = ""
    routing: str = ""
    transport_method: str = ""
    weight: Decimal | None = None
    weight_uom: str = "LB"


def line_amount_minor(line: InvoiceLine) -> int:
    """IT102 x IT104 in minor units."""
    return line.qty * line.unit_price_minor


def total_minor(invoice: Invoice) -> int:
    """TDS01 in minor units: the lines' extended amounts, plus charges, minus allowances."""
    total = sum(line_amount_minor(line) for line in invoice.lines)
    for c in invoice.charges:
        total += c.amount_minor if c.indicator == "C" else -c.amount_minor
    return total


def build_810(invoice: Invoice) -> OutboundSet:
    """The 810 body for `invoice`; `ValidationError` if it cannot be a valid invoice."""
    inv = invoice
    cur = inv.currency
    minor_exponent(cur)
    if not inv.lines:
        raise ValidationError(f"invoice {inv.invoice_number!r} has no lines")
    body: list[Segment] = [
        seg("BIG", date8(inv.invoice_date), check_text(inv.invoice_number, "invoice number", 1, 22),
            date8(inv.po_date) if inv.po_date else "", check_text(inv.po_number, "PO number", 1, 22)),
        seg("CUR", "SE", cur),
    ]
    for qualifier, value in inv.references:
        body.append(seg("REF", check_code(qualifier, "REF qualifier", 2, 3),
                        check_text(value, f"REF*{qualifier}", 1, 30)))
    for party in inv.parties:
        body += party_segments(party)
    if inv.terms is not None:
        body.append(_terms(inv.terms))
    if inv.ship_date is not None:
        body.append(seg("DTM", "011", date8(inv.ship_date)))
    seen: set[str] = set()
    for line in inv.lines:
        if line.line_id in seen:
            raise ValidationError(f"invoice line {line.line_id!r} appears twice")
        seen.add(line.line_id)
        body += _line(line, cur)
    for c in inv.charges:
        if c.indicator not in ("A", "C"):
            raise ValidationError(f"SAC01 {c.indicator!r} must be A (allowance) or C (charge)")
        if isinstance(c.amount_minor, bool) or not isinstance(c.amount_minor, int) or c.amount_minor <= 0:
            raise ValidationError(f"SAC {c.code} amount must be positive minor units, got {c.amount_minor!r}")
    total = total_minor(inv)
    if total < 0:
        raise ValidationError(f"invoice {inv.invoice_number!r} totals below zero ({total}); send a credit memo")
    body.append(seg("TDS", amount_n2(total, cur, "TDS01 invoice total")))
    if inv.scac or inv.routing or inv.transport_method:
        body.append(seg(
            "CAD", check_code(inv.transport_method, "CAD01 transport method", 1, 2) if inv.transport_method else "",
            "", "", check_code(inv.scac, "SCAC", 2, 4) if inv.scac else "",
            check_text(inv.routing, "CAD05 routing", 1, 35, required=False),
        ))
    for c in inv.charges:
        body.append(seg(
            "SAC", c.indicator, check_code(c.code, "SAC02 charge code", 4, 4), "", "",
            amount_n2(c.amount_minor, cur, f"SAC {c.code} amount"),
            *([""] * 9), check_text(c.description, f"SAC {c.code} description", 1, 80, required=False),
        ))
    body += _iss(inv)
    body.append(seg("CTT", str(len(inv.lines))))
    return OutboundSet("810", tuple(body))


def _terms(t: Terms) -> Segment:
    return seg(
        "ITD", check_code(t.type_code, "ITD01 terms type", 2, 2), check_code(t.basis_date_code, "ITD02 basis date", 1, 2),
        "" if t.discount_percent is None else decimal_text(t.discount_percent, "ITD03 discount percent", 6),
        "", "" if t.discount_days is None else check_qty(t.discount_days, "ITD05 discount days", allow_zero=True, digits=3),
        "", "" if t.net_days is None else check_qty(t.net_days, "ITD07 net days", allow_zero=True, digits=3),
        "", "", "", "", check_text(t.description, "ITD12 terms description", 1, 80, required=False),
    )


def _line(line: InvoiceLine, currency: str) -> list[Segment]:
    where = f"invoice line {line.line_id!r}"
    out = [seg(
        "IT1", check_text(line.line_id, f"{where} id", 1, 20), check_qty(line.qty, f"{where} quantity", digits=15),
        check_code(line.uom, f"{where} unit"), price_text(line.unit_price_minor, currency, f"{where} unit price"),
        "", *item_pairs(line.item_ids, where, most=10),
    )]
    if line.description:
        out.append(seg("PID", "F", "", "", "", check_text(line.description, f"{where} description", 1, 80)))
    return out


def _iss(inv: Invoice) -> list[Segment]:
    units = {line.uom for line in inv.lines}
    shipped = ["", ""]
    if len(units) == 1:
        shipped = [check_qty(sum(line.qty for line in inv.lines), "ISS01 units shipped"), units.pop()]
    weight = [] if inv.weight is None else [
        decimal_text(inv.weight, "ISS03 weight"), check_code(inv.weight_uom, "ISS04 weight unit")]
    if not shipped[0] and not weight:
        return []
    return [seg("ISS", *shipped, *weight)]

