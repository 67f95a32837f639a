"""The returns screens driven by keys: the RMA list, one RMA's steps, and a new return."""

from __future__ import annotations


from sqlalchemy import func, select
from textual.widgets import DataTable, Input, Static

from store import Store
from store.models import Order, OutboxMessage, Return
from store.returns import get_return
from tests.tui._returns_stock_data import NOW, last_actor, order_id
from tests.tui.conftest import settle_app
from tui import OmsApp
from tui.access import Operator
from tui.screens.new_return import NewReturnScreen
from tui.screens.returns import ReturnsScreen
from tui.screens.rma import RmaScreen
from tui.screens.rma_lines import RmaLinesDialog

SIZE = (120, 40)
ANN = Operator("ann", "operator")


def app_for(store: Store, operator: Operator = ANN) -> OmsApp:
    return OmsApp(store, operator=operator, now=lambda: NOW, poll_seconds=None)


def cells(table: DataTable[object]) -> list[list[str]]:
    return [[str(c) for c in table.get_row_at(y)] for y in range(table.row_count)]


def rmas_listed(app: OmsApp) -> list[str]:
    return [row[0] for row in cells(app.screen.query_one(DataTable))]


async def open_returns(pilot: object) -> None:
    await pilot.press("f4")  # type: ignore[attr-defined]
    await settle_app(pilot)  # type: ignore[arg-type]


async def open_rma(pilot: object, app: OmsApp, rma: str) -> RmaScreen:
    await open_returns(pilot)
    table = app.screen.query_one(DataTable)
    table.move_cursor(row=rmas_listed(app).index(rma))
    await pilot.press("enter")  # type: ignore[attr-defined]
    await settle_app(pilot)  # type: ignore[arg-type]
    assert isinstance(app.screen, RmaScreen) and app.screen.rma == rma
    return app.screen


def head_text(app: OmsApp) -> str:
    return str(app.screen.query_one("#rma-head", Static).render())


async def test_open_returns_are_listed_newest_first_and_all_adds_the_closed(desk: Store) -> None:
    app = app_for(desk)
    async with app.run_test(size=SIZE) as pilot:
        await open_returns(pilot)
        assert isinstance(app.screen, ReturnsScreen)
        table = app.screen.query_one(DataTable)
        assert table.border_title == "Open returns"
        assert rmas_listed(app) == ["RMA-000002", "RMA-000001"]
        first = cells(table)[0]
        assert first[1:5] == ["authorised", "W2", "web", "0/1"]
        assert table.border_subtitle == "1–2 of 2"
        await pilot.press("2")
        await settle_app(pilot)
        assert table.border_title == "All returns"
        assert rmas_listed(app) == ["RMA-000002", "RMA-000001", "RMA-000003"]
        assert cells(table)[2][1] == "closed"


async def test_enter_opens_the_rma_with_its_lines(desk: Store) -> None:
    app = app_for(desk)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_rma(pilot, app, "RMA-000001")
        assert "RMA-000001  received" in head_text(app)
        assert "order W1 on web" in head_text(app)
        rows = cells(screen.query_one("#rma-lines", DataTable))
        assert rows == [["1", "S1", "too small", "2", "2", "0", "0", "2", "opened", ""]]
        await pilot.press("escape")
        await settle_app(pilot)
        assert isinstance(app.screen, ReturnsScreen)


async def test_receive_records_the_units_per_line_where_they_arrived(desk: Store) -> None:
    app = app_for(desk)
    async with app.run_test(size=SIZE) as pilot:
        await open_rma(pilot, app, "RMA-000002")
        await pilot.press("r")
        await settle_app(pilot)
        assert isinstance(app.screen, RmaLinesDialog)
        assert app.screen.query_one("#line-1-qty", Input).value == "1"
        await pilot.press(*"B")  # the location field has the focus
        await pilot.press("ctrl+s")
        await settle_app(pilot)
        ret = get_return(desk, "RMA-000002")
        assert (ret.status, ret.location, ret.lines[0].received) == ("received", "B", 1)
        assert last_actor(desk, "return.received") == "ann"
        assert "RMA-000002  received" in head_text(app)
        assert cells(app.screen.query_one("#rma-lines", DataTable))[0][4] == "1"


async def test_inspect_restocks_at_the_location_received(desk: Store) -> None:
    from store.inventory import stock_of

    def on_hand() -> int:
        with desk.read() as conn:
            return next(r.on_hand for r in stock_of(conn, "S1") if r.location == "A")

    before = on_hand()
    app = app_for(desk)
    async with app.run_test(size=SIZE) as pilot:
        await open_rma(pilot, app, "RMA-000001")
        await pilot.press("i")
        await settle_app(pilot)
        assert app.screen.query_one("#line-1-restock", Input).value == "2"
        assert app.screen.query_one("#line-1-at", Input).value == "A"
        await pilot.press("ctrl+s")
        await settle_app(pilot)
        ret = get_return(desk, "RMA-000001")
        assert ret.status == "inspected" and ret.lines[0].restocked == 2
        assert ret.lines[0].restocked_at == (("A", 2),)
        assert on_hand() == before + 2
        assert last_actor(desk, "return.restocked") == "ann"
        assert "inspected" in head_text(app)


