from __future__ import annotations

import datetime as dt
import os
import threading
import time

import pytest
from sqlalchemy import select, text

from store import CanonicalLine, CanonicalOrder, Store, check, ingest, open_store
from store.catalog import add_alias
from store.intake import reprocess_unknown_items
from store.inventory import receive
from store.models import AuditEvent, Backorder, Order, OrderLine, OutboxMessage, Reservation, StockLevel
from tests.factories import order
from tests.store.helpers import count, level, lines_of, order_row


@pytest.fixture
def stocked(catalog: Store) -> Store:
    receive(catalog, "S1", "A", 10)
    receive(catalog, "S2", "A", 5)
    receive(catalog, "S2", "B", 20)
    return catalog


def test_new_order_is_allocated_and_reserves_stock(stocked: Store) -> None:
    report = ingest(stocked, [order("1001", ("S1", 2), ("S2", 3))])
    assert report.summary()["created"] == 1
    row = order_row(stocked, "1001")
    assert row.status == "allocated"
    assert row.total_minor == 5 * 1000
    assert level(stocked, "S1", "A") == (10, 2)
    assert level(stocked, "S2", "A") == (5, 3)
    assert [ln.qty_reserved for ln in lines_of(stocked, row.id)] == [2, 3]
    assert count(stocked, OutboxMessage, OutboxMessage.order_id == row.id) == 1
    assert count(stocked, AuditEvent, AuditEvent.entity == "order", AuditEvent.entity_id == row.id) == 1
    assert check(stocked).ok


def test_same_order_many_times_is_a_no_op(stocked: Store) -> None:
    o = order("1001", ("S1", 2))
    ingest(stocked, [o])
    before = (count(stocked, AuditEvent), count(stocked, OutboxMessage), count(stocked, Reservation))
    for _ in range(3):
        report = ingest(stocked, [o, o])
        assert [x.action for x in report.outcomes] == ["unchanged", "unchanged"]
    assert count(stocked, Order) == 1
    assert level(stocked, "S1", "A") == (10, 2)
    assert (count(stocked, AuditEvent), count(stocked, OutboxMessage), count(stocked, Reservation)) == before


def test_duplicates_inside_one_delivery_make_one_order(stocked: Store) -> None:
    report = ingest(stocked, [order("7", ("S1", 1)), order("7", ("S1", 1)), order("8", ("S1", 1))])
    assert [x.action for x in report.outcomes] == ["created", "unchanged", "created"]
    assert count(stocked, Order) == 2
    assert level(stocked, "S1", "A") == (10, 2)


def test_same_external_id_on_two_channels_is_two_orders(stocked: Store) -> None:
    ingest(stocked, [order("1", ("S1", 1)), order("1", ("S1", 1), channel="amz")])
    assert count(stocked, Order) == 2


def test_newer_version_updates_header_and_older_is_ignored(stocked: Store) -> None:
    ingest(stocked, [order("1001", ("S1", 2), version=1, buyer_name="Ada")])
    report = ingest(stocked, [order("1001", ("S1", 2), version=3, buyer_name="Ada Lovelace")])
    assert report.outcomes[0].action == "updated"
    report = ingest(stocked, [order("1001", ("S1", 2), version=2, buyer_name="stale")])
    assert report.outcomes[0].action == "unchanged"
    row = order_row(stocked, "1001")
    assert (row.version, row.buyer_name, row.status) == (3, "Ada Lovelace", "allocated")
    assert level(stocked, "S1", "A") == (10, 2)


def test_updated_at_orders_versions_when_no_version_is_given(stocked: Store) -> None:
    t0 = dt.datetime(2026, 11, 1, 12, tzinfo=dt.timezone.utc)
    ingest(stocked, [order("9", ("S1", 1), version=None, updated_at=t0, buyer_name="a")])
    later = ingest(stocked, [order("9", ("S1", 1), version=None, updated_at=t0 + dt.timedelta(seconds=1), buyer_name="b")])
    assert later.outcomes[0].action == "updated"
    assert order_row(stocked, "9").buyer_name == "b"


