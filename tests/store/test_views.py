"""store.views: the read-only queries behind the order list (on SQLite and PostgreSQL).


"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from array import array

import pytest
from sqlalchemy import update

from store import Store, StoreError, ingest
from store.documents import DocumentProblem, finish, store_payload
from store.fulfilment import ship_reserved
from store.inventory import receive
from store.models import Order
from store.orders import STATUSES
from store.outbox import claim, failed
from store.views import (
    ANY_EXCEPTION,
    CONFIRM_FAILED,
    EDI_REJECTED,
    EXCEPTIONS,
    OVERDUE,
    TOTAL,
    OrderFilter,
    channel_codes,
    count_queues,
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
        counts = count_queues(conn, today=dt.date(2000, 1, 1))
    assert {*STATUSES, EXCEPTIONS, TOTAL} <= set(counts)
    assert counts["allocated"] == 3
    assert counts["backordered"] == 2
    assert counts["received"] == 1
    assert counts["shipped"] == 0
    assert counts[EXCEPTIONS] == 1
    assert counts[TOTAL] == 6


def test_counts_of_an_empty_store_are_zero(catalog: Store) -> None:
    with catalog.read() as conn:
        assert set(count_queues(conn, today=dt.date(2000, 1, 1)).values()) == {0}


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


# ---- the queue: exception queues, search, channel ---------------------------------------

TODAY = dt.date(2024, 6, 10)


def _at(store: Store, oid: int, **values: object) -> None:
    """Set an order's dates (intake stamps them with the clock; the queue judges them by day)."""
    with store.write() as conn:
        conn.execute(update(Order).where(Order.id == oid).values(**values))


@pytest.fixture
def queued(catalog: Store, orders: dict[str, int]) -> dict[str, int]:
    """`orders`, aged; one of them shipped with its confirmation failed; a rejected document."""
    old = dt.datetime(2024, 6, 1, 12, tzinfo=dt.timezone.utc)
    fresh = dt.datetime(2024, 6, 9, 12, tzinfo=dt.timezone.utc)
    for key, oid in orders.items():
        _at(catalog, oid, received_at=fresh, placed_at=None)
    _at(catalog, orders["b1"], received_at=old)  # due 06-03: overdue
    _at(catalog, orders["a3"], requested_ship_date=dt.date(2024, 6, 9))  # asked for yesterday: overdue
    _at(catalog, orders["b2"], placed_at=old)  # placed long before it reached us: overdue
    _at(catalog, orders["a1"], received_at=old)
    ship_reserved(catalog, orders["a1"], carrier="UPS", tracking="1Z1")  # old, but shipped: not overdue
    (message,) = claim(catalog, kinds=["shipment_confirm"])
    failed(catalog, message.id, "channel said 500")
    doc = store_payload(catalog, b"ISA*broken", kind="x12", source="test")
    finish(catalog, doc.id, problems=[DocumentProblem(1, "not an interchange")], accepted=0)
    return orders


def test_queue_counts_match_the_orders_each_queue_lists(catalog: Store, queued: dict[str, int]) -> None:
    with catalog.read() as conn:
        counts = count_queues(conn, today=TODAY)
        lists = {
            "unknown_item": order_ids(conn, OrderFilter(exception="unknown_item")),
            OVERDUE: order_ids(conn, OrderFilter(overdue_on=TODAY)),
            CONFIRM_FAILED: order_ids(conn, OrderFilter(confirm_failed=True)),
            "backordered": order_ids(conn, OrderFilter(status="backordered")),
        }
    assert list(lists[OVERDUE]) == [queued["a3"], queued["b2"], queued["b1"]]
    assert list(lists[CONFIRM_FAILED]) == [queued["a1"]]
    assert list(lists["unknown_item"]) == [queued["u1"]]
    for key, ids in lists.items():
        assert counts[key] == len(ids), key
    assert counts[EDI_REJECTED] == 1
    assert counts[TOTAL] == 6 and counts[EXCEPTIONS] == 1
    # The day after the requested ship date only: on the 9th, a3 is not yet late.
    with catalog.read() as conn:
        assert queued["a3"] not in order_ids(conn, OrderFilter(overdue_on=dt.date(2024, 6, 9)))


def test_search_finds_the_start_of_an_external_id_or_a_buyer_name(catalog: Store, orders: dict[str, int]) -> None:
    with catalog.read() as conn:
        assert list(order_ids(conn, OrderFilter(search="a"))) == [orders["a3"], orders["a2"], orders["a1"]]
        assert list(order_ids(conn, OrderFilter(search="A2"))) == [orders["a2"]]  # any case
        assert list(order_ids(conn, OrderFilter(search="ad"))) == [orders["a2"]]  # buyer Ada
        assert list(order_ids(conn, OrderFilter(search="ADA"))) == [orders["a2"]]
        assert len(order_ids(conn, OrderFilter(search="a%"))) == 0  # no pattern characters
        assert len(order_ids(conn, OrderFilter(search="zz"))) == 0


def test_filters_combine_with_the_channel(catalog: Store, orders: dict[str, int]) -> None:
    with catalog.read() as conn:
        assert list(order_ids(conn, OrderFilter(channel="amz"))) == [orders["a2"]]
        assert list(order_ids(conn, OrderFilter(channel="web", search="a"))) == [orders["a3"], orders["a1"]]
        assert len(order_ids(conn, OrderFilter(channel="amz", status="backordered"))) == 0
        assert len(order_ids(conn, OrderFilter(channel="nope"))) == 0
        counts = count_queues(conn, today=TODAY, channel="amz")
        assert channel_codes(conn) == ["amz", "web"]
    assert counts[TOTAL] == 1 and counts["allocated"] == 1 and counts[EXCEPTIONS] == 0
