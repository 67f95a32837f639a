"""Order changes after placement (what an 860 asks): stock follows, or an operator decides."""

from __future__ import annotations

from sqlalchemy import select

from store import CanonicalLine, CanonicalOrder, Store, check, ingest
from store.catalog import add_alias
from store.changes import CHANGE_CONFLICT, LineChange, OrderChange, apply_change
from store.fulfilment import ship_reserved
from store.intake import reprocess_unknown_items
from store.inventory import receive
from store.models import AuditEvent, Reservation
from tests.store.helpers import level, lines_of, order_row


def _placed(store: Store, po: str, *lines: tuple[str, str, int]) -> int:
    """An order whose lines carry the source's line ids (PO101), like an EDI 850."""
    canonical = CanonicalOrder(
        "web", po, tuple(CanonicalLine(sku, qty, 1000, item_kind="sku", line_ref=ref) for ref, sku, qty in lines), "USD",
        version=1,
    )
    [outcome] = ingest(store, [canonical]).outcomes
    assert outcome.order_id is not None
    return outcome.order_id


def _qtys(store: Store, order_id: int) -> list[tuple[int, int, int, int]]:
    return [(ln.qty, ln.qty_reserved, ln.qty_backordered, ln.qty_cancelled) for ln in lines_of(store, order_id)]


def test_fewer_units_give_reserved_stock_back(catalog: Store) -> None:
    receive(catalog, "S1", "A", 10)
    oid = _placed(catalog, "PO-1", ("0010", "S1", 6))
    done = apply_change(catalog, OrderChange("web", "PO-1", (LineChange("update", "0010", qty=2),)))
    assert done.status == "applied", done
    assert _qtys(catalog, oid) == [(2, 2, 0, 0)]
    assert level(catalog, "S1", "A") == (10, 2)
    row = order_row(catalog, "PO-1")
    assert (row.status, row.total_minor, row.version) == ("allocated", 2000, 2)
    assert check(catalog).ok


def test_more_units_are_reserved_where_the_line_has_stock_else_backordered(catalog: Store) -> None:
    receive(catalog, "S1", "A", 5)
    receive(catalog, "S1", "B", 3)
    oid = _placed(catalog, "PO-1", ("1", "S1", 2))
    apply_change(catalog, OrderChange("web", "PO-1", (LineChange("update", "1", qty=4),)))
    assert _qtys(catalog, oid) == [(4, 4, 0, 0)]
    assert level(catalog, "S1", "A") == (5, 4)
    apply_change(catalog, OrderChange("web", "PO-1", (LineChange("update", "1", qty=8),)))  # 4 more: none anywhere
    assert _qtys(catalog, oid) == [(8, 4, 4, 0)]
    assert order_row(catalog, "PO-1").status == "backordered"
    # Fewer again: the backordered units go first, the reservation stays whole.
    apply_change(catalog, OrderChange("web", "PO-1", (LineChange("update", "1", qty=5),)))
    assert _qtys(catalog, oid) == [(5, 4, 1, 0)]
    assert level(catalog, "S1", "A") == (5, 4)
    assert check(catalog).ok


def test_a_cancelled_line_releases_its_stock_and_the_last_one_cancels_the_order(catalog: Store) -> None:
    receive(catalog, "S1", "A", 10)
    receive(catalog, "S2", "A", 10)
    oid = _placed(catalog, "PO-1", ("1", "S1", 3), ("2", "S2", 4))
    apply_change(catalog, OrderChange("web", "PO-1", (LineChange("cancel", "2"),)))
    assert _qtys(catalog, oid) == [(3, 3, 0, 0), (4, 0, 0, 4)]
    assert level(catalog, "S2", "A") == (10, 0)
    assert order_row(catalog, "PO-1").total_minor == 3000
    apply_change(catalog, OrderChange("web", "PO-1", (LineChange("cancel", "1"),)))
    assert order_row(catalog, "PO-1").status == "cancelled"
    assert level(catalog, "S1", "A") == (10, 0)
    assert check(catalog).ok



