"""The Dashboard screen: the KPIs of a period per channel (`store.kpis.kpi_report`, as `oms
report` prints them), orders per day as sparklines and the on-time ship rate as bars."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from sqlalchemy import Connection
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.timer import Timer
from textual.widgets import Footer, Header, Static

from store.kpis import ChannelKpis, KpiReport, kpi_report
from store.views.common import format_money
from store.views.dashboard import orders_per_day

from ..widgets.gateway_table import Column, GatewayTable, Row
from ..widgets.kpi_bars import KpiBars
from ..widgets.kpi_chart import KpiChart
from .base import OmsScreen

__all__ = ["DashboardScreen", "PERIODS"]

# period key -> (days, title)
PERIODS: dict[str, tuple[int, str]] = {"today": (1, "Today"), "week": (7, "Last 7 days"), "month": (30, "Last 30 days")}
# Orders arriving fast would read the KPIs again every poll: at most this often.
MIN_SECONDS_BETWEEN_READS = 15.0
_GROUP = Binding.Group("Period", compact=True)
_COLUMNS = [
    Column("channel", "Channel"), Column("orders", "Orders"), Column("shipped", "Shipped"),
    Column("on_time", "On time"), Column("hours", "Ship h"), Column("p90", "p90 h", 100),
    Column("overdue", "Overdue"), Column("cancelled", "Cancel"), Column("backordered", "Backord", 110),
    Column("oversold", "Oversold", 110), Column("returns", "Returns", 100), Column("cost", "Cost/order", 120),
]


def _pct(rate: float | None) -> str:
    return "–" if rate is None else f"{rate:.0%}"


def _hours(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def _cost(k: ChannelKpis) -> str:
    per = k.cost_per_order_minor
    if per is None or k.currency is None:
        return "–"
    return format_money(round(per), k.currency)


def _row(k: ChannelKpis, name: str) -> Row:
    overdue = Text(f"{k.overdue_unshipped:,}", style="bold") if k.overdue_unshipped else "0"
    return Row(name, (
        name, f"{k.orders:,}", f"{k.shipped:,}", _pct(k.on_time_rate), _hours(k.hours_to_ship.median),
        _hours(k.hours_to_ship.p90), overdue, f"{k.cancelled:,} {_pct(k.cancellation_rate)}" if k.cancelled else "0",
        f"{k.backordered:,}", f"{k.oversold:,}", _pct(k.return_rate), _cost(k),
    ))


def period(now: dt.datetime, days: int) -> tuple[dt.datetime, dt.datetime]:
    """[since, until) of the `days` UTC days ending with today's."""
    last = now.astimezone(dt.timezone.utc).date()
    since = dt.datetime.combine(last - dt.timedelta(days=days - 1), dt.time(), dt.timezone.utc)
    return since, dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), dt.timezone.utc)


@dataclass(frozen=True, slots=True)
class _Read:
    key: str
    report: KpiReport
    per_day: dict[str, list[int]]


class DashboardScreen(OmsScreen):
    """The KPIs by channel for today, 7 or 30 days, with charts."""

    PALETTE_TITLE = "Dashboard"
    AUTO_FOCUS = "#kpi-table"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("t", "period('today')", "Today", group=_GROUP, id="dashboard.today",
                tooltip="The orders received today (UTC)"),
        Binding("w", "period('week')", "7 days", group=_GROUP, id="dashboard.week",
                tooltip="The orders received in the last 7 days"),
        Binding("m", "period('month')", "30 days", group=_GROUP, id="dashboard.month",
                tooltip="The orders received in the last 30 days"),
        Binding("ctrl+r", "reload", "Reload", id="dashboard.reload", tooltip="Read the KPIs again now"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._key = "week"
        self._read: _Read | None = None
        self._last_read = 0.0
        self._later: Timer | None = None

    @property
    def period_key(self) -> str:
        return self._key

    @property
    def report(self) -> KpiReport | None:
        return self._read.report if self._read else None

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="kpi-body"):
            yield Static(id="kpi-period")
            yield GatewayTable(_COLUMNS, empty="No orders in this period", id="kpi-table")
            with Horizontal(id="kpi-charts"):
                with Vertical(id="kpi-orders"):
                    yield KpiChart(id="kpi-chart")
                yield KpiBars(id="kpi-ontime")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#kpi-table", GatewayTable).border_title = "KPIs by channel"
        self.query_one("#kpi-orders").border_title = "Orders per day"
        self.query_one("#kpi-ontime").border_title = "On-time ship rate"
        self.action_period(self._key)

    def on_data_changed(self) -> None:
        wait = MIN_SECONDS_BETWEEN_READS - (time.monotonic() - self._last_read)
        if wait <= 0:
            self._load(self._key)
        elif self._later is None:
            self._later = self.set_timer(wait, self._load_later)

    def _load_later(self) -> None:
        self._later = None
        self._load(self._key)

    def action_period(self, key: str) -> None:
        self._key = key
        days, title = PERIODS[key]
        since, until = period(self.oms.now(), days)
        last = until - dt.timedelta(days=1)
        span = f"{since:%Y-%m-%d}" if days == 1 else f"{since:%Y-%m-%d} to {last:%Y-%m-%d}"
        self.query_one("#kpi-period", Static).update(Text.assemble((title, "bold"), f" · {span} (UTC) · orders received"))
        self._load(key)

    def action_reload(self) -> None:
        self._load(self._key)

    def _load(self, key: str) -> None:
        self._last_read = time.monotonic()
        since, until = period(self.oms.now(), PERIODS[key][0])

        def fetch(conn: Connection) -> _Read:
            return _Read(key, kpi_report(self.store, since, until), orders_per_day(conn, since, until))

        self.read(fetch, self._loaded, group="dashboard-read", title="Cannot read the KPIs")

    def _loaded(self, read: _Read) -> None:
        if read.key != self._key:
            return
        self._read = read
        report = read.report
        rows = [_row(k, k.channel) for k in report.channels]
        if len(report.channels) > 1:
            rows.append(_row(report.overall, "all"))
        self.query_one("#kpi-table", GatewayTable).show(rows)
        bars = [(k.channel, k.on_time_rate, "none shipped") for k in report.channels]
        if len(report.channels) > 1:
            bars.append(("all", report.overall.on_time_rate, "none shipped"))
        self.query_one(KpiBars).show(bars)
        self.query_one(KpiChart).show(read.per_day)
