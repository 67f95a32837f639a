"""KPIs per channel over a period, read from the `kpi_order_facts` view (migration 0007).

A period is a cohort: the orders *received* in [since, until). Their shipments,
cancellations and returns count whenever they happened, so a report on last month keeps
filling in as last month's orders ship and come back.

    orders received      orders whose intake falls in the period; an exchange or reship a
                         return made (orders.origin_kind) is no customer order: it is counted
                         apart (`replacements`), in neither orders, cancellations, backorder nor
                         oversell incidents, but its shipments, returns and costs count
    order to ship        hours from the order being placed (else received; received also when
                         the channel says it was placed later than it reached us) to its first
                         shipment leaving; median, p90 and mean over the orders that shipped
    on-time ship rate    shipped orders whose first shipment left on or before the requested
                         ship date (UTC days: there is no business time zone yet); an order
                         without one is due `sla_days` days after the day it was placed (else
                         received). Over shipped orders only: the orders not shipped, not
                         cancelled and due before the report's last day (the UTC day of
                         `until`, exclusive, less a day) are counted as `overdue_unshipped`
    cancellation rate    cancelled orders / orders received; orders cancelled in part (a line
                         or some units) are counted apart, with their cancelled units
    backorder incidents  orders with any backorder row: at intake, on a change, ever
    oversell incidents   orders from a marketplace or cart channel of which intake could not
                         reserve every line (the ledger's `order.received` event lists the
                         lines it backordered): the channel showed and sold stock we did not
                         have. An EDI, CSV or manual order that backorders was never promised
                         stock by us and is a backorder incident only. An oversold order later
                         cancelled "out of stock" is the same incident, counted once.
    return rate          units received back / units shipped (or picked up); RMAs (not
                         cancelled) per order shipped or picked up
    cost per order       per shipped order: the cost of its shipments (known when every
                         shipment that left has one) plus routing's cost of the locations it
                         chose, averaged over the shipped orders with either known; those with
                         neither are counted as `uncosted`. Costs are read in the channel's
                         currency (the schema keeps none of their own).

Pick-up orders leave through the store's counter, not a shipment: they are in no order-to-ship,
on-time, overdue or cost figure, and are counted as `picked_up` once collected. Nothing here writes. Percentiles are computed here from the view's rows:
SQLite has no percentile function.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    Connection,
    Date,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    case,
    func,
    select,
)

from .db import Store
from .errors import NotFound
from .models import Channel
from .types import UTCDateTime
from .views.common import reading
from .views.orders import SLA_DAYS

__all__ = [
    "ALL_CHANNELS",
    "ChannelKpis",
    "Hours",
    "KpiReport",
    "OrderFact",
    "kpi_order_facts",
    "kpi_report",
    "order_facts",
]

# `ChannelKpis.channel` of the row over every channel in the report.
ALL_CHANNELS = "*"

_views = MetaData()

# The view as migration 0007 creates it (views are not in the models' metadata).
kpi_order_facts = Table(
    "kpi_order_facts",
    _views,
    Column("order_id", BigInteger),
    Column("channel_id", BigInteger),
    Column("channel", String),
    Column("channel_kind", String),
    Column("channel_currency", String),
    Column("external_id", String),
    Column("buyer_name", String),
    Column("status", String),
    Column("currency", String),
    Column("total_minor", BigInteger),
    Column("fulfilment", String),
    Column("origin_kind", String),
    Column("received_at", UTCDateTime),
    Column("placed_at", UTCDateTime),
    Column("started_at", UTCDateTime),
    Column("requested_ship_date", Date),
    Column("first_shipped_at", UTCDateTime),
    Column("hours_to_ship", Float),
    Column("start_day", Integer),
    Column("requested_day", Integer),
    Column("shipped_day", Integer),
    Column("units_ordered", BigInteger),
    Column("units_shipped", BigInteger),
    Column("units_cancelled", BigInteger),
    Column("cancelled", Integer),
    Column("cancelled_at", UTCDateTime),
    Column("cancel_reason", String),
    Column("backordered", Integer),
    Column("intake_backordered_lines", Integer),
    Column("oversold", Integer),
    Column("rmas", BigInteger),
    Column("units_return_authorised", BigInteger),
    Column("units_returned", BigInteger),
    Column("shipping_cost_minor", BigInteger),
    Column("routing_cost_minor", BigInteger),
    Column("cost_minor", BigInteger),
)


@dataclass(frozen=True, slots=True)
class Hours:
    """Order-to-ship time in hours over `count` shipped orders; None when none shipped."""

    count: int
    median: float | None
    p90: float | None
    mean: float | None

    @classmethod
    def of(cls, values: Sequence[float]) -> Hours:
        if not values:
            return cls(0, None, None, None)
        # The 90th percentile interpolated between ranks, as PostgreSQL's percentile_cont.
        p90 = statistics.quantiles(values, n=10, method="inclusive")[8] if len(values) > 1 else values[0]
        return cls(len(values), statistics.median(values), p90, statistics.fmean(values))


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass(frozen=True, slots=True)
class ChannelKpis:
    """One channel's KPIs (or every channel's, `channel == ALL_CHANNELS`) over a period."""

    channel: str
    currency: str | None  # the currency costs are shown in; None when channels differ
    orders: int  # customer orders: no replacements
    replacements: int  # exchange and reship orders made by returns
    shipped: int  # orders with at least one shipment that left (no pick-up orders)
    picked_up: int  # pick-up orders collected
    hours_to_ship: Hours
    on_time: int  # shipped orders whose first shipment left by the day due
    overdue_unshipped: int  # not shipped, not cancelled, due before the report's last day
    cancelled: int
    partly_cancelled: int  # orders not cancelled of which some units were
    units_ordered: int
    units_partly_cancelled: int  # the cancelled units of those orders
    backordered: int
    oversold: int
    units_shipped: int
    units_returned: int  # received back
    units_return_authorised: int
    rmas: int
    costed: int  # shipped orders with a known cost
    cost_minor: int  # their total cost
    uncosted: int  # shipped orders with no known cost

    @property
    def on_time_rate(self) -> float | None:
        return _rate(self.on_time, self.shipped)

    @property
    def cancellation_rate(self) -> float | None:
        return _rate(self.cancelled, self.orders)

    @property
    def return_rate(self) -> float | None:
        return _rate(self.units_returned, self.units_shipped)

    @property
    def rmas_per_shipped_order(self) -> float | None:
        """RMAs per order delivered: shipped or picked up (both can be returned)."""
        return _rate(self.rmas, self.shipped + self.picked_up)

    @property
    def cost_per_order_minor(self) -> float | None:
        return _rate(self.cost_minor, self.costed)


@dataclass(frozen=True, slots=True)
class KpiReport:
    since: dt.datetime
    until: dt.datetime
    sla_days: int
    channels: tuple[ChannelKpis, ...]  # the channels with orders in the period, by code
    overall: ChannelKpis


@dataclass(frozen=True, slots=True)
class OrderFact:
    """One order of the period as the KPIs count it."""

    order_id: int
    channel: str
    external_id: str
    buyer_name: str | None
    status: str
    received_at: dt.datetime
    placed_at: dt.datetime | None
    requested_ship_date: dt.date | None
    first_shipped_at: dt.datetime | None
    hours_to_ship: float | None
    on_time: bool | None  # None until it ships, and for a pick-up order
    units_ordered: int
    units_shipped: int
    units_cancelled: int
    cancelled: bool
    cancel_reason: str | None
    backordered: bool
    oversold: bool
    rmas: int
    units_returned: int
    cost_minor: int | None
    currency: str  # the channel's, which costs are read in
    fulfilment: str  # "ship" or "pickup"
    origin_kind: str | None  # "exchange" or "reship" for an order a return made
    overdue: bool  # not shipped, not cancelled, due before the report's last day


def _check_period(since: dt.datetime, until: dt.datetime, sla_days: int) -> None:
    for name, value in (("since", since), ("until", until)):
        if value.tzinfo is None:
            raise ValueError(f"{name} {value} has no timezone")
    if since >= until:
        raise ValueError(f"the period is empty: since {since.isoformat()} is not before until {until.isoformat()}")
    if sla_days < 0:
        raise ValueError(f"sla_days {sla_days} is negative")


@contextmanager
def _reading(store: Store) -> Iterator[Connection]:
    """A read transaction; database errors come out as `StoreError`."""
    with reading(store) as conn:
        if conn.dialect.name == "postgresql":
            # Compiling the view's many per-order lookups (JIT) takes longer than running them.
            conn.exec_driver_sql("SET LOCAL jit = off")
        yield conn


def _in_period(conn: Connection, since: dt.datetime, until: dt.datetime, channel: str | None) -> ColumnElement[bool]:
    f = kpi_order_facts.c
    cond = and_(f.received_at >= since, f.received_at < until)
    if channel is not None:
        if conn.execute(select(Channel.id).where(Channel.code == channel)).first() is None:
            codes = ", ".join(conn.execute(select(Channel.code).order_by(Channel.code)).scalars()) or "none"
            raise NotFound(f"no channel {channel!r} (channels: {codes})")
        cond = and_(cond, f.channel == channel)
    return cond


def _due(sla_days: int) -> ColumnElement[int]:
    f = kpi_order_facts.c
    return func.coalesce(f.requested_day, f.start_day + sla_days)


def _on_time(sla_days: int) -> ColumnElement[int]:
    f = kpi_order_facts.c
    return case((and_(f.shipped_day.is_not(None), f.shipped_day <= _due(sla_days)), 1), else_=0)


_EPOCH = dt.date(1970, 1, 1)


def _overdue(sla_days: int, until: dt.datetime) -> ColumnElement[int]:
    """1 for an order not shipped, not cancelled, whose due day is before the report's last
    day (the UTC day before `until`; `until` is exclusive): its day to ship has passed."""
    f = kpi_order_facts.c
    last_day = ((until.astimezone(dt.timezone.utc) - dt.timedelta(microseconds=1)).date() - _EPOCH).days
    return case(
        (and_(f.first_shipped_at.is_(None), f.cancelled == 0, f.fulfilment != "pickup", _due(sla_days) < last_day), 1),
        else_=0,
    )


def kpi_report(
    store: Store, since: dt.datetime, until: dt.datetime, *, sla_days: int = SLA_DAYS, channel: str | None = None
) -> KpiReport:
    """The KPIs of the orders received in [since, until) (UTC-aware), per channel and overall;
    only `channel` when given (NotFound if there is no such channel)."""
    _check_period(since, until, sla_days)
    f = kpi_order_facts.c
    # One row per order, each of the view's lookups made once; added up here.
    stmt = select(
        f.channel, f.channel_currency, f.hours_to_ship, _on_time(sla_days), f.cancelled, f.units_ordered,
        f.units_cancelled, f.backordered, f.oversold, f.units_shipped, f.units_returned, f.units_return_authorised,
        f.rmas, f.shipping_cost_minor, f.routing_cost_minor, f.fulfilment, f.origin_kind,
        _overdue(sla_days, until),
    )
    tallies: dict[str, _Tally] = {}
    with _reading(store) as conn:
        for row in conn.execute(stmt.where(_in_period(conn, since, until, channel))):
            tally = tallies.get(row[0])
            if tally is None:
                tally = tallies[row[0]] = _Tally(row[0], row[1])
            tally.add(row)
    rows = tuple(tallies[code].kpis() for code in sorted(tallies))
    return KpiReport(since, until, sla_days, rows, _overall(rows, [h for t in tallies.values() for h in t.hours]))


class _Tally:
    """One channel's orders added up, row by row."""

    _COUNTS = tuple(name for name in ChannelKpis.__dataclass_fields__ if name not in ("channel", "currency", "hours_to_ship"))

    def __init__(self, channel: str, currency: str) -> None:
        self.channel, self.currency = channel, currency
        self.hours: list[float] = []
        self.n = dict.fromkeys(self._COUNTS, 0)

    def add(self, row: Sequence[Any]) -> None:
        (_, _, hours, on_time, cancelled, ordered, units_cancelled, backordered, oversold, shipped_units, returned,
         authorised, rmas, shipping_cost, routing_cost, fulfilment, origin_kind, overdue) = row
        n = self.n
        if origin_kind is not None:  # an exchange or reship: not a customer's order
            n["replacements"] += 1
        else:
            n["orders"] += 1
            n["units_ordered"] += ordered
            n["backordered"] += backordered
            n["oversold"] += oversold
            if cancelled:
                n["cancelled"] += 1
            elif units_cancelled:
                n["partly_cancelled"] += 1
                n["units_partly_cancelled"] += units_cancelled
        n["units_shipped"] += shipped_units
        n["units_returned"] += returned
        n["units_return_authorised"] += authorised
        n["rmas"] += rmas
        if fulfilment == "pickup":  # handed over at the counter: no shipping figure
            if hours is not None:
                n["picked_up"] += 1
            return
        if hours is None:  # not shipped (yet)
            n["overdue_unshipped"] += overdue
            return
        self.hours.append(float(hours))
        n["shipped"] += 1
        n["on_time"] += on_time
        # The view's cost_minor, added here: each of its parts is then looked up once.
        if shipping_cost is None and routing_cost is None:
            n["uncosted"] += 1
        else:
            n["costed"] += 1
            n["cost_minor"] += (shipping_cost or 0) + (routing_cost or 0)

    def kpis(self) -> ChannelKpis:
        return ChannelKpis(
            channel=self.channel, currency=self.currency, hours_to_ship=Hours.of(self.hours),
            **{k: int(v) for k, v in self.n.items()},
        )


