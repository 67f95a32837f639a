from __future__ import annotations

import pytest

from store import Store, TransitionError, check, ingest
from store.fulfilment import ship_reserved
from store.inventory import receive
from store.models import Backorder, OutboxMessage, Reservation
from store.orders import STATUSES, TRANSITIONS, cancel, close, hold, release_hold
from tests.factories import order
from tests.store.helpers import count, level, order_row


@pytest.fixture
def placed(catalog: Store) -> Store:
    receive(catalog, "S1", "A", 10)
    ingest(catalog, [order("1", ("S1", 4)), order("2", ("S1", 4), ("S2", 1))])
    return catalog


def test_transition_table_names_only_known_states_and_terminal_states_are_final() -> None:
    assert set(TRANSITIONS) == set(STATUSES)
    for targets in TRANSITIONS.values():
        assert targets <= set(STATUSES)
    assert TRANSITIONS["closed"] == TRANSITIONS["cancelled"] == frozenset()


def test_cancel_releases_reservations_and_backorders(placed: Store) -> None:
    oid = order_row(placed, "2").id
    assert order_row(placed, "2").status == "backordered"
    assert cancel(placed, oid, "customer asked") == 4
    assert order_row(placed, "2").status == "cancelled"
    assert level(placed, "S1", "A") == (10, 4)
    assert count(placed, Reservation, Reservation.state == "active") == 1
    assert count(placed, Backorder, Backorder.state == "open") == 0
    assert check(placed).ok


def test_disallowed_transition_is_a_clear_error_and_changes_nothing(placed: Store) -> None:
    oid = order_row(placed, "1").id
    cancel(placed, oid, "dup")
    with pytest.raises(TransitionError, match=r"order 1 is cancelled; it cannot become on_hold \(allowed: nothing\)"):
        hold(placed, oid, "fraud check")
    assert order_row(placed, "1").status == "cancelled"


def test_hold_keeps_stock_and_release_returns_to_where_the_lines_are(placed: Store) -> None:
    oid = order_row(placed, "1").id
    hold(placed, oid, "address check")
    row = order_row(placed, "1")
    assert (row.status, row.hold_reason) == ("on_hold", "address check")
    assert level(placed, "S1", "A") == (10, 8)
    assert release_hold(placed, oid) == "allocated"
    assert order_row(placed, "1").hold_reason is None
    with pytest.raises(TransitionError, match="needs a reason"):
        hold(placed, oid, "")


def test_ship_takes_stock_out_through_the_ledger_then_close(placed: Store) -> None:
    oid = order_row(placed, "1").id
    ship_reserved(placed, oid, carrier="UPS", tracking="1Z999")
    assert order_row(placed, "1").status == "shipped"
    assert level(placed, "S1", "A") == (6, 4)
    assert count(placed, OutboxMessage, OutboxMessage.kind == "shipment_confirm", OutboxMessage.order_id == oid) == 1
    with pytest.raises(TransitionError, match="cannot become cancelled"):
        cancel(placed, oid, "too late")
    close(placed, oid)
    assert order_row(placed, "1").status == "closed"
    assert check(placed).ok


def test_backordered_order_ships_what_it_has_and_is_partially_shipped(placed: Store) -> None:
    oid = order_row(placed, "2").id
    ship_reserved(placed, oid, carrier="UPS", tracking="1Z1")
    assert order_row(placed, "2").status == "partially_shipped"
    assert check(placed).ok
