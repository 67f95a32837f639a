"""860 purchase order changes: mapped from real segments, applied through the inbound path."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from edi_maps.errors import MappingError
from edi_maps.inbound import receive_x12
from edi_maps.po860 import change_from_860
from edi_maps.reader import read
from store import Store, check
from store.models import OutboxMessage
from tests.edi_maps.test_inbound import partner  # noqa: F401  (fixture)
from tests.edi_maps.x12text import change, interchange, order
from tests.store.helpers import level, lines_of, order_row


def _mapped(*pocs: str, purpose: str = "04"):  # type: ignore[no-untyped-def]
    [ts] = list(read(interchange(change("PO-1", *pocs, purpose=purpose), functional_id="PC").encode()).sets())
    return change_from_860(ts, channel="acme").change


def test_each_poc_code_maps_to_what_it_asks() -> None:
    c = _mapped("1*DI", "2*QD*3*3*EA", "3*PC****4.25", "4*AI*5**CA*12.50**VP*SKU9*BP*B-9", "5*NC", "6*RS")
    assert [(lc.action, lc.line_ref, lc.qty, lc.unit_price_minor) for lc in c.lines] == [
        ("cancel", "1", None, None), ("update", "2", 3, None), ("update", "3", None, 425), ("add", "4", 5, 1250),
        ("none", "5", None, None), ("none", "6", None, None),
    ]
    added = c.lines[3].line
    assert added is not None
    assert (added.item, added.item_kind, added.uom, dict(added.item_ids)) == (
        "SKU9", "vendor_part", "CA", {"vendor_part": "SKU9", "buyer_part": "B-9"})
    assert "rescheduled" in (c.lines[5].note or "")


def test_bch01_01_cancels_the_whole_po() -> None:
    c = _mapped(purpose="01")
    assert (c.external_id, c.cancel, c.lines) == ("PO-1", True, ())


@pytest.mark.parametrize(("poc", "said"), [
    ("1*ZZ*3", "change code 'ZZ'"),
    ("1*QD", "neither a quantity nor a price"),
    ("1*AI*2", "without an item id"),
    ("1*QD*2.5", "not a whole number"),
])
def test_a_change_we_cannot_read_is_refused_with_the_reason(poc: str, said: str) -> None:
    with pytest.raises(MappingError, match=said):
        _mapped(poc)


def test_an_860_after_the_850_changes_the_order_and_is_acknowledged(partner: Store) -> None:  # noqa: F811
    receive_x12(partner, interchange(order("PO-7", 3)).encode(), source="po.x12")
    oid = order_row(partner, "PO-7").id
    assert level(partner, "SKU1", "DAL") == (100, 2)
    pc = interchange(change("PO-7", "1*DI", "2*QI*5*5*EA", "4*AI*1*1*EA*2.00**VP*SKU3"), functional_id="PC",
                     control="000000124", gs06="8")
    result = receive_x12(partner, pc.encode(), source="change.x12")
    assert result.state == "accepted", result.problems
    [outcome] = result.interchanges[0].sets
    assert (outcome.set_id, outcome.status, outcome.order_id) == ("860", "changed", oid)
    lines = lines_of(partner, oid)
    assert [(ln.line_ref, ln.qty, ln.qty_reserved, ln.qty_cancelled) for ln in lines] == [
        ("1", 2, 0, 2), ("2", 5, 5, 0), ("3", 4, 4, 0), ("4", 1, 1, 0)]
    assert level(partner, "SKU1", "DAL") == (100, 0)
    assert level(partner, "SKU2", "DAL") == (100, 5)
    with partner.read() as conn:
        acks = conn.execute(select(OutboxMessage.payload).where(OutboxMessage.kind == "edi_997")).scalars().all()
    assert len(acks) == 2 and "AK1*PC*8" in acks[1]["data"]
    assert check(partner).ok


def test_an_860_that_cannot_apply_leaves_the_order_as_it_was_for_an_operator(partner: Store) -> None:  # noqa: F811
    receive_x12(partner, interchange(order("PO-7", 2)).encode(), source="po.x12")
    pc = interchange(change("PO-7", "9*DI"), functional_id="PC", control="000000124")
    result = receive_x12(partner, pc.encode(), source="change.x12")
    [outcome] = result.interchanges[0].sets
    assert outcome.status == "conflict" and "line 9 is not on order PO-7" in (outcome.reason or "")
    row = order_row(partner, "PO-7")
    assert (row.status, row.exception) == ("allocated", "change_conflict")
    unknown = receive_x12(partner, interchange(change("PO-404", "1*DI"), functional_id="PC", control="000000125").encode(),
                          source="other.x12")
    assert unknown.state == "rejected"
    assert "no order PO-404" in unknown.problems[0].reason


def test_an_860_cancel_cancels_the_order_and_frees_its_stock(partner: Store) -> None:  # noqa: F811
    receive_x12(partner, interchange(order("PO-7", 2)).encode(), source="po.x12")
    pc = interchange(change("PO-7", purpose="01"), functional_id="PC", control="000000124")
    receive_x12(partner, pc.encode(), source="cancel.x12")
    assert order_row(partner, "PO-7").status == "cancelled"
    assert level(partner, "SKU1", "DAL") == (100, 0)
