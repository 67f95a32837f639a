"""855/856/810/846 queued from the store: what the partner's mailbox receives, numbered from
the store, once; what an operator sees when a document would have been invalid, and sees no
more once it went; and nothing at all for a document the partner does not exchange."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import pytest
from sqlalchemy import insert, select, update

from edi_maps import TransactionSet, read
from edi_maps.outgoing import EDI_INVALID, queue_810, queue_846, queue_855, queue_856
from edi_maps.pyx12_validate import validate_outbound
from store import Address, CanonicalLine, CanonicalOrder, Store, ingest
from store.catalog import NewSku, add_alias, add_location, add_partner, add_skus
from store.control import take_control_numbers
from store.fulfilment import ship_reserved
from store.inventory import available_to_promise, receive
from store.models import (
    AuditEvent,
    Carton,
    ControlNumber,
    Interchange,
    Order,
    OrderLine,
    OutboxMessage,
    ShipmentLine,
    TradingPartner,
)
from store.shipping import Pack, ship
from store.sscc import make_sscc
from tests.store.helpers import count

PRICE = 1250  # minor units: 12.50 USD
PLACED = dt.datetime(2026, 1, 10, 15, 0, tzinfo=dt.UTC)
SHIP_TO = Address("MAIN STORE", "1 Main St", None, "Springfield", "IL", "62701", "US")


@pytest.fixture
def acme(store: Store) -> Store:
    add_partner(store, "acme", "ACME Retail", isa_qualifier="ZZ", isa_id="ACMERETAIL", gs_id="ACMERETAIL",
                our_isa_qualifier="ZZ", our_isa_id="WESELL", our_gs_id="WESELL")
    add_location(store, "DAL", "Dallas DC", city="Dallas", region="TX", country="US")
    add_skus(store, [NewSku(f"SKU{i}", f"Thing {i}", PRICE, "USD") for i in range(1, 4)])
    receive(store, "SKU1", "DAL", 100)
    receive(store, "SKU2", "DAL", 100)
    receive(store, "SKU3", "DAL", 1)
    return store


def _order(store: Store, po: str, *lines: tuple[str, int], ids: Mapping[str, str] | None = None) -> int:
    canonical = CanonicalOrder(
        channel="acme", external_id=po, currency="USD", placed_at=PLACED, ship_to=SHIP_TO,
        lines=tuple(
            CanonicalLine(sku, qty, PRICE, item_kind="vendor_part",
                          item_ids=dict(ids or {"buyer_part": f"B-{sku}", "upc": "012345678905"}))
            for sku, qty in lines
        ),
    )
    [outcome] = ingest(store, [canonical]).outcomes
    assert outcome.order_id is not None, outcome
    return outcome.order_id


def _outbox(store: Store, kind: str) -> list[dict[str, object]]:
    with store.read() as conn:
        return list(conn.execute(
            select(OutboxMessage.payload).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id)).scalars())


def _set(payload: Mapping[str, object]) -> tuple[str, TransactionSet]:
    """ISA13 and the one transaction set of a queued document, after checking it is clean."""
    data = str(payload["data"])
    ok, reasons = validate_outbound(data)
    assert ok, reasons
    tm = read(data.encode("latin-1"))
    [ic] = tm.interchanges
    [ts] = list(tm.sets())
    assert ic.control_number == payload["interchange"]
    return ic.control_number, ts


def _order_row(store: Store, order_id: int) -> Any:
    with store.read() as conn:
        return conn.execute(select(Order).where(Order.id == order_id)).one()


# ------------------------------------------------------------------------------------- 855


def test_855_acknowledges_a_fully_reserved_order_once(acme: Store) -> None:
    oid = _order(acme, "PO-1001", ("SKU1", 2), ("SKU2", 3))
    first = queue_855(acme, oid, actor="test")
    again = queue_855(acme, oid, actor="test")
    assert (first.status, first.control_number, again.status) == ("queued", 1, "already_queued")
    [payload] = _outbox(acme, "edi_855")
    isa13, ts = _set(payload)
    assert isa13 == "000000001"
    bak = ts.first("BAK")
    assert bak is not None and bak.elements[:4] == ("00", "AD", "PO-1001", "20260110")
    po1 = [s.elements for s in ts.all("PO1")]
    assert po1[0] == ("1", "2", "EA", "12.5", "", "BP", "B-SKU1", "VP", "SKU1", "UP", "012345678905")
    assert [s.elements[:2] for s in ts.all("ACK")] == [("IA", "2"), ("IA", "3")]
    with acme.read() as conn:
        sent = conn.execute(select(Interchange.direction, Interchange.sender, Interchange.receiver,
                                   Interchange.control_number, Interchange.ack_status)).all()
    assert [tuple(r) for r in sent] == [("out", "WESELL", "ACMERETAIL", "000000001", "pending_ack")]
    assert count(acme, AuditEvent, AuditEvent.action == "edi.855_queued") == 1


def test_855_says_backordered_and_rejected_lines(acme: Store) -> None:
    backordered = _order(acme, "PO-1002", ("SKU1", 1), ("SKU3", 4))
    # An unknown item holds the whole order back (intake reserves nothing until it is mapped).
    unknown = _order(acme, "PO-1003", ("SKU1", 1), ("NOPE", 2))
    assert queue_855(acme, backordered).queued and queue_855(acme, unknown).queued
    acks = []
    for payload in _outbox(acme, "edi_855"):
        _, ts = _set(payload)
        bak = ts.first("BAK")
        assert bak is not None and bak.get(2) == "AC"
        acks.append([s.get(1) for s in ts.all("ACK")])
    assert acks == [["IA", "IB"], ["IB", "IR"]]


# ------------------------------------------------------------------------- the partner's lines


def test_the_partners_line_ids_and_units_come_back_on_855_856_and_810(acme: Store) -> None:
    canonical = CanonicalOrder(
        channel="acme", external_id="PO-1501", currency="USD", placed_at=PLACED, ship_to=SHIP_TO,
        lines=(
            CanonicalLine("SKU1", 2, PRICE, item_kind="vendor_part", line_ref="0010", uom="CA"),
            CanonicalLine("SKU2", 3, PRICE, item_kind="vendor_part"),  # no PO101, no unit: ours and EA
        ),
    )
    [outcome] = ingest(acme, [canonical]).outcomes
    oid = outcome.order_id
    assert oid is not None
    assert queue_855(acme, oid).queued
    [sid] = ship_reserved(acme, oid, carrier="UPS", tracking="1Z1")
    assert queue_856(acme, sid).queued and queue_810(acme, sid).queued

    _, ack = _set(_outbox(acme, "edi_855")[0])
    assert [s.elements[:3] for s in ack.all("PO1")] == [("0010", "2", "CA"), ("2", "3", "EA")]
    assert [s.elements[:3] for s in ack.all("ACK")] == [("IA", "2", "CA"), ("IA", "3", "EA")]
    _, asn = _set(_outbox(acme, "edi_856")[0])
    assert [s.get(1) for s in asn.all("LIN")] == ["0010", "2"]
    assert [s.elements[:3] for s in asn.all("SN1")] == [("0010", "2", "CA"), ("2", "3", "EA")]
    _, invoice = _set(_outbox(acme, "edi_810")[0])
    assert [s.elements[:3] for s in invoice.all("IT1")] == [("0010", "2", "CA"), ("2", "3", "EA")]


# ------------------------------------------------------------------------------- 856 and 810


def test_856_and_810_follow_the_shipment_and_number_on(acme: Store) -> None:
    oid = _order(acme, "PO-2001", ("SKU1", 2), ("SKU2", 3))
    assert queue_855(acme, oid).control_number == 1
    [sid] = ship_reserved(acme, oid, carrier="UPS", tracking="1Z999AA10123456784")
    asn, invoice = queue_856(acme, sid, actor="test"), queue_810(acme, sid, actor="test")
    assert (asn.control_number, invoice.control_number) == (2, 3)
    assert queue_856(acme, sid).status == queue_810(acme, sid).status == "already_queued"
    assert len(_outbox(acme, "edi_856")) == len(_outbox(acme, "edi_810")) == 1

    isa13, ts = _set(_outbox(acme, "edi_856")[0])
    assert isa13 == "000000002"
    bsn = ts.first("BSN")
    assert bsn is not None and bsn.get(5) == "0004"  # SOI: no cartons were packed
    prf = ts.first("PRF")
    assert prf is not None and prf.get(1) == "PO-2001"
    assert [(s.get(1), s.get(2)) for s in ts.all("SN1")] == [("1", "2"), ("2", "3")]
    assert [s.get(2) for s in ts.all("REF")] == ["1Z999AA10123456784"]
    assert [s.get(2) for s in ts.all("N1")] == ["MAIN STORE", "Dallas DC"]

    isa13, ts = _set(_outbox(acme, "edi_810")[0])
    assert isa13 == "000000003"
    big = ts.first("BIG")
    assert big is not None and (big.get(2), big.get(4)) == (f"INV-{sid}", "PO-2001")
    tds = ts.first("TDS")
    assert tds is not None and int(tds.get(1)) == (2 + 3) * PRICE  # two implied decimals = USD cents


def test_856_packs_cartons_with_their_sscc(acme: Store) -> None:
    oid = _order(acme, "PO-2002", ("SKU1", 2), ("SKU2", 3))
    [sid] = ship_reserved(acme, oid, carrier="UPS", tracking="1Z1")
    sscc = [make_sscc(0, "0614141", n) for n in (1, 2)]
    with acme.write() as conn:  # what a packing step records; no store function does it yet
        lines = conn.execute(select(ShipmentLine.id).where(ShipmentLine.shipment_id == sid)
                             .order_by(ShipmentLine.id)).scalars().all()
        for code, line in zip(sscc, lines):
            cid = conn.execute(insert(Carton).values(shipment_id=sid, sscc=code).returning(Carton.id)).scalar_one()
            conn.execute(update(ShipmentLine).where(ShipmentLine.id == line).values(carton_id=cid))
    assert queue_856(acme, sid).queued
    _, ts = _set(_outbox(acme, "edi_856")[0])
    bsn = ts.first("BSN")
    assert bsn is not None and bsn.get(5) == "0001"
    assert [(s.get(1), s.get(2)) for s in ts.all("MAN")] == [("GM", sscc[0]), ("GM", sscc[1])]
    assert [s.get(2) for s in ts.all("SN1")] == ["2", "3"]


def test_856_from_a_packed_shipment_puts_each_carton_with_its_items_and_tracking(acme: Store) -> None:
    oid = _order(acme, "PO-2003", ("SKU1", 5), ("SKU2", 3))
    done = ship(acme, oid, "DAL", carrier="UPSN", tracking="1ZMASTER01", service="GROUND",
                cartons=[Pack(lines={1: 3}, tracking="1ZBOX0001", weight_grams=2000),
                         Pack(lines={1: 2, 2: 1}, tracking="1ZBOX0002", weight_grams=1500),
                         Pack(weight_grams=500)],  # the rest: SKU2 x2, no parcel number of its own
                gs1_company_prefix="0614141", sscc_extension=0)
    sscc = [c.sscc for c in done.cartons]
    assert queue_856(acme, done.shipment_id).queued and queue_810(acme, done.shipment_id).queued
    _, ts = _set(_outbox(acme, "edi_856")[0])  # pyx12-valid
    bsn = ts.first("BSN")
    assert bsn is not None and bsn.get(5) == "0001"  # S-O-P-I
    levels = [(s.get(1), s.get(2), s.get(3)) for s in ts.all("HL")]
    assert levels == [("1", "", "S"), ("2", "1", "O"),
                      ("3", "2", "P"), ("4", "3", "I"),
                      ("5", "2", "P"), ("6", "5", "I"), ("7", "5", "I"),
                      ("8", "2", "P"), ("9", "8", "I")]
    assert [(s.get(1), s.get(2)) for s in ts.all("MAN")] == [
        ("GM", sscc[0]), ("CP", "1ZBOX0001"), ("GM", sscc[1]), ("CP", "1ZBOX0002"), ("GM", sscc[2])]
    assert [(s.get(1), s.get(2)) for s in ts.all("SN1")] == [("1", "3"), ("1", "2"), ("2", "1"), ("2", "2")]
    td1 = ts.first("TD1")
    assert td1 is not None and (td1.get(2), td1.get(7)) == ("3", "4")  # three cartons, 4 kg
    assert [s.get(2) for s in ts.all("REF")] == ["1ZMASTER01"]
    ctt = ts.first("CTT")
    assert ctt is not None and ctt.get(1) == "9"
    _, invoice = _set(_outbox(acme, "edi_810")[0])  # the invoice counts units per line, not per carton
    assert [s.elements[:2] for s in invoice.all("IT1")] == [("1", "5"), ("2", "3")]


def test_a_partial_shipment_announces_and_invoices_only_what_it_shipped(acme: Store) -> None:
    oid = _order(acme, "PO-2004", ("SKU1", 4), ("SKU2", 2))
    first = ship(acme, oid, "DAL", carrier="UPSN", tracking="1ZP1", lines={1: 1})
    second = ship(acme, oid, "DAL", carrier="UPSN", tracking="1ZP2")
    assert (first.order_status, second.order_status) == ("partially_shipped", "shipped")
    for sid in (first.shipment_id, second.shipment_id):
        assert queue_856(acme, sid).queued and queue_810(acme, sid).queued
    asns = [_set(p)[1] for p in _outbox(acme, "edi_856")]
    assert [[(s.get(1), s.get(2)) for s in ts.all("SN1")] for ts in asns] == [[("1", "1")], [("1", "3"), ("2", "2")]]
    assert [[s.get(2) for s in ts.all("REF")] for ts in asns] == [["1ZP1"], ["1ZP2"]]


# ------------------------------------------------------------------------- never invalid


@pytest.mark.parametrize(
    "po, ids, why",
    [
        ("PO-" + "9" * 30, None, "PO number"),
        ("PO-3002", {"buyer_part": "B*1"}, "'*'"),
    ],
    ids=["po-too-long", "delimiter-in-buyer-part"],
)
def test_an_invalid_855_becomes_an_operator_exception_not_a_file(
    acme: Store, po: str, ids: Mapping[str, str] | None, why: str
) -> None:
    oid = _order(acme, po, ("SKU1", 1), ids=ids)
    result = queue_855(acme, oid, actor="test")
    assert result.status == "invalid" and any(why in r for r in result.reasons), result.reasons
    order = _order_row(acme, oid)
    assert order.exception == EDI_INVALID and why in (order.exception_detail or "")
    assert _outbox(acme, "edi_855") == [] and count(acme, Interchange, Interchange.direction == "out") == 0
    assert count(acme, AuditEvent, AuditEvent.action == "order.edi_invalid") == 1
    # The failed attempt used no control numbers: the next document is number 1.
    good = _order(acme, "PO-3999", ("SKU2", 1))
    assert queue_855(acme, good).control_number == 1


def test_a_document_pyx12_refuses_gives_its_control_numbers_back(acme: Store) -> None:
    oid = _order(acme, "PO-4001", ("SKU1", 1))
    # A GS08 the builder accepts but no map of ours covers: pyx12 refuses the document (its
    # trial with placeholder numbers), so no control number is taken for it.
    with acme.write() as conn:
        conn.execute(update(TradingPartner).values(x12_version="004010XQ"))
    assert queue_855(acme, oid).status == "invalid"
    assert "004010XQ" in (_order_row(acme, oid).exception_detail or "")
    with acme.write() as conn:
        conn.execute(update(TradingPartner).values(x12_version="004010"))
    again = queue_855(acme, oid)  # an operator fixed the partner's version and tries again
    assert (again.status, again.control_number) == ("queued", 1)
    assert _set(_outbox(acme, "edi_855")[0])[0] == "000000001"
    with acme.read() as conn:
        assert conn.execute(select(ControlNumber.kind, ControlNumber.next_value)
                            .order_by(ControlNumber.kind)).all() == [("gs", 2), ("isa", 2), ("st", 2)]


def test_an_interchange_number_sent_before_is_not_sent_again_and_is_given_back(acme: Store) -> None:
    oid = _order(acme, "PO-4004", ("SKU1", 1))
    with acme.write() as conn:  # an ISA13 1 to this partner already went out (say, from a restored backup)
        pid = conn.execute(select(TradingPartner.id)).scalar_one()
        conn.execute(insert(Interchange).values(direction="out", sender="WESELL", receiver="ACMERETAIL",
                                                control_number="000000001", partner_id=pid))
    result = queue_855(acme, oid)
    assert result.status == "invalid" and "sent before" in result.reasons[0]
    assert "855 not sent: interchange 000000001" in (_order_row(acme, oid).exception_detail or "")
    assert _outbox(acme, "edi_855") == []
    with acme.write() as conn:  # the numbers taken for it were given back with the savepoint
        assert [take_control_numbers(conn, pid, kind) for kind in ("isa", "gs", "st")] == [[1], [1], [1]]


def _fix_item_ids(store: Store, order_id: int, ids: Mapping[str, str]) -> None:
    with store.write() as conn:  # what an operator's correction of the partner's item ids leaves behind
        conn.execute(update(OrderLine).where(OrderLine.order_id == order_id).values(item_ids=dict(ids)))


def test_an_855_that_goes_after_all_takes_the_order_out_of_the_edi_invalid_queue(acme: Store) -> None:
    oid = _order(acme, "PO-4101", ("SKU1", 1), ids={"buyer_part": "B*1"})
    assert queue_855(acme, oid).status == "invalid"
    assert _order_row(acme, oid).exception == EDI_INVALID
    _fix_item_ids(acme, oid, {"buyer_part": "B-1"})
    result = queue_855(acme, oid, actor="test")
    assert (result.status, result.control_number) == ("queued", 1)
    order = _order_row(acme, oid)
    assert (order.exception, order.exception_detail) == (None, None)
    with acme.read() as conn:
        cleared = conn.execute(select(AuditEvent.actor, AuditEvent.entity_id).where(
            AuditEvent.action == "order.edi_invalid_cleared")).all()
    assert [tuple(r) for r in cleared] == [("test", oid)]
    _, ts = _set(_outbox(acme, "edi_855")[0])
    po1 = ts.first("PO1")
    assert po1 is not None and po1.elements[5:7] == ("BP", "B-1")


def test_the_order_stays_in_the_edi_invalid_queue_while_another_set_is_still_unsent(acme: Store) -> None:
    oid = _order(acme, "PO-4102", ("SKU1", 2), ids={"buyer_part": "B*1"})
    assert queue_855(acme, oid).status == "invalid"
    [sid] = ship_reserved(acme, oid, carrier="UPS", tracking="1Z1")
    assert queue_856(acme, sid).status == "invalid"
    assert queue_855(acme, oid).status == "invalid"  # tried again: its text is replaced, not repeated
    detail = _order_row(acme, oid).exception_detail or ""
    assert detail.count("855 not sent: ") == detail.count("856 not sent: ") == 1
    _fix_item_ids(acme, oid, {"buyer_part": "B-1"})
    assert queue_855(acme, oid).queued
    order = _order_row(acme, oid)
    assert order.exception == EDI_INVALID and order.exception_detail.startswith("856 not sent: ")
    assert "855" not in order.exception_detail and "'*'" in order.exception_detail
    assert queue_856(acme, sid).queued
    assert _order_row(acme, oid).exception is None
    assert count(acme, AuditEvent, AuditEvent.action == "order.edi_invalid_cleared") == 2


def test_an_order_in_another_queue_keeps_it_when_its_855_goes(acme: Store) -> None:
    oid = _order(acme, "PO-4103", ("SKU1", 1), ("NOPE", 1), ids={"buyer_part": "B*1"})
    before = _order_row(acme, oid)
    assert before.exception not in (None, EDI_INVALID)
    assert queue_855(acme, oid).status == "invalid"
    flagged = _order_row(acme, oid)
    assert flagged.exception == before.exception and "855 not sent: " in (flagged.exception_detail or "")
    _fix_item_ids(acme, oid, {"buyer_part": "B-1"})
    assert queue_855(acme, oid).queued
    after = _order_row(acme, oid)
    assert (after.exception, after.exception_detail) == (before.exception, before.exception_detail)


# ------------------------------------------------------------------ what the partner exchanges


def test_a_document_the_partner_does_not_exchange_is_neither_built_nor_queued(acme: Store) -> None:
    oid = _order(acme, "PO-4201", ("SKU1", 1), ids={"buyer_part": "B*1"})  # would be invalid if built
    with acme.write() as conn:
        conn.execute(update(TradingPartner).values(config={"documents": ["997", "856", "810"]}))
    result = queue_855(acme, oid)
    assert result.status == "not_exchanged" and not result.queued
    assert result.key.startswith(f"edi_855:{oid}:") and "does not exchange 855" in result.reasons[0]
    assert queue_846(acme, "acme").status == "not_exchanged"
    order = _order_row(acme, oid)
    assert (order.exception, order.exception_detail) == (None, None)
    assert count(acme, OutboxMessage, OutboxMessage.kind.like("edi_%")) == 0
    assert count(acme, Interchange) == count(acme, ControlNumber) == 0
    assert count(acme, AuditEvent, AuditEvent.action.like("%edi%")) == 0
    _fix_item_ids(acme, oid, {"buyer_part": "B-1"})
    [sid] = ship_reserved(acme, oid, carrier="UPS", tracking="1Z1")
    assert queue_856(acme, sid).control_number == 1  # the sets it does exchange go as before
    assert queue_810(acme, sid).control_number == 2


def test_a_partner_without_a_documents_setting_exchanges_every_document(acme: Store) -> None:
    oid = _order(acme, "PO-4202", ("SKU1", 1))
    with acme.write() as conn:
        conn.execute(update(TradingPartner).values(config={"ack_requested": False}))
    assert queue_855(acme, oid).queued and queue_846(acme, "acme").queued


def test_a_partner_made_inactive_still_gets_what_its_orders_owe_it(acme: Store) -> None:
    oid = _order(acme, "PO-4204", ("SKU1", 1))
    with acme.write() as conn:  # no new interchanges are taken from it; documents owed still go
        conn.execute(update(TradingPartner).values(active=False))
    assert queue_855(acme, oid).queued and queue_846(acme, "acme").queued


def test_a_documents_setting_that_is_not_a_list_is_reported_not_guessed(acme: Store) -> None:
    oid = _order(acme, "PO-4203", ("SKU1", 1))
    with acme.write() as conn:
        conn.execute(update(TradingPartner).values(config={"documents": "855,856"}))
    result = queue_855(acme, oid)
    assert result.status == "invalid" and "config documents must be a list" in result.reasons[0]
    assert "partner acme" in (_order_row(acme, oid).exception_detail or "")


def test_a_bad_partner_setting_is_reported_not_sent(acme: Store) -> None:
    oid = _order(acme, "PO-4002", ("SKU1", 1))
    with acme.write() as conn:
        conn.execute(update(TradingPartner).values(config={"element": "~"}))  # element = terminator
    assert queue_855(acme, oid).status == "invalid"
    assert "partner acme" in (_order_row(acme, oid).exception_detail or "")


def test_partner_delimiters_and_test_usage_come_from_its_row(acme: Store) -> None:
    oid = _order(acme, "PO-4003", ("SKU1", 1))
    with acme.write() as conn:
        conn.execute(update(TradingPartner).values(
            test_indicator="T", config={"element": "|", "component": ":", "terminator": "\\", "newline": "\n"}))
    assert queue_855(acme, oid).queued
    data = str(_outbox(acme, "edi_855")[0]["data"])
    assert data.startswith("ISA|00|") and "\\\nGS|PR|WESELL|ACMERETAIL|" in data
    assert read(data.encode("latin-1")).interchanges[0].usage == "T"
    _set(_outbox(acme, "edi_855")[0])


# ------------------------------------------------------------------------------------- 846


def test_846_advises_available_to_promise_by_the_partners_names(acme: Store) -> None:
    add_alias(acme, "SKU1", "buyer_part", "ACME-1", channel="acme")
    add_alias(acme, "SKU1", "upc", "012345678905")
    _order(acme, "PO-5001", ("SKU1", 10))
    first = queue_846(acme, "acme", skus=["SKU1", "SKU3"])
    assert (first.status, queue_846(acme, "acme").status) == ("queued", "already_queued")
    _, ts = _set(_outbox(acme, "edi_846")[0])
    lin = [s.elements for s in ts.all("LIN")]
    assert lin == [("", "BP", "ACME-1", "VP", "SKU1", "UP", "012345678905"), ("", "VP", "SKU3")]
    with acme.read() as conn:
        atp = [available_to_promise(conn, sku, "acme") for sku in ("SKU1", "SKU3")]
    assert atp == [90, 1]
    assert [(s.get(1), int(s.get(2))) for s in ts.all("QTY")] == [("33", 90), ("33", 1)]
