"""Returns as the returns desk and customer service live them: authorise, receive anywhere,
inspect (restock or scrap), resolve (refund, exchange, reship), on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from store import NotFound, Store, check, ingest
from store.catalog import add_location, add_partner
from store.cancellations import cancel_units
from store.errors import ReturnError, StoreError
from store.fulfilment import ship_reserved
from store.inventory import receive as receive_stock
from store.models import AuditEvent, Backorder, Order, OutboxMessage, Reservation, Return, StockMovement
from store.money import format_amount, parse_amount
from store.returns import (
    Disposition,
    Receipt,
    Replacement,
    RmaLine,
    authorise,
    cancel,
    get_return,
    inspect,
    receive,
    resolve,
    returns_of,
)
from tests.factories import order
from tests.store.helpers import count, level, lines_of, order_row


def _shipped(store: Store, external_id: str, *lines: tuple[str, int], channel: str = "web") -> int:
    """An order taken in, reserved and shipped through the store's own functions."""
    report = ingest(store, [order(external_id, *lines, channel=channel)])
    oid = report.outcomes[0].order_id
    assert oid is not None and report.outcomes[0].status == "allocated"
    ship_reserved(store, oid, carrier="UPS", tracking=f"1Z{external_id}")
    return oid


@pytest.fixture
def desk(catalog: Store) -> Store:
    """Stock of S1 and S2 at A; a store location C that never shipped anything; order W1 on
    web (3 x S1, 1 x S2, each at 10.00) shipped from A."""
    add_location(catalog, "C", "Corner store", kind="store", priority=5)
    receive_stock(catalog, "S1", "A", 10)
    receive_stock(catalog, "S2", "A", 5)
    _shipped(catalog, "W1", ("S1", 3), ("S2", 1))
    return catalog


def _oid(store: Store, external_id: str) -> int:
    return int(order_row(store, external_id).id)


def _movements(store: Store, kind: str) -> list[Any]:
    with store.read() as conn:
        return list(conn.execute(select(StockMovement).where(StockMovement.kind == kind).order_by(StockMovement.id)))


def _received(store: Store, rma: str, *receipts: Receipt, at: str = "C") -> None:
    receive(store, rma, at, list(receipts))


# ------------------------------------------------------------------------- stock


def test_stock_rises_only_at_inspection_where_the_operator_restocks(desk: Store) -> None:
    before = {loc: level(desk, "S1", loc) for loc in ("A", "B", "C")}
    rma = authorise(desk, _oid(desk, "W1"), [RmaLine(1, 2, "too small")]).rma
    assert rma == "RMA-000001"
    assert {loc: level(desk, "S1", loc) for loc in ("A", "B", "C")} == before

    view = receive(desk, rma, "C", [Receipt(1, 2, "opened")])
    assert (view.status, view.location, view.lines[0].received) == ("received", "C", 2)
    assert {loc: level(desk, "S1", loc) for loc in ("A", "B", "C")} == before
    assert _movements(desk, "return") == []

    view = inspect(desk, rma, [Disposition(1, restock=1)])  # default: where it was received
    assert level(desk, "S1", "C") == (1, 0)
    view = inspect(desk, rma, [Disposition(1, restock=1, at="B")])
    assert level(desk, "S1", "B") == (1, 0)
    assert level(desk, "S1", "A") == before["A"]
    assert view.status == "inspected"
    assert view.lines[0].restocked == 2 and view.lines[0].restocked_at == (("B", 1), ("C", 1))
    moved = _movements(desk, "return")
    assert [(m.qty, m.reference) for m in moved] == [(1, "RMA-000001 line 1"), (1, "RMA-000001 line 1")]
    assert check(desk).ok


