"""The route and ship forms over the order screen: keys in, reservations and shipments out."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from sqlalchemy import select
from textual.widgets import DataTable, Static

from store import Store
from store.catalog import limit_channel_locations
from store.inventory import receive
from store.models import AuditEvent, Carton, Location, Reservation, RoutingDecision, Shipment
from tests.tui._order_data import Orders
from tests.tui.test_order_screen import app_for, last_event, open_order, order_of, type_text
from tests.tui.conftest import settle_app
from tui.screens.order import OrderScreen
from tui.screens.route import RouteScreen
from tui.screens.ship import ShipScreen

SIZE = (120, 40)


def reserved_at(store: Store, order_id: int) -> dict[str, int]:
    from store.models import OrderLine

    with store.read() as conn:
        rows = conn.execute(
            select(Location.code, Reservation.qty).join(Location, Location.id == Reservation.location_id)
            .join(OrderLine, OrderLine.id == Reservation.line_id)
            .where(OrderLine.order_id == order_id, Reservation.state == "active")
        ).all()
    out: dict[str, int] = {}
    for code, qty in rows:
        out[code] = out.get(code, 0) + qty
    return out


def rows(screen: Any, table: str) -> list[list[str]]:
    t = screen.query_one(table, DataTable)
    return [[str(c) for c in t.get_row_at(i)] for i in range(t.row_count)]


async def test_a_split_route_reserves_at_two_locations(shop: tuple[Store, Orders]) -> None:
    store, orders = shop
    receive(store, "S2", "A", 1)  # A has 2 of S2 now, B 5; the order wants 4
    app = app_for(store)
    async with app.run_test(size=SIZE) as pilot:
        order = await open_order(pilot, orders.short)
        await pilot.press("r")
        await settle_app(pilot)
        route = app.screen
        assert isinstance(route, RouteScreen)
        text = str(route.query_one("#route-proposal", Static).render())
        assert text.startswith("Routing would: backordered")
        assert [r[:5] for r in rows(route, "#route-table")] == [["1", "S2", "4", "A", "2"], ["1", "S2", "4", "B", "5"]]
        # Two from A (the first row), two from B (the second).
        await pilot.press("x", "enter")
        await type_text(pilot, "2")
        await pilot.press("enter", "down", "enter")
        await type_text(pilot, "2")
        await pilot.press("enter")
        assert [r[6] for r in rows(route, "#route-table")] == ["2", "2"]
        assert "line 1: 4 of 4 chosen" in str(route.query_one("#route-summary", Static).render())
        await pilot.press("ctrl+s")
        await settle_app(pilot)
        assert app.screen is order
        assert reserved_at(store, orders.short) == {"A": 2, "B": 2}
        assert order_of(store, orders.short).status == "allocated"
        with store.read() as conn:
            d = conn.execute(select(RoutingDecision).where(RoutingDecision.order_id == orders.short)
                             .order_by(RoutingDecision.id.desc())).first()
        assert d is not None and (d.trigger, d.outcome) == ("operator", "split")
        assert d.explanation["decided_by"] == "chosen by ann"
        assert last_event(store, "order.routed_by_operator").actor == "ann"
        assert sorted(r[2] for r in rows(order, "#order-reservations")) == ["A", "B"]


async def test_accepting_the_proposal_reserves_what_routing_proposes(shop: tuple[Store, Orders]) -> None:
    store, orders = shop
    limit_channel_locations(store, "web", ["A", "B"])  # B, with 5 of S2, now serves the channel
    app = app_for(store)
    async with app.run_test(size=SIZE) as pilot:
        await open_order(pilot, orders.short)
        await pilot.press("r")
        await settle_app(pilot)
        route = app.screen
        assert isinstance(route, RouteScreen)
        assert "Routing would: allocated - line 1 at B x4" in str(route.query_one("#route-proposal", Static).render())
        await pilot.press("a")
        await settle_app(pilot)
        assert isinstance(app.screen, OrderScreen)
        assert reserved_at(store, orders.short) == {"B": 4}
        with store.read() as conn:
            d = conn.execute(select(RoutingDecision).where(RoutingDecision.trigger == "operator")).one()
        assert d.explanation["decided_by"] == "rule fallback, accepted by ann"


async def test_a_viewer_sees_the_proposal_but_cannot_route(shop: tuple[Store, Orders]) -> None:
    store, orders = shop
    limit_channel_locations(store, "web", ["A", "B"])
    app = app_for(store, role="viewer", name="vic")
    async with app.run_test(size=SIZE) as pilot:
        await open_order(pilot, orders.short)
        app.push_screen(RouteScreen(orders.short))
        await settle_app(pilot)
        route = app.screen
        assert isinstance(route, RouteScreen) and route.check_action("accept", ()) is None
        await pilot.press("a")
        await settle_app(pilot)
        assert reserved_at(store, orders.short) == {}


async def test_shipping_writes_a_shipment_with_the_tracking_typed(shop: tuple[Store, Orders]) -> None:
    store, orders = shop
    app = app_for(store)
    async with app.run_test(size=SIZE) as pilot:
        order = await open_order(pilot, orders.allocated)
        await pilot.press("s")
        await settle_app(pilot)
        form = app.screen
        assert isinstance(form, ShipScreen)
        assert rows(form, "#ship-cartons") == [["1", "S1", "2", "2"]]
        assert "Ships loose" in str(form.query_one("#ship-note", Static).render())
        await type_text(pilot, "UPS")
        await pilot.press("tab")
        await type_text(pilot, "GROUND")
        await pilot.press("tab")
        await type_text(pilot, "1Z999AA10123456784")
        await pilot.press("enter")
        await settle_app(pilot)
        assert app.screen is order
        with store.read() as conn:
            s = conn.execute(select(Shipment).where(Shipment.order_id == orders.allocated)).one()
        assert (s.carrier, s.service, s.tracking, s.status) == ("UPS", "GROUND", "1Z999AA10123456784", "shipped")
        assert order_of(store, orders.allocated).status == "shipped"
        event = last_event(store, "shipment.shipped")
        assert event.actor == "ann" and event.detail["tracking"] == "1Z999AA10123456784"
        await pilot.press("4")
        shown = str(order.query_one("#order-shipments", Static).render())
        assert "UPS GROUND tracking 1Z999AA10123456784" in shown and "line 1 x2" in shown


async def test_shipping_in_two_cartons_labels_each_with_an_sscc(shop: tuple[Store, Orders]) -> None:
    store, orders = shop
    app = app_for(store, shipping=SimpleNamespace(gs1_company_prefix="0614141", sscc_extension=0))
    async with app.run_test(size=SIZE) as pilot:
        order = await open_order(pilot, orders.allocated)
        await pilot.press("s")
        await settle_app(pilot)
        form = app.screen
        assert isinstance(form, ShipScreen)
        await pilot.press("ctrl+n")  # carton 2, cursor on its column
        await pilot.press("enter")
        await type_text(pilot, "1")
        await pilot.press("enter")
        assert rows(form, "#ship-cartons") == [["1", "S1", "2", "1", "1"]]
        form.query_one("#ship-carrier").focus()
        await type_text(pilot, "UPS")
        await pilot.press("tab", "tab")
        await type_text(pilot, "1Z1")
        await pilot.press("ctrl+s")
        await settle_app(pilot)
        assert app.screen is order
        with store.read() as conn:
            cartons = conn.execute(select(Carton.sscc).order_by(Carton.id)).scalars().all()
        assert len(cartons) == 2 and all(len(c) == 18 and c.startswith("00614141") for c in cartons)
        await pilot.press("4")
        shown = str(order.query_one("#order-shipments", Static).render())
        assert f"carton SSCC {cartons[0]}: line 1 x1" in shown and f"carton SSCC {cartons[1]}: line 1 x1" in shown


async def test_a_shipment_without_tracking_is_not_sent(shop: tuple[Store, Orders]) -> None:
    store, orders = shop
    app = app_for(store)
    async with app.run_test(size=SIZE) as pilot:
        await open_order(pilot, orders.allocated)
        await pilot.press("s")
        await settle_app(pilot)
        await type_text(pilot, "UPS")
        await pilot.press("ctrl+s")
        await settle_app(pilot)
        assert isinstance(app.screen, ShipScreen)
        with store.read() as conn:
            assert conn.execute(select(Shipment)).first() is None
            assert conn.execute(select(AuditEvent).where(AuditEvent.action == "shipment.shipped")).first() is None