async def test_inspect_can_scrap_instead(desk: Store) -> None:
    app = app_for(desk)
    async with app.run_test(size=SIZE) as pilot:
        await open_rma(pilot, app, "RMA-000001")
        await pilot.press("i")
        await settle_app(pilot)
        app.screen.query_one("#line-1-restock", Input).value = "1"
        app.screen.query_one("#line-1-scrap", Input).value = "1"
        await pilot.press("ctrl+s")
        await settle_app(pilot)
        line = get_return(desk, "RMA-000001").lines[0]
        assert (line.restocked, line.scrapped) == (1, 1)
        assert last_actor(desk, "return.scrapped") == "ann"


async def test_resolve_with_a_refund_closes_it_and_queues_the_refund(desk: Store) -> None:
    app = app_for(desk)
    async with app.run_test(size=SIZE) as pilot:
        await open_rma(pilot, app, "RMA-000001")
        await pilot.press("i")
        await settle_app(pilot)
        await pilot.press("ctrl+s")
        await settle_app(pilot)
        await pilot.press("v")
        await settle_app(pilot)
        await pilot.press("enter")  # refund, as proposed
        await settle_app(pilot)
        await pilot.press(*"15.50", "enter")
        await settle_app(pilot)
        ret = get_return(desk, "RMA-000001")
        assert (ret.status, ret.resolution, ret.refund_minor) == ("closed", "refund", 1550)
        with desk.read() as conn:
            assert conn.execute(select(func.count()).select_from(OutboxMessage)
                                .where(OutboxMessage.kind == "refund")).scalar_one() == 2
        assert last_actor(desk, "return.closed") == "ann"
        assert "Resolution refund of 15.50 USD" in head_text(app)


async def test_resolve_with_an_exchange_creates_the_replacement_order(desk: Store) -> None:
    app = app_for(desk)
    async with app.run_test(size=SIZE) as pilot:
        await open_rma(pilot, app, "RMA-000001")
        await pilot.press("i")
        await settle_app(pilot)
        await pilot.press("ctrl+s")
        await settle_app(pilot)
        await pilot.press("v")
        await settle_app(pilot)
        app.screen.query_one(Input).value = "exchange"
        await pilot.press("enter")
        await settle_app(pilot)
        await pilot.press(*"S3 2", "enter")
        await settle_app(pilot)
        ret = get_return(desk, "RMA-000001")
        assert (ret.status, ret.resolution, ret.new_order_external_id) == ("closed", "exchange", "W1-RMA-000001")
        with desk.read() as conn:
            origin = conn.execute(select(Order.origin_kind).where(Order.id == ret.new_order_id)).scalar_one()
        assert origin == "exchange"
        assert last_actor(desk, "return.closed") == "ann"
        assert "W1-RMA-000001" in head_text(app)


async def test_cancel_asks_why_and_withdraws_the_rma(desk: Store) -> None:
    app = app_for(desk)
    async with app.run_test(size=SIZE) as pilot:
        await open_rma(pilot, app, "RMA-000002")
        await pilot.press("x")
        await settle_app(pilot)
        await pilot.press(*"customer kept it", "enter")
        await settle_app(pilot)
        assert get_return(desk, "RMA-000002").status == "cancelled"
        assert last_actor(desk, "return.cancelled") == "ann"
        await pilot.press("escape")
        await settle_app(pilot)
        assert rmas_listed(app) == ["RMA-000001"]


async def test_a_refused_step_is_reported_and_changes_nothing(desk: Store) -> None:
    app = app_for(desk)
    async with app.run_test(size=SIZE) as pilot:
        await open_rma(pilot, app, "RMA-000001")
        await pilot.press("x")  # received already: cannot be cancelled
        await settle_app(pilot)
        await pilot.press(*"oops", "enter")
        await settle_app(pilot)
        assert get_return(desk, "RMA-000001").status == "received"
        assert any("cannot be cancelled" in n.message for n in app._notifications)