def test_scrap_never_restocks_and_is_recorded(desk: Store) -> None:
    rma = authorise(desk, _oid(desk, "W1"), [RmaLine(1, 2, "arrived broken")]).rma
    _received(desk, rma, Receipt(1, 2, "damaged"))
    on_hand = {loc: level(desk, "S1", loc) for loc in ("A", "B", "C")}
    view = inspect(desk, rma, [Disposition(1, scrap=2, note="glass shattered")])
    assert {loc: level(desk, "S1", loc) for loc in ("A", "B", "C")} == on_hand
    assert _movements(desk, "return") == []
    assert (view.status, view.lines[0].scrapped, view.lines[0].restocked) == ("inspected", 2, 0)
    with desk.read() as conn:
        event = conn.execute(select(AuditEvent).where(AuditEvent.action == "return.scrapped")).one()
    assert event.detail["qty"] == 2 and event.detail["note"] == "glass shattered" and event.detail["rma"] == rma
    # Scrapped units are gone for good: they cannot be restocked afterwards.
    with pytest.raises(ReturnError, match="restock 1 \\+ scrap 0 is more than the 0 received units not yet inspected"):
        inspect(desk, rma, [Disposition(1, restock=1)])
    assert check(desk).ok


def test_restock_plus_scrap_beyond_received_is_refused_and_changes_nothing(desk: Store) -> None:
    rma = authorise(desk, _oid(desk, "W1"), [RmaLine(1, 3, "wrong colour")]).rma
    _received(desk, rma, Receipt(1, 2))
    with pytest.raises(ReturnError, match=r"RMA-000001 line 1 \(S1\): restock 2 \+ scrap 1 is more than the 2 received"):
        inspect(desk, rma, [Disposition(1, restock=2, scrap=1)])
    inspect(desk, rma, [Disposition(1, restock=1)])
    with pytest.raises(ReturnError, match=r"\(2 received, 1 restocked, 0 scrapped\)"):
        inspect(desk, rma, [Disposition(1, scrap=2)])
    line = get_return(desk, rma).lines[0]
    assert (line.received, line.restocked, line.scrapped) == (2, 1, 0)
    assert level(desk, "S1", "C") == (1, 0)
    assert check(desk).ok


def test_inspection_needs_something_received(desk: Store) -> None:
    rma = authorise(desk, _oid(desk, "W1"), [RmaLine(1, 1, "changed mind")]).rma
    with pytest.raises(ReturnError, match="nothing has been received yet"):
        inspect(desk, rma, [Disposition(1, restock=1)])
    assert level(desk, "S1", "C") == (0, 0)


# ------------------------------------------------------------------------- authorise


def test_returning_more_than_shipped_is_refused_counting_other_rmas(desk: Store) -> None:
    oid = _oid(desk, "W1")
    with pytest.raises(ReturnError, match=r"order W1 line 1 \(S1\): cannot return 4; 3 shipped, 0 already on other RMAs, 3 left"):
        authorise(desk, oid, [RmaLine(1, 4, "too small")])
    first = authorise(desk, oid, [RmaLine(1, 2, "too small")]).rma
    with pytest.raises(ReturnError, match="cannot return 2; 3 shipped, 2 already on other RMAs, 1 left to return"):
        authorise(desk, oid, [RmaLine(1, 2, "too big")])
    # A cancelled RMA gives its units back; a closed one keeps only what it received.
    cancel(desk, first, "customer kept them")
    second = authorise(desk, oid, [RmaLine(1, 3, "too big")], refund_minor=1000).rma
    _received(desk, second, Receipt(1, 1))
    inspect(desk, second, [Disposition(1, restock=1)])
    resolve(desk, second)
    third = authorise(desk, oid, [RmaLine(1, 2, "the rest after all")])
    assert third.lines[0].qty == 2
    with pytest.raises(ReturnError, match="3 shipped, 3 already on other RMAs, 0 left"):
        authorise(desk, oid, [RmaLine(1, 1, "one more")])
    assert count(desk, Return) == 3


