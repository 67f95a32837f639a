"""Read-side helpers for store tests: what an operator would see."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from store import Store
from store.models import AuditEvent, Backorder, Order, OrderLine, OutboxMessage, Reservation, StockLevel
from store.inventory import stock_of


def count(store: Store, model: Any, *where: Any) -> int:
    with store.read() as conn:
        return int(conn.execute(select(func.count()).select_from(model).where(*where)).scalar_one())


def order_row(store: Store, external_id: str, channel_id: int | None = None) -> Any:
    with store.read() as conn:
        stmt = select(Order).where(Order.external_id == external_id)
        if channel_id is not None:
            stmt = stmt.where(Order.channel_id == channel_id)
        return conn.execute(stmt).one()


def lines_of(store: Store, order_id: int) -> list[Any]:
    with store.read() as conn:
        return list(conn.execute(select(OrderLine).where(OrderLine.order_id == order_id).order_by(OrderLine.line_no)).all())


def level(store: Store, sku: str, location: str) -> tuple[int, int]:
    with store.read() as conn:
        for row in stock_of(conn, sku):
            if row.location == location:
                return row.on_hand, row.reserved
    return 0, 0


__all__ = ["count", "order_row", "lines_of", "level", "AuditEvent", "Backorder", "OutboxMessage", "Reservation", "StockLevel"]