def test_more_units_go_where_the_line_is_reserved_before_the_preferred_location(catalog: Store) -> None:
    receive(catalog, "S1", "B", 5)
    oid = _placed(catalog, "PO-1", ("1", "S1", 2))  # only B has stock: reserved there
    receive(catalog, "S1", "A", 10)  # A comes first for the channel, but the line is at B
    done = apply_change(catalog, OrderChange("web", "PO-1", (LineChange("update", "1", qty=4),)))
    assert done.done == ("line 1: quantity 2 -> 4", "line 1: 2 more units reserved")
    assert _qtys(catalog, oid) == [(4, 4, 0, 0)]
    assert (level(catalog, "S1", "A"), level(catalog, "S1", "B")) == ((10, 0), (5, 4))
    assert check(catalog).ok


def test_line_changes_in_one_change_each_see_what_the_one_before_did(catalog: Store) -> None:
    receive(catalog, "S1", "A", 20)
    receive(catalog, "S2", "A", 20)
    oid = _placed(catalog, "PO-1", ("1", "S1", 6), ("2", "S2", 2))
    # Fewer then cancelled; more then fewer again: each step works on the line as the last one left it.
    both = (LineChange("update", "1", qty=4), LineChange("cancel", "1"),
            LineChange("update", "2", qty=5), LineChange("update", "2", qty=3))
    done = apply_change(catalog, OrderChange("web", "PO-1", both))
    assert (done.status, done.order_status) == ("applied", "allocated"), done
    assert _qtys(catalog, oid) == [(4, 0, 0, 4), (3, 3, 0, 0)]
    assert (level(catalog, "S1", "A"), level(catalog, "S2", "A")) == ((20, 0), (20, 3))
    # More units then the line cancelled: the extra reservation goes back too, and the order with it.
    oid = _placed(catalog, "PO-2", ("1", "S1", 2))
    done = apply_change(catalog, OrderChange("web", "PO-2", (LineChange("update", "1", qty=4), LineChange("cancel", "1"))))
    assert (done.status, done.order_status) == ("applied", "cancelled"), done
    assert _qtys(catalog, oid) == [(4, 0, 0, 4)]
    assert level(catalog, "S1", "A") == (20, 0)
    assert order_row(catalog, "PO-2").status == "cancelled"
    assert check(catalog).ok

def test_a_line_is_found_by_its_item_when_the_change_gives_no_line_id(catalog: Store) -> None:
    receive(catalog, "S1", "A", 10)
    receive(catalog, "S2", "A", 10)
    oid = _placed(catalog, "PO-1", ("1", "S1", 3), ("2", "S2", 4))
    apply_change(catalog, OrderChange("web", "PO-1", (LineChange("update", item_ids={"sku": "S2"}, unit_price_minor=250),)))
    assert [ln.unit_price_minor for ln in lines_of(catalog, oid)] == [1000, 250]
    assert order_row(catalog, "PO-1").total_minor == 3000 + 1000


def test_an_added_line_is_reserved_and_an_unknown_one_waits_without_losing_the_rest(catalog: Store) -> None:
    receive(catalog, "S1", "A", 10)
    receive(catalog, "S3", "B", 10)
    oid = _placed(catalog, "PO-1", ("1", "S1", 3))
    added = CanonicalLine("S3", 2, 500, item_kind="sku", line_ref="2")
    apply_change(catalog, OrderChange("web", "PO-1", (LineChange("add", "2", line=added),)))
    assert _qtys(catalog, oid) == [(3, 3, 0, 0), (2, 2, 0, 0)]
    assert level(catalog, "S3", "B") == (10, 2)

    mystery = CanonicalLine("BUYER-77", 1, 700, item_kind="buyer_part", line_ref="3")
    apply_change(catalog, OrderChange("web", "PO-1", (LineChange("add", "3", line=mystery),)))
    row = order_row(catalog, "PO-1")
    assert (row.status, row.exception) == ("allocated", "unknown_item")
    assert "BUYER-77" in row.exception_detail
    receive(catalog, "S4", "A", 5)
    add_alias(catalog, "S4", "buyer_part", "BUYER-77")
    assert reprocess_unknown_items(catalog, oid) == "allocated"
    assert _qtys(catalog, oid) == [(3, 3, 0, 0), (2, 2, 0, 0), (1, 1, 0, 0)]
    assert order_row(catalog, "PO-1").exception is None
    assert level(catalog, "S1", "A") == (10, 3)  # the first lines kept their reservations
    assert check(catalog).ok


