"""The app around the screens: keys, remapping, the command palette, quitting."""

from __future__ import annotations

import importlib
import pkgutil

from textual.binding import Binding
from textual.dom import DOMNode
from textual.command import CommandList
from textual.widgets import Footer

from store import Store
from store.models import Order
from tests.tui.conftest import settle, visible_lines
from tests.tui.test_orders_screen import SIZE, db_count, table_of
import tui
from tui import OmsApp
from tui.screens.orders import OrdersScreen
from tui.widgets.order_table import OrderTable


def _tui_classes() -> list[type[DOMNode]]:
    """Every screen, widget and the app defined in the tui package."""
    found: dict[str, type[DOMNode]] = {}
    for info in pkgutil.walk_packages(tui.__path__, "tui."):
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, DOMNode) and value.__module__ == info.name:
                found[f"{value.__module__}.{value.__qualname__}"] = value
    return list(found.values())


def test_every_binding_has_an_id_a_description_and_a_tooltip() -> None:
    classes = _tui_classes()
    assert {OmsApp, OrdersScreen, OrderTable} <= set(classes)
    assert len(classes) >= 20  # every screen and widget, not just the first few
    ids = []
    for owner in classes:
        keys: list[str] = []
        for binding in owner.__dict__.get("BINDINGS", []):
            assert isinstance(binding, Binding), owner
            assert binding.id and binding.description and binding.tooltip, (owner, binding)
            ids.append(binding.id)
            keys += binding.key.split(",")
        assert len(keys) == len(set(keys)), f"{owner.__name__} binds a key twice: {sorted(keys)}"
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


async def test_the_footer_shows_the_keys(orders_store: Store) -> None:
    app = OmsApp(orders_store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        footer = app.screen.query_one(Footer)
        shown = {getattr(key, "description", None) for key in footer.query("FooterKey")}
        assert {"Quit", "Reload"} <= shown


async def test_keys_can_be_remapped_by_binding_id(orders_store: Store) -> None:
    app = OmsApp(orders_store, keymap={"orders.filter-backordered": "b"})
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("b")
        await settle(pilot)
        assert table_of(app).row_count == db_count(orders_store, Order.status == "backordered")


async def test_the_palette_offers_the_filters_with_their_counts(orders_store: Store) -> None:
    expected = db_count(orders_store, Order.status == "backordered")
    app = OmsApp(orders_store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await pilot.press(*"backordered")
        await settle(pilot)
        offered = visible_lines(app.screen.query_one(CommandList))
        assert any(f"Orders: Backordered ({expected:,})" in line for line in offered)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, OrdersScreen)
        assert app.screen.filter_key == "backordered"
        assert table_of(app).row_count == expected


async def test_ctrl_q_quits_from_the_filter_list(orders_store: Store) -> None:
    app = OmsApp(orders_store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("tab")
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert not app.is_running


async def test_f1_shows_and_hides_every_key(orders_store: Store) -> None:
    app = OmsApp(orders_store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f1")
        assert app.screen.query("HelpPanel")
        await pilot.press("f1")
        await pilot.pause()
        assert not app.screen.query("HelpPanel")


async def test_a_write_the_role_does_not_allow_is_refused_however_it_was_asked_for(orders_store: Store) -> None:
    """A form's Enter or a palette entry reaches `perform` without a greyed key: it checks again."""
    from tui import Operator

    app = OmsApp(orders_store, operator=Operator("vic", "viewer"), poll_seconds=None)
    written: list[str] = []
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.perform("operator", "hold an order", written.append)
        await settle(pilot)
        assert written == []
        assert any("vic is a viewer" in str(note.message) for note in app._notifications)
