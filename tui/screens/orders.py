"""The queue: filter choices (statuses and exception queues) with counts beside a lazy list of
orders; search, a channel, a selection and bulk actions on it."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections import Counter
from collections.abc import Callable, Sequence
from typing import ClassVar

from sqlalchemy import Connection
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer, Header

from store import NotFound, TransitionError
from store.holds import release_many
from store.orders import STATUSES, cancel
from store.routing.batch import route_many
from store.views import EXCEPTIONS, TOTAL, OrderFilter, channel_codes, count_queues

from ..labels import FILTER_KEYS, filter_for, filter_title, is_order_filter, status_label
from ..widgets.order_search import OrderSearch
from ..widgets.order_table import OrderTable
from ..widgets.status_filter import StatusFilter
from .ask import AskText, Confirm
from .base import OmsScreen

__all__ = ["OrdersScreen", "SELECT_CAP"]

# `*` selects at most this many orders (the newest of the filter), after asking.
SELECT_CAP = 10_000

_FILTER_GROUP = Binding.Group("Filter", compact=True)


def _filter_binding(number: int, key: str) -> Binding:
    title = filter_title(key)
    return Binding(
        str(number),
        f"show_orders({key!r})",
        title,
        group=_FILTER_GROUP,
        show=False,  # the filter list shows each number; the footer keeps room for the actions
        id=f"orders.filter-{key}",
        tooltip=f"Show {title.lower()}" if key in (TOTAL, EXCEPTIONS) else f"Show the {title.lower()} orders",
    )


def _empty_text(key: str, narrowed: bool) -> str:
    if narrowed:
        return "No orders match the search or channel."
    if key == TOTAL:
        return "No orders yet."
    if key == EXCEPTIONS:
        return "No orders are waiting in an exception queue."
    if key not in STATUSES:
        return f"No orders in the {filter_title(key).lower()} queue."
    return f"No {status_label(key)} orders."


def _why(reason: str) -> str:
    """A skip reason without the order's own number, so equal reasons count together."""
    return re.sub(r"^order \S+?:? ", "", reason)


def _report(verb: str, total: int, skipped: Sequence[str]) -> str:
    """"Released 3 of 5 orders; skipped 2: allocated, not on hold"."""
    text = f"{verb} {total - len(skipped):,} of {total:,} order{'s' if total != 1 else ''}"
    if skipped:
        reasons = Counter(_why(r) for r in skipped).most_common()
        shown = "; ".join(f"{n:,} {r}" if n > 1 else r for r, n in reasons[:3])
        text += f"; skipped {len(skipped):,}: {shown}" + ("; …" if len(reasons) > 3 else "")
    return text



