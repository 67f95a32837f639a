"""Dropship POs: written with the routing change that reserved at the vendor's location, once
per unit; an EDI vendor's PO queued for the gateway, another vendor's left open for an
operator; cancelled with the order, stopping what has not gone."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import select

from edi_maps import read
from edi_maps.errors import MappingError
from edi_maps.outgoing import queue_850
from store import Address, CanonicalLine, CanonicalOrder, Store, ingest
from store.cancellations import cancel_units
from store.catalog import (
    NewSku,
    add_alias,
    add_channel,
    add_partner,
    add_skus,
    limit_channel_locations,
    location_id,
)
from store.changes import LineChange, OrderChange, apply_change
from store.dropship import (
    CANCEL_UNCONFIRMED,
    cancel_dropship,
    dropship_orders,
    find_dropship,
    mark_sent,
    order_from_vendor,
    outbox_rows,
    rearm_850,
)
from store.errors import NotFound, ShippingError, StoreError
from store.inventory import receive
from store.models import (
    AuditEvent,
    DropshipOrder,
    Interchange,
    Location,
    OutboxMessage,
    TradingPartner,
)
from store.orders import cancel_in
from store.outbox import claim, failed, sent
from store.setup import LocationSpec, Setup, apply_setup
from store.shipping import ship
from tests.store.helpers import count, order_row

SHIP_TO = Address("Jane Doe", "12 Elm St", "Apt 4", "Springfield", "IL", "62701", "US")


@dataclass(frozen=True)
class World:
    store: Store
    drop: int  # the EDI vendor's location
    mail: int  # a vendor without EDI
    warehouse: int


def dropship_world(store: Store) -> World:
    """Channel `web`; vendor `vend` (an EDI partner) behind location DROP, a vendor without
    EDI behind MAIL, our own warehouse DAL; SKUs S1..S3 stocked at the vendors; S1 known to
    `vend` as V-100 and to everyone by its UPC; S2 has a vendor part of another channel only."""
    add_channel(store, "web", "Web shop", "cart")
    add_partner(store, "vend", "Vendor Co", isa_qualifier="ZZ", isa_id="VENDORCO", gs_id="VENDORCO",
                our_isa_qualifier="ZZ", our_isa_id="WESELL", our_gs_id="WESELL")
    apply_setup(store, Setup(locations=[
        LocationSpec("DROP", "Vendor Co (dropship)", kind="dropship", vendor="vend"),
        LocationSpec("MAIL", "Mail-order vendor", kind="dropship"),
        LocationSpec("DAL", "Dallas DC", kind="warehouse"),
    ]))
    add_skus(store, [NewSku("S1", "Lamp", 1999, "USD"), NewSku("S2", "Shade", 500, "USD"),
                     NewSku("S3", "Bulb", 250, "USD")])
    for sku in ("S1", "S2", "S3"):
        receive(store, sku, "DROP", 100)
        receive(store, sku, "MAIL", 100)
    add_alias(store, "S1", "vendor_part", "V-100", channel="vend")
    add_alias(store, "S1", "upc", "012345678905")
    add_alias(store, "S2", "vendor_part", "NOT-VEND-2", channel="web")
    limit_channel_locations(store, "web", ["DROP"])
    with store.read() as conn:
        ids = [location_id(conn, code) for code in ("DROP", "MAIL", "DAL")]
    return World(store, *ids)


def place(store: Store, external_id: str, *lines: tuple[str, int, int], currency: str = "USD",
          ship_to: Address = SHIP_TO) -> int:
    """Ingest a web order of (sku, qty, unit price) lines; intake reserves at the channel's location."""
    canonical = CanonicalOrder(
        channel="web", external_id=external_id, currency=currency, version=1, ship_to=ship_to,
        lines=tuple(CanonicalLine(sku, qty, price, item_kind="sku") for sku, qty, price in lines),
    )
    [outcome] = ingest(store, [canonical]).outcomes
    assert outcome.order_id is not None and outcome.status == "allocated", outcome
    return outcome.order_id


@pytest.fixture
def world(store: Store) -> World:
    return dropship_world(store)


def _outbox(store: Store, kind: str) -> list[OutboxMessage]:
    with store.read() as conn:
        return list(conn.execute(select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id)).all())


