"""850 to a dropship vendor: what the vendor's system reads (its own part numbers, our
customer's address), pyx12-clean and numbered from the store; nothing for a vendor that does
not take 850s; an operator exception, not a file, for a PO that cannot be valid."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from sqlalchemy import select, update

from edi_maps import ValidationError, read
from edi_maps.errors import MappingError
from edi_maps.outbound import Party
from edi_maps.outgoing import (
    EDI_INVALID,
    Checked,
    HeldOrder,
    plan_850,
    queue_850,
    read_phase,
    write_phase,
)
from edi_maps.po850 import order_from_850
from edi_maps.po850_out import PurchaseLine, PurchaseOrder, build_850
from store import Address, Store
from store.cancellations import cancel_units
from store.catalog import limit_channel_locations
from store.dropship import cancel_dropship, order_from_vendor
from store.models import (
    AuditEvent,
    ControlNumber,
    Interchange,
    Order,
    OrderLine,
    OutboxMessage,
    TradingPartner,
)
from store.orders import close, hold, release_hold
from store.reservations import take_reserved
from store.shipping import ship
from store.types import utcnow
from tests.edi_maps.test_out_envelope import emit
from tests.edi_maps.test_outgoing import _outbox, _set
from tests.store.helpers import count
from tests.store.test_dropship import World, dropship_world, place

SHIP_TO = Party("ST", "Jane Doe", address1="12 Elm St", address2="Apt 4", city="Springfield", region="IL",
                postal_code="62701", country="US")


def _po(**kw: object) -> PurchaseOrder:
    base = PurchaseOrder(
        "DS000042", dt.date(2026, 1, 16), SHIP_TO,
        (PurchaseLine("1", 2, "EA", (("VP", "V-100"), ("BP", "S1"), ("UP", "012345678905")), 1999),
         PurchaseLine("2", 1, "EA", (("BP", "S2"),), 500)),
        customer_order="W-1001", ship_date=dt.date(2026, 1, 20), cancel_after=dt.date(2026, 2, 1),
    )
    return dataclasses.replace(base, **kw)  # type: ignore[arg-type]


def test_a_dropship_po_reads_as_the_vendor_needs_it() -> None:
    [ts] = emit([build_850(_po(currency="CAD", write_currency=True))]).sets()
    tags = [s.tag + ("*" + s.get(1) if s.tag in ("REF", "DTM", "N1") else "") for s in ts.segments]
    assert tags == ["BEG", "CUR", "REF*CO", "DTM*010", "DTM*001", "N1*ST", "N3", "N4", "PO1", "PO1", "CTT"]
    assert ts.first("BEG").elements == ("00", "DS", "DS000042", "", "20260116")  # type: ignore[union-attr]
    assert ts.first("CUR").elements == ("BY", "CAD")  # type: ignore[union-attr]
    assert [s.elements for s in ts.all("PO1")] == [
        ("1", "2", "EA", "19.99", "", "VP", "V-100", "BP", "S1", "UP", "012345678905"),
        ("2", "1", "EA", "5", "", "BP", "S2"),
    ]
    assert ts.first("CTT").elements == ("2", "3")  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "po, why",
    [
        (_po(lines=()), "has no lines"),
        (_po(ship_to=dataclasses.replace(SHIP_TO, address1="", address2="")), "needs a name and a street"),
        (_po(ship_to=dataclasses.replace(SHIP_TO, code="BT")), "must be N1\\*ST"),
        (_po(order_type="NE"), "BEG02 'NE'"),
        (_po(lines=(PurchaseLine("1", 1, "EA", (("BP", "S1"),)),) * 2), "line '1' is listed twice"),
        (_po(lines=(PurchaseLine("1", 0, "EA", (("BP", "S1"),)),)), "quantity must be positive"),
        (_po(lines=(PurchaseLine("1", 1, "EA", ()),)), "names no item"),
        (_po(po_number="DS" + "9" * 21), "BEG03 PO number"),
        (_po(customer_order="W*1"), "holds '\\*'"),
    ],
)
def test_purchase_orders_that_cannot_be_valid_are_refused(po: PurchaseOrder, why: str) -> None:
    with pytest.raises(ValidationError, match=why):
        emit([build_850(po)])


# ------------------------------------------------------------------------- from the store


@pytest.fixture
def world(store: Store) -> World:
    return dropship_world(store)


def _ordered(world: World, external_id: str, *lines: tuple[str, int, int], **kw: object) -> int:
    oid = place(world.store, external_id, *lines, **kw)  # type: ignore[arg-type]
    return world.store.run(lambda conn: order_from_vendor(conn, oid, world.drop, actor="routing"))


def test_queue_850_sends_the_vendor_its_part_numbers_and_our_customers_address(world: World) -> None:
    store = world.store
    did = _ordered(world, "W-1001", ("S1", 2, 1999), ("S2", 1, 500))
    first = queue_850(store, did, actor="test")
    assert (first.status, first.control_number, queue_850(store, did).status) == ("queued", 1, "already_queued")
    [payload] = _outbox(store, "edi_850")
    isa13, ts = _set(payload)  # pyx12-clean, reads back, numbered from the store
    assert (isa13, payload["dropship_id"], payload["number"]) == ("000000001", did, "DS000001")
    beg = ts.first("BEG")
    assert beg is not None and beg.elements[:3] == ("00", "DS", "DS000001")
    assert ts.first("CUR") is None  # the order is in the vendor's own currency
    assert [s.elements for s in ts.all("REF")] == [("CO", "W-1001")]
    assert [s.elements for s in ts.segments if s.tag in ("N1", "N3", "N4")] == [
        ("ST", "Jane Doe"), ("12 Elm St", "Apt 4"), ("Springfield", "IL", "62701", "US")]
    # VP only where the vendor has a name for it (S2's vendor part belongs to another channel).
    # No PO104: the customer's price is not what we pay the vendor (no vendor cost is kept).
    assert [s.elements for s in ts.all("PO1")] == [
        ("1", "2", "EA", "", "", "VP", "V-100", "BP", "S1", "UP", "012345678905"),
        ("2", "1", "EA", "", "", "BP", "S2"),
    ]
    with store.read() as conn:
        sent = conn.execute(select(Interchange.sender, Interchange.receiver, Interchange.ack_status)).all()
    assert [tuple(r) for r in sent] == [("WESELL", "VENDORCO", "pending_ack")]
    assert count(store, AuditEvent, AuditEvent.action == "edi.850_queued", AuditEvent.entity_id == did) == 1
    # The vendor's side: our own 850 reader takes it in as the customer's order to ship.
    tm = read(str(payload["data"]).encode("latin-1"))
    mapped = order_from_850(ts, tm.interchanges[0].groups[0], channel="us").order
    assert (mapped.external_id, mapped.ship_to.name, mapped.ship_to.address1, mapped.ship_to.postal_code) == (
        "DS000001", "Jane Doe", "12 Elm St", "62701")
    assert [(ln.item_ids.get("vendor_part"), ln.qty, ln.unit_price_minor) for ln in mapped.lines] == [
        ("V-100", 2, 0), (None, 1, 0)]  # no price given


def test_the_customers_price_never_reaches_the_vendor(world: World) -> None:
    did = _ordered(world, "W-1002", ("S1", 1, 2599), currency="CAD")
    assert queue_850(world.store, did).queued
    payload = _outbox(world.store, "edi_850")[0]
    _, ts = _set(payload)
    assert ts.first("CUR") is None  # nothing priced: no currency to name
    assert ts.first("PO1").get(4) == ""  # type: ignore[union-attr]
    assert "25.99" not in str(payload["data"])


def test_a_vendor_that_does_not_take_850s_gets_nothing(world: World) -> None:
    store = world.store
    did = _ordered(world, "W-1003", ("S1", 1, 1999))
    with store.write() as conn:
        conn.execute(update(TradingPartner).values(config={"documents": ["997", "855"]}))
    result = queue_850(store, did)
    assert result.status == "not_exchanged" and "partner vend does not exchange 850" in result.reasons[0]
    assert count(store, OutboxMessage, OutboxMessage.kind == "edi_850") == 0
    assert count(store, Interchange) == count(store, ControlNumber) == 0


def test_a_po_that_cannot_be_valid_puts_the_order_in_the_edi_invalid_queue(world: World) -> None:
    store = world.store
    did = _ordered(world, "W-1004", ("S1", 1, 1999), ship_to=Address("Jane Doe", None, None, "Springfield", "IL"))
    result = queue_850(store, did)
    assert result.status == "invalid"
    with store.read() as conn:
        order = conn.execute(select(Order.exception, Order.exception_detail).where(Order.external_id == "W-1004")).one()
    assert order.exception == EDI_INVALID
    assert order.exception_detail == "850 not sent: PO 'DS000001': the customer's ship-to needs a name and a street address"
    assert count(store, OutboxMessage, OutboxMessage.kind == "edi_850") == 0
    assert count(store, ControlNumber) == 0  # no control numbers taken for it


def test_a_cancelled_po_is_not_built(world: World) -> None:
    store = world.store
    did = _ordered(world, "W-1005", ("S1", 1, 1999))
    with store.read() as conn:
        oid = int(conn.execute(select(Order.id).where(Order.external_id == "W-1005")).scalar_one())
    store.run(lambda conn: cancel_dropship(conn, oid, actor="cs", reason="customer asked"))
    with pytest.raises(MappingError, match="dropship PO DS000001 is cancelled"):
        queue_850(store, did)
    assert count(store, OutboxMessage, OutboxMessage.kind == "edi_850") == count(store, ControlNumber) == 0


def test_a_po_to_a_vendor_without_edi_is_not_built(world: World) -> None:
    store = world.store
    limit_channel_locations(store, "web", ["MAIL"])
    oid = place(store, "W-1006", ("S3", 1, 250))
    did = store.run(lambda conn: order_from_vendor(conn, oid, world.mail, actor="routing"))
    with pytest.raises(MappingError, match="location MAIL has no EDI vendor; an operator sends it"):
        queue_850(store, did)


# --------------------------------------------------- only what the order still wants goes


def _order_id(store: Store, external_id: str) -> int:
    with store.read() as conn:
        return int(conn.execute(select(Order.id).where(Order.external_id == external_id)).scalar_one())


def _nothing_queued(store: Store) -> bool:
    return count(store, OutboxMessage, OutboxMessage.kind == "edi_850") == count(store, ControlNumber) == 0


def test_a_po_cancelled_between_the_two_phases_is_not_queued(world: World) -> None:
    store = world.store
    did = _ordered(world, "W-1101", ("S1", 1, 1999))
    oid = _order_id(store, "W-1101")
    checked = read_phase(store, plan_850(did), "test")  # built and checked by pyx12
    assert isinstance(checked, Checked)
    cancel_units(store, oid, None, reason="customer asked")  # commits before phase 2 writes
    with pytest.raises(MappingError, match="dropship PO DS000001 is cancelled"):
        write_phase(store, checked, "test")
    assert _nothing_queued(store) and count(store, Interchange) == 0


def test_a_held_order_gets_no_850_until_the_hold_ends(world: World) -> None:
    store = world.store
    did = _ordered(world, "W-1102", ("S1", 1, 1999))
    oid = _order_id(store, "W-1102")
    hold(store, oid, "card declined twice", kind="fraud")
    with pytest.raises(HeldOrder, match="dropship PO DS000001 waits for the hold on order W-1102 "
                                        r"\(fraud: card declined twice\)"):
        queue_850(store, did)
    assert _nothing_queued(store)
    release_hold(store, oid, reason="cleared by risk")
    checked = read_phase(store, plan_850(did), "test")
    assert isinstance(checked, Checked)
    hold(store, oid, "address looks wrong", kind="address")  # held again between the phases
    with pytest.raises(HeldOrder, match=r"\(address: address looks wrong\)"):
        write_phase(store, checked, "test")
    assert _nothing_queued(store)
    release_hold(store, oid, reason="customer confirmed")
    assert queue_850(store, did).queued


def test_a_po_of_a_closed_order_is_not_sent(world: World) -> None:
    store = world.store
    did = _ordered(world, "W-1103", ("S1", 1, 1999))
    oid = _order_id(store, "W-1103")
    ship(store, oid, "DROP", carrier="UPS", tracking="1Z0003")  # the vendor shipped before we sent anything
    close(store, oid)
    with pytest.raises(MappingError, match="dropship PO DS000001: order W-1103 is closed"):
        queue_850(store, did)
    assert _nothing_queued(store)


def test_the_850_orders_only_what_the_order_still_holds_at_the_vendor(world: World) -> None:
    store = world.store
    did = _ordered(world, "W-1104", ("S1", 3, 1999), ("S2", 1, 500))
    oid = _order_id(store, "W-1104")
    with store.write() as conn:  # units given back by a path that did not resync the PO: none should
        [line1, line2] = conn.execute(select(OrderLine.id).where(OrderLine.order_id == oid)
                                      .order_by(OrderLine.line_no)).scalars().all()
        for line, units in ((line1, 2), (line2, 1)):
            take_reserved(conn, line, units, state="released", now=utcnow())
    assert queue_850(store, did).queued
    _, ts = _set(_outbox(store, "edi_850")[0])
    assert [s.elements[:3] for s in ts.all("PO1")] == [("1", "1", "EA")]
    other = _ordered(world, "W-1105", ("S3", 1, 250))
    with store.write() as conn:
        [line] = conn.execute(select(OrderLine.id).join(Order, Order.id == OrderLine.order_id)
                              .where(Order.external_id == "W-1105")).scalars().all()
        take_reserved(conn, line, 1, state="released", now=utcnow())
    with pytest.raises(MappingError, match="dropship PO DS000002: nothing of order W-1105 is still reserved at "
                                           "location DROP"):
        queue_850(store, other)
