"""What operators read for the store's codes: status and filter names, shown in more than one widget."""

from __future__ import annotations

from store.orders import STATUSES
from store.views import ANY_EXCEPTION, EXCEPTIONS, TOTAL, OrderFilter

__all__ = ["FILTER_KEYS", "filter_for", "filter_title", "status_label"]

# Short enough for a 12-column cell.
_STATUS_LABELS = {"on_hold": "on hold", "partially_shipped": "part shipped", "ready_for_pickup": "for pickup",
                  "picked_up": "picked up"}

# A filter choice key (what the number keys and the filter list select) -> its filter.
_PICKUP = ("ready_for_pickup", "picked_up")
_FILTERS: dict[str, OrderFilter] = {
    TOTAL: OrderFilter(),
    **{status: OrderFilter(status=status) for status in STATUSES if status not in _PICKUP},
    EXCEPTIONS: OrderFilter(exception=ANY_EXCEPTION),
    **{status: OrderFilter(status=status) for status in _PICKUP},
}
# In the order they are listed: 0 all, 1..8 the shipping statuses, 9 exceptions have number
# keys; the pick-up statuses follow, chosen from the list.
FILTER_KEYS: tuple[str, ...] = tuple(_FILTERS)


def status_label(status: str) -> str:
    return _STATUS_LABELS.get(status, status)


def filter_for(key: str) -> OrderFilter:
    return _FILTERS[key]


def filter_title(key: str) -> str:
    if key == TOTAL:
        return "All orders"
    if key == EXCEPTIONS:
        return "Exceptions"
    return status_label(key).capitalize()