def test_the_po_and_its_outbox_row_are_written_with_the_routing_change(world: World) -> None:
    store = world.store
    oid = place(store, "W-1001", ("S1", 2, 1999), ("S2", 1, 500))
    with store.write() as conn:  # routing's transaction: it reserved at DROP, then orders from the vendor
        did = order_from_vendor(conn, oid, world.drop, actor="routing")
        assert order_from_vendor(conn, oid, world.drop, actor="routing") == did  # nothing new: no second PO
    with store.read() as conn:
        [po] = dropship_orders(conn, oid)
    assert (po.id, po.number, po.status, po.vendor, po.location, po.order) == (
        did, "DS000001", "open", "vend", "DROP", "W-1001")
    assert [(ln.line_no, ln.qty) for ln in po.lines] == [(1, 2), (2, 1)]
    [row] = _outbox(store, "dropship_po")
    assert (row.target, row.idempotency_key, row.order_id, row.state) == ("vend", f"dropship_po:{did}", oid, "pending")
    assert row.payload == {"dropship_id": did, "order_id": oid, "location_id": world.drop, "number": "DS000001"}
    assert count(store, AuditEvent, AuditEvent.action == "dropship.ordered", AuditEvent.entity_id == did) == 1
    assert count(store, AuditEvent, AuditEvent.action == "order.dropship_ordered", AuditEvent.entity_id == oid) == 1


def test_a_routing_change_that_fails_leaves_no_po_no_outbox_row_and_no_number_used(world: World) -> None:
    store = world.store
    oid = place(store, "W-1002", ("S1", 1, 1999))  # routing ordered DS000001 with the order
    store.run(lambda conn: cancel_dropship(conn, oid, actor="ops", reason="vendor asked us to order again"))
    with pytest.raises(RuntimeError), store.write() as conn:
        order_from_vendor(conn, oid, world.drop, actor="routing")
        raise RuntimeError("routing failed after ordering")
    assert count(store, DropshipOrder) == count(store, OutboxMessage, OutboxMessage.kind == "dropship_po") == 1
    with store.write() as conn:
        did = order_from_vendor(conn, oid, world.drop, actor="routing")
    with store.read() as conn:
        assert find_dropship(conn, "DS000002").id == did  # the number was given back with the rollback


def test_more_reserved_at_the_vendor_later_is_ordered_as_the_difference(world: World) -> None:
    store = world.store
    oid = place(store, "W-1003", ("S1", 2, 1999), ("S2", 1, 500))
    first = store.run(lambda conn: order_from_vendor(conn, oid, world.drop, actor="routing"))
    # The customer raises line 1 from 2 to 5: the 3 more are reserved at the line's location,
    # DROP, and the change orders them from the vendor.
    change = apply_change(store, OrderChange("web", "W-1003", (LineChange("update", line_ref="1", qty=5),)))
    assert change.status == "applied", change
    assert "dropship PO DS000002 ordered for what is still reserved" in change.done
    second = store.run(lambda conn: order_from_vendor(conn, oid, world.drop, actor="routing"))  # nothing new
    assert second != first
    with store.read() as conn:
        pos = dropship_orders(conn, oid)
    assert [(po.number, [(ln.line_no, ln.qty) for ln in po.lines]) for po in pos] == [
        ("DS000001", [(1, 2), (2, 1)]), ("DS000002", [(1, 3)])]
    assert [r.idempotency_key for r in _outbox(store, "dropship_po")] == [f"dropship_po:{first}", f"dropship_po:{second}"]


def test_a_vendor_without_edi_gets_an_open_po_for_an_operator_to_send(world: World) -> None:
    store = world.store
    limit_channel_locations(store, "web", ["MAIL"])
    oid = place(store, "W-1004", ("S3", 4, 250))
    did = store.run(lambda conn: order_from_vendor(conn, oid, world.mail, actor="routing"))
    assert _outbox(store, "dropship_po") == []
    with store.read() as conn:
        [po] = dropship_orders(conn, statuses=["open"])
    assert (po.id, po.vendor, po.sent_at, [(ln.line_no, ln.qty) for ln in po.lines]) == (did, None, None, [(1, 4)])
    assert mark_sent(store, did, actor="ops") == "sent"
    with store.read() as conn:
        after = find_dropship(conn, po.number)
    assert after.status == "sent" and after.sent_at is not None
    with pytest.raises(ShippingError, match="DS000001 is sent; only an open PO can be marked sent"):
        mark_sent(store, did, actor="ops")


