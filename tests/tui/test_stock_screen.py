"""The stock screen driven by keys: levels per SKU and location, search, movements, and the
adjust, safety stock and receive actions."""

from __future__ import annotations


from textual.app import App
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Static

from store import Store
from store.catalog import NewSku, add_skus
from store.inventory import StockRow, stock_of
from tests.tui._returns_stock_data import NOW, last_actor
from tests.tui.conftest import settle_app
from tui import OmsApp
from tui.access import Operator
from tui.screens.ask import AskText
from tui.screens.stock import PAGE_SKUS, StockScreen

SIZE = (120, 40)
ANN = Operator("ann", "operator")


def app_for(store: Store, operator: Operator = ANN) -> OmsApp:
    return OmsApp(store, operator=operator, now=lambda: NOW, poll_seconds=None)


def rows(app: App[None], table: str = "#stock-grid") -> list[list[str]]:
    grid: DataTable[object] = app.screen.query_one(table, DataTable)
    return [[str(c) for c in grid.get_row_at(y)] for y in range(grid.row_count)]


def level(store: Store, sku: str, location: str) -> StockRow | None:
    with store.read() as conn:
        return next((r for r in stock_of(conn, sku) if r.location == location), None)


async def open_stock(pilot: Pilot[None]) -> StockScreen:
    await pilot.press("f3")
    await settle_app(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, StockScreen)
    return screen


async def highlight(pilot: Pilot[None], sku: str, location: str) -> None:
    app = pilot.app
    at = next(y for y, r in enumerate(rows(app)) if r[0] == sku and r[2] == location)
    app.screen.query_one("#stock-grid", DataTable).move_cursor(row=at)
    await settle_app(pilot)


async def answer(pilot: Pilot[None], text: str) -> None:
    """Type `text` over what the open question proposes, and press Enter."""
    assert isinstance(pilot.app.screen, AskText)
    pilot.app.screen.query_one(Input).value = ""
    await pilot.press(*text, "enter")
    await settle_app(pilot)


async def test_every_sku_with_its_levels_per_location(desk: Store) -> None:
    app = app_for(desk)
    async with app.run_test(size=SIZE) as pilot:
        await open_stock(pilot)
        # SKU, name, location, on hand, reserved, safety, available
        assert rows(app) == [
            ["S1", "Widget", "A", "5", "0", "0", "5"],  # 10 received, 5 shipped on W1 and W2
            ["S2", "Gadget", "A", "4", "1", "0", "3"],  # W3's unit reserved
            ["S3", "Sprocket", "B", "7", "0", "0", "7"],
            ["S4", "Flange", "–", "0", "0", "0", "0"],
            ["S5", "Gasket", "–", "0", "0", "0", "0"],
        ]
        assert app.screen.query_one("#stock-grid", DataTable).border_subtitle == "SKUs 1–5"


async def test_movements_of_the_highlighted_sku_newest_first(desk: Store) -> None:
    app = app_for(desk)
    async with app.run_test(size=SIZE) as pilot:
        await open_stock(pilot)
        moves = rows(app, "#stock-moves")
        assert [(m[2], m[3], m[4]) for m in moves] == [
            ("-2", "shipment", moves[0][4]), ("-3", "shipment", moves[1][4]), ("+10", "receipt", "PO-1"),
        ]
        assert "Stock push owed to web" in str(app.screen.query_one("#stock-owed", Static).render())
        await highlight(pilot, "S3", "B")
        assert [(m[1], m[2], m[3]) for m in rows(app, "#stock-moves")] == [("B", "+7", "receipt")]
        assert "No stock push owed" in str(app.screen.query_one("#stock-owed", Static).render())


async def test_search_by_code_prefix(desk: Store) -> None:
    add_skus(desk, [NewSku(f"P{n:03d}", f"Part {n}", 100, "USD") for n in range(PAGE_SKUS + 10)])
    app = app_for(desk)
    async with app.run_test(size=SIZE) as pilot:
        await open_stock(pilot)
        await pilot.press("slash", *"s3")  # lower case finds the upper-case code
        await settle_app(pilot)
        assert [r[0] for r in rows(app)] == ["S3"]
        app.screen.query_one("#stock-search", Input).value = "P"
        await settle_app(pilot)
        await pilot.press("enter")  # back to the grid
        assert [r[0] for r in rows(app)][:2] == ["P000", "P001"] and len(rows(app)) == PAGE_SKUS
        await pilot.press("right_square_bracket")
        await settle_app(pilot)
        assert [r[0] for r in rows(app)] == [f"P{n:03d}" for n in range(PAGE_SKUS, PAGE_SKUS + 10)]
        assert app.screen.query_one("#stock-grid", DataTable).border_subtitle == f"SKUs {PAGE_SKUS + 1}–{PAGE_SKUS + 10}  [ previous"
        await pilot.press("left_square_bracket")
        await settle_app(pilot)
        assert rows(app)[0][0] == "P000"
        app.screen.query_one("#stock-search", Input).value = "ZZ"
        await settle_app(pilot)
        assert rows(app) == []
        assert app.screen.query_one("#stock-grid", DataTable).border_subtitle == "no SKU starts with ZZ"


