"""The Dashboard screen (F7): the KPIs of a period by channel, with charts."""

from __future__ import annotations

import datetime as dt

from textual.pilot import Pilot

from store import Store
from store.kpis import kpi_report
from tests.tui._edi_gateway_data import FIXED
from tests.tui.conftest import settle_app
from tui import OmsApp
from tui.access import Operator
from tui.screens.dashboard import DashboardScreen, period
from tui.widgets.gateway_table import GatewayTable
from tui.widgets.kpi_bars import KpiBars
from tui.widgets.kpi_chart import KpiChart


async def _dashboard(pilot: Pilot[None]) -> DashboardScreen:
    await settle_app(pilot)
    await pilot.press("f7")
    await settle_app(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, DashboardScreen)
    return screen


def _table(screen: DashboardScreen) -> dict[str, list[str]]:
    table = screen.query_one("#kpi-table", GatewayTable)
    rows = [[str(c) for c in table.get_row_at(n)] for n in range(table.row_count)]
    return {row[0]: row[1:] for row in rows}


def test_the_period_is_whole_utc_days_ending_today() -> None:
    assert period(FIXED, 7) == (dt.datetime(2026, 3, 4, tzinfo=dt.timezone.utc),
                                dt.datetime(2026, 3, 11, tzinfo=dt.timezone.utc))


async def test_the_kpis_of_the_last_7_days_by_channel_as_kpi_report_counts_them(edi_gateway_store: Store) -> None:
    app = OmsApp(edi_gateway_store, operator=Operator("vic", "viewer"), now=lambda: FIXED, poll_seconds=None)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _dashboard(pilot)
        report = kpi_report(edi_gateway_store, *period(FIXED, 7))
        shown = _table(screen)
        assert list(shown) == ["acme", "amz", "ebay", "web", "all"]
        for k in (*report.channels, report.overall):
            name = "all" if k.channel == "*" else k.channel
            assert shown[name][:3] == [str(k.orders), str(k.shipped), f"{k.on_time_rate:.0%}"]
        assert shown["all"][0] == "30" and sum(int(v[0]) for n, v in shown.items() if n != "all") == 30
        assert shown["acme"][2:4] == ["0%", "1307.5"]  # shipped weeks after the PO date

        series = screen.query_one(KpiChart).series
        assert series["web"] == [2, 1, 1, 2, 1, 1, 2] and sum(map(sum, series.values())) == 30
        bars = dict((name, rate) for name, rate, _ in screen.query_one(KpiBars).rows)
        assert bars["amz"] == report.channels[1].on_time_rate


async def test_today_and_30_days_by_key(edi_gateway_store: Store) -> None:
    app = OmsApp(edi_gateway_store, operator=Operator("vic", "viewer"), now=lambda: FIXED, poll_seconds=None)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _dashboard(pilot)
        await pilot.press("m")
        await settle_app(pilot)
        assert screen.period_key == "month" and _table(screen)["all"][0] == "42"
        assert "Last 30 days · 2026-02-09 to 2026-03-10" in str(screen.query_one("#kpi-period").render())
        await pilot.press("t")
        await settle_app(pilot)
        today = kpi_report(edi_gateway_store, *period(FIXED, 1))
        assert _table(screen)["all"][0] == str(today.overall.orders)
        assert len(screen.query_one(KpiChart).series["web"]) == 1
