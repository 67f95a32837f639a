"""The order list screen, driven like a user drives it: keys in, screen text out."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from store import Store
from store.models import Order
from store.views import OrderFilter
from tests.tui.conftest import ORDER_COUNT, external_id, order_lines, seed, settle, visible_lines
from tui import OmsApp
from tui.widgets.order_table import PAGE_SIZE, OrderTable
from tui.widgets.status_filter import StatusFilter

SIZE = (120, 40)


def db_count(store: Store, *where: Any) -> int:
    with store.read() as conn:
        return int(conn.execute(select(func.count()).select_from(Order).where(*where)).scalar_one())


def db_external_ids(store: Store, *where: Any) -> list[str]:
    """External ids of the matching orders, newest first."""
    with store.read() as conn:
        return list(conn.execute(select(Order.external_id).where(*where).order_by(Order.id.desc())).scalars())


def table_of(app: OmsApp) -> OrderTable:
    return app.screen.query_one(OrderTable)


async def test_newest_order_is_first_under_the_column_titles(orders_store: Store) -> None:
    app = OmsApp(orders_store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        header, *rows = visible_lines(table_of(app))
        for title in ("Order", "Status", "Total", "Received UTC"):
            assert title in header
        assert rows[0].split()[0] == external_id(ORDER_COUNT - 1)
        assert rows[1].split()[0] == external_id(ORDER_COUNT - 2)
        assert "USD 25.98" in rows[0]  # two units at 12.99
        assert table_of(app).row_count == ORDER_COUNT
        assert table_of(app).border_subtitle == f"{ORDER_COUNT:,} orders"


async def test_backordered_filter_shows_only_backordered_orders(orders_store: Store) -> None:
    expected = db_count(orders_store, Order.status == "backordered")
    assert 0 < expected < ORDER_COUNT
    app = OmsApp(orders_store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("4")
        await settle(pilot)
        table = table_of(app)
        assert table.border_title == "Backordered"
        assert table.row_count == expected
        rows = order_lines(app)
        assert rows and all(" backordered " in row for row in rows)
        assert rows[0].split()[0] == db_external_ids(orders_store, Order.status == "backordered")[0]
        # The filter list shows the same count next to the choice.
        filters = visible_lines(app.screen.query_one(StatusFilter))
        assert any(line.split()[:3] == ["4", "Backordered", f"{expected:,}"] for line in filters)


async def test_exceptions_filter_lists_orders_in_any_queue(orders_store: Store) -> None:
    expected = db_external_ids(orders_store, Order.exception.is_not(None))
    app = OmsApp(orders_store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("9")
        await settle(pilot)
        assert table_of(app).row_count == len(expected)
        rows = [row for row in order_lines(app) if row]
        assert [row.split()[0] for row in rows] == expected[: len(rows)]
        assert all("unknown_item" in row for row in rows)


async def test_choosing_in_the_filter_list_changes_the_list(orders_store: Store) -> None:
    app = OmsApp(orders_store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.screen.query_one(StatusFilter).focus()
        await pilot.press("down", "down", "down", "enter")  # all -> received -> on hold -> allocated
        await settle(pilot)
        assert table_of(app).row_count == db_count(orders_store, Order.status == "allocated")
        assert all(" allocated " in row for row in order_lines(app))
        assert app.focused is table_of(app)
        await pilot.press("0")
        await settle(pilot)
        assert table_of(app).row_count == ORDER_COUNT


async def test_end_shows_the_oldest_order_and_home_the_newest(orders_store: Store) -> None:
    app = OmsApp(orders_store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("end")
        await settle(pilot)
        rows = order_lines(app)
        assert rows[-1].split()[0] == external_id(0)
        assert table_of(app).highlighted_id == min_id(orders_store)
        await pilot.press("home")
        await settle(pilot)
        assert order_lines(app)[0].split()[0] == external_id(ORDER_COUNT - 1)


def min_id(store: Store) -> int:
    with store.read() as conn:
        return int(conn.execute(select(func.min(Order.id))).scalar_one())


async def test_cursor_keys_move_the_highlight_and_the_view(orders_store: Store) -> None:
    app = OmsApp(orders_store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = table_of(app)
        body = table.scrollable_size.height - 1
        await pilot.press("down", "down")
        assert table.cursor_row == 2
        await pilot.press("up")
        assert table.cursor_row == 1
        await pilot.press("pagedown")
        await settle(pilot)
        assert table.cursor_row == 1 + body
        assert order_lines(app)[-1].split()[0] == external_id(ORDER_COUNT - 1 - table.cursor_row)
        await pilot.press("pageup", "pageup")
        assert table.cursor_row == 0
        await pilot.press("up")
        assert table.cursor_row == 0


async def test_only_a_few_pages_stay_in_memory_while_paging_through_everything(orders_store: Store) -> None:
    app = OmsApp(orders_store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = table_of(app)
        oldest = min_id(orders_store)
        seen = {row.split()[0] for row in order_lines(app)}
        while table.highlighted_id != oldest:
            await pilot.press("pagedown")
            await settle(pilot)
            seen.update(row.split()[0] for row in order_lines(app))
            assert table.cached_pages <= table.max_cached_pages
            assert table.cached_rows <= table.max_cached_pages * PAGE_SIZE
        assert len(seen) == ORDER_COUNT  # every order was on screen once...
        assert table.cached_rows <= ORDER_COUNT // 3  # ...yet most were let go again
        assert order_lines(app)[-1].split()[0] == external_id(0)


async def test_a_filter_without_orders_says_so(orders_store: Store) -> None:
    assert db_count(orders_store, Order.status == "shipped") == 0
    app = OmsApp(orders_store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("6")
        await settle(pilot)
        assert table_of(app).row_count == 0
        assert order_lines(app)[0].strip() == "No shipped orders."
        assert table_of(app).border_subtitle == "0 orders"


async def test_a_superseded_filter_never_reaches_the_screen(orders_store: Store) -> None:
    app = OmsApp(orders_store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = table_of(app)
        table.load(OrderFilter(status="backordered"))
        table.load(OrderFilter(status="received"))
        await settle(pilot)
        assert table.filter == OrderFilter(status="received")
        assert table.row_count == db_count(orders_store, Order.status == "received")
        assert all(" received " in row for row in order_lines(app) if row)


async def test_reload_finds_new_orders_and_keeps_the_highlight(orders_store: Store) -> None:
    app = OmsApp(orders_store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = table_of(app)
        await pilot.press("down", "down", "down")
        highlighted = table.highlighted_id
        seed(orders_store, ORDER_COUNT, 5)
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert table.row_count == ORDER_COUNT + 5
        assert table.highlighted_id == highlighted
        assert app.screen.query_one(StatusFilter).count("all") == ORDER_COUNT + 5
        await pilot.press("home")
        await settle(pilot)
        assert order_lines(app)[0].split()[0] == external_id(ORDER_COUNT + 4)


async def test_a_store_that_cannot_be_read_is_reported(orders_store: Store) -> None:
    with orders_store.write() as conn:
        conn.exec_driver_sql("ALTER TABLE orders RENAME TO orders_gone")
    app = OmsApp(orders_store)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        for _ in range(3):
            await pilot.pause()
            await app.workers.wait_for_complete()
        await pilot.pause()
        assert order_lines(app)[0].strip().startswith("cannot read the store")
        toasts = [str(toast.render()) for toast in app.screen.query("Toast")]
        assert any("cannot read the store" in text for text in toasts)
        # Once the store is readable again, reloading brings the orders back.
        with orders_store.write() as conn:
            conn.exec_driver_sql("ALTER TABLE orders_gone RENAME TO orders")
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert table_of(app).row_count == ORDER_COUNT
        assert order_lines(app)[0].split()[0] == external_id(ORDER_COUNT - 1)


async def test_q_quits(orders_store: Store) -> None:
    app = OmsApp(orders_store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("q")
        await pilot.pause()
        assert not app.is_running


async def test_clicking_a_row_highlights_it(orders_store: Store) -> None:
    app = OmsApp(orders_store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = table_of(app)
        # Row 3 of the list: below the border line and the column titles.
        await pilot.click(OrderTable, offset=(5, 1 + 1 + 3))
        assert table.cursor_row == 3
        assert table.highlighted_id is not None
        with orders_store.read() as conn:
            clicked = conn.execute(select(Order.external_id).where(Order.id == table.highlighted_id)).scalar_one()
        assert clicked == external_id(ORDER_COUNT - 4)