def test_what_cannot_be_ordered_from_a_vendor_is_refused_with_the_order_and_location(world: World) -> None:
    store = world.store
    oid = place(store, "W-1005", ("S1", 1, 1999))
    with pytest.raises(ShippingError, match="order W-1005, location DAL: the location is a warehouse"):
        store.run(lambda conn: order_from_vendor(conn, oid, world.warehouse, actor="routing"))
    with pytest.raises(ShippingError, match="order W-1005, location MAIL: nothing of the order is reserved"):
        store.run(lambda conn: order_from_vendor(conn, oid, world.mail, actor="routing"))
    with pytest.raises(NotFound):
        store.run(lambda conn: order_from_vendor(conn, 999_999, world.drop, actor="routing"))
    store.run(lambda conn: cancel_in(conn, oid, "customer asked", actor="cs"))
    with pytest.raises(ShippingError, match="the order is cancelled"):
        store.run(lambda conn: order_from_vendor(conn, oid, world.drop, actor="routing"))
    with store.read() as conn:  # routing's PO, cancelled with the order; nothing more ordered
        assert [(po.number, po.status) for po in dropship_orders(conn, oid)] == [("DS000001", "cancelled")]


def test_cancelling_the_order_cancels_its_po_and_stops_what_has_not_gone(world: World) -> None:
    store = world.store
    oid = place(store, "W-1006", ("S1", 1, 1999))
    did = store.run(lambda conn: order_from_vendor(conn, oid, world.drop, actor="routing"))  # routing's PO
    store.run(lambda conn: cancel_in(conn, oid, "customer asked", actor="cs"))  # and its PO with it
    with store.read() as conn:
        [po] = dropship_orders(conn, oid)
        event = conn.execute(select(AuditEvent.detail).where(AuditEvent.action == "dropship.cancelled")).scalar_one()
    assert po.status == "cancelled"
    [row] = _outbox(store, "dropship_po")
    assert row.state == "dead" and row.last_error == "not sent: dropship PO DS000001 was cancelled (customer asked)"
    assert (event["was"], event["stopped"], event["tell_vendor"]) == ("open", [f"dropship_po:{did}"], False)
    assert store.run(lambda conn: cancel_dropship(conn, oid, actor="cs", reason="again")) == []  # nothing live left


def test_a_po_that_may_have_reached_the_vendor_says_so_when_cancelled(world: World) -> None:
    store = world.store
    oid = place(store, "W-1007", ("S1", 1, 1999))
    did = store.run(lambda conn: order_from_vendor(conn, oid, world.drop, actor="routing"))
    assert queue_850(store, did).queued  # its 850 is built, awaiting upload (and then a 997)
    store.run(lambda conn: cancel_dropship(conn, oid, actor="cs", reason="fraud"))
    [edi] = _outbox(store, "edi_850")
    assert edi.state == "dead" and "cancelled (fraud)" in (edi.last_error or "")
    with store.read() as conn:
        assert conn.execute(select(Interchange.ack_status)).scalar_one() is None  # no 997 awaited for it
    assert order_row(store, "W-1007").exception is None  # the vendor never had it
    # A PO the vendor has (an operator mailed it): cancelling it here leaves telling them to an
    # operator, who finds the order in the dropship_cancel_unconfirmed queue.
    limit_channel_locations(store, "web", ["MAIL"])
    oid2 = place(store, "W-1008", ("S2", 1, 500))
    did2 = store.run(lambda conn: order_from_vendor(conn, oid2, world.mail, actor="routing"))
    mark_sent(store, did2, actor="ops")
    store.run(lambda conn: cancel_dropship(conn, oid2, actor="cs", reason="customer asked"))
    with store.read() as conn:
        event = conn.execute(select(AuditEvent.detail).where(
            AuditEvent.action == "dropship.cancelled", AuditEvent.entity_id == did2)).scalar_one()
        [po] = dropship_orders(conn, oid2)
    assert (event["was"], event["tell_vendor"], po.tell_vendor) == ("sent", True, True)
    order = order_row(store, "W-1008")
    assert (order.exception, order.exception_detail) == (
        CANCEL_UNCONFIRMED, ("dropship PO DS000002 was cancelled (customer asked) but the vendor of MAIL may "
                             "already have it: tell them it is cancelled"))