def test_unshipped_orders_and_unknown_lines_are_refused(desk: Store) -> None:
    report = ingest(desk, [order("W2", ("S1", 1))])
    oid = report.outcomes[0].order_id
    assert oid is not None
    with pytest.raises(ReturnError, match="order W2 is allocated: nothing of it has shipped or been picked up"):
        authorise(desk, oid, [RmaLine(1, 1, "never came")])
    with pytest.raises(ReturnError, match=r"order W1 has no line 7 \(its lines: 1, 2\)"):
        authorise(desk, _oid(desk, "W1"), [RmaLine(7, 1, "?")])
    with pytest.raises(ReturnError, match="order W1 line 1: say why it comes back"):
        authorise(desk, _oid(desk, "W1"), [RmaLine(1, 1, " ")])
    with pytest.raises(ReturnError, match="order W1: line 1 is named twice"):
        authorise(desk, _oid(desk, "W1"), [RmaLine(1, 1, "a"), RmaLine(1, 1, "b")])
    with pytest.raises(NotFound):
        authorise(desk, 999_999, [RmaLine(1, 1, "x")])
    assert count(desk, Return) == 0


def test_a_partially_shipped_order_returns_only_what_shipped(desk: Store) -> None:
    oid = ingest(desk, [order("W3", ("S1", 2), ("S3", 1))]).outcomes[0].order_id  # S3 has no stock
    assert oid is not None and order_row(desk, "W3").status == "backordered"
    ship_reserved(desk, oid, carrier="UPS", tracking="1ZW3")
    with pytest.raises(ReturnError, match=r"line 2 \(S3\): cannot return 1; 0 shipped"):
        authorise(desk, oid, [RmaLine(2, 1, "never came")])
    assert authorise(desk, oid, [RmaLine(1, 2, "too small")]).status == "authorised"


# ------------------------------------------------------------------------- receive


@pytest.mark.parametrize("channel", ["web", "amz", "acme"])
def test_received_at_any_location_for_an_order_from_any_channel(desk: Store, channel: str) -> None:
    add_partner(desk, "acme", "ACME Retail", isa_qualifier="ZZ", isa_id="ACME", gs_id="ACME",
                our_isa_qualifier="ZZ", our_isa_id="US", our_gs_id="US")
    oid = _shipped(desk, "X-1", ("S2", 2), channel=channel)
    rma = authorise(desk, oid, [RmaLine(1, 2, "not as described")]).rma
    # Shipped from A; comes back to the corner store C, which never held S2.
    view = receive(desk, rma, "C", [Receipt(1, 2, "new")])
    assert (view.channel, view.location, view.status) == (channel, "C", "received")
    assert level(desk, "S2", "C") == (0, 0)
    inspect(desk, rma, [Disposition(1, restock=2)])
    assert level(desk, "S2", "C") == (2, 0)
    assert check(desk).ok


def test_receipts_come_in_parcels_but_never_beyond_what_was_authorised(desk: Store) -> None:
    rma = authorise(desk, _oid(desk, "W1"), [RmaLine(1, 3, "too small"), RmaLine(2, 1, "faulty")]).rma
    with pytest.raises(ReturnError, match=r"RMA-000001 has no line 9 \(it covers order line\(s\) 1, 2\)"):
        receive(desk, rma, "C", [Receipt(9, 1)])
    with pytest.raises(ReturnError, match="condition 'meh' is not one of"):
        receive(desk, rma, "C", [Receipt(1, 1, "meh")])
    with pytest.raises(NotFound, match="no location 'Z'"):
        receive(desk, rma, "Z", [Receipt(1, 1)])
    receive(desk, rma, "C", [Receipt(1, 2, "new")])
    inspect(desk, rma, [Disposition(1, restock=2)])
    assert get_return(desk, rma).status == "inspected"
    with pytest.raises(ReturnError, match=r"line 1 \(S1\): receiving 2 would make 4 received of 3 authorised"):
        receive(desk, rma, "B", [Receipt(1, 2)])
    # A second parcel, elsewhere: the RMA waits for inspection again.
    view = receive(desk, rma, "B", [Receipt(1, 1, "damaged"), Receipt(2, 1, "defective")])
    assert view.status == "received" and view.location == "C"
    assert [ln.condition for ln in view.lines] == ["new, damaged", "defective"]
    with pytest.raises(ReturnError, match="2 received unit\\(s\\) wait for inspection"):
        resolve(desk, rma, resolution="refund", refund_minor=100)
    with pytest.raises(ReturnError, match="units have been received; inspect and resolve it instead"):
        cancel(desk, rma, "customer changed mind")


# ------------------------------------------------------------------------- resolve


