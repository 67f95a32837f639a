"""Read-only queries behind the operator screens. Nothing here writes, and nothing imports a UI.

    common.py        a read connection with errors translated; money as text
    orders.py        the order list: counts per status and queue, id snapshots, page rows

One module per screen's data; a screen imports the module it reads (`store.views.stock`).
"""

from __future__ import annotations

from .common import format_money, reading
from .orders import (
    ANY_EXCEPTION,
    CONFIRM_FAILED,
    EDI_REJECTED,
    EXCEPTIONS,
    OVERDUE,
    SLA_DAYS,
    TOTAL,
    OrderFilter,
    OrderRow,
    channel_codes,
    count_queues,
    order_ids,
    order_rows,
)

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
    "format_money",
    "order_ids",
    "order_rows",
    "reading",
]
