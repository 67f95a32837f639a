"""What operators read for the store's codes: status, queue and filter names, shown in more than one widget."""

from __future__ import annotations

import datetime as dt

from store.orders import STATUSES
from store.views import ANY_EXCEPTION, CONFIRM_FAILED, EDI_REJECTED, EXCEPTIONS, OVERDUE, TOTAL, OrderFilter

__all__ = ["FILTER_GROUPS", "FILTER_KEYS", "count_text", "filter_for", "filter_title", "is_order_filter",
           "status_label"]

# Short enough for a 12-column cell.
_STATUS_LABELS = {"on_hold": "on hold", "partially_shipped": "part shipped", "ready_for_pickup": "for pickup",
                  "picked_up": "picked up"}
_QUEUE_TITLES = {
    TOTAL: "All orders",
    EXCEPTIONS: "Exceptions",
    "unknown_item": "Unknown item",
    "unroutable": "Unroutable",
    OVERDUE: "Overdue",
    CONFIRM_FAILED: "Confirm fail",
    EDI_REJECTED: "EDI rejected",
}

_PICKUP = ("ready_for_pickup", "picked_up")
# The filter choices in the order they are listed, in groups (a line between groups): 0 all,
# 1..8 the shipping statuses, 9 any exception have number keys; the exception queues and the
# pick-up statuses follow, chosen from the list or the palette. On hold and backordered are
# queues an operator clears too, and stay with the statuses.
FILTER_GROUPS: tuple[tuple[str, ...], ...] = (
    (TOTAL, *(status for status in STATUSES if status not in _PICKUP)),
    (EXCEPTIONS, "unknown_item", "unroutable", OVERDUE, CONFIRM_FAILED, EDI_REJECTED),
    _PICKUP,
)
FILTER_KEYS: tuple[str, ...] = tuple(key for group in FILTER_GROUPS for key in group)


def status_label(status: str) -> str:
    return _STATUS_LABELS.get(status, status)


def is_order_filter(key: str) -> bool:
    """False for a choice that lists something else than orders (EDI rejected: documents)."""
    return key != EDI_REJECTED


def filter_for(key: str, today: dt.date) -> OrderFilter:
    """The orders filter choice `key` lists on `today` (overdue depends on the day)."""
    if key == TOTAL:
        return OrderFilter()
    if key == EXCEPTIONS:
        return OrderFilter(exception=ANY_EXCEPTION)
    if key == OVERDUE:
        return OrderFilter(overdue_on=today)
    if key == CONFIRM_FAILED:
        return OrderFilter(confirm_failed=True)
    if key in STATUSES:
        return OrderFilter(status=key)
    if key in FILTER_KEYS and is_order_filter(key):
        return OrderFilter(exception=key)
    raise ValueError(f"no order filter {key!r}")


def filter_title(key: str) -> str:
    return _QUEUE_TITLES.get(key) or status_label(key).capitalize()


def count_text(count: int | None) -> str:
    """A count in at most 6 cells: 12,345 / 250k / 1.2M; "–" while unknown."""
    if count is None:
        return "–"
    if count < 100_000:
        return f"{count:,}"
    if count < 1_000_000:
        return f"{count // 1000}k"
    return f"{count / 1_000_000:.1f}M"