def test_refund_is_recorded_with_its_outbox_row_to_the_channel(desk: Store) -> None:
    oid = _oid(desk, "W1")
    rma = authorise(desk, oid, [RmaLine(2, 1, "faulty")], refund_minor=2000).rma
    _received(desk, rma, Receipt(2, 1, "defective"))
    inspect(desk, rma, [Disposition(2, scrap=1)])
    # W1 was charged 4 x 10.00 = 40.00.
    with pytest.raises(ReturnError, match=r"a refund of 40.01 USD is more than the 40.00 USD of units delivered \(shipped "
                                          r"or picked up\) less 0.00 USD already refunded on its other RMAs"):
        resolve(desk, rma, refund_minor=4001)
    assert count(desk, OutboxMessage, OutboxMessage.kind == "refund") == 0
    assert get_return(desk, rma).status == "inspected"

    view = resolve(desk, rma)
    assert (view.status, view.resolution, view.refund_minor, view.refund) == ("closed", "refund", 2000, "20.00 USD")
    with desk.read() as conn:
        msg = conn.execute(select(OutboxMessage).where(OutboxMessage.kind == "refund")).one()
    assert (msg.target, msg.order_id, msg.idempotency_key) == ("web", oid, "refund:RMA-000001")
    assert msg.payload == {"rma": "RMA-000001", "order_id": oid, "external_id": "W1", "amount_minor": 2000,
                           "currency": "USD"}
    with pytest.raises(ReturnError, match="RMA-000001 is closed; it cannot be resolved again"):
        resolve(desk, rma)
    # A later refund of the same order may take only what is left of its 40.00.
    rma2 = authorise(desk, oid, [RmaLine(1, 3, "all of them")]).rma
    _received(desk, rma2, Receipt(1, 3))
    inspect(desk, rma2, [Disposition(1, restock=3)])
    with pytest.raises(ReturnError, match="more than the 40.00 USD of units delivered .* less 20.00 USD already refunded"
                                          r" on its other RMAs \(20.00 USD left to refund\)"):
        resolve(desk, rma2, resolution="refund", refund_minor=2001)
    assert resolve(desk, "2", resolution="refund", refund_minor=2000).refund == "20.00 USD"
    assert count(desk, OutboxMessage, OutboxMessage.kind == "refund") == 2
    assert check(desk).ok


def test_a_refund_is_capped_at_what_was_delivered_not_what_was_ordered(desk: Store) -> None:
    oid = ingest(desk, [order("W4", ("S1", 3), ("S2", 1))]).outcomes[0].order_id  # 4 x 10.00 charged
    assert oid is not None
    cancel_units(desk, oid, {1: 2}, reason="customer wanted one")  # 2 x S1 never leave
    ship_reserved(desk, oid, carrier="UPS", tracking="1ZW4")
    assert order_row(desk, "W4").total_minor == 4000  # the order's total is not reduced by the cancellation
    # Delivered: 1 x S1 + 1 x S2 = 20.00, so 25.00 is refused at authorisation and at resolve.
    with pytest.raises(ReturnError, match=r"order W4: a refund of 25.00 USD is more than the 20.00 USD of units "
                                          r"delivered \(shipped or picked up\) less 0.00 USD already refunded"):
        authorise(desk, oid, [RmaLine(1, 1, "too small")], refund_minor=2500)
    rma = authorise(desk, oid, [RmaLine(1, 1, "too small"), RmaLine(2, 1, "faulty")]).rma
    _received(desk, rma, Receipt(1, 1), Receipt(2, 1))
    inspect(desk, rma, [Disposition(1, restock=1), Disposition(2, scrap=1)])
    with pytest.raises(ReturnError, match=r"25.00 USD is more than the 20.00 USD .* \(20.00 USD left to refund\)"):
        resolve(desk, rma, resolution="refund", refund_minor=2500)
    assert count(desk, OutboxMessage, OutboxMessage.kind == "refund") == 0
    assert resolve(desk, rma, resolution="refund", refund_minor=2000).refund == "20.00 USD"


