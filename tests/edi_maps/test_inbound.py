"""Inbound X12 through the store: what an EDI analyst sees after `oms edi ingest`."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from edi_maps import read
from edi_maps.inbound import receive_x12
from edi_maps.po850 import order_from_850
from store import Store, check, ingest
from store.catalog import NewSku, add_location, add_partner, add_skus
from store.documents import store_payload
from store.inventory import receive
from store.models import Document, Order, OrderLine, OutboxMessage
from store.setup import PartnerSpec, Setup, apply_setup
from tests.edi_maps.x12text import change, interchange, order
from tests.store.helpers import count, lines_of, order_row


@pytest.fixture
def partner(store: Store) -> Store:
    add_partner(store, "acme", "ACME Retail", isa_qualifier="ZZ", isa_id="SENDER", gs_id="SENDER",
                our_isa_qualifier="ZZ", our_isa_id="RECEIVER", our_gs_id="RECEIVER")
    add_location(store, "DAL", "Dallas", priority=1)
    add_skus(store, [NewSku(f"SKU{i}", f"Thing {i}", 999, "USD") for i in range(1, 4)])
    for i in range(1, 4):
        receive(store, f"SKU{i}", "DAL", 100)
    return store


def test_an_850_becomes_an_order_with_ship_to_and_every_line(partner: Store) -> None:
    data = interchange(order("PO-1001", 3)).encode()
    result = receive_x12(partner, data, source="sftp://acme/in/po1.x12")
    assert result.state == "accepted", result.problems
    [ic] = result.interchanges
    assert (ic.partner, [s.status for s in ic.sets]) == ("acme", ["ingested"])
    row = order_row(partner, "PO-1001")
    assert (row.status, row.ship_to_name, row.partner_id is not None) == ("allocated", "MAIN STORE", True)
    lines = lines_of(partner, row.id)
    assert [(ln.item, ln.item_kind, ln.qty, ln.unit_price_minor) for ln in lines] == [
        ("SKU1", "vendor_part", 2, 999), ("SKU2", "vendor_part", 3, 999), ("SKU3", "vendor_part", 4, 999)
    ]
    assert check(partner).ok


def test_the_same_file_again_and_the_same_interchange_in_a_new_file_change_nothing(partner: Store) -> None:
    data = interchange(order("PO-1001", 2)).encode()
    receive_x12(partner, data, source="a.x12")
    again = receive_x12(partner, data, source="a.x12")
    assert again.duplicate_document
    # The same ISA13 from the same sender, re-wrapped (say, CRLF added): a duplicate interchange.
    rewrapped = receive_x12(partner, data.replace(b"~", b"~\r\n"), source="b.x12")
    assert rewrapped.interchanges[0].duplicate
    assert "received before" in (rewrapped.interchanges[0].sets[0].reason or "")
    assert count(partner, Order) == 1
    assert count(partner, Document) == 2


def test_a_set_with_a_wrong_count_is_rejected_and_the_file_kept(partner: Store) -> None:
    data = interchange(order("PO-1", 1, st02="0001"), order("PO-2", 2, st02="0002", se01=99)).encode()
    result = receive_x12(partner, data, source="bad.x12")
    assert result.state == "partial"
    by_po = {s.control_number: s for s in result.interchanges[0].sets}
    assert by_po["0001"].status == "ingested"
    assert by_po["0002"].status == "rejected" and "AK5 codes 4" in (by_po["0002"].reason or "")
    assert count(partner, Order) == 1
    with partner.read() as conn:
        doc = conn.execute(select(Document).where(Document.id == result.document_id)).one()
    assert doc.payload == data and doc.state == "partial" and "0002" in doc.reject_reason


def test_an_unknown_sender_is_quarantined_with_a_reason(partner: Store) -> None:
    data = interchange(order("PO-9", 1), sender="STRANGER").encode()
    result = receive_x12(partner, data, source="x.x12")
    assert result.state == "rejected"
    assert "no trading partner for ISA sender ZZ/STRANGER" in result.problems[0].reason
    assert count(partner, Order) == 0


def test_garbage_is_stored_and_rejected_with_a_reason(partner: Store) -> None:
    result = receive_x12(partner, b"\x00\x01 this is not edi", source="junk.bin")
    assert result.state == "rejected"
    assert "not readable as X12" in result.problems[0].reason
    assert count(partner, Document) == 1 and count(partner, OrderLine) == 0


def _queued_997s(store: Store) -> list[str]:
    from store.models import OutboxMessage

    with store.read() as conn:
        rows = conn.execute(
            select(OutboxMessage.target, OutboxMessage.payload).where(OutboxMessage.kind == "edi_997").order_by(OutboxMessage.id)
        ).all()
    assert all(target == "acme" for target, _ in rows)
    return [payload["data"] for _, payload in rows]


def test_each_received_interchange_is_answered_by_a_997_in_the_outbox(partner: Store) -> None:
    from edi_maps import check as check_envelope
    from edi_maps import errors as envelope_errors
    from edi_maps import read as read_x12

    receive_x12(partner, interchange(order("PO-1", 1, st02="0001"), order("PO-2", 2, st02="0002", se01=99)).encode(), source="a")
    receive_x12(partner, interchange(order("PO-3", 1), control="000000124").encode(), source="b")
    first, second = _queued_997s(partner)
    ack = read_x12(first.encode("latin-1"))
    assert envelope_errors(check_envelope(ack)) == []
    ic = ack.interchanges[0]
    # Addressed back to the sender, numbered from the store (1, then 2), never from the clock.
    assert (ic.sender_id, ic.receiver_id, ic.control_number) == ("RECEIVER", "SENDER", "000000001")
    [ts] = ic.groups[0].sets
    ak5 = [s.elements for s in ts.all("AK5")]
    assert ak5 == [("A",), ("R", "4")]
    assert ts.first("AK9") is not None and ts.first("AK9").get(1) == "P"  # type: ignore[union-attr]
    assert read_x12(second.encode("latin-1")).interchanges[0].control_number == "000000002"


def test_a_duplicate_interchange_is_not_answered_twice(partner: Store) -> None:
    data = interchange(order("PO-1", 1)).encode()
    receive_x12(partner, data, source="a")
    receive_x12(partner, data + b"\r\n", source="b")
    assert len(_queued_997s(partner)) == 1


def test_a_duplicate_interchange_is_answered_by_a_ta1_rejecting_it(partner: Store) -> None:
    from edi_maps import read as read_x12

    data = interchange(order("PO-1", 1)).encode()
    receive_x12(partner, data, source="a")
    result = receive_x12(partner, data + b"\r\n", source="b")
    assert result.interchanges[0].ack is not None and "duplicate" in result.interchanges[0].ack.summary
    with partner.read() as conn:
        [payload] = conn.execute(select(OutboxMessage.payload).where(OutboxMessage.kind == "edi_ta1")).scalars().all()
    ic = read_x12(str(payload["data"]).encode("latin-1")).interchanges[0]
    assert ic.groups == []  # the groups were acknowledged the first time, not again
    [ta1] = ic.ta1
    assert ta1.elements[0] == "000000123" and ta1.elements[3:5] == ("R", "025")


def _configure(store: Store, **settings: object) -> None:
    """The partner's oms.toml settings, applied the way `oms init` applies them."""
    apply_setup(store, Setup(partners=[PartnerSpec(
        "acme", "ACME Retail", isa_qualifier="ZZ", isa_id="SENDER", gs_id="SENDER", our_isa_qualifier="ZZ",
        our_isa_id="RECEIVER", our_gs_id="RECEIVER", settings=settings)]))


