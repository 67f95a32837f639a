from __future__ import annotations

import pytest
from sqlalchemy import select

from store import NotFound, Store, TransitionError, check, ingest
from store.fulfilment import ship_reserved
from store.inventory import receive
from store.models import AuditEvent, Backorder, OutboxMessage, Reservation
from store.orders import (
    STATUSES,
    TRANSITIONS,
    cancel,
    clear_exception_text,
    close,
    flag_exception,
    hold,
    release_hold,
)
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


# ---------------------------------------------------------------------- exception queues

_PRINT_TEXT = r"\w+ not printed: "  # where one of these texts starts in a detail


def _flag(store: Store, oid: int, queue: str, label: str, why: str) -> None:
    store.run(lambda conn: flag_exception(
        conn, oid, queue, f"{label} not printed: {why}", actor="printer", action="order.print_failed",
        detail={"label": label}, replaces=f"{label} not printed: ", text_start=_PRINT_TEXT))


def _clear(store: Store, oid: int, queue: str, label: str) -> bool:
    return store.run(lambda conn: clear_exception_text(
        conn, oid, queue, f"{label} not printed: ", actor="printer", action="order.print_cleared",
        detail={"label": label}, text_start=_PRINT_TEXT))


def _exception(store: Store, external_id: str) -> tuple[str | None, str | None]:
    row = order_row(store, external_id)
    return row.exception, row.exception_detail


def test_exception_texts_go_into_the_callers_queue_are_replaced_and_cleared_one_by_one(placed: Store) -> None:
    oid = order_row(placed, "1").id
    _flag(placed, oid, "print_failed", "label", "no weight")
    _flag(placed, oid, "print_failed", "slip", "no address; no name")
    _flag(placed, oid, "print_failed", "label", "no carrier")  # reported again: listed once, the newer reason
    assert _exception(placed, "1") == ("print_failed", "slip not printed: no address; no name; label not printed: no carrier")
    assert _clear(placed, oid, "print_failed", "slip")
    assert _exception(placed, "1") == ("print_failed", "label not printed: no carrier")
    assert not _clear(placed, oid, "print_failed", "slip")  # nothing left of it: nothing written
    assert _clear(placed, oid, "print_failed", "label")
    assert _exception(placed, "1") == (None, None)
    with placed.read() as conn:
        actions = conn.execute(select(AuditEvent.action, AuditEvent.detail).where(
            AuditEvent.entity == "order", AuditEvent.entity_id == oid, AuditEvent.action.like("order.print_%"),
        ).order_by(AuditEvent.id)).all()
    assert [a for a, _ in actions] == ["order.print_failed"] * 3 + ["order.print_cleared"] * 2
    assert actions[-1][1] == {"label": "label", "exception": None}


def test_an_order_waiting_in_another_queue_keeps_it_and_its_detail(placed: Store) -> None:
    oid = order_row(placed, "1").id
    placed.run(lambda conn: flag_exception(conn, oid, "address_invalid", "no such street", actor="t",
                                           action="order.address_invalid", detail={}))
    _flag(placed, oid, "print_failed", "label", "no weight")
    assert _exception(placed, "1") == ("address_invalid", "no such street; label not printed: no weight")
    assert _clear(placed, oid, "print_failed", "label")
    assert _exception(placed, "1") == ("address_invalid", "no such street")
    with pytest.raises(NotFound):
        _flag(placed, 10_000, "print_failed", "label", "no weight")
