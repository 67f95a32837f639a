"""810: the invoice a buyer's accounts payable pays, its TDS total to the cent, and refusals."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

import pytest

from edi_maps import TransactionSet, ValidationError
from edi_maps.invoice810 import Charge, Invoice, InvoiceLine, Terms, build_810, total_minor
from edi_maps.outbound import Party
from tests.edi_maps.test_out_envelope import emit

LINES = (
    InvoiceLine("1", 3, "EA", 1299, (("UP", "012345678905"), ("VP", "SKU-1")), "BLUE WIDGET, LARGE"),
    InvoiceLine("2", 7, "EA", 433, (("VP", "SKU-2"), ("BP", "B-2"))),
    InvoiceLine("3", 1, "CA", 10000, (("VP", "SKU-3"),)),
)


def _invoice(**kw: object) -> Invoice:
    base = Invoice(
        "INV-000917", dt.date(2026, 1, 17), "PO-1001", "USD", LINES, po_date=dt.date(2026, 1, 10),
        ship_date=dt.date(2026, 1, 16), references=(("IA", "VEND42"), ("DP", "038")),
        parties=(Party("RE", "ACME SUPPLY INC", "", "", "PO Box 1", "", "Columbus", "OH", "43004", "US"),
                 Party("ST", "BIG RETAIL STORE 42", "92", "0042"), Party("BT", "BIG RETAIL AP", "92", "AP01")),
        terms=Terms(discount_percent=Decimal("2"), discount_days=10, net_days=30, description="2% 10 NET 30"),
        charges=(Charge("C", "D240", 1250, "FREIGHT"), Charge("A", "C310", 399, "PROMO")),
        scac="UPSN", routing="UPS GROUND", transport_method="U",
    )
    return dataclasses.replace(base, **kw)  # type: ignore[arg-type]


def _implied(ts: TransactionSet, tag: str) -> list[int]:
    return [int(s.get(1) if tag == "TDS" else s.get(5)) for s in ts.all(tag)]


def _it1_sum_minor(ts: TransactionSet) -> int:
    """IT102 x IT104 summed, from the text, in cents."""
    return sum(int(Decimal(s.get(2)) * Decimal(s.get(4)) * 100) for s in ts.all("IT1"))


def test_invoice_reads_back_with_tds_in_implied_decimals() -> None:
    [ts] = emit([build_810(_invoice())]).sets()
    big = ts.first("BIG")
    assert big is not None and big.elements == ("20260117", "INV-000917", "20260110", "PO-1001")
    assert [s.elements for s in ts.all("IT1")] == [
        ("1", "3", "EA", "12.99", "", "UP", "012345678905", "VP", "SKU-1"),
        ("2", "7", "EA", "4.33", "", "VP", "SKU-2", "BP", "B-2"),
        ("3", "1", "CA", "100", "", "VP", "SKU-3"),
    ]
    # 38.97 + 30.31 + 100.00 + 12.50 freight - 3.99 promo = 177.79, written without a point
    assert _implied(ts, "TDS") == [17779]
    tds = ts.first("TDS")
    assert tds is not None and tds.elements == ("17779",)
    assert [(s.get(1), s.get(2), s.get(5), s.get(15)) for s in ts.all("SAC")] == [
        ("C", "D240", "1250", "FREIGHT"), ("A", "C310", "399", "PROMO")]
    assert [s.get(1) for s in ts.all("N1")] == ["RE", "ST", "BT"]
    assert [s.elements for s in ts.all("REF")] == [("IA", "VEND42"), ("DP", "038")]
    assert ts.first("DTM").elements == ("011", "20260116")  # type: ignore[union-attr]
    assert ts.first("CAD").elements == ("U", "", "", "UPSN", "UPS GROUND")  # type: ignore[union-attr]
    assert ts.first("ITD").elements == ("01", "3", "2", "", "10", "", "30", "", "", "", "", "2% 10 NET 30")  # type: ignore[union-attr]
    assert ts.first("CTT").elements == ("3",)  # type: ignore[union-attr]
    pid = ts.first("PID")
    assert pid is not None and pid.get(5) == "BLUE WIDGET, LARGE"
    # summary in X12 order (no ISS: the lines are in EA and CA)
    tags = [s.tag for s in ts.segments]
    assert tags[tags.index("TDS"):] == ["TDS", "CAD", "SAC", "SAC", "CTT"]


@pytest.mark.parametrize(
    "lines, charges",
    [
        (LINES, ()),
        (LINES, (Charge("A", "C310", 1),)),
        ((InvoiceLine("1", 3, "EA", 333, (("VP", "A"),)),), (Charge("C", "D240", 5), Charge("A", "C310", 7))),
        ((InvoiceLine("1", 1, "EA", 0, (("VP", "FREE"),)), InvoiceLine("2", 12, "DZ", 1, (("VP", "B"),))), ()),
    ],
    ids=["lines-only", "one-cent-allowance", "cents-charge-and-allowance", "free-line"],
)
def test_tds_is_the_it1_lines_plus_charges_minus_allowances(lines: tuple[InvoiceLine, ...],
                                                              charges: tuple[Charge, ...]) -> None:
    invoice = _invoice(lines=lines, charges=charges)
    [ts] = emit([build_810(invoice)]).sets()
    sac = sum(int(s.get(5)) * (1 if s.get(1) == "C" else -1) for s in ts.all("SAC"))
    assert _implied(ts, "TDS") == [_it1_sum_minor(ts) + sac] == [total_minor(invoice)]


def test_other_currencies_keep_two_implied_decimals_in_tds() -> None:
    yen = _invoice(currency="JPY", lines=(InvoiceLine("1", 2, "EA", 1500, (("VP", "A"),)),), charges=())
    [ts] = emit([build_810(yen)]).sets()
    assert ts.first("IT1").get(4) == "1500"  # type: ignore[union-attr]
    assert ts.first("TDS").get(1) == "300000"  # type: ignore[union-attr]  # 3,000 yen as N2
    assert ts.first("CUR").elements == ("SE", "JPY")  # type: ignore[union-attr]
    dinar = _invoice(currency="KWD", lines=(InvoiceLine("1", 1, "EA", 1235, (("VP", "A"),)),), charges=())
    with pytest.raises(ValidationError, match="two implied decimals"):
        build_810(dinar)  # 1.235 KWD cannot be N2


def test_iss_sums_units_only_when_every_line_has_the_same_unit() -> None:
    [same, mixed] = emit([
        build_810(_invoice(lines=LINES[:2], weight=Decimal("3.25"))),
        build_810(_invoice(invoice_number="INV-2")),
    ]).sets()
    assert same.first("ISS").elements == ("10", "EA", "3.25", "LB")  # type: ignore[union-attr]
    assert mixed.all("ISS") == []


@pytest.mark.parametrize(
    "invoice, why",
    [
        (_invoice(po_number=""), "PO number is missing"),
        (_invoice(invoice_number=""), "invoice number is missing"),
        (_invoice(lines=()), "no lines"),
        (_invoice(lines=(InvoiceLine("1", -1, "EA", 100, (("VP", "A"),)),)), "positive"),
        (_invoice(lines=(InvoiceLine("1", 1, "EA", -100, (("VP", "A"),)),)), "zero or more"),
        (_invoice(lines=(LINES[0], LINES[0])), "twice"),
        (_invoice(charges=(Charge("C", "D240", -5),)), "positive"),
        (_invoice(charges=(Charge("X", "D240", 5),)), "SAC01"),
        (_invoice(charges=(Charge("C", "FRT", 5),)), "SAC02"),
        (_invoice(charges=(Charge("A", "C310", 10**9),)), "below zero"),
        (_invoice(currency="usd"), "ISO 4217"),
        (_invoice(lines=(InvoiceLine("1", 1, "EA", 100, (("VP", "A\tB"),)),)), "character set"),
    ],
)
def test_invoices_that_cannot_be_valid_are_refused(invoice: Invoice, why: str) -> None:
    with pytest.raises(ValidationError, match=why):
        build_810(invoice)
