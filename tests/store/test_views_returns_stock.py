"""The read queries behind the returns and stock screens, on SQLite and PostgreSQL."""

from __future__ import annotations

from store import Store, ingest
from store.catalog import NewSku, add_skus
from store.inventory import adjust, receive as receive_stock
from store.returns import Disposition, Receipt, RmaLine, authorise, cancel, inspect, receive, resolve
from store.shipping import ship
from store.stock_sync import list_skus
from store.views.common import reading
from store.views.returns import count_returns, order_for_return, return_rows
from store.views.stock import movements_of, owed_pushes, stock_page
from tests.factories import order


def _shipped(store: Store, external_id: str, *lines: tuple[str, int]) -> int:
    oid = ingest(store, [order(external_id, *lines)]).outcomes[0].order_id
    assert oid is not None
    ship(store, oid, "A", carrier="UPS", tracking=f"1Z{external_id}")
    return oid


def test_returns_open_first_newest_first_in_pages(catalog: Store) -> None:
    receive_stock(catalog, "S1", "A", 20)
    oid = _shipped(catalog, "W1", ("S1", 6))
    for n in range(1, 6):
        authorise(catalog, oid, [RmaLine(1, 1, f"reason {n}")])
    cancel(catalog, "RMA-000001", "customer kept it")
    receive(catalog, "RMA-000002", "A", [Receipt(1, 1)])
    inspect(catalog, "RMA-000002", [Disposition(1, scrap=1)])
    resolve(catalog, "RMA-000002", resolution="refund", refund_minor=500)
    with reading(catalog) as conn:
        assert count_returns(conn) == 5 and count_returns(conn, open_only=True) == 3
        every = return_rows(conn)
        assert [r.rma for r in every] == ["RMA-000005", "RMA-000004", "RMA-000003", "RMA-000002", "RMA-000001"]
        assert [r.status for r in every[3:]] == ["closed", "cancelled"]
        assert (every[3].units, every[3].received, every[3].location, every[3].order_external_id) == (1, 1, "A", "W1")
        assert [r.rma for r in return_rows(conn, open_only=True, limit=2, offset=1)] == ["RMA-000004", "RMA-000003"]
        assert [r.rma for r in return_rows(conn, limit=2, offset=4)] == ["RMA-000001"]


def test_returnable_units_follow_what_shipped_and_other_rmas(catalog: Store) -> None:
    receive_stock(catalog, "S1", "A", 10)
    oid = _shipped(catalog, "W1", ("S1", 3))
    ingest(catalog, [order("W2", ("S2", 1))])  # nothing of S2 in stock: not shipped
    authorise(catalog, oid, [RmaLine(1, 2, "too small")])
    with reading(catalog) as conn:
        got = order_for_return(conn, oid)
        assert got is not None and (got.external_id, got.channel, got.currency) == ("W1", "web", "USD")
        (line,) = got.lines
        assert (line.sku, line.delivered, line.covered, line.returnable, line.unit_price_minor) == ("S1", 3, 2, 1, 1000)
        assert order_for_return(conn, 999_999) is None


def test_stock_page_by_code_prefix_with_keyset_pages(catalog: Store) -> None:
    add_skus(catalog, [NewSku(f"P{n:02d}", f"Part {n}", 100, "USD") for n in range(12)])
    receive_stock(catalog, "P00", "B", 4)
    receive_stock(catalog, "P00", "A", 9)
    with reading(catalog) as conn:
        first = stock_page(conn, "p", limit=5)  # lower case finds upper-case codes
        assert [(r.sku, r.location, r.on_hand) for r in first.rows[:3]] == [("P00", "A", 9), ("P00", "B", 4),
                                                                             ("P01", None, 0)]
        assert (first.skus, first.more, first.next_after) == (5, True, "P04")
        last = stock_page(conn, "P", after="P09", limit=5)
        assert [r.sku for r in last.rows] == ["P10", "P11"] and not last.more and last.next_after is None
        assert [r.sku for r in stock_page(conn, "P1", limit=50).rows] == ["P10", "P11"]
        assert stock_page(conn, "Q", limit=5).rows == ()
        assert [r.sku for r in stock_page(conn, "", limit=3).rows] == ["P00", "P00", "P01", "P02"]  # 3 SKUs


def test_movements_newest_first_and_pushes_owed(catalog: Store) -> None:
    list_skus(catalog, "web", ["S1"])
    receive_stock(catalog, "S1", "A", 10, reference="PO-1")
    adjust(catalog, "S1", "A", -2, reason="damaged", actor="ann")
    with reading(catalog) as conn:
        moves = movements_of(conn, "S1")
        assert [(m.qty, m.kind, m.actor, m.note) for m in moves] == [(-2, "adjustment", "ann", "damaged"),
                                                                    (10, "receipt", "system", None)]
        assert [p.channel for p in owed_pushes(conn, "S1")] == ["web"]
        assert owed_pushes(conn, "S2") == []
