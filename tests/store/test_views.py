"""store.views: the read-only queries behind the order list (on SQLite and PostgreSQL).


"""

from __future__ import annotations

import subprocess
import sys
from array import array

import pytest
from store import Store, StoreError, ingest
from store.inventory import receive
from store.orders import STATUSES
from store.views import (
    ANY_EXCEPTION,
    EXCEPTIONS,
    TOTAL,
    OrderFilter,
    count_by_status,
    format_money,
    order_ids,
    order_rows,
    reading,
)
from tests.factories import order


@pytest.fixture
def orders(catalog: Store) -> dict[str, int]:
    """Six orders on two channels: allocated, backordered and unknown-item ones; external id -> id."""
    receive(catalog, "S1", "A", 3)
    report = ingest(
        catalog,
        [
            order("a1", ("S1", 1)),
            order("b1", ("S2", 1)),
            order("a2", ("S1", 1), channel="amz", buyer_name="Ada"),
            order("u1", ("NOPE", 1)),
            order("b2", ("S3", 2)),
            order("a3", ("S1", 1)),
        ],
    )
    return {o.external_id: o.order_id for o in report.outcomes if o.order_id is not None}


def test_counts_cover_every_status_exceptions_and_the_total(catalog: Store, orders: dict[str, int]) -> None:
    with catalog.read() as conn:
        counts = count_by_status(conn)
    assert set(counts) == {*STATUSES, EXCEPTIONS, TOTAL}
    assert counts["allocated"] == 3
    assert counts["backordered"] == 2
    assert counts["received"] == 1
    assert counts["shipped"] == 0
    assert counts[EXCEPTIONS] == 1
    assert counts[TOTAL] == 6


def test_counts_of_an_empty_store_are_zero(catalog: Store) -> None:
    with catalog.read() as conn:
        assert set(count_by_status(conn).values()) == {0}


def test_ids_are_newest_first_and_follow_the_filter(catalog: Store, orders: dict[str, int]) -> None:
    with catalog.read() as conn:
        every = order_ids(conn, OrderFilter())
        backordered = order_ids(conn, OrderFilter(status="backordered"))
        queued = order_ids(conn, OrderFilter(exception=ANY_EXCEPTION))
        unknown = order_ids(conn, OrderFilter(exception="unknown_item"))
        conflicts = order_ids(conn, OrderFilter(exception="version_conflict"))
        none = order_ids(conn, OrderFilter(status="allocated", exception=ANY_EXCEPTION))
    assert isinstance(every, array) and every.typecode == "q"
    assert list(every) == sorted(orders.values(), reverse=True)
    assert list(backordered) == [orders["b2"], orders["b1"]]
    assert list(queued) == list(unknown) == [orders["u1"]]
    assert len(conflicts) == len(none) == 0


def test_rows_carry_what_the_list_shows(catalog: Store, orders: dict[str, int]) -> None:
    with catalog.read() as conn:
        rows = order_rows(conn, [orders["a2"], orders["u1"], orders["b2"], 10**9])
    assert set(rows) == {orders["a2"], orders["u1"], orders["b2"]}  # an unknown id is simply absent
    a2 = rows[orders["a2"]]
    assert (a2.external_id, a2.channel, a2.status, a2.exception, a2.buyer) == ("a2", "amz", "allocated", None, "Ada")
    assert a2.total == "USD 10.00"
    assert a2.received_at.tzinfo is not None
    assert rows[orders["u1"]].exception == "unknown_item"
    assert rows[orders["b2"]].total == "USD 20.00"


def test_rows_for_more_ids_than_one_statement_binds(catalog: Store, orders: dict[str, int]) -> None:
    wanted = [*orders.values(), *range(10**6, 10**6 + 2000)]
    with catalog.read() as conn:
        assert set(order_rows(conn, wanted)) == set(orders.values())
        assert order_rows(conn, []) == {}


def test_money_uses_the_currency_decimals() -> None:
    assert format_money(1299, "USD") == "USD 12.99"
    assert format_money(5, "EUR") == "EUR 0.05"
    assert format_money(123456789, "USD") == "USD 1,234,567.89"
    assert format_money(-150, "GBP") == "GBP -1.50"
    assert format_money(1500, "JPY") == "JPY 1,500"
    assert format_money(12345, "KWD") == "KWD 12.345"


def test_a_filter_refuses_an_unknown_status() -> None:
    with pytest.raises(ValueError, match="shipd"):
        OrderFilter(status="shipd")


def test_reading_translates_database_errors(catalog: Store, orders: dict[str, int]) -> None:
    with reading(catalog) as conn:
        assert len(order_ids(conn, OrderFilter())) == len(orders)
    with pytest.raises(StoreError, match="cannot read the store"):
        with reading(catalog) as conn:
            conn.exec_driver_sql("SELECT no_such_column FROM orders")


def test_views_import_no_ui() -> None:
    code = "import sys, store.views; print(sorted(m for m in sys.modules if m.split('.')[0] in {'textual', 'rich'}))"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out.strip() == "[]"
