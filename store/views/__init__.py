"""Read-only queries behind the operator screens. Nothing here writes, and nothing imports a UI.

    common.py        a read connection with errors translated; money as text
    orders.py        the order list: counts per status and queue, id snapshots, page rows

One module per screen's data; a screen imports the module it reads (`store.views.stock`).
"""

from __future__ import annotations

from .common import format_money, reading
from .orders import (
    ANY_EXCEPTION,
    EXCEPTIONS,
    TOTAL,
    OrderFilter,
    OrderRow,
    count_by_status,
    order_ids,
    order_rows,
)

__all__ = [
    "ANY_EXCEPTION",
    "EXCEPTIONS",
    "TOTAL",
    "OrderFilter",
    "OrderRow",
    "count_by_status",
    "format_money",
    "order_ids",
    "order_rows",
    "reading",
]