async def test_new_return_from_the_list_authorises_and_opens_it(desk: Store) -> None:
    app = app_for(desk)
    async with app.run_test(size=SIZE) as pilot:
        await open_returns(pilot)
        await pilot.press("n")
        await settle_app(pilot)
        await pilot.press(*"W2", "enter")
        await settle_app(pilot)
        assert isinstance(app.screen, NewReturnScreen)
        # W2 shipped 2 of S1, 1 is on RMA-000002 already: 1 left to return.
        labels = [str(lbl.render()) for lbl in app.screen.query(".rma-line-row .rma-line-label")]
        assert labels == ["1 S1 1 of 2 @ USD 10.00"]
        await pilot.press(*"1")
        app.screen.query_one("#line-1-reason", Input).value = "wrong colour"
        await pilot.press("ctrl+s")
        await settle_app(pilot)
        assert isinstance(app.screen, RmaScreen) and app.screen.rma == "RMA-000004"
        ret = get_return(desk, "RMA-000004")
        assert ret.status == "authorised" and ret.lines[0].qty == 1 and ret.lines[0].reason == "wrong colour"
        assert last_actor(desk, "return.authorised") == "ann"


async def test_new_return_dismisses_with_the_rma_number(desk: Store) -> None:
    got: list[str | None] = []
    app = app_for(desk)
    async with app.run_test(size=SIZE) as pilot:
        await settle_app(pilot)
        app.push_screen(NewReturnScreen(order_id(desk, "W1")), got.append)
        await settle_app(pilot)
        labels = [str(lbl.render()) for lbl in app.screen.query(".rma-line-row .rma-line-label")]
        assert labels == ["1 S1 1 of 3 @ USD 10.00"]  # 2 on RMA-000001; line 2's unit on RMA-000003
        app.screen.query_one("#line-1-qty", Input).value = "1"
        app.screen.query_one("#line-1-reason", Input).value = "faulty"
        app.screen.query_one("#field-refund", Input).value = "10"
        await pilot.press("ctrl+s")
        await settle_app(pilot)
        assert got == ["RMA-000004"]
        ret = get_return(desk, "RMA-000004")
        assert (ret.resolution, ret.refund_minor) == ("refund", 1000)


async def test_new_return_refused_over_the_shipped_units_stays_open(desk: Store) -> None:
    app = app_for(desk)
    async with app.run_test(size=SIZE) as pilot:
        await settle_app(pilot)
        app.push_screen(NewReturnScreen(order_id(desk, "W2")))
        await settle_app(pilot)
        app.screen.query_one("#line-1-qty", Input).value = "2"
        app.screen.query_one("#line-1-reason", Input).value = "both"
        await pilot.press("ctrl+s")
        await settle_app(pilot)
        assert isinstance(app.screen, NewReturnScreen)
        with desk.read() as conn:
            assert conn.execute(select(func.count()).select_from(Return)).scalar_one() == 3


async def test_an_unshipped_order_has_nothing_to_return(desk: Store) -> None:
    app = app_for(desk)
    async with app.run_test(size=SIZE) as pilot:
        await settle_app(pilot)
        app.push_screen(NewReturnScreen(order_id(desk, "W3")))
        await settle_app(pilot)
        assert "nothing left to return" in str(app.screen.query_one("#new-return-head", Static).render())


async def test_a_viewer_cannot_receive_or_authorise(desk: Store) -> None:
    app = app_for(desk, Operator("vic", "viewer"))
    async with app.run_test(size=SIZE) as pilot:
        await open_returns(pilot)
        assert app.screen.check_action("new_return", ()) is None
        await pilot.press("n")
        await settle_app(pilot)
        assert isinstance(app.screen, ReturnsScreen)
        await open_rma(pilot, app, "RMA-000002")
        assert app.screen.check_action("receive", ()) is None
        await pilot.press("r")
        await settle_app(pilot)
        assert isinstance(app.screen, RmaScreen)
        assert get_return(desk, "RMA-000002").status == "authorised"
        assert last_actor(desk, "return.received") != "vic"


async def test_the_list_follows_returns_made_elsewhere(desk: Store) -> None:
    app = app_for(desk)
    async with app.run_test(size=SIZE) as pilot:
        await open_returns(pilot)
        from store.returns import RmaLine, authorise

        authorise(desk, order_id(desk, "W2"), [RmaLine(1, 1, "gift")], actor="gateway")
        app.data_version += 1  # what the app's poll does when the audit trail grows
        await settle_app(pilot)
        assert rmas_listed(app) == ["RMA-000004", "RMA-000002", "RMA-000001"]


async def test_go_to_an_unknown_rma_says_so(desk: Store) -> None:
    app = app_for(desk)
    async with app.run_test(size=SIZE) as pilot:
        await open_returns(pilot)
        await pilot.press("g")
        await settle_app(pilot)
        await pilot.press(*"77", "enter")
        await settle_app(pilot)
        assert isinstance(app.screen, RmaScreen)
        assert head_text(app) == "Cannot read RMA-000077: no return RMA-000077"