def test_changed_lines_after_allocation_raise_an_exception_not_a_second_order(stocked: Store) -> None:
    ingest(stocked, [order("1001", ("S1", 2))])
    report = ingest(stocked, [order("1001", ("S1", 5), version=2)])
    outcome = report.outcomes[0]
    assert outcome.action == "conflict"
    assert "after the order was allocated" in (outcome.reason or "")
    row = order_row(stocked, "1001")
    assert row.exception == "version_conflict"
    assert row.pending_version == 2
    assert row.pending_payload["lines"][0]["qty"] == 5
    # Nothing about the promised stock changed, and a replay of v2 adds nothing.
    assert level(stocked, "S1", "A") == (10, 2)
    events = count(stocked, AuditEvent)
    assert ingest(stocked, [order("1001", ("S1", 5), version=2)]).outcomes[0].action == "unchanged"
    assert count(stocked, AuditEvent) == events
    assert count(stocked, Order) == 1


def test_unknown_item_waits_in_queue_with_raw_identifier(stocked: Store) -> None:
    report = ingest(stocked, [order("55", ("S1", 1), ("ZZ-TOP-9", 2), kind="channel_item_id")])
    assert report.outcomes[0].action == "created"
    row = order_row(stocked, "55")
    assert row.status == "received"
    assert row.exception == "unknown_item"
    assert "'ZZ-TOP-9'" in row.exception_detail and "line 2" in row.exception_detail
    # Nothing reserved while an item is unknown; the raw identifier is kept on the line.
    assert level(stocked, "S1", "A") == (10, 0)
    assert [ln.item for ln in lines_of(stocked, row.id)] == ["S1", "ZZ-TOP-9"]


def test_mapping_the_unknown_item_reprocesses_the_order(stocked: Store) -> None:
    ingest(stocked, [order("55", ("S1", 1), ("ZZ-TOP-9", 2), kind="channel_item_id")])
    row = order_row(stocked, "55")
    # S1 is not a channel item id either, so map both the way an operator would.
    add_alias(stocked, "S1", "channel_item_id", "S1", channel="web")
    add_alias(stocked, "S2", "channel_item_id", "ZZ-TOP-9", channel="web")
    assert reprocess_unknown_items(stocked, row.id) == "allocated"
    row = order_row(stocked, "55")
    assert row.exception is None
    assert level(stocked, "S2", "A") == (5, 2)
    assert check(stocked).ok



def _wait_for_lock_waits(store: Store, app: str, n: int) -> None:
    """Until `n` connections named `app` wait for a lock (PostgreSQL); SQLite queues writers at BEGIN."""
    if store.dialect != "postgresql":
        time.sleep(0.3)
        return
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with store.read() as conn:
            waiting = conn.execute(
                text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :a AND wait_event_type = 'Lock'"),
                {"a": app},
            ).scalar_one()
        if waiting >= n:
            return
        time.sleep(0.01)
    raise AssertionError(f"{n} connections never waited for a lock together")


def test_two_operators_resolving_the_same_order_at_once_reserve_it_once(stocked: Store, db_url: str) -> None:
    ingest(stocked, [order("55", ("S1", 1), ("ZZ-TOP-9", 2), kind="channel_item_id")])
    row = order_row(stocked, "55")
    add_alias(stocked, "S1", "channel_item_id", "S1", channel="web")
    add_alias(stocked, "S2", "channel_item_id", "ZZ-TOP-9", channel="web")
    app = f"oms-test-resolve-{os.getpid()}"
    pg = stocked.dialect == "postgresql"
    operators = open_store(db_url, **({"connect_args": {"application_name": app}} if pg else {}))
    results: list[object] = []

    def resolve() -> None:
        try:
            results.append(reprocess_unknown_items(operators, row.id))
        except Exception as exc:  # the test reports it below
            results.append(exc)

    threads = [threading.Thread(target=resolve) for _ in range(2)]
    # Hold the stock rows, so both operators are under way before either can reserve.
    with stocked.write() as conn:
        conn.execute(select(StockLevel.sku_id).with_for_update())
        for t in threads:
            t.start()
        _wait_for_lock_waits(stocked, app, 2)
    for t in threads:
        t.join(timeout=60)
    operators.dispose()
    assert results == ["allocated", "allocated"]
    assert [(ln.qty, ln.qty_reserved, ln.qty_backordered) for ln in lines_of(stocked, row.id)] == [(1, 1, 0), (2, 2, 0)]
    assert (level(stocked, "S1", "A"), level(stocked, "S2", "A")) == ((10, 1), (5, 2))
    assert count(stocked, Reservation) == 2
    assert check(stocked).ok

