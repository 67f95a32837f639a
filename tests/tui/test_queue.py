"""The queue: exception queues, search, channel, selection and bulk actions, live refresh.

Driven like a user drives it (keys in, screen text and store state out), on the seeded
3,000 orders plus a few made to wait in every queue with real store functions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Connection, func, select
from textual.pilot import Pilot

from store import Store
from store.catalog import location_id, sku_id
from store.documents import DocumentProblem, finish, store_payload
from store.fulfilment import ship_reserved
from store.holds import hold
from store.inventory import apply_movement
from store.models import AuditEvent, Document, Order, OutboxMessage
from store.orders import flag_exception
from store.outbox import claim, failed
from tests.tui.conftest import EPOCH, ORDER_COUNT, external_id, order_lines, seed, settle, settle_app
from tui import OmsApp
from tui.access import Operator
from tui.labels import FILTER_KEYS
from tui.screens.ask import AskText, Confirm
from tui.screens.order import OrderScreen
from tui.screens.orders import OrdersScreen
from tui.widgets.order_search import DEBOUNCE_SECONDS, OrderSearch
from tui.widgets.order_table import OrderTable
from tui.widgets.status_filter import StatusFilter

SIZE = (120, 40)
# The app's clock: two days and a bit after the first seeded order came in.
NOW = EPOCH + dt.timedelta(days=3, hours=1)
ANN = Operator("ann", "operator")
OPEN = ("received", "on_hold", "allocated", "backordered")


# ---- data -------------------------------------------------------------------------


def ids_of(store: Store, *where: Any) -> list[int]:
    with store.read() as conn:
        return list(conn.execute(select(Order.id).where(*where).order_by(Order.id.desc())).scalars())


def id_of(store: Store, n: int) -> int:
    return ids_of(store, Order.external_id == external_id(n))[0]


@pytest.fixture
def queued(orders_store: Store) -> Iterator[Store]:
    """The seeded orders plus: 3 on hold, 2 unroutable, 1 shipped whose confirmation failed,
    1 shipped still confirming, 1 rejected document. Old unshipped orders are overdue by NOW."""
    store = orders_store
    for n in (2990, 2980, 2970):
        hold(store, id_of(store, n), "address check", "address")
    for n in (2960, 2955):
        oid = id_of(store, n)

        def unroutable(conn: Connection, oid: int = oid) -> None:
            flag_exception(conn, oid, "unroutable", "no location can ship it", actor="routing",
                           action="order.unroutable", detail={})

        store.run(unroutable)
    for n in (1002, 1003):
        ship_reserved(store, id_of(store, n), carrier="UPS", tracking=f"1Z{n}")
    message = claim(store, kinds=["shipment_confirm"], limit=1)[0]
    failed(store, message.id, "the channel said 500")
    doc = store_payload(store, b"ISA*not really", kind="x12", source="sftp:acme")
    finish(store, doc.id, problems=[DocumentProblem(1, "not an interchange")], accepted=0)
    yield store


def expected_ids(store: Store, key: str) -> list[int]:
    """What each queue should list, newest first, read straight from the tables."""
    if key == "all":
        return ids_of(store)
    if key == "exceptions":
        return ids_of(store, Order.exception.is_not(None))
    if key in ("unknown_item", "unroutable"):
        return ids_of(store, Order.exception == key)
    if key == "confirm_failed":
        with store.read() as conn:
            ids = set(conn.execute(select(OutboxMessage.order_id).where(
                OutboxMessage.kind == "shipment_confirm", OutboxMessage.state.in_(("failed", "dead")))).scalars())
        return sorted((i for i in ids if i is not None), reverse=True)
    if key == "overdue":
        today = NOW.date()
        with store.read() as conn:
            rows = conn.execute(select(Order.id, Order.status, Order.fulfilment, Order.requested_ship_date,
                                       Order.placed_at, Order.received_at)).all()
        late = []
        for r in rows:
            started = r.placed_at if r.placed_at is not None and r.placed_at <= r.received_at else r.received_at
            due = r.requested_ship_date or started.date() + dt.timedelta(days=2)
            if r.status in OPEN and r.fulfilment != "pickup" and due < today:
                late.append(r.id)
        return sorted(late, reverse=True)
    return ids_of(store, Order.status == key)


def audit_actors(store: Store, order_ids: list[int], *actions: str) -> set[str]:
    with store.read() as conn:
        return set(conn.execute(select(AuditEvent.actor).where(
            AuditEvent.entity == "order", AuditEvent.entity_id.in_(order_ids), AuditEvent.action.in_(actions)
        )).scalars())


def status_of(store: Store, order_ids: list[int]) -> list[str]:
    with store.read() as conn:
        by = dict(conn.execute(select(Order.id, Order.status).where(Order.id.in_(order_ids))).all())
    return [by[i] for i in order_ids]


# ---- driving --------------------------------------------------------------------------


def app_for(store: Store, operator: Operator = ANN, **kw: Any) -> OmsApp:
    kw.setdefault("poll_seconds", None)
    return OmsApp(store, operator=operator, now=lambda: NOW, **kw)


def screen_of(app: OmsApp) -> OrdersScreen:
    screen = next(s for s in reversed(app.screen_stack) if isinstance(s, OrdersScreen))
    return screen


def table_of(app: OmsApp) -> OrderTable:
    return screen_of(app).query_one(OrderTable)


async def choose(pilot: Pilot[None], key: str) -> None:
    """Pick a filter choice as a user would: its number key, else from the list."""
    number = FILTER_KEYS.index(key)
    if number < 10:
        await pilot.press(str(number))
    else:
        choices = screen_of(pilot.app).query_one(StatusFilter)  # type: ignore[arg-type]
        choices.focus()
        choices.highlighted = choices.get_option_index(key)
        await pilot.press("enter")
    await settle(pilot)


def shown_ids(app: OmsApp) -> list[str]:
    """The order numbers on screen, top to bottom."""
    if not table_of(app).row_count:
        return []
    return [line.split()[0].lstrip("✓") or line.split()[1] for line in order_lines(app) if line.strip()]


async def typed(pilot: Pilot[None]) -> None:
    """Let the search box's pause after typing pass, then the search run."""
    await pilot.pause(DEBOUNCE_SECONDS * 2)
    await settle(pilot)


