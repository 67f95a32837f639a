"""856: the HL tree a receiving dock scans, cartons with good SSCCs, and the ASNs we refuse."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from decimal import Decimal

import pytest

from edi_maps import Segment, TransactionSet, ValidationError
from edi_maps.asn856 import Carton, Shipment, ShippedItem, ShippedOrder, build_856
from edi_maps.outbound import Party, PartnerEnvelope
from store.sscc import gs1_check_digit, make_sscc
from tests.edi_maps.test_out_envelope import emit

SHIP_TO = Party("ST", "BIG RETAIL STORE 42", "92", "0042", "1 Main St", "", "Springfield", "IL", "62701", "US")
SHIP_FROM = Party("SF", "ACME DC", "", "", "9 Dock Rd", "Unit 4", "Columbus", "OH", "43004", "US")
PARENT = {"O": "S", "P": "O", "I": "P"}


def _item(n: int, qty: int = 2) -> ShippedItem:
    return ShippedItem((("UP", f"0123456789{n:02d}"), ("VP", f"SKU-{n}"), ("BP", f"B{n}")), qty, "EA", str(n))


def _shipment(orders: tuple[ShippedOrder, ...], structure: str = "SOPI", **kw: object) -> Shipment:
    base = Shipment(
        "SHIP-20260116-1", dt.date(2026, 1, 16), dt.time(14, 5), dt.date(2026, 1, 16), orders, SHIP_TO, SHIP_FROM,
        structure=structure, weight=Decimal("42.5"), scac="UPSN", routing="UPS GROUND", transport_method="U",
        bill_of_lading="BOL-123", tracking="1Z9999999999999999",
    )
    return dataclasses.replace(base, **kw)  # type: ignore[arg-type]


def _sopi() -> Shipment:
    serial = itertools.count(1001)
    orders = tuple(
        ShippedOrder(f"PO-{o}", dt.date(2026, 1, 10), cartons=tuple(
            Carton(make_sscc(0, "0614141", next(serial)), (_item(1 + o), _item(3 + c, qty=5))) for c in range(2)))
        for o in range(2)
    )
    return _shipment(orders)


def _hl_tree(ts: TransactionSet) -> list[tuple[Segment, list[Segment]]]:
    """Each HL with the segments of its level."""
    out: list[tuple[Segment, list[Segment]]] = []
    for s in ts.segments:
        if s.tag == "HL":
            out.append((s, []))
        elif out and s.tag != "CTT":
            out[-1][1].append(s)
    return out


def _assert_tree_is_sound(ts: TransactionSet, levels: str) -> None:
    tree = _hl_tree(ts)
    seen: dict[str, str] = {}
    for n, (hl, _) in enumerate(tree, start=1):
        own, parent, code, child = hl.get(1), hl.get(2), hl.get(3), hl.get(4)
        assert own == str(n)  # sequential from 1
        if code == "S":
            assert parent == "" and n == 1
        else:
            assert parent in seen, f"HL {own} points to {parent!r}, not an earlier HL"
            want = {"O": "S", "P": "O", "I": "P" if "P" in levels else "O"}[code]
            assert seen[parent] == want, f"HL {own} ({code}) under a {seen[parent]}"
        has_children = any(h.get(2) == own for h, _ in tree)
        assert child == ("1" if has_children else "0")
        seen[own] = code
    ctt = ts.first("CTT")
    assert ctt is not None and ctt.get(1) == str(len(tree))


def test_sopi_two_orders_two_cartons_two_items() -> None:
    shipment = _sopi()
    [ts] = emit([build_856(shipment)]).sets()
    bsn = ts.first("BSN")
    assert bsn is not None and bsn.elements == ("00", "SHIP-20260116-1", "20260116", "1405", "0001")
    _assert_tree_is_sound(ts, "SOPI")
    tree = _hl_tree(ts)
    assert "".join(hl.get(3) for hl, _ in tree) == "SOPIIPIIOPIIPII"
    assert len(tree) == 1 + 2 * (1 + 2 * (1 + 2))
    # shipment level: carrier, references, ship date and both parties, in map order
    shipment_level = [s.tag + ("*" + s.get(1) if s.tag in ("REF", "N1", "DTM") else "") for s in tree[0][1]]
    assert shipment_level == ["TD1", "TD5", "REF*BM", "REF*CN", "DTM*011", "N1*ST", "N3", "N4", "N1*SF", "N3", "N4"]
    assert tree[0][1][0].elements == ("CTN25", "4", "", "", "", "G", "42.5", "LB")
    assert tree[0][1][1].elements == ("B", "2", "UPSN", "U", "UPS GROUND")
    # order level: PRF; pack level: MAN*GM with the SSCC; item level: LIN + SN1
    orders = [(hl, segs) for hl, segs in tree if hl.get(3) == "O"]
    assert [segs[0].elements for _, segs in orders] == [("PO-0", "", "", "20260110"), ("PO-1", "", "", "20260110")]
    packs = [segs for hl, segs in tree if hl.get(3) == "P"]
    wanted = [c.sscc for o in shipment.orders for c in o.cartons]
    assert [p[0].elements for p in packs] == [("GM", sscc) for sscc in wanted]
    items = [segs for hl, segs in tree if hl.get(3) == "I"]
    assert items[0][0].elements == ("1", "UP", "012345678901", "VP", "SKU-1", "BP", "B1")
    assert items[0][1].elements == ("1", "2", "EA")
    assert sum(int(segs[1].get(2)) for segs in items) == 2 * 2 * (2 + 5)


def test_sscc_check_digits_on_the_cartons_are_right() -> None:
    [ts] = emit([build_856(_sopi())]).sets()
    codes = [m.get(2) for m in ts.all("MAN")]
    assert len(codes) == 4 and len(set(codes)) == 4
    for code in codes:
        assert len(code) == 18 and code.isdigit()
        assert int(code[-1]) == gs1_check_digit(code[:-1])
    # by hand: 0 0614141 000001001, weights 3,1,3.. from the right sum to 49, so the check digit is 1
    assert codes[0] == "006141410000010011"


def test_a_carton_with_gs1s_published_example_sscc_is_accepted() -> None:
    [ts] = emit([build_856(_with_sscc("106141411234567897"))]).sets()
    assert [m.elements for m in ts.all("MAN")] == [("GM", "106141411234567897")]


def test_soi_standard_pack() -> None:
    orders = (ShippedOrder("PO-7", items=(_item(1), _item(2, qty=12))), ShippedOrder("PO-8", items=(_item(3),)))
    partner = PartnerEnvelope("ZZ", "ACME", "ZZ", "SHOP", version="005010", newline="\n")
    [ts] = emit([build_856(_shipment(orders, "SOI", weight=None, packages=3))], partner=partner).sets()
    assert ts.first("BSN").get(5) == "0004"  # type: ignore[union-attr]
    _assert_tree_is_sound(ts, "SOI")
    tree = _hl_tree(ts)
    assert "".join(hl.get(3) for hl, _ in tree) == "SOIIOI"
    assert ts.all("MAN") == []
    assert tree[0][1][0].elements == ("CTN25", "3")
    prf = ts.first("PRF")
    assert prf is not None and prf.elements == ("PO-7",)


def test_minimal_shipment_without_carrier_details() -> None:
    s = _shipment((ShippedOrder("PO-1", items=(_item(1),)),), "SOI", weight=None, scac="", routing="",
                  transport_method="", bill_of_lading="", tracking="")
    [ts] = emit([build_856(s)]).sets()
    assert [seg.tag for seg in ts.segments[:3]] == ["BSN", "HL", "DTM"]


def _with_sscc(sscc: str) -> Shipment:
    return _shipment((ShippedOrder("PO-1", cartons=(Carton(sscc, (_item(1),)),)),))


@pytest.mark.parametrize(
    "shipment, why",
    [
        (_with_sscc("006141410000010012"), "not a valid SSCC"),  # check digit off by one
        (_with_sscc("00614141000001001"), "not a valid SSCC"),  # 17 digits
        (_with_sscc("(00)006141410000010011"), "not a valid SSCC"),
        (_shipment((ShippedOrder("PO-1", cartons=(Carton(make_sscc(0, "0614141", 1), (_item(1),)),) * 2),)),
         "two cartons"),
        (_shipment((ShippedOrder("PO-1", cartons=(Carton(make_sscc(0, "0614141", 1), ()),)),)), "no items"),
        (_shipment((ShippedOrder("PO-1"),)), "no cartons"),
        (_shipment((ShippedOrder("PO-1", items=(_item(1),)),)), "SOPI puts items in cartons"),
        (_shipment((ShippedOrder("PO-1", cartons=(Carton(make_sscc(0, "0614141", 1), (_item(1),)),)),), "SOI"),
         "no carton level"),
        (_shipment((ShippedOrder("PO-1", items=(_item(1, qty=-3),)),), "SOI"), "positive"),
        (_shipment((ShippedOrder("PO-1", items=(_item(1, qty=0),)),), "SOI"), "positive"),
        (_shipment((ShippedOrder("", items=(_item(1),)),), "SOI"), "PO number is missing"),
        (_shipment((), "SOI"), "at least one order"),
        (_shipment((ShippedOrder("PO-1", items=(_item(1),)),), "SOTPI"), "structure"),
        (_shipment((ShippedOrder("PO-1", items=(_item(1),)),), "SOI", shipment_id="X"), "2 to 30"),
        (_shipment((ShippedOrder("PO-1", items=(_item(1),)),), "SOI", weight=Decimal("-1")), "weight"),
        (_shipment((ShippedOrder("PO-1", items=(_item(1),)),), "SOI", ship_to=SHIP_FROM), "N1\\*ST"),
    ],
)
def test_ship_notices_that_cannot_be_valid_are_refused(shipment: Shipment, why: str) -> None:
    with pytest.raises(ValidationError, match=why):
        build_856(shipment)
