"""How the order list looks, at 80x24 (fixed data and clock; see conftest)."""

from __future__ import annotations

from collections.abc import Callable

from textual.pilot import Pilot

from store import Store
from tests.tui.conftest import settle
from tui import OmsApp

SnapCompare = Callable[..., bool]


def test_order_list_at_80x24(orders_store: Store, snap_compare: SnapCompare) -> None:
    assert snap_compare(OmsApp(orders_store), terminal_size=(80, 24), run_before=settle)


def test_backordered_orders_at_80x24(orders_store: Store, snap_compare: SnapCompare) -> None:
    async def choose(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("4", "down", "down")
        await settle(pilot)

    assert snap_compare(OmsApp(orders_store), terminal_size=(80, 24), run_before=choose)