def test_exchange_creates_a_linked_order_that_reserves_the_new_item(desk: Store) -> None:
    receive_stock(desk, "S3", "B", 4)
    oid = _oid(desk, "W1")
    rma = authorise(desk, oid, [RmaLine(1, 1, "wrong size")], resolution="exchange").rma
    _received(desk, rma, Receipt(1, 1, "new"))
    inspect(desk, rma, [Disposition(1, restock=1)])
    view = resolve(desk, rma, items=[Replacement("S3", 2)])
    assert (view.status, view.resolution, view.new_order_external_id) == ("closed", "exchange", "W1-RMA-000001")
    assert view.new_order_status == "allocated"
    new = order_row(desk, "W1-RMA-000001")
    assert (new.id, new.origin_order_id, new.origin_kind, new.channel_id) == (
        view.new_order_id, oid, "exchange", order_row(desk, "W1").channel_id)
    assert (new.ship_to_name, new.currency, new.total_minor) == (order_row(desk, "W1").ship_to_name, "USD", 0)
    assert [(ln.item, ln.qty, ln.qty_reserved) for ln in lines_of(desk, new.id)] == [("S3", 2, 2)]
    assert level(desk, "S3", "B") == (4, 2)
    assert count(desk, Reservation, Reservation.state == "active") == 1
    assert check(desk).ok


def test_exchange_with_no_stock_backorders_the_new_item_never_negative(desk: Store) -> None:
    rma = authorise(desk, _oid(desk, "W1"), [RmaLine(2, 1, "want the blue one")]).rma
    _received(desk, rma, Receipt(2, 1))
    inspect(desk, rma, [Disposition(2, restock=1, at="A")])
    view = resolve(desk, rma, resolution="exchange", items=[Replacement("S4", 1)])
    assert view.new_order_status == "backordered"
    new_id = view.new_order_id
    assert new_id is not None
    assert count(desk, Backorder, Backorder.state == "open") == 1
    assert [(ln.item, ln.qty_reserved, ln.qty_backordered) for ln in lines_of(desk, new_id)] == [("S4", 0, 1)]
    assert level(desk, "S4", "A") == (0, 0)
    assert check(desk).ok


def test_exchange_of_an_unknown_sku_is_refused_and_creates_nothing(desk: Store) -> None:
    rma = authorise(desk, _oid(desk, "W1"), [RmaLine(1, 1, "wrong size")]).rma
    _received(desk, rma, Receipt(1, 1))
    inspect(desk, rma, [Disposition(1, scrap=1)])
    with pytest.raises(NotFound, match="no active SKU 'NOPE' to send in exchange"):
        resolve(desk, rma, resolution="exchange", items=[Replacement("NOPE", 1)])
    with pytest.raises(ReturnError, match="say how to resolve it"):
        resolve(desk, rma)
    with pytest.raises(ReturnError, match="replacement items go with an exchange, not a reship"):
        resolve(desk, rma, resolution="reship", items=[Replacement("S1", 1)])
    assert count(desk, Order, Order.origin_order_id.is_not(None)) == 0
    assert get_return(desk, rma).status == "inspected"


def test_resolve_takes_an_amount_alone_as_a_refund_and_names_the_flags_it_needs(desk: Store) -> None:
    rma = authorise(desk, _oid(desk, "W1"), [RmaLine(1, 1, "too small")]).rma  # no resolution chosen yet
    _received(desk, rma, Receipt(1, 1))
    inspect(desk, rma, [Disposition(1, restock=1)])
    with pytest.raises(ReturnError, match=r"RMA-000001: say how to resolve it: --resolution refund\|exchange\|reship"):
        resolve(desk, rma)
    with pytest.raises(ReturnError, match=r"RMA-000001: a refund needs an amount: give --refund AMOUNT"):
        resolve(desk, rma, resolution="refund")
    with pytest.raises(ReturnError, match=r"a refund amount \(--refund AMOUNT\) goes with --resolution refund, not reship"):
        resolve(desk, rma, resolution="reship", refund_minor=500)
    view = resolve(desk, rma, refund_minor=500)
    assert (view.status, view.resolution, view.refund) == ("closed", "refund", "5.00 USD")
    assert count(desk, OutboxMessage, OutboxMessage.kind == "refund") == 1


