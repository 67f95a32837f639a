"""The order list screen: filter choices with counts beside a lazy list of orders."""

from __future__ import annotations

from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Footer, Header
from textual.worker import get_current_worker

from store import StoreError
from store.views import EXCEPTIONS, TOTAL, count_by_status, reading

from ..labels import FILTER_KEYS, filter_for, filter_title, status_label
from ..widgets.order_table import OrderTable
from ..widgets.status_filter import StatusFilter
from .base import OmsScreen

__all__ = ["OrdersScreen"]

_FILTER_GROUP = Binding.Group("Filter", compact=True)


def _filter_binding(number: int, key: str) -> Binding:
    title = filter_title(key)
    return Binding(
        str(number),
        f"show_orders({key!r})",
        title,
        group=_FILTER_GROUP,
        id=f"orders.filter-{key}",
        tooltip=f"Show {title.lower()}" if key in (TOTAL, EXCEPTIONS) else f"Show the {title.lower()} orders",
    )


def _empty_text(key: str) -> str:
    if key == TOTAL:
        return "No orders yet."
    if key == EXCEPTIONS:
        return "No orders are waiting in an exception queue."
    return f"No {status_label(key)} orders."


class _CountsLoaded(Message, bubble=False):
    def __init__(self, counts: dict[str, int]) -> None:
        super().__init__()
        self.counts = counts


class OrdersScreen(OmsScreen):
    """Every order, or those in one status or exception queue, newest first."""

    AUTO_FOCUS = "OrderTable"

    BINDINGS: ClassVar[list[BindingType]] = [
        *(_filter_binding(n, key) for n, key in enumerate(FILTER_KEYS) if n < 10),
        Binding("ctrl+r", "reload", "Reload", id="orders.reload",
                tooltip="Run the filter again and refresh the counts"),
    ]

    PALETTE_TITLE = "Orders"

    def __init__(self) -> None:
        super().__init__()
        self._key = TOTAL
        self._counts: dict[str, int] = {}

    @property
    def filter_key(self) -> str:
        """The filter choice in force: a status, `all` or `exceptions`."""
        return self._key

    @property
    def counts(self) -> dict[str, int]:
        """The latest orders-per-choice counts (empty until the first arrive)."""
        return dict(self._counts)

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="orders-body"):
            yield StatusFilter(id="filters")
            yield OrderTable(self.store, id="orders")
        yield Footer()

    def on_mount(self) -> None:
        super().on_mount()
        self.action_show_orders(TOTAL)

    def on_data_changed(self) -> None:
        self.action_reload()

    def action_show_orders(self, key: str) -> None:
        """Show the orders of filter choice `key`."""
        self._key = key
        self.query_one(StatusFilter).mark(key)
        table = self.query_one(OrderTable)
        table.border_title = filter_title(key)
        table.load(filter_for(key), empty=_empty_text(key))
        self._fetch_counts()

    def action_reload(self) -> None:
        self.query_one(OrderTable).reload()
        self._fetch_counts()

    @on(StatusFilter.Chosen)
    def _chosen(self, event: StatusFilter.Chosen) -> None:
        self.action_show_orders(event.key)
        self.query_one(OrderTable).focus()

    @on(OrderTable.Loaded)
    def _loaded(self, event: OrderTable.Loaded) -> None:
        event.table.border_subtitle = f"{event.count:,} orders" if event.count != 1 else "1 order"

    @on(OrderTable.Failed)
    def _failed(self, event: OrderTable.Failed) -> None:
        self.notify(event.error, title="Cannot read orders", severity="error")

    @work(thread=True, exclusive=True, group="order-counts")
    def _fetch_counts(self) -> None:
        try:
            with reading(self.store) as conn:
                counts = count_by_status(conn)
        except StoreError:
            return  # the list reports the same failure
        if not get_current_worker().is_cancelled:
            self.post_message(_CountsLoaded(counts))

    @on(_CountsLoaded)
    def _counts_loaded(self, message: _CountsLoaded) -> None:
        self._counts = message.counts
        self.query_one(StatusFilter).show_counts(message.counts)
