"""How the order screen and the route and ship forms look at 80x24 and 120x40 (fixed data and clock)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual.pilot import Pilot

from store import Store
from tests.tui._order_data import FIXED, Orders
from tests.tui.conftest import settle_app
from tui import OmsApp
from tui.access import Operator
from tui.screens.order import OrderScreen
from tui.screens.route import RouteScreen
from tui.screens.ship import ShipScreen

SnapCompare = Callable[..., bool]
SIZES = [(80, 24), (120, 40)]


def _app(store: Store) -> OmsApp:
    return OmsApp(store, operator=Operator("ann", "operator"), poll_seconds=None, now=lambda: FIXED)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_order_screen(shop: tuple[Store, Orders], size: tuple[int, int], snap_compare: SnapCompare) -> None:
    store, orders = shop

    async def open_it(pilot: Pilot[None]) -> None:
        await settle_app(pilot)
        pilot.app.push_screen(OrderScreen(orders.unknown))
        await settle_app(pilot)

    assert snap_compare(_app(store), terminal_size=size, run_before=open_it)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_order_routing_tab(shop: tuple[Store, Orders], size: tuple[int, int], snap_compare: SnapCompare) -> None:
    store, orders = shop

    async def open_it(pilot: Pilot[None]) -> None:
        await settle_app(pilot)
        pilot.app.push_screen(OrderScreen(orders.short))
        await settle_app(pilot)
        await pilot.press("3")
        await settle_app(pilot)

    assert snap_compare(_app(store), terminal_size=size, run_before=open_it)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_route_form(shop: tuple[Store, Orders], size: tuple[int, int], snap_compare: SnapCompare) -> None:
    store, orders = shop

    async def open_it(pilot: Pilot[None]) -> None:
        await settle_app(pilot)
        pilot.app.push_screen(OrderScreen(orders.short))
        await settle_app(pilot)
        pilot.app.push_screen(RouteScreen(orders.short))
        await settle_app(pilot)

    assert snap_compare(_app(store), terminal_size=size, run_before=open_it)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_ship_form(shop: tuple[Store, Orders], size: tuple[int, int], snap_compare: SnapCompare) -> None:
    store, orders = shop

    async def open_it(pilot: Pilot[None]) -> None:
        await settle_app(pilot)
        pilot.app.push_screen(OrderScreen(orders.allocated))
        await settle_app(pilot)
        pilot.app.push_screen(ShipScreen(orders.allocated))
        await settle_app(pilot)
        await pilot.press(*"UPS")

    assert snap_compare(_app(store), terminal_size=size, run_before=open_it)