def test_the_vendor_of_a_dropship_location_comes_from_the_setup(world: World) -> None:
    store = world.store
    with store.read() as conn:
        vendors = dict(conn.execute(select(Location.code, TradingPartner.code)
                                    .outerjoin(TradingPartner, TradingPartner.id == Location.vendor_partner_id)).all())
    assert vendors == {"DROP": "vend", "MAIL": None, "DAL": None}
    # Dropping the vendor from the file makes the location a vendor without EDI again.
    changes = apply_setup(store, Setup(locations=[LocationSpec("DROP", "Vendor Co (dropship)", kind="dropship")]))
    assert changes == ["location DROP vendor (none)"]
    with store.read() as conn:
        assert conn.execute(select(Location.vendor_partner_id).where(Location.code == "DROP")).scalar_one() is None
    with pytest.raises(StoreError, match="location DAL: vendor 'vend' is only for kind \"dropship\""):
        apply_setup(store, Setup(locations=[LocationSpec("DAL", "Dallas DC", vendor="vend")]))
    with pytest.raises(StoreError, match="location DROP: vendor 'nobody' is not a partner"):
        apply_setup(store, Setup(locations=[LocationSpec("DROP", "Vendor Co", kind="dropship", vendor="nobody")]))


# ------------------------------------------------- the POs follow what the order still holds


def _po_ids(store: Store, oid: int) -> list[int]:
    with store.read() as conn:
        return [po.id for po in dropship_orders(conn, oid)]


def _pos(store: Store, oid: int) -> list[tuple[str, str, list[tuple[int, int]]]]:
    with store.read() as conn:
        return [(po.number, po.status, [(ln.line_no, ln.qty) for ln in po.lines]) for po in dropship_orders(conn, oid)]


def _states(store: Store) -> dict[str, str]:
    with store.read() as conn:
        rows = conn.execute(select(OutboxMessage.idempotency_key, OutboxMessage.state)
                            .where(OutboxMessage.kind.in_(("dropship_po", "edi_850")))).all()
    return {key: state for key, state in rows}


def _po1(store: Store) -> list[tuple[str, ...]]:
    """PO101..PO103 of the one 850 in the outbox."""
    [edi] = _outbox(store, "edi_850")
    [ts] = list(read(str(edi.payload["data"]).encode("latin-1")).sets())
    return [s.elements[:3] for s in ts.all("PO1")]


def test_an_860_cancelling_every_line_cancels_the_po_and_no_850_goes(world: World) -> None:
    store = world.store
    oid = place(store, "W-1101", ("S1", 2, 1999), ("S2", 1, 500))
    [did] = _po_ids(store, oid)
    change = apply_change(store, OrderChange("web", "W-1101", (LineChange("cancel", line_ref="1"),
                                                               LineChange("cancel", line_ref="2"))))
    assert (change.status, change.order_status) == ("applied", "cancelled"), change
    assert "dropship PO DS000001 cancelled" in change.done
    assert _pos(store, oid) == [("DS000001", "cancelled", [(1, 2), (2, 1)])]
    assert _states(store) == {f"dropship_po:{did}": "dead"}
    with pytest.raises(MappingError, match="dropship PO DS000001 is cancelled"):
        queue_850(store, did)


def test_a_partly_shipped_order_whose_rest_is_cancelled_cancels_the_po(world: World) -> None:
    store = world.store
    oid = place(store, "W-1102", ("S1", 2, 1999), ("S2", 1, 500))
    [did] = _po_ids(store, oid)
    ship(store, oid, "DROP", carrier="UPS", tracking="1Z0001", lines={1: 2})  # the vendor shipped line 1
    assert cancel_units(store, oid, {2: 1}, reason="customer asked").status == "shipped"
    assert _pos(store, oid) == [("DS000001", "cancelled", [(1, 2), (2, 1)])]  # line 1 is not ordered again
    assert _states(store) == {f"dropship_po:{did}": "dead"}
    with pytest.raises(MappingError, match="dropship PO DS000001 is cancelled"):
        queue_850(store, did)


