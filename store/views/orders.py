"""Read-only queries behind the order screens: counts per status and queue, id snapshots, page rows.

A list on screen keeps the database as its model. A filter becomes an `array('q')` of
order ids, newest first (8 bytes an order), and only the rows on screen are fetched, a
page at a time, with `order_rows`. Nothing here writes, and nothing imports a UI.

The exception queues an operator clears, next to the statuses:

    unknown_item, unroutable   orders.exception
    overdue                    not shipped (no shipment yet) nor cancelled, past the day it was due:
                               the requested ship date, else `sla_days` after the day it was placed
                               (else received), as store.kpis counts `overdue_unshipped`
    confirm_failed             a shipment confirmation to the channel (outbox kind shipment_confirm)
                               failed or is dead
    edi_rejected               inbound documents rejected (documents, not orders: only counted here)

Every condition is a plain comparison on an indexed column (migration 0009), so the queues
stay quick on a million orders.
"""

from __future__ import annotations

import datetime as dt
from array import array
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Connection, Select, and_, func, or_, select, union_all

from ..models import Channel, Document, Order, OutboxMessage
from ..orders import STATUSES
from .common import IN_CHUNK, format_money, starts_with

__all__ = [
    "ANY_EXCEPTION",
    "CONFIRM_FAILED",
    "EDI_REJECTED",
    "EXCEPTIONS",
    "OVERDUE",
    "SLA_DAYS",
    "TOTAL",
    "OrderFilter",
    "OrderRow",
    "channel_codes",
    "count_queues",
    "order_ids",
    "order_rows",
]

# `OrderFilter.exception` value meaning "waiting in any exception queue".
ANY_EXCEPTION = "*"
# Extra keys of `count_queues` next to the statuses and exception names.
EXCEPTIONS = "exceptions"
TOTAL = "all"
OVERDUE = "overdue"
CONFIRM_FAILED = "confirm_failed"
EDI_REJECTED = "edi_rejected"
# Days from placing to shipping when the order names no ship date (the queue's and store.kpis' default).
SLA_DAYS = 2

# Statuses of an order nothing has left for yet and that may still ship.
_UNSHIPPED = ("received", "on_hold", "allocated", "backordered")
_CONFIRM_KIND = "shipment_confirm"
# Ids read per round trip while taking a snapshot.
_BATCH = 20_000
_CONFIRM_FAILED_STATES = ("failed", "dead")


@dataclass(frozen=True, slots=True)
class OrderFilter:
    """Which orders a list shows; None (or False) in a field means any. Fields combine (AND).

    `exception` names one queue (`unknown_item`, `unroutable`, ...) or is `ANY_EXCEPTION`.
    `overdue_on` keeps the orders overdue on that (UTC) day; `confirm_failed` those whose
    shipment confirmation failed; `channel` is a channel code; `search` the start of an
    external id or of the buyer's name (as typed, capitalised, or in capitals or small letters).
    """

    status: str | None = None
    exception: str | None = None
    overdue_on: dt.date | None = None
    confirm_failed: bool = False
    channel: str | None = None
    search: str | None = None
    sla_days: int = SLA_DAYS

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


def _spellings(text: str) -> list[str]:
    """How a search may be written in the store: as typed, in capitals, in small letters,
    capitalised, each word capitalised (an index answers each exactly; `lower()` would not)."""
    return list(dict.fromkeys((text, text.upper(), text.lower(), text.capitalize(), text.title())))


def _search(conn: Connection, text: str) -> ColumnElement[bool]:
    """The order's external id or buyer name starts with `text` in one of its spellings: one
    range per column and spelling, each answered by the column's index, their ids united
    (an OR of them all would scan the table)."""
    parts = []
    for column in (Order.external_id, Order.buyer_name):
        parts += [select(Order.id).where(starts_with(conn, column, spelling)) for spelling in _spellings(text)]
    return Order.id.in_(union_all(*parts))


def _overdue(day: dt.date, sla_days: int) -> ColumnElement[bool]:
    """Not shipped nor cancelled and due before `day`: due is the requested ship date, else
    `sla_days` after the day it was placed (received, when placed is unknown or later)."""
    cut = dt.datetime.combine(day - dt.timedelta(days=sla_days), dt.time(), dt.timezone.utc)
    return and_(
        Order.status.in_(_UNSHIPPED),
        Order.fulfilment != "pickup",
        or_(
            Order.requested_ship_date < day,
            and_(Order.requested_ship_date.is_(None), or_(Order.received_at < cut, Order.placed_at < cut)),
        ),
    )