def test_aliases_are_scoped_to_their_channel_and_upc_is_global(stocked: Store) -> None:
    add_alias(stocked, "S1", "channel_item_id", "B00ABC", channel="amz")
    add_alias(stocked, "S2", "upc", "012345678905")
    ingest(stocked, [
        order("a1", ("B00ABC", 1), channel="amz", kind="channel_item_id"),
        order("w1", ("B00ABC", 1), channel="web", kind="channel_item_id"),
        CanonicalOrder("web", "w2", (CanonicalLine("X", 1, 500, item_ids={"upc": "012345678905"}),), "USD"),
    ])
    assert order_row(stocked, "a1").status == "allocated"
    assert order_row(stocked, "w1").exception == "unknown_item"
    assert order_row(stocked, "w2").status == "allocated"


def test_short_stock_becomes_an_explicit_backorder_never_negative(stocked: Store) -> None:
    ingest(stocked, [order("1", ("S1", 8)), order("2", ("S1", 8), ("S2", 1))])
    row = order_row(stocked, "2")
    assert row.status == "backordered"
    lines = lines_of(stocked, row.id)
    assert [(ln.qty_reserved, ln.qty_backordered) for ln in lines] == [(0, 8), (1, 0)]
    assert count(stocked, Backorder, Backorder.line_id == lines[0].id, Backorder.state == "open") == 1
    assert level(stocked, "S1", "A") == (10, 8)
    assert check(stocked).ok


def test_line_goes_to_the_next_location_that_can_fill_it(stocked: Store) -> None:
    ingest(stocked, [order("1", ("S2", 12))])
    assert level(stocked, "S2", "A") == (5, 0)
    assert level(stocked, "S2", "B") == (20, 12)


def test_bad_orders_are_rejected_with_reasons_and_the_rest_go_in(stocked: Store) -> None:
    report = ingest(stocked, [
        order("ok-1", ("S1", 1)),
        order("minus", ("S1", -1)),
        order("nochan", ("S1", 1), channel="nowhere"),
        CanonicalOrder("web", "cur", (CanonicalLine("S1", 1, 100, item_kind="sku"),), "usd"),
        CanonicalOrder("web", "empty", (), "USD"),
        order("ok-2", ("S1", 1)),
    ])
    reasons = {o.external_id: o.reason for o in report.rejected}
    assert set(reasons) == {"minus", "nochan", "cur", "empty"}
    assert "quantity -1 is negative" in reasons["minus"]
    assert "unknown channel 'nowhere'" in reasons["nochan"]
    assert "ISO 4217" in reasons["cur"]
    assert "no lines" in reasons["empty"]
    assert count(stocked, Order) == 2
    assert count(stocked, OrderLine) == 2


def test_unknown_item_order_takes_replacement_lines_from_a_newer_version(stocked: Store) -> None:
    ingest(stocked, [order("55", ("NOPE", 1))])
    report = ingest(stocked, [order("55", ("S1", 3), version=2)])
    assert report.outcomes[0].action == "updated"
    row = order_row(stocked, "55")
    assert (row.status, row.exception) == ("allocated", None)
    assert [ln.item for ln in lines_of(stocked, row.id)] == ["S1"]
    assert level(stocked, "S1", "A") == (10, 3)


def test_batches_larger_than_batch_size_all_go_in(stocked: Store) -> None:
    receive(stocked, "S3", "A", 1000)
    orders = [order(f"b{i}", ("S3", 1)) for i in range(120)]
    report = ingest(stocked, orders, batch_size=50)
    assert report.summary()["created"] == 120
    assert level(stocked, "S3", "A") == (1000, 120)
    assert [o.index for o in report.outcomes] == list(range(120))


def test_a_zero_quantity_line_is_kept_but_reserves_and_backorders_nothing(stocked: Store) -> None:
    """EDI partners send lines they cancelled with quantity 0; the order keeps them as sent."""
    ingest(stocked, [order("z1", ("S1", 2), ("S2", 0)), order("z2", ("S3", 0))])
    row = order_row(stocked, "z1")
    assert row.status == "allocated"
    assert [(ln.qty, ln.qty_reserved, ln.qty_backordered) for ln in lines_of(stocked, row.id)] == [(2, 2, 0), (0, 0, 0)]
    assert count(stocked, Backorder) == 0
    assert level(stocked, "S2", "A") == (5, 0)
    assert order_row(stocked, "z2").status == "allocated"
    assert check(stocked).ok