async def test_adjust_to_a_counted_on_hand_with_a_reason(desk: Store) -> None:
    app = app_for(desk)
    async with app.run_test(size=SIZE) as pilot:
        await open_stock(pilot)
        await pilot.press("a")
        await settle_app(pilot)
        await answer(pilot, "3")
        await answer(pilot, "cycle count")
        assert level(desk, "S1", "A") == StockRow("S1", "A", 3, 0, 0)
        assert last_actor(desk, "stock.adjusted") == "ann"
        assert rows(app)[0][3] == "3"
        assert rows(app, "#stock-moves")[0][2:6] == ["-2", "adjustment", "", "ann"]


async def test_adjust_by_a_change(desk: Store) -> None:
    app = app_for(desk)
    async with app.run_test(size=SIZE) as pilot:
        await open_stock(pilot)
        await highlight(pilot, "S3", "B")
        await pilot.press("a")
        await settle_app(pilot)
        await answer(pilot, "-2")
        await answer(pilot, "water damage")
        assert level(desk, "S3", "B") == StockRow("S3", "B", 5, 0, 0)
        assert rows(app, "#stock-moves")[0][6] == "water damage"


async def test_adjust_below_reserved_is_refused_and_changes_nothing(desk: Store) -> None:
    app = app_for(desk)
    async with app.run_test(size=SIZE) as pilot:
        await open_stock(pilot)
        await highlight(pilot, "S2", "A")
        await pilot.press("a")
        await settle_app(pilot)
        await answer(pilot, "0")
        await answer(pilot, "count")
        assert level(desk, "S2", "A") == StockRow("S2", "A", 4, 1, 0)
        assert any("Could not adjust" in (n.title or "") for n in app._notifications)


async def test_set_safety_stock(desk: Store) -> None:
    app = app_for(desk)
    async with app.run_test(size=SIZE) as pilot:
        await open_stock(pilot)
        await pilot.press("s")
        await settle_app(pilot)
        await answer(pilot, "2")
        assert level(desk, "S1", "A") == StockRow("S1", "A", 5, 0, 2)
        assert last_actor(desk, "stock.safety_set") == "ann"
        assert rows(app)[0][5:] == ["2", "3"]


async def test_receive_units_with_a_reference(desk: Store) -> None:
    app = app_for(desk)
    async with app.run_test(size=SIZE) as pilot:
        await open_stock(pilot)
        await pilot.press("r")
        await settle_app(pilot)
        await answer(pilot, "4")
        await answer(pilot, "PO-9")
        assert level(desk, "S1", "A") == StockRow("S1", "A", 9, 0, 0)
        assert last_actor(desk, "stock.received") == "ann"
        assert rows(app, "#stock-moves")[0][2:6] == ["+4", "receipt", "PO-9", "ann"]


async def test_receive_a_sku_with_no_stock_asks_where(desk: Store) -> None:
    app = app_for(desk)
    async with app.run_test(size=SIZE) as pilot:
        await open_stock(pilot)
        await highlight(pilot, "S4", "–")
        await pilot.press("r")
        await settle_app(pilot)
        await answer(pilot, "B")
        await answer(pilot, "6")
        await answer(pilot, "")
        assert level(desk, "S4", "B") == StockRow("S4", "B", 6, 0, 0)
        assert ["S4", "Flange", "B", "6", "0", "0", "6"] in rows(app)


async def test_a_viewer_cannot_adjust(desk: Store) -> None:
    app = app_for(desk, Operator("vic", "viewer"))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_stock(pilot)
        for action in ("adjust", "safety", "receive"):
            assert screen.check_action(action, ()) is None
        await pilot.press("a")
        await settle_app(pilot)
        assert app.screen is screen  # no question asked
        assert level(desk, "S1", "A") == StockRow("S1", "A", 5, 0, 0)
        assert last_actor(desk, "stock.adjusted") is None


async def test_levels_and_movements_follow_changes_made_elsewhere(desk: Store) -> None:
    from store.inventory import receive

    app = app_for(desk)
    async with app.run_test(size=SIZE) as pilot:
        await open_stock(pilot)
        receive(desk, "S1", "A", 7, reference="PO-7", actor="gateway")
        app.data_version += 1  # what the app's poll does when the audit trail grows
        await settle_app(pilot)
        assert rows(app)[0][3] == "12"
        assert rows(app, "#stock-moves")[0][2:6] == ["+7", "receipt", "PO-7", "gateway"]