@pytest.mark.parametrize("how", ["operator", "860"])
def test_a_partial_cancel_at_the_vendor_orders_what_is_left_on_a_new_po(world: World, how: str) -> None:
    store = world.store
    oid = place(store, "W-1103", ("S1", 2, 1999), ("S2", 1, 500))
    [first] = _po_ids(store, oid)
    if how == "operator":
        cancel_units(store, oid, {1: 1}, reason="the customer wants one")
    else:  # the customer's 860 lowers line 1 from 2 to 1
        change = apply_change(store, OrderChange("web", "W-1103", (LineChange("update", line_ref="1", qty=1),)))
        assert change.status == "applied", change
    assert _pos(store, oid) == [("DS000001", "cancelled", [(1, 2), (2, 1)]), ("DS000002", "open", [(1, 1), (2, 1)])]
    first, second = _po_ids(store, oid)
    assert _states(store) == {f"dropship_po:{first}": "dead", f"dropship_po:{second}": "pending"}
    with pytest.raises(MappingError, match="dropship PO DS000001 is cancelled"):
        queue_850(store, first)
    assert queue_850(store, second).queued
    assert _po1(store) == [("1", "1", "EA"), ("2", "1", "EA")]  # what the vendor is asked for now


def test_units_shipped_from_the_vendor_are_never_ordered_again(world: World) -> None:
    store = world.store
    oid = place(store, "W-1104", ("S1", 2, 1999), ("S2", 1, 500), ("S3", 1, 250))
    ship(store, oid, "DROP", carrier="UPS", tracking="1Z0002", lines={1: 2})
    assert cancel_units(store, oid, {2: 1}, reason="discontinued").status == "partially_shipped"
    assert _pos(store, oid) == [("DS000001", "cancelled", [(1, 2), (2, 1), (3, 1)]), ("DS000002", "open", [(3, 1)])]


def test_a_po_the_dispatcher_is_turning_into_an_850_may_have_reached_the_vendor(world: World) -> None:
    store = world.store
    oid = place(store, "W-1105", ("S1", 1, 1999))
    [did] = _po_ids(store, oid)
    [msg] = claim(store, kinds=["dropship_po"])  # the dispatcher is building its 850 now
    assert msg.idempotency_key == f"dropship_po:{did}"
    cancel_units(store, oid, None, reason="fraud")
    with store.read() as conn:
        event = conn.execute(select(AuditEvent.detail).where(AuditEvent.action == "dropship.cancelled")).scalar_one()
    assert (event["stopped"], event["tell_vendor"]) == ([], True)
    order = order_row(store, "W-1105")
    assert (order.exception, order.exception_detail) == (
        CANCEL_UNCONFIRMED, ("dropship PO DS000001 was cancelled (fraud) but vend may already have it: "
                             "tell them it is cancelled"))


def test_an_operator_cannot_mark_sent_what_the_gateway_is_to_send_and_puts_a_dead_850_back(world: World) -> None:
    store = world.store
    oid = place(store, "W-1106", ("S1", 1, 1999))
    [did] = _po_ids(store, oid)
    with pytest.raises(ShippingError, match=r"DS000001: it is in the outbox for the gateway to send "
                                            rf"\(dropship_po:{did} pending\)"):
        mark_sent(store, did, actor="ops")
    [msg] = claim(store, kinds=["dropship_po"])
    assert queue_850(store, did).queued
    sent(store, msg.id)
    with pytest.raises(ShippingError, match=rf"DS000001: its 850 is in the outbox .*\(edi_850:{did} pending\)"):
        mark_sent(store, did, actor="ops")
    # The gateway gives up on the 850 (the vendor's mailbox kept failing): an operator puts it back.
    [edi] = claim(store, kinds=["edi_850"])
    assert failed(store, edi.id, "MailboxError: connection refused", max_attempts=1) == "dead"
    after = rearm_850(store, did, actor="ops")
    assert after is not None and (after.key, after.state, after.attempts) == (f"edi_850:{did}", "pending", 0)
    with store.read() as conn:
        assert [(r.key, r.state) for r in outbox_rows(conn, did)] == [(f"dropship_po:{did}", "sent"),
                                                                      (f"edi_850:{did}", "pending")]
    assert count(store, AuditEvent, AuditEvent.action == "dropship.850_rearmed", AuditEvent.entity_id == did) == 1
    cancel_units(store, oid, None, reason="customer asked")
    with pytest.raises(ShippingError, match="dropship PO DS000001 is cancelled; its 850 is not sent"):
        rearm_850(store, did, actor="ops")
