"""855: the acknowledgment a buyer reads, line by line, and the ones we refuse to send."""

from __future__ import annotations

import datetime as dt

import pytest

from edi_maps import ValidationError
from edi_maps.ack855 import AckLine, OrderAck, build_855
from tests.edi_maps.test_out_envelope import emit

PO_DATE = dt.date(2026, 1, 15)
LINES = (
    AckLine("1", 10, "EA", (("UP", "012345678905"), ("VP", "SKU-1")), "IA", unit_price_minor=1299),
    AckLine("2", 5, "EA", (("VP", "SKU-2"), ("BP", "B-77")), "IB", unit_price_minor=250, date=dt.date(2026, 2, 1)),
    AckLine("3", 4, "CA", (("VP", "SKU-3"),), "IQ", unit_price_minor=10000, qty=2),
    AckLine("4", 1, "EA", (("VP", "SKU-4"),), "IR"),
)


def test_accepted_with_changes_reads_back_line_by_line() -> None:
    ack = OrderAck("PO-1001", PO_DATE, "AC", LINES, seller_order="SO-77", ack_date=dt.date(2026, 1, 16))
    [ts] = emit([build_855(ack)]).sets()
    bak = ts.first("BAK")
    assert bak is not None and bak.elements == ("00", "AC", "PO-1001", "20260115", "", "", "", "SO-77", "20260116")
    po1 = [s.elements for s in ts.all("PO1")]
    assert po1 == [
        ("1", "10", "EA", "12.99", "", "UP", "012345678905", "VP", "SKU-1"),
        ("2", "5", "EA", "2.5", "", "VP", "SKU-2", "BP", "B-77"),
        ("3", "4", "CA", "100", "", "VP", "SKU-3"),
        ("4", "1", "EA", "", "", "VP", "SKU-4"),
    ]
    statuses = [s.elements for s in ts.all("ACK")]
    assert statuses == [
        ("IA", "10", "EA"),
        ("IB", "5", "EA", "068", "20260201"),  # backordered, with the date it will ship
        ("IQ", "2", "CA"),  # quantity changed: the new quantity
        ("IR", "1", "EA"),
    ]
    # each ACK follows its own PO1
    tags = [s.tag for s in ts.segments]
    assert tags == ["BAK", *(["PO1", "ACK"] * 4), "CTT"]
    ctt = ts.first("CTT")
    assert ctt is not None and ctt.elements == ("4",)


def test_accepted_without_change_and_rejected() -> None:
    ad = OrderAck("PO-1", PO_DATE, "AD", (LINES[0], AckLine("2", 3, "EA", (("VP", "X"),), qty=3)))
    rj = OrderAck("PO-2", PO_DATE, "RJ", ())
    rd = OrderAck("PO-3", PO_DATE, "RD", (LINES[3],))
    sets = list(emit([build_855(ad), build_855(rj), build_855(rd)]).sets())
    assert [ts.first("BAK").get(2) for ts in sets] == ["AD", "RJ", "RD"]  # type: ignore[union-attr]
    assert [[a.get(1) for a in ts.all("ACK")] for ts in sets] == [["IA", "IA"], [], ["IR"]]
    assert [ts.first("CTT").get(1) for ts in sets] == ["2", "0", "1"]  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "ack, why",
    [
        (OrderAck("PO-1", PO_DATE, "AD", (LINES[2],)), "AD"),
        (OrderAck("PO-1", PO_DATE, "AD", (AckLine("1", 2, "EA", (("VP", "X"),), qty=1),)), "AD"),
        (OrderAck("PO-1", PO_DATE, "RJ", (LINES[0],)), "rejected"),
        (OrderAck("PO-1", PO_DATE, "AC", (AckLine("1", 2, "EA", (("VP", "X"),), "IQ"),)), "IQ"),
        (OrderAck("PO-1", PO_DATE, "AC", (AckLine("1", 2, "EA", (("VP", "X"),), "IQ", qty=2),)), "IQ"),
        (OrderAck("PO-1", PO_DATE, "AC", (AckLine("1", 2, "EA", (("VP", "X"),), "IA", qty=1),)), "use IQ"),
        (OrderAck("PO-1", PO_DATE, "AC", (AckLine("1", 2, "EA", (("VP", "X"),), "ZZ"),)), "ACK01"),
        (OrderAck("PO-1", PO_DATE, "AC", (AckLine("1", -2, "EA", (("VP", "X"),)),)), "positive"),
        (OrderAck("PO-1", PO_DATE, "AC", (AckLine("1", 2, "EA", (("VP", "X"),), "IQ", qty=-1),)), "zero or more"),
        (OrderAck("PO-1", PO_DATE, "AC", (AckLine("1", 2, "EA", ()),)), "names no item"),
        (OrderAck("PO-1", PO_DATE, "AC", (LINES[0], LINES[0])), "twice"),
        (OrderAck("", PO_DATE, "AC", (LINES[0],)), "PO number is missing"),
        (OrderAck("P" * 23, PO_DATE, "AC", (LINES[0],)), "1 to 22"),
        (OrderAck("PO-1", PO_DATE, "XX", (LINES[0],)), "BAK02"),
        (OrderAck("PO-1", PO_DATE, "AC", ()), "needs its lines"),
        (OrderAck("PO-1", PO_DATE, "AC", (AckLine("1", 2, "EACH", (("VP", "X"),)),)), "unit of measure"),
        (OrderAck("PO-1", PO_DATE, "AC", (AckLine("1", 2, "EA", (("VP", "Größe"),)),)), "character set"),
    ],
)
def test_acknowledgments_that_cannot_be_valid_are_refused(ack: OrderAck, why: str) -> None:
    with pytest.raises(ValidationError, match=why):
        build_855(ack)
