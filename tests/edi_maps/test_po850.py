"""850 → canonical order: what the order screen shows after a partner's PO arrives."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from edi_maps import check, errors, read
from edi_maps.errors import MappingError
from edi_maps.po850 import order_from_850
from tests.edi_maps.test_corpus import CORPUS, FILES, _need_corpus
from tests.edi_maps.x12text import interchange


def _one(body: list[str]) -> tuple[object, object]:
    segs = ["ST*850*0001", *body]
    segs.append(f"SE*{len(segs) + 1}*0001")
    tm = read(interchange("".join(s + "~" for s in segs)).encode())
    group = tm.interchanges[0].groups[0]
    return group.sets[0], group


def test_header_dates_parties_and_lines_are_mapped() -> None:
    ts, group = _one([
        "BEG*00*SA*PO-42**20260115", "CUR*BY*CAD",
        "DTM*010*20260120", "DTM*001*20260201",
        "N1*BY*ACME STORES*92*0042", "N1*ST*ACME DC 7*92*0007", "N2*RECEIVING DOCK 3", "N3*12 Depot Rd*Unit 4",
        "N4*Reno*NV*89501*US",
        "PO1*1*12*EA*3.5**UP*012345678905*VN*WIDGET-1*BP*A-77", "PID*F****Blue widget",
        "PO1*2*0*EA*10**BP*A-78",
        "PO1*3*1*EA*2.25",
        "CTT*3",
    ])
    mapped = order_from_850(ts, group, channel="acme")  # type: ignore[arg-type]
    o = mapped.order
    assert (o.channel, o.external_id, o.currency, o.version) == ("acme", "PO-42", "CAD", 1)
    assert o.placed_at == dt.datetime(2026, 1, 15, tzinfo=dt.timezone.utc)
    assert (o.requested_ship_date, o.cancel_after) == (dt.date(2026, 1, 20), dt.date(2026, 2, 1))
    assert (o.buyer_name, o.buyer_ref) == ("ACME STORES", "0042")
    assert o.ship_to.name == "ACME DC 7" and o.ship_to.address1 == "12 Depot Rd" and o.ship_to.address2 == "Unit 4"
    assert (o.ship_to.city, o.ship_to.region, o.ship_to.postal_code, o.ship_to.country) == ("Reno", "NV", "89501", "US")
    first, zero, bare = o.lines
    # The vendor part is our number for the item; the other ids ride along for the aliases.
    assert (first.item_kind, first.item, first.qty, first.unit_price_minor) == ("vendor_part", "WIDGET-1", 12, 350)
    assert dict(first.item_ids) == {"upc": "012345678905", "vendor_part": "WIDGET-1", "buyer_part": "A-77"}
    assert first.description == "Blue widget"
    assert (zero.qty, zero.item_kind, zero.item) == (0, "buyer_part", "A-78")
    assert bare.item.startswith("no item id on PO1 3") and bare.unit_price_minor == 225
    assert mapped.notes == ()


def test_a_ctt_that_disagrees_is_noted_and_a_replacement_outranks_the_original() -> None:
    ts, group = _one(["BEG*05*SA*PO-9**20260115", "PO1*1*1*EA*1**VP*X", "CTT*4"])
    mapped = order_from_850(ts, group, channel="acme")  # type: ignore[arg-type]
    assert mapped.notes == ("CTT01 says 4 line items, the PO has 1 PO1 lines",)
    assert mapped.order.version is not None and mapped.order.version > 1


@pytest.mark.parametrize(
    ("segment", "message"),
    [
        ("PO1*1*1.5*EA*1**VP*X", "PO102 quantity 1.5 is not a whole number"),
        ("PO1*1*2*EA*1.005**VP*X", "PO1 amount 1.005 has more decimals than the currency"),
        ("PO1*1*two*EA*1**VP*X", "PO102 quantity 'two' is not a number"),
    ],
)
def test_values_that_cannot_be_an_order_line_name_the_segment(segment: str, message: str) -> None:
    ts, group = _one(["BEG*00*SA*PO-1**20260115", segment])
    with pytest.raises(MappingError, match=re.escape(message)):
        order_from_850(ts, group, channel="acme")  # type: ignore[arg-type]


@pytest.mark.parametrize("name", [f for f in FILES if "850" in f or f.startswith("mixed")] or ["(no corpus)"])
def test_every_850_with_a_sound_envelope_maps_with_its_po_number_and_every_line(name: str) -> None:
    _need_corpus()
    tm = read((CORPUS / name).read_bytes())
    findings = errors(check(tm))
    mapped = 0
    for i, ic in enumerate(tm.interchanges):
        for gi, group in enumerate(ic.groups):
            for si, ts in enumerate(group.sets):
                broken = [f for f in findings if f.interchange == i and f.group in (None, gi)
                          and f.transaction_set in (None, si)]
                if ts.id != "850" or broken:
                    continue
                o = order_from_850(ts, group, channel="p").order
                beg = ts.first("BEG")
                assert beg is not None and o.external_id == beg.get(3)
                assert len(o.lines) == len(ts.all("PO1"))
                n1_st = [s for s in ts.all("N1") if s.get(1) == "ST"]
                if n1_st and n1_st[0].get(2):
                    assert o.ship_to.name == n1_st[0].get(2)
                mapped += 1
    assert mapped or not any(ts.id == "850" for ts in tm.sets()) or findings
