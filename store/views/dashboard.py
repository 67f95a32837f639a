"""What the dashboard reads besides `store.kpis.kpi_report`: customer orders received per UTC
day per channel, for the charts.

    orders_per_day(conn, since, until)  {channel: [orders on day 0, day 1, ...]}

Days run from the UTC day of `since` to the day before `until` (exclusive, as in the KPIs);
a channel with no orders in the period is left out. Exchange and reship orders a return made
are no customer orders (as in the KPIs) and are not counted.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ColumnElement, Connection, Integer, cast, func, literal_column, select

from ..models import Channel, Order

__all__ = ["day_count", "orders_per_day"]

_EPOCH = dt.date(1970, 1, 1)


def _epoch_day(value: dt.datetime) -> int:
    return (value.astimezone(dt.timezone.utc).date() - _EPOCH).days


def day_count(since: dt.datetime, until: dt.datetime) -> int:
    """How many UTC days [since, until) touches (at least one)."""
    last = _epoch_day(until - dt.timedelta(microseconds=1))
    return max(last - _epoch_day(since) + 1, 1)


def _day(conn: Connection) -> ColumnElement[int]:
    """The UTC day of `orders.received_at`, as days since 1970-01-01."""
    if conn.dialect.name == "postgresql":
        return literal_column("(CAST((orders.received_at AT TIME ZONE 'UTC') AS DATE) - DATE '1970-01-01')", Integer)
    return cast(func.julianday(func.date(Order.received_at)) - 2440587.5, Integer)


def orders_per_day(conn: Connection, since: dt.datetime, until: dt.datetime) -> dict[str, list[int]]:
    """Customer orders received per UTC day in [since, until), per channel code."""
    day = _day(conn).label("day")
    first = _epoch_day(since)
    days = day_count(since, until)
    out: dict[str, list[int]] = {}
    rows = conn.execute(
        select(Channel.code, day, func.count()).select_from(Order).join(Channel, Channel.id == Order.channel_id)
        .where(Order.received_at >= since, Order.received_at < until, Order.origin_kind.is_(None))
        .group_by(Channel.code, day)
    ).all()
    for code, n_day, n in rows:
        slot = int(n_day) - first
        if 0 <= slot < days:
            out.setdefault(str(code), [0] * days)[slot] += int(n)
    return dict(sorted(out.items()))
