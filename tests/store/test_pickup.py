"""Pick-up in store: set aside at the store, the customer told, then collected; stock leaves
the store through the ledger and no tracking number is asked for."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, update

from store import Store, TransitionError, check, ingest
from store.cancellations import cancel_units
from store.catalog import location_id
from store.holds import hold, release
from store.inventory import receive
from store.models import Order, OutboxMessage, Shipment, StockMovement
from store.orders import close
from store.pickup import picked_up, ready_for_pickup
from tests.factories import order
from tests.store.helpers import level, lines_of, order_row


def _pickup_at(store: Store, external_id: str, code: str) -> int:
    """What routing records for a click-and-collect order: pick up at `code`."""
    oid = int(order_row(store, external_id).id)
    with store.write() as conn:
        conn.execute(update(Order).where(Order.id == oid).values(fulfilment="pickup",
                                                                 pickup_location_id=location_id(conn, code)))
    return oid


@pytest.fixture
def at_store(catalog: Store) -> Store:
    """Order P1 (S1 x2, S2 x1) reserved at B, its pick-up store."""
    receive(catalog, "S1", "B", 5)
    receive(catalog, "S2", "B", 5)
    ingest(catalog, [order("P1", ("S1", 2), ("S2", 1))])
    _pickup_at(catalog, "P1", "B")
    return catalog


def _outbox(store: Store, kind: str) -> list[dict[str, Any]]:
    with store.read() as conn:
        return list(conn.execute(select(OutboxMessage.payload).where(OutboxMessage.kind == kind)).scalars())


def test_ready_then_picked_up_takes_the_stock_out_of_the_store(at_store: Store) -> None:
    oid = int(order_row(at_store, "P1").id)
    assert ready_for_pickup(at_store, oid) == "B"
    assert order_row(at_store, "P1").status == "ready_for_pickup"
    assert level(at_store, "S1", "B") == (5, 2)  # still set aside, not gone
    [ready] = _outbox(at_store, "pickup_ready")
    assert (ready["location"], ready["lines"]) == ("B", [{"line_no": 1, "qty": 2}, {"line_no": 2, "qty": 1}])

    done = picked_up(at_store, oid, collected_by="J. Smith")
    assert (done.order_status, done.units) == ("picked_up", 3)
    assert order_row(at_store, "P1").status == "picked_up"
    assert level(at_store, "S1", "B") == (3, 0) and level(at_store, "S2", "B") == (4, 0)
    assert [ln.qty_shipped for ln in lines_of(at_store, oid)] == [2, 1]
    with at_store.read() as conn:
        shipment = conn.execute(select(Shipment.carrier, Shipment.tracking, Shipment.status)).one()
        kinds = conn.execute(select(StockMovement.kind, StockMovement.qty).where(StockMovement.qty < 0)).all()
    assert tuple(shipment) == ("pickup", None, "shipped")
    assert sorted(tuple(k) for k in kinds) == [("pickup", -2), ("pickup", -1)]
    [confirm] = _outbox(at_store, "shipment_confirm")
    assert confirm["pickup"] is True and confirm["carrier"] == "pickup" and confirm["tracking"] is None
    close(at_store, oid)
    assert order_row(at_store, "P1").status == "closed"
    assert check(at_store).ok


def test_a_ready_order_held_and_released_is_ready_again_and_a_partial_cancel_keeps_it_ready(at_store: Store) -> None:
    oid = int(order_row(at_store, "P1").id)
    ready_for_pickup(at_store, oid)
    hold(at_store, oid, "ID did not match", "fraud")
    assert release(at_store, oid, reason="customer brought a passport") == "ready_for_pickup"
    assert cancel_units(at_store, oid, {2: 1}, reason="customer no longer wants it").status == "ready_for_pickup"
    assert picked_up(at_store, oid).units == 2
    assert level(at_store, "S2", "B") == (5, 0) and check(at_store).ok


def test_pickup_steps_out_of_turn_or_away_from_the_store_are_refused(catalog: Store) -> None:
    receive(catalog, "S1", "A", 5)
    ingest(catalog, [order("P2", ("S1", 1)), order("S9", ("S1", 1))])
    elsewhere = _pickup_at(catalog, "P2", "B")  # reserved at A, to be collected at B
    with pytest.raises(TransitionError, match=r"order P2 is not all at B: line 1 \(S1\) has 0 of 1 units reserved there"):
        ready_for_pickup(catalog, elsewhere)
    with pytest.raises(TransitionError, match="only an order ready for pick-up can be picked up"):
        picked_up(catalog, elsewhere)
    shipped = int(order_row(catalog, "S9").id)
    with pytest.raises(TransitionError, match="order S9 is to be shipped, not picked up in store"):
        ready_for_pickup(catalog, shipped)
    assert order_row(catalog, "P2").status == "allocated" and level(catalog, "S1", "A") == (5, 2)
    assert _outbox(catalog, "pickup_ready") == []
