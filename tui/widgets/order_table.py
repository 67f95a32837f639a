"""The order list: a Line-API view of an id snapshot that fetches only the rows on screen.

The database is the model. A filter runs in a thread worker and returns the matching ids
(8 bytes an order); `render_line` finds its row's page in a small LRU cache and, on a miss,
asks one page fetch at a time for it, drawing a placeholder until the page arrives.

A reload (the store changed) runs the filter again and fetches every page on screen in the
same worker, so the new snapshot replaces the old one in one step: rows change in place,
new orders come in above, the highlighted order keeps its line, nothing blinks. The
selection is a set of order ids of its own and survives reloads and filter changes.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual import events, on, work
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.worker import get_current_worker

from store import Store, StoreError
from store.views import OrderFilter, OrderRow, order_ids, order_rows, reading

from ..paging import PageBook
from ._order_columns import EXCEPTION_COLUMN, draw, layout, order_cells, titles

__all__ = ["OrderTable", "PAGE_SIZE"]

PAGE_SIZE = 100
# A new filter first shows this many of its orders (one quick query), then all of them.
HEAD_ROWS = 2 * PAGE_SIZE
# Pages kept besides the ones on screen, so scrolling back a little needs no query.
_SPARE_PAGES = 4


class _IdsLoaded(Message, bubble=False):
    """A snapshot; `head` when it is only the first screens of a new filter (the whole one
    follows), `rest` when it completes the head already shown (cursor and pages stay)."""

    def __init__(
        self, generation: int, flt: OrderFilter, ids: array[int], cursor: int, top: int,
        pages: dict[int, dict[int, OrderRow]], *, head: bool = False, rest: bool = False,
    ) -> None:
        super().__init__()
        self.generation, self.filter, self.ids = generation, flt, ids
        self.cursor, self.top, self.pages = cursor, top, pages
        self.head, self.rest = head, rest


class _PageLoaded(Message, bubble=False):
    def __init__(self, generation: int, page: int, rows: dict[int, OrderRow]) -> None:
        super().__init__()
        self.generation, self.page, self.rows = generation, page, rows


class _LoadFailed(Message, bubble=False):
    def __init__(self, generation: int, error: str) -> None:
        super().__init__()
        self.generation, self.error = generation, error


class OrderTable(ScrollView, can_focus=True):
    """Orders matching a filter, newest first, with a highlighted cursor row."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "order-table--header",
        "order-table--cursor",
        "order-table--placeholder",
        "order-table--message",
        "order-table--exception",
        "order-table--selected",
    }

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor_up", "Previous", show=False, id="order-table.up", tooltip="Highlight the order above"),
        Binding("down", "cursor_down", "Next", show=False, id="order-table.down", tooltip="Highlight the order below"),
        Binding("pageup", "cursor_page_up", "Page up", show=False, id="order-table.page-up", tooltip="Up one screen of orders"),
        Binding("pagedown", "cursor_page_down", "Page down", show=False, id="order-table.page-down", tooltip="Down one screen of orders"),
        Binding("home", "cursor_first", "Newest", show=False, id="order-table.first", tooltip="Highlight the newest order"),
        Binding("end", "cursor_last", "Oldest", show=False, id="order-table.last", tooltip="Highlight the oldest order"),
    ]

    cursor_row: reactive[int] = reactive(0, init=False)

    class Loaded(Message):
        """A filter's snapshot is now on screen; `count` orders match it."""

        def __init__(self, table: OrderTable, flt: OrderFilter, count: int) -> None:
            super().__init__()
            self.table, self.filter, self.count = table, flt, count

        @property
        def control(self) -> OrderTable:
            return self.table

    class SelectionChanged(Message):
        """Orders were selected or let go; `count` are selected now."""

        def __init__(self, table: OrderTable, count: int) -> None:
            super().__init__()
            self.table, self.count = table, count

        @property
        def control(self) -> OrderTable:
            return self.table

    class Failed(Message):
        """The store could not be read; `error` says why."""

        def __init__(self, table: OrderTable, error: str) -> None:
            super().__init__()
            self.table, self.error = table, error

        @property
        def control(self) -> OrderTable:
            return self.table

    def __init__(self, store: Store, *, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._store = store
        self._filter: OrderFilter | None = None
        self._ids: array[int] | None = None  # None until a snapshot arrives
        self._generation = 0
        self._snapshot_pending = False
        self._pages: PageBook[dict[int, OrderRow]] = PageBook(1 + _SPARE_PAGES)
        self._pump_scheduled = False
        self._message = "Loading orders…"
        self._empty = "No orders."
        self._selected: set[int] = set()

    # -- public ---------------------------------------------------------------

    @property
    def filter(self) -> OrderFilter | None:
        return self._filter

    @property
    def row_count(self) -> int | None:
        """Orders in the snapshot on screen, None before the first one arrives."""
        return None if self._ids is None else len(self._ids)

    @property
    def highlighted_id(self) -> int | None:
        if not self._ids:
            return None
        return self._ids[self.cursor_row]

    @property
    def cached_pages(self) -> int:
        return len(self._pages)

    @property
    def cached_rows(self) -> int:
        """Order rows held in memory right now."""
        return sum(len(rows) for rows in self._pages.held())

    @property
    def max_cached_pages(self) -> int:
        return self._pages.maxsize

    @property
    def ids(self) -> array[int]:
        """The ids of the snapshot on screen, newest first (empty before the first arrives)."""
        return self._ids if self._ids is not None else array("q")

    @property
    def selected(self) -> frozenset[int]:
        """The ids of the selected orders (in this filter or not)."""
        return frozenset(self._selected)

    def toggle_selected(self, order_id: int) -> None:
        if order_id in self._selected:
            self._selected.discard(order_id)
        else:
            self._selected.add(order_id)
        self._selection_changed()

    def select(self, order_ids: Iterable[int]) -> None:
        self._selected.update(order_ids)
        self._selection_changed()

    def clear_selection(self) -> None:
        if self._selected:
            self._selected.clear()
            self._selection_changed()

    def _selection_changed(self) -> None:
        self.refresh()
        self.post_message(self.SelectionChanged(self, len(self._selected)))

    def load(self, flt: OrderFilter, *, empty: str = "No orders match this filter.") -> None:
        """Show the orders `flt` matches from the top; an earlier load still running is dropped."""
        self._empty = empty
        if flt != self._filter:
            self.clear_selection()  # bulk actions act on what is listed, never on hidden orders
            self._ids = None
            self._message = "Loading orders…"
            self.virtual_size = Size(self.size.width, 1)
        self._filter = flt
        self._start(flt, anchor=None)

    def reload(self) -> None:
        """Run the filter again, keeping the highlighted order if it still matches."""
        if self._filter is not None:
            self._start(self._filter, anchor=self.highlighted_id)

    # -- loading --------------------------------------------------------------

    def _start(self, flt: OrderFilter, anchor: int | None) -> None:
        # A reload keeps the highlighted order on the same screen line; at the very top, new
        # orders come in above it while it is still on screen.
        top = int(self.scroll_offset.y)
        line = self.cursor_row - top if anchor is not None else 0
        self._generation += 1
        self._snapshot_pending = True
        self._fetch_ids(self._generation, flt, anchor, self.cursor_row, line, anchor is not None and top == 0,
                        self._body_height)
        self.refresh()

    @work(thread=True, exclusive=True, group="order-filter")
    def _fetch_ids(
        self, generation: int, flt: OrderFilter, anchor: int | None, old_cursor: int, line: int, at_top: bool,
        height: int,
    ) -> None:
        try:
            with reading(self._store) as conn:
                first: array[int] | None = None
                if anchor is None and height <= HEAD_ROWS:
                    # The first screens at once: on a million orders the whole snapshot takes a while.
                    first = order_ids(conn, flt, limit=HEAD_ROWS)
                    if len(first) == HEAD_ROWS:
                        pages = {page: order_rows(conn, first[page * PAGE_SIZE : (page + 1) * PAGE_SIZE])
                                 for page in range(HEAD_ROWS // PAGE_SIZE)}
                        self.post_message(_IdsLoaded(generation, flt, first, 0, 0, pages, head=True))
                        ids = order_ids(conn, flt)
                        if not get_current_worker().is_cancelled:
                            self.post_message(_IdsLoaded(generation, flt, ids, 0, 0, {}, rest=True))
                        return
                ids = first if first is not None else order_ids(conn, flt)  # fewer than a head: all of them
                cursor = 0
                if anchor is not None:
                    try:
                        cursor = ids.index(anchor)
                    except ValueError:
                        cursor = min(old_cursor, max(0, len(ids) - 1))  # it left: the line stays
                top = 0 if at_top and cursor < height else max(0, cursor - line)
                top = max(0, min(top, len(ids) - height))
                pages = {
                    page: order_rows(conn, ids[page * PAGE_SIZE : (page + 1) * PAGE_SIZE])
                    for page in range(top // PAGE_SIZE, (top + height - 1) // PAGE_SIZE + 1)
                    if page * PAGE_SIZE < len(ids) or page == 0
                }
        except StoreError as exc:
            self.post_message(_LoadFailed(generation, str(exc)))
            return
        if not get_current_worker().is_cancelled:
            self.post_message(_IdsLoaded(generation, flt, ids, cursor, top, pages))

    @work(thread=True, group="order-page")
    def _fetch_page(self, generation: int, page: int, ids: array[int]) -> None:
        try:
            with reading(self._store) as conn:
                rows = order_rows(conn, ids)
        except StoreError as exc:
            self.post_message(_LoadFailed(generation, str(exc)))
            return
        self.post_message(_PageLoaded(generation, page, rows))

    @on(_IdsLoaded)
    def _ids_loaded(self, message: _IdsLoaded) -> None:
        if message.generation != self._generation:
            return  # a newer filter or reload is on its way
        if message.rest:
            # The whole snapshot behind the head on screen: the head is its start, so the
            # cursor, the scroll position and the pages held stay as they are.
            self._snapshot_pending = False
            self._ids = message.ids
            self.virtual_size = Size(self.size.width, len(message.ids) + 1)
            self.refresh()
            self.post_message(self.Loaded(self, message.filter, len(message.ids)))
            self._pump()
            return
        self._snapshot_pending = message.head
        self._ids = message.ids
        self._pages.reset()
        for page, rows in message.pages.items():
            self._pages.arrived(page, rows)
        self.virtual_size = Size(self.size.width, len(message.ids) + 1)
        self.scroll_to(y=message.top, animate=False, immediate=True)
        self.set_reactive(OrderTable.cursor_row, message.cursor)
        self._scroll_to_cursor()
        self.refresh()
        if not message.head:
            self.post_message(self.Loaded(self, message.filter, len(message.ids)))
        self._pump()

    @on(_PageLoaded)
    def _page_loaded(self, message: _PageLoaded) -> None:
        if message.generation != self._generation:
            return
        self._pages.arrived(message.page, message.rows)
        self.refresh()
        self._pump()

    @on(_LoadFailed)
    def _load_failed(self, message: _LoadFailed) -> None:
        if message.generation != self._generation:
            return
        # The list shows the error instead of rows (asking again on every redraw would loop);
        # a reload tries again.
        self._pages.failed()
        self._snapshot_pending = False
        self._ids = None
        self._message = message.error
        self.virtual_size = Size(self.size.width, 1)
        self.refresh()
        self.post_message(self.Failed(self, message.error))

    def _want(self, page: int) -> None:
        self._pages.want(page)
        if not self._pump_scheduled:
            # Not from inside a render: start the fetch once this frame is drawn.
            self._pump_scheduled = True
            self.call_later(self._pump)

    def _pump(self) -> None:
        """Fetch the most recently missed page that is still on screen; one at a time."""
        self._pump_scheduled = False
        if self._snapshot_pending or self._ids is None:
            return  # pages of the old snapshot would be mixed into the new one
        page = self._pages.next_fetch(self._visible_pages())
        if page is not None:
            self._fetch_page(self._generation, page, self._ids[page * PAGE_SIZE : (page + 1) * PAGE_SIZE])

    def _visible_pages(self) -> range:
        if not self._ids:
            return range(0)
        top = int(self.scroll_offset.y)
        bottom = min(len(self._ids) - 1, top + self._body_height - 1)
        return range(top // PAGE_SIZE, bottom // PAGE_SIZE + 1)

    # -- cursor ---------------------------------------------------------------

    @property
    def _body_height(self) -> int:
        return max(1, self.scrollable_size.height - 1)

    def validate_cursor_row(self, row: int) -> int:
        last = len(self._ids) - 1 if self._ids else 0
        return max(0, min(row, last))

    def watch_cursor_row(self) -> None:
        self._scroll_to_cursor()
        self.refresh()

    def _scroll_to_cursor(self) -> None:
        row, first = self.cursor_row, int(self.scroll_offset.y)
        if row < first:
            self.scroll_to(y=row, animate=False)
        elif row >= first + self._body_height:
            self.scroll_to(y=row - self._body_height + 1, animate=False)

    def action_cursor_up(self) -> None:
        self.cursor_row -= 1

    def action_cursor_down(self) -> None:
        self.cursor_row += 1

    def action_cursor_page_up(self) -> None:
        self.cursor_row -= self._body_height

    def action_cursor_page_down(self) -> None:
        self.cursor_row += self._body_height

    def action_cursor_first(self) -> None:
        self.cursor_row = 0

    def action_cursor_last(self) -> None:
        self.cursor_row = len(self._ids) - 1 if self._ids else 0

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is not None and offset.y >= 1 and self._ids:
            self.cursor_row = int(self.scroll_offset.y) + offset.y - 1

    def on_resize(self, event: events.Resize) -> None:
        rows = len(self._ids) if self._ids is not None else 0
        self.virtual_size = Size(event.size.width, rows + 1)
        # Always room for everything on screen plus a few spare pages.
        self._pages.grow(self._body_height // PAGE_SIZE + 2 + _SPARE_PAGES)

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    # -- drawing --------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width, base = self.scrollable_size.width, self.rich_style
        shown = layout(width)
        if y == 0:
            style = base + self.get_component_rich_style("order-table--header")
            names = titles()
            return draw([(names[i], style) for i, _ in shown], shown, width, style)
        ids = self._ids
        if not ids:
            if y != 1:
                return Strip.blank(width, base)
            text = self._message if ids is None else self._empty
            return self._note(text, "order-table--message", width, base)
        row = int(self.scroll_offset.y) + y - 1
        if row >= len(ids):
            return Strip.blank(width, base)
        page = self._pages.get(row // PAGE_SIZE)
        order = page.get(ids[row]) if page is not None else None
        cursor = row == self.cursor_row
        chosen = ids[row] in self._selected
        style = base
        if chosen:
            style += self.get_component_rich_style("order-table--selected")
        if cursor:
            style += self.get_component_rich_style("order-table--cursor")
        if order is None:
            if page is None:
                self._want(row // PAGE_SIZE)
                return self._note("…", "order-table--placeholder", width, style)
            return self._note(f"order #{ids[row]} is no longer in the store", "order-table--placeholder", width, style)
        exception = style + self.get_component_rich_style("order-table--exception")
        values = order_cells(order)
        cells = [(values[i], exception if i == EXCEPTION_COLUMN and not cursor else style) for i, _ in shown]
        return draw(cells, shown, width, style, mark="✓" if chosen else " ")

    def _note(self, text: str, component: str, width: int, style: Style) -> Strip:
        """A line holding only `text`, for placeholders and messages."""
        segments = [Segment(" ", style), Segment(text, style + self.get_component_rich_style(component))]
        return Strip(segments).adjust_cell_length(width, style)