async def toasts(pilot: Pilot[None]) -> list[str]:
    await settle_app(pilot)
    return [str(toast.render()) for toast in pilot.app.screen.query("Toast")]


# ---- queues -------------------------------------------------------------------------------


@pytest.mark.parametrize("key", [k for k in FILTER_KEYS if k != "edi_rejected"])
async def test_each_queue_counts_and_lists_what_the_store_holds(queued: Store, key: str) -> None:
    expected = expected_ids(queued, key)
    app = app_for(queued)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await choose(pilot, key)
        table = table_of(app)
        assert screen_of(app).filter_key == key
        assert table.row_count == len(expected)
        assert screen_of(app).query_one(StatusFilter).count(key) == len(expected)
        assert list(table.ids) == expected
        with queued.read() as conn:
            names = dict(conn.execute(select(Order.id, Order.external_id).where(Order.id.in_(expected[:40]))).all())
        assert shown_ids(app) == [names[i] for i in expected[: len(shown_ids(app))]]
    assert key in ("partially_shipped", "closed", "picked_up", "ready_for_pickup", "cancelled") or expected


async def test_edi_rejected_shows_its_count_and_opens_the_rejected_documents(queued: Store) -> None:
    with queued.read() as conn:
        rejected = conn.execute(select(func.count()).select_from(Document).where(Document.state == "rejected")).scalar()
    app = app_for(queued)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert screen_of(app).query_one(StatusFilter).count("edi_rejected") == rejected == 1
        choices = screen_of(app).query_one(StatusFilter)
        choices.focus()
        choices.highlighted = choices.get_option_index("edi_rejected")
        await pilot.press("enter")
        await settle_app(pilot)
        assert app.current_mode == "edi"


# ---- search and channel ---------------------------------------------------------------------------


