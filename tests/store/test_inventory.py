from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from store import InsufficientStock, StockError, Store, check, ingest
from store.catalog import limit_channel_locations, location_id, sku_id
from store.inventory import adjust, available_to_promise, receive, reserve, set_safety
from store.models import StockMovement
from tests.factories import order
from tests.store.helpers import count, level


def test_receipt_and_adjustment_go_through_the_ledger(catalog: Store) -> None:
    assert receive(catalog, "S1", "A", 10, reference="PO-1") == 10
    assert adjust(catalog, "S1", "A", -3, reason="water damage") == 7
    with catalog.read() as conn:
        rows = conn.execute(select(StockMovement.qty, StockMovement.kind, StockMovement.note).order_by(StockMovement.id)).all()
    assert [tuple(r) for r in rows] == [(10, "receipt", None), (-3, "adjustment", "water damage")]
    assert check(catalog).ok


def test_adjustment_cannot_take_reserved_stock_and_changes_nothing(catalog: Store) -> None:
    receive(catalog, "S1", "A", 5)
    ingest(catalog, [order("1", ("S1", 4))])
    with pytest.raises(InsufficientStock, match="on hand 5, of which 4 reserved"):
        adjust(catalog, "S1", "A", -2, reason="count")
    assert level(catalog, "S1", "A") == (5, 4)
    assert count(catalog, StockMovement) == 1


def test_adjustment_needs_a_reason_and_a_receipt_a_positive_qty(catalog: Store) -> None:
    with pytest.raises(StockError, match="reason"):
        adjust(catalog, "S1", "A", 1, reason=" ")
    with pytest.raises(StockError, match="positive"):
        receive(catalog, "S1", "A", 0)


def test_reservation_is_conditional_and_respects_safety_stock(catalog: Store) -> None:
    receive(catalog, "S1", "A", 10)
    set_safety(catalog, "S1", "A", 3)
    with catalog.write() as conn:
        s, a = sku_id(conn, "S1"), location_id(conn, "A")
        assert reserve(conn, s, a, 7)
        assert not reserve(conn, s, a, 1)  # 10 on hand - 7 reserved - 3 safety = 0
    assert level(catalog, "S1", "A") == (10, 7)


def test_available_to_promise_counts_only_the_channels_locations(catalog: Store) -> None:
    receive(catalog, "S1", "A", 10)
    receive(catalog, "S1", "B", 4)
    set_safety(catalog, "S1", "B", 1)
    ingest(catalog, [order("1", ("S1", 2))])
    limit_channel_locations(catalog, "amz", ["B"])
    with catalog.read() as conn:
        assert available_to_promise(conn, "S1", "web") == 8 + 3
        assert available_to_promise(conn, "S1", "amz") == 3
    # An order on amz may only reserve at B.
    ingest(catalog, [order("2", ("S1", 4), channel="amz")])
    assert level(catalog, "S1", "A") == (10, 2)
    assert level(catalog, "S1", "B") == (4, 0)


_ops = st.lists(
    st.one_of(
        st.tuples(st.just("receive"), st.sampled_from(["S1", "S2"]), st.sampled_from(["A", "B"]), st.integers(1, 20)),
        st.tuples(st.just("adjust"), st.sampled_from(["S1", "S2"]), st.sampled_from(["A", "B"]), st.integers(-15, 15)),
        st.tuples(st.just("order"), st.sampled_from(["S1", "S2"]), st.just("-"), st.integers(1, 12)),
    ),
    max_size=25,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=_ops)
def test_any_sequence_of_stock_operations_keeps_the_ledger_true(catalog: Store, ops: list[tuple[str, str, str, int]]) -> None:
    """Whatever happens, levels equal the ledger and available stock never goes negative."""
    n = count(catalog, StockMovement)
    for i, (op, sku, loc, qty) in enumerate(ops):
        if op == "receive":
            receive(catalog, sku, loc, qty)
        elif op == "adjust" and qty:
            try:
                adjust(catalog, sku, loc, qty, reason="prop")
            except InsufficientStock:
                pass
        elif op == "order":
            ingest(catalog, [order(f"h{n}-{i}", (sku, qty))])
        report = check(catalog)
        assert report.ok, report.problems
        for s in ("S1", "S2"):
            for location in ("A", "B"):
                on_hand, reserved = level(catalog, s, location)
                assert 0 <= reserved <= on_hand