def test_cancelling_the_order_gives_everything_back(catalog: Store) -> None:
    receive(catalog, "S1", "A", 10)
    _placed(catalog, "PO-1", ("1", "S1", 3))
    done = apply_change(catalog, OrderChange("web", "PO-1", cancel=True, reason="860 cancel"))
    assert (done.status, done.order_status) == ("applied", "cancelled")
    assert level(catalog, "S1", "A") == (10, 0)
    assert check(catalog).ok


def test_what_cannot_be_applied_changes_nothing_and_waits_for_an_operator(catalog: Store) -> None:
    receive(catalog, "S1", "A", 10)
    receive(catalog, "S2", "A", 10)
    oid = _placed(catalog, "PO-1", ("1", "S1", 3), ("2", "S2", 4))
    # The first line change could apply, the second names a line the order does not have.
    done = apply_change(catalog, OrderChange("web", "PO-1", (LineChange("update", "1", qty=1), LineChange("cancel", "9"))))
    assert done.status == "conflict"
    assert "line 9 is not on order PO-1" in (done.reason or "")
    assert _qtys(catalog, oid) == [(3, 3, 0, 0), (4, 4, 0, 0)]
    assert level(catalog, "S1", "A") == (10, 3)
    row = order_row(catalog, "PO-1")
    assert (row.exception, row.version) == (CHANGE_CONFLICT, 1)
    assert "line 9" in row.exception_detail
    with catalog.read() as conn:
        actions = conn.execute(select(AuditEvent.action).where(AuditEvent.entity_id == oid)).scalars().all()
    assert "order.change_conflict" in actions and "order.changed" not in actions


def test_fewer_units_than_shipped_or_a_cancel_after_shipping_is_a_conflict(catalog: Store) -> None:
    receive(catalog, "S1", "A", 3)
    oid = _placed(catalog, "PO-1", ("1", "S1", 5))  # 5 wanted, 3 in stock: backordered
    assert order_row(catalog, "PO-1").status == "backordered"
    assert _qtys(catalog, oid) == [(5, 0, 5, 0)]
    receive(catalog, "S2", "A", 10)
    apply_change(catalog, OrderChange("web", "PO-1", (LineChange("update", "1", qty=3),)))
    assert order_row(catalog, "PO-1").status == "backordered"  # fewer wanted, still none reserved
    second = CanonicalLine("S2", 2, 100, item_kind="sku", line_ref="2")
    apply_change(catalog, OrderChange("web", "PO-1", (LineChange("add", "2", line=second),)))
    ship_reserved(catalog, oid, carrier="UPS", tracking="1Z1")
    assert order_row(catalog, "PO-1").status == "partially_shipped"
    fewer = apply_change(catalog, OrderChange("web", "PO-1", (LineChange("update", "2", qty=1),)))
    assert fewer.status == "conflict" and "fewer than the 2 shipped" in (fewer.reason or "")
    cancel = apply_change(catalog, OrderChange("web", "PO-1", cancel=True))
    assert cancel.status == "conflict" and "partly shipped" in (cancel.reason or "")
    # What is still open can be cancelled line by line; the order is then complete.
    done = apply_change(catalog, OrderChange("web", "PO-1", (LineChange("cancel", "1"),)))
    assert (done.status, done.order_status) == ("applied", "shipped")
    assert check(catalog).ok


def test_a_change_for_an_order_we_never_received_is_rejected(catalog: Store) -> None:
    done = apply_change(catalog, OrderChange("web", "PO-404", (LineChange("cancel", "1"),)))
    assert done.status == "rejected" and "no order PO-404" in (done.reason or "")
    with catalog.read() as conn:
        assert conn.execute(select(Reservation.id)).first() is None