def test_a_partner_that_requires_an_855_gets_one_for_each_new_order(partner: Store) -> None:
    _configure(partner, require_855=True, documents=["997", "855"])
    receive_x12(partner, interchange(order("PO-1", 2)).encode(), source="a")
    receive_x12(partner, interchange(order("PO-1", 2), control="000000124").encode(), source="b")  # resent: no 2nd 855
    with partner.read() as conn:
        kinds = conn.execute(select(OutboxMessage.kind).order_by(OutboxMessage.id)).scalars().all()
    assert [k for k in kinds if k.startswith("edi_")] == ["edi_855", "edi_997", "edi_997"]


def test_a_partner_that_takes_no_997_gets_none_unless_it_asks(partner: Store) -> None:
    _configure(partner, documents=["856", "810"])
    receive_x12(partner, interchange(order("PO-1", 2)).encode(), source="a")
    assert _queued_997s(partner) == []
    receive_x12(partner, interchange(order("PO-2", 2), control="000000124", ack="1").encode(), source="b")
    assert _queued_997s(partner) == []
    with partner.read() as conn:  # ISA14 = 1 asks for a TA1: it gets one, alone
        [payload] = conn.execute(select(OutboxMessage.payload).where(OutboxMessage.kind == "edi_ta1")).scalars().all()
    from edi_maps import read as read_x12

    [ic] = read_x12(str(payload["data"]).encode("latin-1")).interchanges
    assert ic.groups == [] and [t.elements[3:5] for t in ic.ta1] == [("A", "000")]


