"""The order screen, driven like a user drives it: keys in, screen text and store state out."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from textual.widgets import DataTable, Static, TextArea

from store import Store
from store.models import AuditEvent, Order, OrderLine, OutboxMessage, SkuAlias
from store.outbox import claim, failed
from store.shipping import ship
from store.views import OrderFilter, order_ids, reading
from tests.tui._order_data import FIXED, Orders
from tests.tui.conftest import settle_app
from tui import OmsApp
from tui.access import Operator
from tui.screens.ask import AskText, Confirm
from tui.screens.new_return import NewReturnScreen
from tui.screens.order import OrderScreen

SIZE = (120, 40)


def app_for(store: Store, role: str = "operator", name: str = "ann", **kw: Any) -> OmsApp:
    return OmsApp(store, operator=Operator(name, role), poll_seconds=None, now=lambda: FIXED, **kw)


async def open_order(pilot: Any, order_id: int) -> OrderScreen:
    await settle_app(pilot)
    screen = OrderScreen(order_id)
    pilot.app.push_screen(screen)
    await settle_app(pilot)
    return screen


async def type_text(pilot: Any, text: str) -> None:
    await pilot.press(*text)


def head_text(screen: OrderScreen) -> str:
    return str(screen.query_one("#order-head", Static).render())


def table_rows(screen: OrderScreen, table: str) -> list[list[str]]:
    t = screen.query_one(table, DataTable)
    return [[str(c) for c in t.get_row_at(i)] for i in range(t.row_count)]


def order_of(store: Store, order_id: int) -> Any:
    with store.read() as conn:
        return conn.execute(select(Order).where(Order.id == order_id)).one()


def last_event(store: Store, action: str) -> Any:
    with store.read() as conn:
        return conn.execute(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id.desc())).first()


async def test_the_order_shows_header_lines_routing_source_and_history(shop: tuple[Store, Orders]) -> None:
    store, orders = shop
    app = app_for(store)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_order(pilot, orders.edi)
        head = head_text(screen)
        assert "W4" in head and "web" in head and "allocated" in head and "USD 12.99" in head
        assert "Ada Lovelace" in head and "London" in head
        assert table_rows(screen, "#order-lines") == [["1", "S1", "S1", "1", "1", "0", "0", "0", "USD 12.99"]]
        await pilot.press("2")
        assert table_rows(screen, "#order-reservations")[0][:5] == ["1", "S1", "A", "1", "active"]
        await pilot.press("3")
        routing = str(screen.query_one("#order-routing", Static).render())
        assert "intake: allocated" in routing and "A: #1, covers 1 of 1 lines, stock 8" in routing
        await pilot.press("6")
        source = screen.query_one("#order-source", TextArea).text.splitlines()
        assert "BEG*00*SA*PO-7**20240501" in source and "PO1*1*2*EA*12.99**BP*ACME-1" in source
        await pilot.press("7")
        assert table_rows(screen, "#order-history")[0][1:3] == ["intake", "order.received"]
        await pilot.press("escape")
        assert not isinstance(app.screen, OrderScreen)


async def test_hold_and_release_are_written_with_the_operator_name(shop: tuple[Store, Orders]) -> None:
    store, orders = shop
    app = app_for(store)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_order(pilot, orders.allocated)
        await pilot.press("h")
        assert isinstance(app.screen, AskText)
        await type_text(pilot, "address looks wrong")
        await pilot.press("enter")
        await settle_app(pilot)
        row = order_of(store, orders.allocated)
        assert (row.status, row.hold_reason, row.hold_kind) == ("on_hold", "address looks wrong", "manual")
        assert last_event(store, "order.on_hold").actor == "ann"
        assert "held (manual): address looks wrong" in head_text(screen)
        await pilot.press("u")
        await type_text(pilot, "customer confirmed")
        await pilot.press("enter")
        await settle_app(pilot)
        assert order_of(store, orders.allocated).status == "allocated"
        event = last_event(store, "order.hold_released")
        assert event.actor == "ann" and event.detail["reason"] == "customer confirmed"
        assert "held" not in head_text(screen)


async def test_a_viewer_cannot_hold(shop: tuple[Store, Orders]) -> None:
    store, orders = shop
    app = app_for(store, role="viewer", name="vic")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_order(pilot, orders.allocated)
        assert screen.check_action("hold", ()) is None  # shown greyed out
        await pilot.press("h")
        await settle_app(pilot)
        assert app.screen is screen  # no dialog
        assert order_of(store, orders.allocated).status == "allocated"
        assert last_event(store, "order.on_hold") is None


async def test_cancelling_units_of_a_line_and_then_the_whole_order(shop: tuple[Store, Orders]) -> None:
    store, orders = shop
    app = app_for(store)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_order(pilot, orders.short)
        await pilot.press("c")
        await type_text(pilot, "1:1")
        await pilot.press("enter")
        await type_text(pilot, "customer wants fewer")
        await pilot.press("enter")
        assert isinstance(app.screen, Confirm)
        await pilot.press("y")
        await settle_app(pilot)
        with store.read() as conn:
            line = conn.execute(select(OrderLine).where(OrderLine.order_id == orders.short)).one()
        assert (line.qty_cancelled, line.qty_backordered, line.qty_reserved) == (1, 3, 0)
        event = last_event(store, "order.units_cancelled")
        assert event.actor == "ann" and event.detail["lines"] == {"1": 1}
        assert table_rows(screen, "#order-lines")[0][3:8] == ["4", "0", "3", "0", "1"]

        await pilot.press("c", "enter")  # every open unit
        await type_text(pilot, "customer gave up")
        await pilot.press("enter", "y")
        await settle_app(pilot)
        assert order_of(store, orders.short).status == "cancelled"
        assert last_event(store, "order.cancelled").actor == "ann"
        assert screen.check_action("cancel", ()) is False


async def test_mapping_the_unknown_item_takes_the_order_out_of_the_queue(shop: tuple[Store, Orders]) -> None:
    store, orders = shop

    def queue() -> list[int]:
        with reading(store) as conn:
            return list(order_ids(conn, OrderFilter(exception="unknown_item")))

    assert queue() == [orders.unknown]
    app = app_for(store)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_order(pilot, orders.unknown)
        assert "unknown_item: line 1: channel_item_id 'ZZ-TOP-9'" in head_text(screen)
        await pilot.press("m")
        assert isinstance(app.screen, AskText)
        await type_text(pilot, "S1")
        await pilot.press("enter")
        await settle_app(pilot)
        assert queue() == []
        row = order_of(store, orders.unknown)
        assert (row.exception, row.status) == (None, "allocated")
        with store.read() as conn:
            alias = conn.execute(select(SkuAlias)).one()
        assert (alias.kind, alias.value) == ("channel_item_id", "ZZ-TOP-9")
        assert last_event(store, "sku.alias_added").actor == "ann"
        assert "unknown_item" not in head_text(screen)
        assert table_rows(screen, "#order-lines")[0][2] == "S1"
        assert screen.check_action("map_item", ()) is False


async def test_an_admin_retries_a_dead_shipment_confirmation(shop: tuple[Store, Orders]) -> None:
    store, orders = shop
    ship(store, orders.allocated, "A", carrier="UPS", tracking="1Z1", actor="ann")
    claim(store, kinds=["shipment_confirm"])
    with store.read() as conn:
        mid = conn.execute(select(OutboxMessage.id).where(OutboxMessage.kind == "shipment_confirm")).scalar_one()
    assert failed(store, mid, "channel said 500", max_attempts=1) == "dead"
    app = app_for(store, role="admin", name="root")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_order(pilot, orders.allocated)
        await pilot.press("4")
        assert "dead after 1 attempts: channel said 500" in str(screen.query_one("#order-shipments", Static).render())
        await pilot.press("R")
        await settle_app(pilot)
        with store.read() as conn:
            state = conn.execute(select(OutboxMessage.state).where(OutboxMessage.id == mid)).scalar_one()
        assert state == "pending"
        assert last_event(store, "outbox.retried").actor == "root"
        assert "#%d to web: pending" % mid in str(screen.query_one("#order-shipments", Static).render())


async def test_an_operator_may_not_retry_confirmations(shop: tuple[Store, Orders]) -> None:
    store, orders = shop
    app = app_for(store)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_order(pilot, orders.allocated)
        assert screen.check_action("retry_confirmation", ()) is None


async def test_return_opens_the_new_return_form_for_a_shipped_order(shop: tuple[Store, Orders]) -> None:
    store, orders = shop
    app = app_for(store)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_order(pilot, orders.allocated)
        assert screen.check_action("new_return", ()) is False  # nothing shipped yet
        ship(store, orders.allocated, "A", carrier="UPS", tracking="1Z1", actor="ann")
        screen.on_data_changed()
        await settle_app(pilot)
        await pilot.press("t")
        await settle_app(pilot)
        assert isinstance(app.screen, NewReturnScreen) and app.screen.order_id == orders.allocated


async def test_the_order_reads_again_when_the_store_changes(shop: tuple[Store, Orders]) -> None:
    store, orders = shop
    app = app_for(store)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_order(pilot, orders.allocated)
        from store.holds import hold

        hold(store, orders.allocated, "from another terminal", actor="bob")
        app.data_version += 1
        await settle_app(pilot)
        assert "from another terminal" in head_text(screen)
        with store.read() as conn:
            assert conn.execute(select(func.count()).select_from(AuditEvent)
                                .where(AuditEvent.actor == "bob")).scalar_one() == 1