def _overall(rows: Sequence[ChannelKpis], hours: Sequence[float]) -> ChannelKpis:
    currencies = {r.currency for r in rows}
    totals = {
        name: sum(getattr(r, name) for r in rows)
        for name in ChannelKpis.__dataclass_fields__
        if name not in ("channel", "currency", "hours_to_ship")
    }
    return ChannelKpis(
        channel=ALL_CHANNELS,
        currency=currencies.pop() if len(currencies) == 1 else None,
        hours_to_ship=Hours.of(hours),
        **totals,
    )


def order_facts(
    store: Store, since: dt.datetime, until: dt.datetime, *, sla_days: int = SLA_DAYS, channel: str | None = None
) -> list[OrderFact]:
    """The orders received in [since, until), oldest first, as the KPIs count them."""
    _check_period(since, until, sla_days)
    f = kpi_order_facts.c
    stmt = select(
        f.order_id, f.channel, f.external_id, f.buyer_name, f.status, f.received_at, f.placed_at,
        f.requested_ship_date, f.first_shipped_at, f.hours_to_ship, _on_time(sla_days), f.units_ordered,
        f.units_shipped, f.units_cancelled, f.cancelled, f.cancel_reason, f.backordered, f.oversold, f.rmas,
        f.units_returned, f.cost_minor, f.channel_currency, f.fulfilment, f.origin_kind, _overdue(sla_days, until),
    ).order_by(f.received_at, f.order_id)
    with _reading(store) as conn:
        rows = conn.execute(stmt.where(_in_period(conn, since, until, channel))).all()
    return [
        OrderFact(
            order_id=int(r[0]), channel=r[1], external_id=r[2], buyer_name=r[3], status=r[4], received_at=r[5],
            placed_at=r[6], requested_ship_date=r[7], first_shipped_at=r[8],
            hours_to_ship=None if r[9] is None else float(r[9]),
            on_time=None if r[8] is None or r[22] == "pickup" else bool(r[10]),
            units_ordered=int(r[11]), units_shipped=int(r[12]), units_cancelled=int(r[13]), cancelled=bool(r[14]),
            cancel_reason=r[15], backordered=bool(r[16]), oversold=bool(r[17]), rmas=int(r[18]),
            units_returned=int(r[19]), cost_minor=None if r[20] is None else int(r[20]), currency=r[21],
            fulfilment=r[22], origin_kind=r[23], overdue=bool(r[24]),
        )
        for r in rows
    ]
