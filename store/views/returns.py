"""Read-only queries behind the returns screens: the RMA list, and what an order can still return.

The list puts open RMAs (authorised, received, inspected) first, newest first within each
group, and is read a page at a time (`return_rows` with a limit and an offset); thousands of
RMAs stay cheap. `returnable_lines` answers the new-return form with the same arithmetic
`store.returns.authorise` checks against. Nothing here writes, and nothing imports a UI.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Connection, case, func, select

from ..models import Channel, Location, Order, OrderLine, Return, ReturnLine, Sku
from ..returns import _covered, _delivered_units

__all__ = [
    "OPEN_STATUSES",
    "OrderForReturn",
    "ReturnRow",
    "ReturnableLine",
    "count_returns",
    "order_for_return",
    "return_rows",
]

OPEN_STATUSES = ("authorised", "received", "inspected")


@dataclass(frozen=True, slots=True)
class ReturnRow:
    """One RMA as the list shows it."""

    rma: str
    status: str
    order_id: int
    order_external_id: str
    channel: str
    units: int  # authorised
    received: int
    resolution: str | None
    location: str | None
    created_at: dt.datetime

    @property
    def open(self) -> bool:
        return self.status in OPEN_STATUSES


@dataclass(frozen=True, slots=True)
class ReturnableLine:
    """A line of an order and how many of its units may still be authorised for return."""

    line_no: int
    item: str
    sku: str | None
    qty: int
    delivered: int  # shipped, or handed over at pick-up
    covered: int  # already on other RMAs
    unit_price_minor: int

    @property
    def returnable(self) -> int:
        return max(0, self.delivered - self.covered)


@dataclass(frozen=True, slots=True)
class OrderForReturn:
    """An order's head and lines, for the new-return form."""

    id: int
    external_id: str
    channel: str
    status: str
    currency: str
    lines: tuple[ReturnableLine, ...]


def _where(open_only: bool) -> list[ColumnElement[bool]]:
    return [Return.status.in_(OPEN_STATUSES)] if open_only else []


def count_returns(conn: Connection, *, open_only: bool = False) -> int:
    return int(conn.execute(select(func.count()).select_from(Return).where(*_where(open_only))).scalar_one())


def return_rows(conn: Connection, *, open_only: bool = False, limit: int = 200, offset: int = 0) -> list[ReturnRow]:
    """A page of RMAs: open ones first, then newest first."""
    closed_last = case((Return.status.in_(OPEN_STATUSES), 0), else_=1)
    page = (
        select(Return.id)
        .where(*_where(open_only))
        .order_by(closed_last, Return.id.desc())
        .limit(limit)
        .offset(offset)
        .subquery()
    )
    units = (
        select(ReturnLine.return_id, func.sum(ReturnLine.qty).label("units"),
               func.sum(ReturnLine.qty_received).label("received"))
        .where(ReturnLine.return_id.in_(select(page.c.id)))
        .group_by(ReturnLine.return_id)
        .subquery()
    )
    rows = conn.execute(
        select(Return.rma, Return.status, Return.order_id, Order.external_id, Channel.code, units.c.units,
               units.c.received, Return.resolution, Location.code.label("location"), Return.created_at)
        .join(page, page.c.id == Return.id)
        .join(Order, Order.id == Return.order_id)
        .join(Channel, Channel.id == Order.channel_id)
        .outerjoin(Location, Location.id == Return.location_id)
        .outerjoin(units, units.c.return_id == Return.id)
        .order_by(closed_last, Return.id.desc())
    ).all()
    return [
        ReturnRow(rma=r.rma, status=r.status, order_id=int(r.order_id), order_external_id=r.external_id,
                  channel=r.code, units=int(r.units or 0), received=int(r.received or 0), resolution=r.resolution,
                  location=r.location, created_at=r.created_at)
        for r in rows
    ]


def order_for_return(conn: Connection, order_id: int) -> OrderForReturn | None:
    """The order's lines with units delivered and still returnable (None: no such order)."""
    head = conn.execute(
        select(Order.external_id, Order.status, Order.currency, Channel.code)
        .join(Channel, Channel.id == Order.channel_id)
        .where(Order.id == order_id)
    ).first()
    if head is None:
        return None
    delivered = _delivered_units(conn, order_id, head.status)
    covered = _covered(conn, order_id)
    rows = conn.execute(
        select(OrderLine.id, OrderLine.line_no, OrderLine.item, Sku.code, OrderLine.qty, OrderLine.qty_shipped,
               OrderLine.qty_cancelled, OrderLine.unit_price_minor)
        .outerjoin(Sku, Sku.id == OrderLine.sku_id)
        .where(OrderLine.order_id == order_id)
        .order_by(OrderLine.line_no)
    ).all()
    lines = tuple(
        ReturnableLine(line_no=int(r.line_no), item=r.item, sku=r.code, qty=int(r.qty), delivered=delivered(r),
                       covered=covered.get(r.id, 0), unit_price_minor=int(r.unit_price_minor or 0))
        for r in rows
    )
    return OrderForReturn(id=order_id, external_id=head.external_id, channel=head.code, status=head.status,
                          currency=head.currency, lines=lines)
