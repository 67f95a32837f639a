"""How the returns list, an RMA, the new-return form and the stock screen look at 80x24 and
120x40 (fixed data and clock; see _returns_stock_data)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable

from store import Store
from tests.tui._returns_stock_data import NOW, order_id
from tests.tui.conftest import settle_app
from tui import OmsApp
from tui.access import Operator
from tui.screens.new_return import NewReturnScreen

SnapCompare = Callable[..., bool]
SIZES = pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])


def app_for(store: Store) -> OmsApp:
    return OmsApp(store, operator=Operator("ann", "operator"), now=lambda: NOW, poll_seconds=None)


def keys(*pressed: str) -> Callable[[Pilot[None]], Awaitable[None]]:
    async def run(pilot: Pilot[None]) -> None:
        await settle_app(pilot)
        for key in pressed:
            await pilot.press(key)
            await settle_app(pilot)

    return run


@SIZES
def test_returns_list(desk: Store, snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    assert snap_compare(app_for(desk), terminal_size=size, run_before=keys("f4", "2"))


@SIZES
def test_rma(desk: Store, snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    # RMA-000001 is second in the list (RMA-000002 is newer).
    assert snap_compare(app_for(desk), terminal_size=size, run_before=keys("f4", "down", "enter"))


@SIZES
def test_new_return_form(desk: Store, snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    async def run(pilot: Pilot[None]) -> None:
        await keys("f4")(pilot)
        pilot.app.push_screen(NewReturnScreen(order_id(desk, "W1")))
        await settle_app(pilot)

    assert snap_compare(app_for(desk), terminal_size=size, run_before=run)


@SIZES
def test_stock(desk: Store, snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    async def run(pilot: Pilot[None]) -> None:
        await keys("f3")(pilot)
        assert pilot.app.screen.query_one("#stock-grid", DataTable).row_count == 5

    assert snap_compare(app_for(desk), terminal_size=size, run_before=run)