class OrdersScreen(OmsScreen):
    """Every order, or those in one status or exception queue, newest first; narrowed by a
    search and a channel; orders selected and worked in bulk."""

    AUTO_FOCUS = "OrderTable"

    BINDINGS: ClassVar[list[BindingType]] = [
        *(_filter_binding(n, key) for n, key in enumerate(FILTER_KEYS) if n < 10),
        Binding("enter", "open", "Open", id="orders.open", tooltip="Open the highlighted order"),
        Binding("space", "toggle_selected", "Select", id="orders.select",
                tooltip="Select the highlighted order, or let it go again"),
        Binding("u", "release_holds", "Release", id="orders.release",
                tooltip="Take the selected (or highlighted) orders off hold"),
        Binding("r", "route", "Route", id="orders.route",
                tooltip="Route the open units of the selected (or highlighted) orders as the rules propose"),
        Binding("x", "cancel_orders", "Cancel", id="orders.cancel",
                tooltip="Cancel the selected (or highlighted) orders, with a reason"),
        Binding("slash", "search", "Search", id="orders.search",
                tooltip="Search by the start of an order number or a buyer's name"),
        Binding("c", "next_channel", "Channel", id="orders.channel",
                tooltip="Show one channel's orders, the next channel each time (then all again)"),
        Binding("asterisk", "select_all", "Select all", id="orders.select-all",
                tooltip=f"Select every order of this list (up to {SELECT_CAP:,})"),
        Binding("escape", "escape", "Clear", show=False, id="orders.clear",
                tooltip="Close the search, else let go of the selection"),
        Binding("ctrl+r", "reload", "Reload", id="orders.reload",
                tooltip="Run the filter again and refresh the counts"),
    ]

    NEEDS: ClassVar[dict[str, str]] = {"release_holds": "operator", "route": "operator", "cancel_orders": "operator"}

    PALETTE_TITLE = "Orders"

    def __init__(self) -> None:
        super().__init__()
        self._key = TOTAL
        self._channel: str | None = None
        self._search = ""
        self._channels: list[str] = []
        self._counts: dict[str, int] = {}
        self._loaded_count: int | None = None

    # -- what is shown ----------------------------------------------------------

    @property
    def filter_key(self) -> str:
        """The filter choice in force: a status, a queue, `all` or `exceptions`."""
        return self._key

    @property
    def channel(self) -> str | None:
        return self._channel

    @property
    def search(self) -> str:
        return self._search

    @property
    def counts(self) -> dict[str, int]:
        """The latest orders-per-choice counts (empty until the first arrive)."""
        return dict(self._counts)

    def current_filter(self) -> OrderFilter:
        """The choice, the channel and the search together."""
        today = self.oms.now().astimezone(dt.timezone.utc).date()
        return dataclasses.replace(filter_for(self._key, today), channel=self._channel, search=self._search or None)

    @property
    def _table(self) -> OrderTable:
        return self.query_one(OrderTable)

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="orders-body"):
            yield StatusFilter(id="filters")
            with Vertical(id="orders-main"):
                yield OrderSearch(id="orders-search")
                yield OrderTable(self.store, id="orders")
        yield Footer()

    def on_mount(self) -> None:
        self.action_show_orders(TOTAL)

    def on_data_changed(self) -> None:
        self.action_reload()

    def _load(self) -> None:
        table = self._table
        title = filter_title(self._key)
        if self._channel:
            title += f" · {self._channel}"
        if self._search:
            title += f" · “{self._search}”"
        table.border_title = title
        table.load(self.current_filter(), empty=_empty_text(self._key, bool(self._channel or self._search)))
        self._loaded_count = None
        table.border_subtitle = "counting…"
        self._fetch_counts()

    def _subtitle(self) -> None:
        count, table = self._loaded_count, self._table
        if count is None:
            return
        text = f"{count:,} orders" if count != 1 else "1 order"
        if table.selected:
            text += f" · {len(table.selected):,} selected"
        table.border_subtitle = text

    # -- filters ------------------------------------------------------------------

    def action_show_orders(self, key: str) -> None:
        """Show the orders of filter choice `key` (EDI rejected: the EDI screen's rejected documents)."""
        if not is_order_filter(key):
            self._show_rejected_documents()
            return
        self._key = key
        self.query_one(StatusFilter).mark(key)
        self._load()

    def _show_rejected_documents(self) -> None:
        from .documents import DocumentsScreen

        self.oms.action_go("edi")
        for screen in self.app.screen_stack:
            if isinstance(screen, DocumentsScreen):
                screen.call_after_refresh(screen.show_rejected)

    def action_next_channel(self) -> None:
        """The next channel's orders only; after the last, every channel again."""
        if not self._channels:
            self.notify("No channels to choose from yet.", severity="warning")
            return
        choices: list[str | None] = [None, *self._channels]
        at = choices.index(self._channel) if self._channel in choices else 0
        self._channel = choices[(at + 1) % len(choices)]
        self._load()

    def action_search(self) -> None:
        box = self.query_one(OrderSearch)
        box.add_class("-active")
        box.focus()

    @on(OrderSearch.Search)
    def _searched(self, event: OrderSearch.Search) -> None:
        if event.text != self._search:
            self._search = event.text
            self._load()
        if event.done:
            self._table.focus()

    def _close_search(self) -> None:
        box = self.query_one(OrderSearch)
        box.remove_class("-active")
        if box.value:
            box.value = ""
        if self._search:
            self._search = ""
            self._load()
        self._table.focus()

    def action_escape(self) -> None:
        """Close the search box (dropping the search), else let go of the selection."""
        box = self.query_one(OrderSearch)
        if box.has_focus or (box.has_class("-active") and not self._table.selected):
            self._close_search()
        else:
            self._table.clear_selection()

    def action_reload(self) -> None:
        self._table.reload()
        self._fetch_counts()

    @on(StatusFilter.Chosen)
    def _chosen(self, event: StatusFilter.Chosen) -> None:
        self.action_show_orders(event.key)
        self._table.focus()

    @on(OrderTable.Loaded)
    def _loaded(self, event: OrderTable.Loaded) -> None:
        self._loaded_count = event.count
        self._subtitle()

    @on(OrderTable.SelectionChanged)
    def _selection_changed(self) -> None:
        self._subtitle()

    @on(OrderTable.Failed)
    def _failed(self, event: OrderTable.Failed) -> None:
        self.notify(event.error, title="Cannot read orders", severity="error")

    def _fetch_counts(self) -> None:
        today = self.oms.now().astimezone(dt.timezone.utc).date()

        def fetch(conn: Connection) -> tuple[dict[str, int], list[str]]:
            return count_queues(conn, today=today, channel=self._channel), channel_codes(conn)

        # An unreadable store: the list reports the same failure.
        self.read(fetch, lambda read: self._counts_loaded(*read), group="order-counts", failed=lambda _why: None)

    def _counts_loaded(self, counts: dict[str, int], channels: list[str]) -> None:
        self._counts = counts
        self._channels = channels
        self.query_one(StatusFilter).show_counts(counts)

    # -- one order, a selection -----------------------------------------------------

    def action_open(self) -> None:
        """Open the highlighted order."""
        order_id = self._table.highlighted_id
        if order_id is not None:
            from .order import OrderScreen

            self.app.push_screen(OrderScreen(order_id))

    def action_toggle_selected(self) -> None:
        table = self._table
        if table.highlighted_id is not None:
            table.toggle_selected(table.highlighted_id)
            table.action_cursor_down()

    def action_select_all(self) -> None:
        table = self._table
        ids = table.ids
        if len(ids) <= SELECT_CAP:
            table.select(ids)
            return

        def answer(yes: bool | None) -> None:
            if yes:
                table.select(ids[:SELECT_CAP])

        self.app.push_screen(
            Confirm(f"Select {SELECT_CAP:,} orders?",
                    f"This list has {len(ids):,} orders; select the newest {SELECT_CAP:,}? "
                    "Narrow it with a queue, a channel or a search to reach the others."),
            answer,
        )

    def _targets(self) -> list[int]:
        """The selected orders, newest first; else the highlighted one."""
        table = self._table
        if table.selected:
            return sorted(table.selected, reverse=True)
        return [table.highlighted_id] if table.highlighted_id is not None else []

    @staticmethod
    def _orders(n: int) -> str:
        return f"{n:,} orders" if n != 1 else "1 order"

    def _bulk(self, what: str, verb: str, write: Callable[[str], list[str | None]], total: int) -> None:
        """Run `write` (one result per order: None done, else why skipped) and report."""

        def report(results: list[str | None]) -> str:
            return _report(verb, total, [r for r in results if r is not None])

        self.oms.perform("operator", what, write, done=lambda _r: self._table.clear_selection(), report=report)

    # -- bulk actions (operator) ------------------------------------------------------

    def action_release_holds(self) -> None:
        """Take the selected orders off hold (a reason is kept with each)."""
        ids = self._targets()
        if not ids:
            return

        def answered(reason: str | None) -> None:
            if not reason:
                return

            def write(actor: str) -> list[str | None]:
                return [r.skipped for r in release_many(self.store, ids, reason=reason, actor=actor)]

            self._bulk("release holds", "Released", write, len(ids))

        self.app.push_screen(AskText(f"Release {self._orders(len(ids))}", "Why may they go on? (kept with each)"),
                             answered)

    def action_route(self) -> None:
        """Route the open units of the selected orders where the rules propose."""
        ids = self._targets()
        if not ids:
            return

        def write(actor: str) -> list[str | None]:
            return [r.skipped for r in route_many(self.store, ids, actor=actor)]

        if len(ids) == 1:
            self._bulk("route", "Routed", write, 1)
            return
        self.app.push_screen(
            Confirm(f"Route {self._orders(len(ids))}?", "Each takes what the routing rules propose now."),
            lambda yes: self._bulk("route", "Routed", write, len(ids)) if yes else None,
        )

    def action_cancel_orders(self) -> None:
        """Cancel the selected orders after a confirmation and a reason."""
        ids = self._targets()
        if not ids:
            return

        def write_with(reason: str) -> Callable[[str], list[str | None]]:
            def write(actor: str) -> list[str | None]:
                out: list[str | None] = []
                for oid in ids:
                    try:
                        cancel(self.store, oid, reason, actor=actor)
                    except (TransitionError, NotFound) as exc:
                        out.append(str(exc))
                    else:
                        out.append(None)
                return out

            return write

        def reason_given(reason: str | None) -> None:
            if reason:
                self._bulk("cancel orders", "Cancelled", write_with(reason), len(ids))

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.app.push_screen(AskText(f"Cancel {self._orders(len(ids))}", "Why? (the channel is told)"),
                                     reason_given)

        self.app.push_screen(
            Confirm(f"Cancel {self._orders(len(ids))}?",
                    "Reserved units go back on the shelf and each channel is told. This cannot be undone.",
                    yes="Cancel them" if len(ids) > 1 else "Cancel it"),
            confirmed,
        )
