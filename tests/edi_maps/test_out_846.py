"""846: the stock a marketplace shows as available, item by item."""

from __future__ import annotations

import datetime as dt

import pytest

from edi_maps import ValidationError
from edi_maps.outbound import Party
from edi_maps.stock846 import StockItem, StockSnapshot, build_846
from tests.edi_maps.test_out_envelope import emit

ITEMS = (
    StockItem((("UP", "012345678905"), ("VP", "SKU-1")), 12, on_hand=15, line_id="1"),
    StockItem((("VP", "SKU-2"), ("BP", "B-2")), 0),  # sold out still says so
    StockItem((("VP", "SKU-3"),), 250, on_hand=250, uom="CA"),
)


def test_stock_snapshot_reads_back_item_by_item() -> None:
    snap = StockSnapshot("INV-20260117", dt.date(2026, 1, 17), ITEMS, time=dt.time(6, 0),
                         parties=(Party("SU", "ACME SUPPLY", "92", "V42"),))
    [ts] = emit([build_846(snap)]).sets()
    assert ts.first("BIA").elements == ("00", "SI", "INV-20260117", "20260117", "0600")  # type: ignore[union-attr]
    assert [s.elements for s in ts.all("LIN")] == [
        ("1", "UP", "012345678905", "VP", "SKU-1"), ("", "VP", "SKU-2", "BP", "B-2"), ("", "VP", "SKU-3")]
    assert [s.elements for s in ts.all("QTY")] == [
        ("33", "12", "EA"), ("17", "15", "EA"), ("33", "0", "EA"), ("33", "250", "CA"), ("17", "250", "CA")]
    assert [s.tag for s in ts.segments] == ["BIA", "N1", "LIN", "QTY", "QTY", "LIN", "QTY", "LIN", "QTY", "QTY", "CTT"]
    assert ts.first("CTT").elements == ("3",)  # type: ignore[union-attr]


def test_report_type_is_a_parameter() -> None:
    [ts] = emit([build_846(StockSnapshot("R-1", dt.date(2026, 1, 17), ITEMS[:1], report_type="MM"))]).sets()
    assert ts.first("BIA").get(2) == "MM"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "snap, why",
    [
        (StockSnapshot("R-1", dt.date(2026, 1, 17), (StockItem((("VP", "A"),), -1),)), "zero or more"),
        (StockSnapshot("R-1", dt.date(2026, 1, 17), (StockItem((("VP", "A"),), 1, on_hand=-4),)), "zero or more"),
        (StockSnapshot("R-1", dt.date(2026, 1, 17), ()), "no items"),
        (StockSnapshot("", dt.date(2026, 1, 17), ITEMS), "BIA03 reference is missing"),
        (StockSnapshot("R-1", dt.date(2026, 1, 17), ITEMS, report_type="S"), "BIA02"),
        (StockSnapshot("R-1", dt.date(2026, 1, 17), (ITEMS[0], ITEMS[0])), "twice"),
        (StockSnapshot("R-1", dt.date(2026, 1, 17), (StockItem((), 3),)), "names no item"),
        (StockSnapshot("R-1", dt.date(2026, 1, 17), (StockItem((("VP", "A "),), 3),)), "space"),
    ],
)
def test_stock_advice_that_cannot_be_valid_is_refused(snap: StockSnapshot, why: str) -> None:
    with pytest.raises(ValidationError, match=why):
        build_846(snap)