def _confirm_failed() -> Select[int | None]:
    return select(OutboxMessage.order_id).where(
        OutboxMessage.state.in_(_CONFIRM_FAILED_STATES), OutboxMessage.kind == _CONFIRM_KIND
    )


def _channel_id(code: str) -> ColumnElement[int]:
    return select(Channel.id).where(Channel.code == code).scalar_subquery()


def _conditions(conn: Connection, flt: OrderFilter) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if flt.status is not None:
        where.append(Order.status == flt.status)
    if flt.exception == ANY_EXCEPTION:
        where.append(Order.exception.is_not(None))
    elif flt.exception is not None:
        where.append(Order.exception == flt.exception)
    if flt.overdue_on is not None:
        where.append(_overdue(flt.overdue_on, flt.sla_days))
    if flt.confirm_failed:
        where.append(Order.id.in_(_confirm_failed()))
    if flt.channel is not None:
        where.append(Order.channel_id == _channel_id(flt.channel))
    if flt.search:
        where.append(_search(conn, flt.search))
    return where


def count_queues(
    conn: Connection, *, today: dt.date, channel: str | None = None, sla_days: int = SLA_DAYS
) -> dict[str, int]:
    """Orders per status, per exception queue (`unknown_item`, `unroutable`, ...: those with
    orders), `EXCEPTIONS`, `OVERDUE` (on `today`), `CONFIRM_FAILED` and `TOTAL`, on one channel
    when given; and `EDI_REJECTED`, the rejected inbound documents (any channel)."""
    on: list[ColumnElement[bool]] = [] if channel is None else [Order.channel_id == _channel_id(channel)]
    counts = dict.fromkeys(STATUSES, 0)
    for status, n in conn.execute(select(Order.status, func.count()).where(*on).group_by(Order.status)):
        counts[status] = int(n)
    counts[TOTAL] = sum(counts.values())
    counts[EXCEPTIONS] = 0
    for exception, n in conn.execute(
        select(Order.exception, func.count()).where(Order.exception.is_not(None), *on).group_by(Order.exception)
    ):
        counts[str(exception)] = int(n)
        counts[EXCEPTIONS] += int(n)
    counts[OVERDUE] = int(conn.execute(
        select(func.count()).select_from(Order).where(_overdue(today, sla_days), *on)
    ).scalar_one())
    counts[CONFIRM_FAILED] = int(conn.execute(
        select(func.count()).select_from(Order).where(Order.id.in_(_confirm_failed()), *on)
    ).scalar_one())
    counts[EDI_REJECTED] = int(conn.execute(
        select(func.count()).select_from(Document).where(Document.state == "rejected")
    ).scalar_one())
    return counts


def channel_codes(conn: Connection) -> list[str]:
    """Every channel's code, in alphabetical order."""
    return list(conn.execute(select(Channel.code).order_by(Channel.code)).scalars())


def order_ids(conn: Connection, flt: OrderFilter, *, limit: int | None = None) -> array[int]:
    """The ids of the orders `flt` matches, newest (highest id) first; the first `limit` only
    when given. PostgreSQL streams them from a server-side cursor (a million ids never sit in
    the driver's memory at once)."""
    stmt = select(Order.id).where(*_conditions(conn, flt)).order_by(Order.id.desc())
    if limit is not None:
        stmt = stmt.limit(limit)
    ids: array[int] = array("q")
    # Straight from the driver's cursor: a Row object per id costs more than the query.
    if conn.dialect.name == "postgresql" and limit is None:
        # A server-side cursor: a million ids never sit in the driver's memory at once.
        compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
        with conn.connection.dbapi_connection.cursor(name="order_ids") as cursor:  # type: ignore[union-attr]
            cursor.itersize = _BATCH
            cursor.execute(str(compiled), compiled.params)
            while batch := cursor.fetchmany(_BATCH):
                ids.extend(row[0] for row in batch)
        return ids
    result = conn.execute(stmt)
    cursor = result.cursor
    while batch := cursor.fetchmany(_BATCH):
        ids.extend(row[0] for row in batch)
    result.close()
    return ids


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
