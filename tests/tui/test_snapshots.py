"""How the queue looks, at 80x24 and 120x40 (fixed data and clock; see conftest)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from textual.pilot import Pilot

from store import Store
from tests.tui.conftest import EPOCH, settle
from tui import OmsApp
from tui.access import Operator

SnapCompare = Callable[..., bool]
NOW = EPOCH + dt.timedelta(days=3, hours=1)


def app_for(store: Store) -> OmsApp:
    return OmsApp(store, operator=Operator("ann", "operator"), now=lambda: NOW, poll_seconds=None)


def test_order_list_at_80x24(orders_store: Store, snap_compare: SnapCompare) -> None:
    assert snap_compare(app_for(orders_store), terminal_size=(80, 24), run_before=settle)


def test_backordered_orders_at_80x24(orders_store: Store, snap_compare: SnapCompare) -> None:
    async def choose(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("4", "down", "down")
        await settle(pilot)

    assert snap_compare(app_for(orders_store), terminal_size=(80, 24), run_before=choose)


def test_a_selection_at_120x40(orders_store: Store, snap_compare: SnapCompare) -> None:
    async def select(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("space", "down", "space", "space")
        await settle(pilot)

    assert snap_compare(app_for(orders_store), terminal_size=(120, 40), run_before=select)


def test_a_search_on_one_channel_at_80x24(orders_store: Store, snap_compare: SnapCompare) -> None:
    async def search(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("c", "slash", *"w01", "enter")
        await settle(pilot)

    assert snap_compare(app_for(orders_store), terminal_size=(80, 24), run_before=search)