def test_a_fault_of_the_interchange_alone_is_answered_ta1_e_and_its_orders_taken_in(partner: Store) -> None:
    from edi_maps import read as read_x12

    data = interchange(order("PO-1", 2)).replace("IEA*1*000000123", "IEA*1*000000999").encode()
    result = receive_x12(partner, data, source="a")
    [ic] = result.interchanges
    assert [s.status for s in ic.sets] == ["ingested"]
    assert order_row(partner, "PO-1").status == "allocated"
    assert any("IEA02" in n and "TA1 E" in n for n in ic.notes), ic.notes
    [sent] = _queued_997s(partner)
    [answer] = read_x12(sent.encode("latin-1")).interchanges
    assert [t.get(4) for t in answer.ta1] == ["E"]
    [ack] = list(answer.sets())
    assert [s.get(1) for s in ack.all("AK5")] == ["A"] and ack.first("AK9").get(1) == "A"  # type: ignore[union-attr]


def test_acknowledgments_with_a_faulty_envelope_get_a_ta1_alone(partner: Store) -> None:
    from edi_maps import read as read_x12

    fa = interchange("ST*997*0001~AK1*PR*1~AK9*A*1*1*1~SE*4*0001~", functional_id="FA")
    receive_x12(partner, fa.replace("IEA*1*000000123", "IEA*1*000000999").encode(), source="a")
    assert _queued_997s(partner) == []
    with partner.read() as conn:
        [payload] = conn.execute(select(OutboxMessage.payload).where(OutboxMessage.kind == "edi_ta1")).scalars().all()
    [answer] = read_x12(str(payload["data"]).encode("latin-1")).interchanges
    assert answer.groups == [] and [t.get(4) for t in answer.ta1] == ["E"]


def _edi_kinds(store: Store) -> list[str]:
    with store.read() as conn:
        kinds = conn.execute(select(OutboxMessage.kind).order_by(OutboxMessage.id)).scalars().all()
    return [k for k in kinds if k.startswith("edi_")]


def test_a_file_re_run_after_a_crash_before_it_was_finished_is_not_a_duplicate_of_itself(partner: Store) -> None:
    data = interchange(order("PO-1", 2)).encode()
    first = receive_x12(partner, data, source="a")
    before = order_row(partner, "PO-1")
    with partner.write() as conn:  # what a crash after the 997 was queued, before finish(), leaves
        conn.execute(update(Document).where(Document.id == first.document_id).values(state="received"))
    again = receive_x12(partner, data, source="a")
    assert (again.document_id, again.duplicate_document, again.state) == (first.document_id, False, "accepted"), again.problems
    [ic] = again.interchanges
    assert (ic.duplicate, [s.status for s in ic.sets], ic.ack) == (False, ["unchanged"], None)
    assert _edi_kinds(partner) == ["edi_997"]  # no TA1 R 025, no second 997
    after = order_row(partner, "PO-1")
    assert (after.id, after.version, after.status) == (before.id, before.version, before.status)
    assert count(partner, Order) == 1 and check(partner).ok