def test_reship_sends_the_received_items_again_on_a_linked_order(desk: Store) -> None:
    add_partner(desk, "acme", "ACME Retail", isa_qualifier="ZZ", isa_id="ACME", gs_id="ACME",
                our_isa_qualifier="ZZ", our_isa_id="US", our_gs_id="US")
    oid = _shipped(desk, "PO-77", ("S1", 2), ("S2", 2), channel="acme")
    rma = authorise(desk, oid, [RmaLine(1, 2, "crushed in transit"), RmaLine(2, 1, "crushed")],
                    resolution="reship").rma
    _received(desk, rma, Receipt(1, 2, "damaged"), Receipt(2, 1, "damaged"))
    inspect(desk, rma, [Disposition(1, scrap=2), Disposition(2, scrap=1)])
    s1_before = level(desk, "S1", "A")
    view = resolve(desk, rma)
    assert (view.resolution, view.new_order_external_id, view.new_order_status) == (
        "reship", "PO-77-RMA-000001", "allocated")
    new = order_row(desk, "PO-77-RMA-000001")
    assert (new.origin_order_id, new.origin_kind, new.partner_id) == (oid, "reship", order_row(desk, "PO-77").partner_id)
    assert [(ln.item, ln.qty, ln.qty_reserved) for ln in lines_of(desk, new.id)] == [("S1", 2, 2), ("S2", 1, 1)]
    assert level(desk, "S1", "A") == (s1_before[0], s1_before[1] + 2)
    assert [v.rma for v in returns_of(desk, oid)] == [rma]
    assert returns_of(desk, new.id) == []
    assert check(desk).ok


def test_cancel_before_receipt_and_the_audit_trail(desk: Store) -> None:
    rma = authorise(desk, _oid(desk, "W1"), [RmaLine(1, 1, "ordered twice")], reason="call 4411").rma
    with pytest.raises(ReturnError, match="needs a reason"):
        cancel(desk, rma, "")
    view = cancel(desk, "rma-000001", "customer kept it")
    assert view.status == "cancelled" and view.closed_at is not None and view.reason == "call 4411"
    with pytest.raises(ReturnError, match="RMA-000001 is cancelled; only an open RMA can be received"):
        receive(desk, rma, "C", [Receipt(1, 1)])
    with pytest.raises(NotFound, match="no return RMA-000404"):
        get_return(desk, "404")
    with desk.read() as conn:
        actions = conn.execute(
            select(AuditEvent.action).where(AuditEvent.entity == "return").order_by(AuditEvent.id)
        ).scalars().all()
    assert actions == ["return.authorised", "return.cancelled"]


def test_amounts_are_read_and_written_in_the_currency_s_minor_units() -> None:
    assert parse_amount("12.5", "USD") == 1250 and parse_amount("1200", "JPY") == 1200
    assert parse_amount("1.234", "KWD") == 1234 and format_amount(1234, "KWD") == "1.234 KWD"
    assert format_amount(5, "USD") == "0.05 USD" and format_amount(1200, "JPY") == "1200 JPY"
    for bad, why in (("12.999", "more decimals than USD has"), ("-1", "not an amount"), ("ten", "not an amount")):
        with pytest.raises(StoreError, match=why):
            parse_amount(bad, "USD")


def test_restocked_units_go_to_an_order_waiting_for_them(desk: Store) -> None:
    ingest(desk, [order("TAKER", ("S1", 7), channel="amz")])  # the last free S1 at A
    ingest(desk, [order("WAITING", ("S1", 1), channel="amz")])
    assert order_row(desk, "WAITING").status == "backordered"
    rma = authorise(desk, _oid(desk, "W1"), [RmaLine(1, 1, "changed mind")]).rma
    _received(desk, rma, Receipt(1, 1, "new"))
    assert order_row(desk, "WAITING").status == "backordered"  # received is not stock yet
    inspect(desk, rma, [Disposition(1, restock=1)])
    assert order_row(desk, "WAITING").status == "allocated"
    assert level(desk, "S1", "C") == (1, 1)
    assert check(desk).ok