async def test_search_by_order_number_and_buyer_name(orders_store: Store) -> None:
    app = app_for(orders_store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("slash")
        assert isinstance(app.focused, OrderSearch)
        await pilot.press(*"w0299")
        await typed(pilot)
        assert table_of(app).row_count == 10  # W02990..W02999, typed in small letters
        assert shown_ids(app) == [external_id(n) for n in range(2999, 2989, -1)]
        assert "“w0299”" in str(table_of(app).border_title)
        await pilot.press("enter")
        assert app.focused is table_of(app)
        await pilot.press("slash", *["backspace"] * 5, *"buyer 123")
        await typed(pilot)
        expected = ids_of(orders_store, Order.buyer_name.like("Buyer 123%"))
        assert list(table_of(app).ids) == expected and len(expected) == 11  # 123, 1230..1239
        await pilot.press("escape")
        await settle(pilot)
        assert table_of(app).row_count == ORDER_COUNT
        assert not screen_of(app).query_one(OrderSearch).display


async def test_search_combines_with_the_queue_and_a_superseded_search_is_dropped(orders_store: Store) -> None:
    app = app_for(orders_store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await choose(pilot, "backordered")
        await pilot.press("slash", *"W02")  # each key restarts the wait: one search runs
        await typed(pilot)
        expected = ids_of(orders_store, Order.status == "backordered", Order.external_id.like("W02%"))
        assert list(table_of(app).ids) == expected
        assert all(" backordered " in line for line in order_lines(app) if line.strip())


async def test_c_steps_through_the_channels_combined_with_the_queue(orders_store: Store) -> None:
    app = app_for(orders_store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        assert screen_of(app).channel == "amz"
        assert list(table_of(app).ids) == ids_of(orders_store, Order.channel_id == 2)
        assert all(" amz " in line for line in order_lines(app) if line.strip())
        await choose(pilot, "backordered")
        expected = ids_of(orders_store, Order.channel_id == 2, Order.status == "backordered")
        assert list(table_of(app).ids) == expected
        assert screen_of(app).query_one(StatusFilter).count("backordered") == len(expected)
        assert table_of(app).border_title == "Backordered · amz"
        await pilot.press("c")
        await settle(pilot)
        assert screen_of(app).channel == "web"
        await pilot.press("c")
        await settle(pilot)
        assert screen_of(app).channel is None
        assert table_of(app).row_count == len(ids_of(orders_store, Order.status == "backordered"))


# ---- one order, selection --------------------------------------------------------------------


async def test_enter_opens_the_highlighted_order(orders_store: Store) -> None:
    app = app_for(orders_store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("down", "down", "enter")
        await pilot.pause()
        assert isinstance(app.screen, OrderScreen)
        assert app.screen.order_id == id_of(orders_store, ORDER_COUNT - 3)


async def test_space_selects_star_selects_the_list_escape_lets_go(orders_store: Store) -> None:
    app = app_for(orders_store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = table_of(app)
        await pilot.press("space", "space")  # selects and moves on: two orders
        assert table.selected == {id_of(orders_store, ORDER_COUNT - 1), id_of(orders_store, ORDER_COUNT - 2)}
        lines = order_lines(app)
        assert lines[0].startswith("✓") and lines[1].startswith("✓") and not lines[2].startswith("✓")
        assert table.border_subtitle == f"{ORDER_COUNT:,} orders · 2 selected"
        await pilot.press("up", "space")  # again: let go
        assert len(table.selected) == 1
        await pilot.press("escape")
        assert not table.selected
        await choose(pilot, "unknown_item")
        await pilot.press("asterisk")
        assert table.selected == set(ids_of(orders_store, Order.exception == "unknown_item"))
        await pilot.press("0")  # another list: the selection goes (bulk keys act on what is listed)
        await settle(pilot)
        assert not table.selected
        assert table.border_subtitle == f"{ORDER_COUNT:,} orders"


async def test_selecting_more_than_the_cap_asks_first(orders_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tui.screens.orders.SELECT_CAP", 100)
    app = app_for(orders_store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("asterisk")
        await pilot.pause()
        assert isinstance(app.screen, Confirm)
        await pilot.press("y")
        await pilot.pause()
        assert table_of(app).selected == set(ids_of(orders_store)[:100])


# ---- bulk actions ----------------------------------------------------------------------------------


async def test_bulk_release_takes_the_selected_orders_off_hold(queued: Store) -> None:
    held = ids_of(queued, Order.status == "on_hold")
    assert len(held) == 3
    app = app_for(queued)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        await choose(pilot, "on_hold")
        await pilot.press("asterisk", "u")
        await pilot.pause()
        assert isinstance(app.screen, AskText)
        await pilot.press(*"address confirmed", "enter")
        shown = await toasts(pilot)
        assert any("Released 3 of 3 orders" in t for t in shown)
        await settle(pilot)
        assert "on_hold" not in status_of(queued, held)
        assert audit_actors(queued, held, "order.hold_released") == {"ann"}
        assert table_of(app).row_count == 0 and not table_of(app).selected
        assert screen_of(app).query_one(StatusFilter).count("on_hold") == 0


async def test_bulk_release_reports_what_it_skipped(queued: Store) -> None:
    app = app_for(queued)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("space", "space", "u")  # the two newest: not on hold
        await pilot.pause()
        await pilot.press(*"why not", "enter")
        shown = await toasts(pilot)
        assert any("Released 0 of 2 orders; skipped 2: 2 " in t and ", not on hold" in t for t in shown), shown


async def test_bulk_route_places_backordered_orders_when_stock_is_there(orders_store: Store) -> None:
    waiting = ids_of(orders_store, Order.status == "backordered")[-2:]  # the oldest: first in line for stock
    # Stock arrives without filling backorders (a receipt fills them itself).
    orders_store.run(lambda conn: apply_movement(conn, sku_id(conn, "S2"), location_id(conn, "A"), 10, "receipt"))
    app = app_for(orders_store)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        await choose(pilot, "backordered")
        await pilot.press("end")
        await settle(pilot)
        await pilot.press("space", "up", "space", "r")
        await pilot.pause()
        assert isinstance(app.screen, Confirm)
        await pilot.press("y")
        shown = await toasts(pilot)
        assert any("Routed 2 of 2 orders" in t for t in shown), shown
        assert status_of(orders_store, waiting) == ["allocated", "allocated"]
        assert audit_actors(orders_store, waiting, "order.routed_by_operator") == {"ann"}


async def test_bulk_cancel_asks_twice_and_skips_a_shipped_order(queued: Store) -> None:
    shipped = id_of(queued, 1002)
    chosen = [id_of(queued, 2999), id_of(queued, 2998)]
    app = app_for(queued)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        table = table_of(app)
        table.select([*chosen, shipped])
        await pilot.press("x")
        await pilot.pause()
        assert isinstance(app.screen, Confirm)
        await pilot.press("y")
        await pilot.pause()
        assert isinstance(app.screen, AskText)
        await pilot.press(*"buyer asked", "enter")
        shown = await toasts(pilot)
        assert any("Cancelled 2 of 3 orders; skipped 1:" in t for t in shown), shown
        assert status_of(queued, chosen) == ["cancelled", "cancelled"]
        assert status_of(queued, [shipped]) == ["shipped"]
        assert audit_actors(queued, chosen, "order.cancelled") == {"ann"}


async def test_saying_no_cancels_nothing(orders_store: Store) -> None:
    app = app_for(orders_store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("x")
        await pilot.pause()
        await pilot.press("n")
        await settle_app(pilot)
        assert isinstance(app.screen, OrdersScreen)
    assert not ids_of(orders_store, Order.status == "cancelled")


async def test_a_viewer_cannot_cancel_release_or_route(orders_store: Store) -> None:
    app = app_for(orders_store, Operator("vic", "viewer"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        bindings = app.screen.active_bindings
        for action in ("cancel_orders", "release_holds", "route"):
            assert not next(b for b in bindings.values() if b.binding.action == action).enabled, action
        await pilot.press("space", "x", "u", "r")
        await settle_app(pilot)
        assert isinstance(app.screen, OrdersScreen)  # no dialog opened
    assert not ids_of(orders_store, Order.status == "cancelled")
    assert not audit_actors(orders_store, ids_of(orders_store), "order.cancelled")


# ---- live -------------------------------------------------------------------------------------------


async def wait_until(pilot: Pilot[None], condition: Any) -> None:
    """Wait for the app's poll to notice a change made elsewhere (a few poll periods at most)."""
    for _ in range(100):
        await pilot.pause(0.05)
        await settle_app(pilot)
        if condition():
            return
    raise AssertionError("the change never reached the screen")


async def test_rows_change_in_place_and_new_orders_come_in_above(orders_store: Store) -> None:
    app = app_for(orders_store, poll_seconds=0.1)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = table_of(app)
        await pilot.press("down", "space")  # W02998 selected, the cursor on W02997
        highlighted = table.highlighted_id
        third = id_of(orders_store, ORDER_COUNT - 3)
        assert highlighted == third
        hold(orders_store, third, "fraud check", "fraud", actor="gateway")
        await wait_until(pilot, lambda: " on hold " in order_lines(app)[2])
        assert shown_ids(app)[:3] == [external_id(n) for n in (2999, 2998, 2997)]  # nothing moved
        seed(orders_store, ORDER_COUNT, 1)  # the gateway takes a new order
        await wait_until(pilot, lambda: table.row_count == ORDER_COUNT + 1)
        assert shown_ids(app)[0] == external_id(ORDER_COUNT)  # at the top of the list
        assert table.highlighted_id == highlighted  # still on the order the user was on
        assert table.selected == {id_of(orders_store, ORDER_COUNT - 2)}
        assert order_lines(app)[2].startswith("✓")


async def test_a_reload_far_down_the_list_keeps_the_line_and_draws_no_placeholders(orders_store: Store) -> None:
    app = app_for(orders_store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = table_of(app)
        for _ in range(8):
            await pilot.press("pagedown")
        await settle(pilot)
        before = (table.highlighted_id, table.cursor_row - int(table.scroll_offset.y), order_lines(app))
        seed(orders_store, ORDER_COUNT, 3)
        app.data_version += 1  # what the poll does when the audit trail grew
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert table.row_count == ORDER_COUNT + 3
        assert all(line.strip() != "…" for line in order_lines(app))
        assert (table.highlighted_id, table.cursor_row - int(table.scroll_offset.y), order_lines(app)) == before