def test_the_same_interchange_twice_in_one_file_is_taken_in_once_and_its_copy_refused(partner: Store) -> None:
    once = interchange(order("PO-1", 2))
    result = receive_x12(partner, (once + once).encode(), source="a")
    assert [ic.duplicate for ic in result.interchanges] == [False, True]
    assert result.state == "partial" and count(partner, Order) == 1
    assert _edi_kinds(partner) == ["edi_997", "edi_ta1"]


def test_an_855_lost_to_a_crash_after_the_intake_goes_out_when_the_file_is_re_run(partner: Store) -> None:
    _configure(partner, require_855=True, documents=["997", "855"])
    data = interchange(order("PO-1", 2)).encode()
    # What receive_x12 has done when it stops between the intake and the 855: the file is
    # stored and its order taken in, nothing else.
    doc = store_payload(partner, data, kind="x12", source="a", actor="edi")
    [ic] = read(data).interchanges
    [ts] = ic.groups[0].sets
    ingest(partner, [order_from_850(ts, ic.groups[0], channel="acme").order], actor="edi", document_id=doc.id)
    assert _edi_kinds(partner) == []
    result = receive_x12(partner, data, source="a")
    assert (result.document_id, result.state) == (doc.id, "accepted"), result.problems
    assert [s.status for s in result.interchanges[0].sets] == ["unchanged"]
    assert _edi_kinds(partner) == ["edi_855", "edi_997"]
    with partner.read() as conn:
        [payload] = conn.execute(select(OutboxMessage.payload).where(OutboxMessage.kind == "edi_855")).scalars().all()
    assert payload["order_id"] == order_row(partner, "PO-1").id


def _partner_in(store: Store, currency: str, **settings: object) -> None:
    apply_setup(store, Setup(partners=[PartnerSpec(
        "acme", "ACME Retail", isa_qualifier="ZZ", isa_id="SENDER", gs_id="SENDER", our_isa_qualifier="ZZ",
        our_isa_id="RECEIVER", our_gs_id="RECEIVER", currency=currency, settings=settings)]))


def test_an_850_and_an_860_without_cur_are_in_the_partners_currency(partner: Store) -> None:
    _partner_in(partner, "JPY")  # no minor unit: "999" is 999 yen, not 99900 cents
    receive_x12(partner, interchange(order("PO-1", 1).replace("*9.99*", "*999*")).encode(), source="a")
    row = order_row(partner, "PO-1")
    assert (row.currency, [ln.unit_price_minor for ln in lines_of(partner, row.id)]) == ("JPY", [999])
    pc = interchange(change("PO-1", "1*PC****1200"), functional_id="PC", control="000000124")
    assert [s.status for s in receive_x12(partner, pc.encode(), source="b").interchanges[0].sets] == ["changed"]
    assert [ln.unit_price_minor for ln in lines_of(partner, row.id)] == [1200]


def test_an_850_with_cur_keeps_its_own_currency(partner: Store) -> None:
    _partner_in(partner, "EUR")
    po = order("PO-1", 1).replace("N1*ST", "CUR*BY*USD~N1*ST").replace("SE*6*", "SE*7*")
    receive_x12(partner, interchange(po).encode(), source="a")
    assert order_row(partner, "PO-1").currency == "USD"


def test_a_documents_setting_with_set_ids_as_numbers_is_read_as_outbound_reads_it(partner: Store) -> None:
    _configure(partner, documents=[997, 855])
    receive_x12(partner, interchange(order("PO-1", 1)).encode(), source="a")
    assert len(_queued_997s(partner)) == 1


def test_a_documents_setting_that_is_not_a_list_sends_no_997_and_says_why(partner: Store) -> None:
    _configure(partner, documents="997,855")
    result = receive_x12(partner, interchange(order("PO-1", 1)).encode(), source="a")
    assert _queued_997s(partner) == []
    assert order_row(partner, "PO-1").status == "allocated"
    assert result.state == "partial"
    assert any("no 997 sent: partner acme: config documents must be a list" in p.reason for p in result.problems)
