"""Cancelling units before they ship: the stock is free again, backorders go first, shipped
units are refused, and the channel hears of it in the same transaction."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from store import Store, TransitionError, check, ingest
from store.cancellations import cancel_units
from store.changes import LineChange, OrderChange, apply_change
from store.holds import hold, release
from store.inventory import available_to_promise, receive
from store.models import Backorder, OutboxMessage, Reservation
from store.orders import cancel
from store.shipping import ship
from tests.factories import order
from tests.store.helpers import count, level, lines_of, order_row


@pytest.fixture
def placed(catalog: Store) -> Store:
    """Order 1: line 1 S1 x4 reserved at A, then raised to 6 with no more stock (2 backordered);
    line 2 S2 x2 reserved at A. Stock S1 4/4 reserved, S2 10/2."""
    receive(catalog, "S1", "A", 4)
    receive(catalog, "S2", "A", 10)
    ingest(catalog, [order("1", ("S1", 4), ("S2", 2))])
    apply_change(catalog, OrderChange("web", "1", (LineChange("update", line_ref="1", qty=6),)))
    return catalog


def _oid(store: Store) -> int:
    return int(order_row(store, "1").id)


def _cancels(store: Store) -> list[dict[str, Any]]:
    with store.read() as conn:
        return list(conn.execute(select(OutboxMessage.payload).where(OutboxMessage.kind == "order_cancel")
                                 .order_by(OutboxMessage.id)).scalars())


def _active(store: Store) -> list[int]:
    with store.read() as conn:
        return sorted(conn.execute(select(Reservation.qty).where(Reservation.state == "active")).scalars())


# (lines to cancel, released to stock, backorders closed, S1 reserved after, S2 reserved after, status after)
PARTIAL = [
    ({1: 1}, 0, 1, 4, 2, "backordered"),            # a backordered unit goes first: nothing comes back
    ({1: 2}, 0, 2, 4, 2, "allocated"),              # both backordered units: the rest is all reserved
    ({1: 3}, 1, 2, 3, 2, "allocated"),              # then reserved ones: one S1 back in stock
    ({2: 1}, 1, 0, 4, 1, "backordered"),            # a reserved line: its reservation shrinks by one
    ({1: 6, 2: 2}, 6, 2, 0, 0, "cancelled"),        # every unit: the order is cancelled
]


@pytest.mark.parametrize(("lines", "released", "closed", "s1", "s2", "status"), PARTIAL,
                         ids=[str(p[0]) for p in PARTIAL])
def test_partial_cancel_frees_exactly_the_cancelled_units(
    placed: Store, lines: dict[int, int], released: int, closed: int, s1: int, s2: int, status: str
) -> None:
    oid = _oid(placed)
    with placed.read() as conn:
        s1_before = available_to_promise(conn, "S1", "web")
    done = cancel_units(placed, oid, lines, reason="supplier discontinued it", actor="maria")
    assert (done.released, done.backorders_closed, done.status) == (released, closed, status)
    assert level(placed, "S1", "A") == (4, s1) and level(placed, "S2", "A") == (10, s2)
    with placed.read() as conn:
        assert available_to_promise(conn, "S1", "web") == s1_before + (4 - s1)
    assert order_row(placed, "1").status == status
    assert [ln.qty_cancelled for ln in lines_of(placed, oid)] == [lines.get(1, 0), lines.get(2, 0)]
    assert [cancel_units_payload_lines(p) for p in _cancels(placed)] == [sorted(lines.items())]
    assert check(placed).ok


def cancel_units_payload_lines(payload: dict[str, Any]) -> list[tuple[int, int]]:
    return [(ln["line_no"], ln["qty"]) for ln in payload["lines"]]


def test_a_reservation_larger_than_the_cancel_is_split_and_the_rest_stays_promised(placed: Store) -> None:
    cancel_units(placed, _oid(placed), {1: 3}, reason="short")
    with placed.read() as conn:
        rows = conn.execute(select(Reservation.state, Reservation.qty).order_by(Reservation.state, Reservation.qty)).all()
        backorders = conn.execute(select(Backorder.state, Backorder.qty)).all()
    assert [tuple(r) for r in rows] == [("active", 2), ("active", 3), ("released", 1)]
    assert [tuple(b) for b in backorders] == [("cancelled", 2)]


def test_the_channel_is_told_what_was_cancelled_and_why(placed: Store) -> None:
    oid = _oid(placed)
    cancel_units(placed, oid, {2: 1}, reason="damaged in the warehouse")
    [payload] = _cancels(placed)
    assert payload == {
        "order_id": oid, "external_id": "1", "reason": "damaged in the warehouse", "status": "backordered",
        "whole_order": False, "value_minor": 1000, "currency": "USD",
        "lines": [{"line_no": 2, "line_ref": None, "item": "S2", "sku": "S2", "qty": 1}],
    }
    with placed.read() as conn:
        target = conn.execute(select(OutboxMessage.target).where(OutboxMessage.kind == "order_cancel")).scalar_one()
    assert target == "web"


def test_shipped_units_cannot_be_cancelled_and_a_refusal_changes_nothing(placed: Store) -> None:
    oid = _oid(placed)
    ship(placed, oid, "A", carrier="UPS", tracking="1Z1", lines={2: 2})
    with pytest.raises(TransitionError, match=r"order 1 line 2 \(S2\): cannot cancel 1 units: 2 ordered, 2 shipped "
                                              r"\(shipped units cannot be cancelled.*0 can be cancelled"):
        cancel_units(placed, oid, {1: 1, 2: 1}, reason="too late")
    assert [ln.qty_cancelled for ln in lines_of(placed, oid)] == [0, 0]
    assert _cancels(placed) == [] and count(placed, Backorder, Backorder.state == "open") == 1
    # The rest of the order can go: what shipped stays, the order is shipped.
    done = cancel_units(placed, oid, None, reason="customer takes what shipped")
    assert (done.lines, done.status) == (((1, 6),), "shipped")
    with pytest.raises(TransitionError, match="order 1 has shipped; nothing is left to cancel"):
        cancel_units(placed, oid, None, reason="again")
    assert check(placed).ok


@pytest.mark.parametrize(("lines", "message"), [
    ({7: 1}, r"order 1 has no line 7 \(its lines: 1, 2\)"),
    ({1: 0}, "units to cancel must be positive"),
    ({1: 7}, r"cannot cancel 7 units: 6 ordered; 6 can be cancelled"),
    ({}, "name the lines to cancel"),
])
def test_a_cancel_naming_impossible_lines_is_refused(placed: Store, lines: dict[int, int], message: str) -> None:
    with pytest.raises(TransitionError, match=message):
        cancel_units(placed, _oid(placed), lines, reason="x")
    assert level(placed, "S1", "A") == (4, 4) and _cancels(placed) == []


def test_a_held_order_stays_on_hold_until_nothing_is_left(placed: Store) -> None:
    oid = _oid(placed)
    hold(placed, oid, "chargeback", "fraud")
    assert cancel_units(placed, oid, {2: 2}, reason="partial fraud").status == "on_hold"
    assert order_row(placed, "1").hold_kind == "fraud"
    assert release(placed, oid, reason="rest is fine") == "backordered"
    hold(placed, oid, "chargeback", "fraud")
    assert cancel_units(placed, oid, None, reason="fraud confirmed").status == "cancelled"
    assert level(placed, "S1", "A") == (4, 0) and check(placed).ok


def test_whole_order_cancel_tells_the_channel_but_a_cancel_the_channel_sent_does_not(catalog: Store) -> None:
    receive(catalog, "S1", "A", 10)
    ingest(catalog, [order("1", ("S1", 2)), order("2", ("S1", 3))])
    assert cancel(catalog, int(order_row(catalog, "1").id), "customer asked") == 2
    apply_change(catalog, OrderChange("web", "2", cancel=True, reason="buyer cancelled on the site"))
    assert order_row(catalog, "2").status == "cancelled"
    assert [(p["external_id"], p["whole_order"]) for p in _cancels(catalog)] == [("1", True)]
    assert level(catalog, "S1", "A") == (10, 0)
