"""Read-only queries behind the order screens: counts per status, id snapshots, page rows.

A list on screen keeps the database as its model. A filter becomes an `array('q')` of
order ids, newest first (8 bytes an order), and only the rows on screen are fetched, a
page at a time, with `order_rows`. Nothing here writes, and nothing imports a UI.
"""

from __future__ import annotations

import datetime as dt
from array import array
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, func, select

from ..models import Channel, Order
from ..orders import STATUSES
from .common import IN_CHUNK, format_money

__all__ = [
    "ANY_EXCEPTION",
    "EXCEPTIONS",
    "TOTAL",
    "OrderFilter",
    "OrderRow",
    "count_by_status",
    "order_ids",
    "order_rows",
]

# `OrderFilter.exception` value meaning "waiting in any exception queue".
ANY_EXCEPTION = "*"
# Extra keys of `count_by_status` next to the statuses.
EXCEPTIONS = "exceptions"
TOTAL = "all"


@dataclass(frozen=True, slots=True)
class OrderFilter:
    """Which orders a list shows; None in a field means any value.

    `exception` names one queue (`unknown_item`, `version_conflict`, ...) or is
    `ANY_EXCEPTION` for orders waiting in any queue.
    """

    status: str | None = None
    exception: str | None = None

    def __post_init__(self) -> None:
        if self.status is not None and self.status not in STATUSES:
            raise ValueError(f"status {self.status!r} is not one of {', '.join(STATUSES)}")


@dataclass(frozen=True, slots=True)
class OrderRow:
    """One order as a list shows it."""

    id: int
    external_id: str
    channel: str
    status: str
    exception: str | None
    buyer: str | None
    city: str | None
    total: str
    received_at: dt.datetime




def count_by_status(conn: Connection) -> dict[str, int]:
    """Orders per status (every status present, zero if none), plus `EXCEPTIONS` (orders
    in any exception queue) and `TOTAL`."""
    counts = dict.fromkeys(STATUSES, 0)
    for status, n in conn.execute(select(Order.status, func.count()).group_by(Order.status)):
        counts[status] = int(n)
    total = sum(counts.values())
    exceptions = conn.execute(
        select(func.count()).select_from(Order).where(Order.exception.is_not(None))
    ).scalar_one()
    counts[EXCEPTIONS] = int(exceptions)
    counts[TOTAL] = total
    return counts


def order_ids(conn: Connection, flt: OrderFilter) -> array[int]:
    """The ids of the orders `flt` matches, newest (highest id) first."""
    stmt = select(Order.id).order_by(Order.id.desc())
    if flt.status is not None:
        stmt = stmt.where(Order.status == flt.status)
    if flt.exception == ANY_EXCEPTION:
        stmt = stmt.where(Order.exception.is_not(None))
    elif flt.exception is not None:
        stmt = stmt.where(Order.exception == flt.exception)
    return array("q", conn.execute(stmt).scalars())


def order_rows(conn: Connection, ids: Sequence[int]) -> dict[int, OrderRow]:
    """Display rows for the given order ids (one page); ids no longer present are absent."""
    stmt = select(
        Order.id,
        Order.external_id,
        Channel.code,
        Order.status,
        Order.exception,
        Order.buyer_name,
        Order.ship_to_city,
        Order.total_minor,
        Order.currency,
        Order.received_at,
    ).join(Channel, Channel.id == Order.channel_id)
    rows: dict[int, OrderRow] = {}
    wanted = list(ids)
    for start in range(0, len(wanted), IN_CHUNK):
        chunk = wanted[start : start + IN_CHUNK]
        for r in conn.execute(stmt.where(Order.id.in_(chunk))):
            rows[r.id] = OrderRow(
                id=r.id,
                external_id=r.external_id,
                channel=r.code,
                status=r.status,
                exception=r.exception,
                buyer=r.buyer_name,
                city=r.ship_to_city,
                total=format_money(r.total_minor, r.currency),
                received_at=r.received_at,
            )
    return rows
