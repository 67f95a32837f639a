"""The Returns screen: RMAs, open ones first and newest first, a page at a time.

Enter opens one; `n` authorises a new return for an order; `g` goes to an RMA by number.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from sqlalchemy import Connection
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.events import Resize
from textual.widgets import DataTable, Footer, Header

from store.orders import find_order
from store.returns import rma_number
from store.views.returns import ReturnRow, count_returns, return_rows

from .ask import AskText
from .base import OmsScreen
from .new_return import NewReturnScreen
from .rma import RmaScreen

__all__ = ["PAGE_SIZE", "ReturnsScreen"]

PAGE_SIZE = 200
# Wide enough to show where each return was received.
_WIDE = 100
_FILTER = Binding.Group("Filter", compact=True)




class ReturnsScreen(OmsScreen):
    """Every RMA (or the open ones), open first; the list refreshes when anything changes."""

    PALETTE_TITLE = "Returns"
    AUTO_FOCUS = "#returns-table"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("1", "show('open')", "Open", group=_FILTER, id="returns.filter-open",
                tooltip="Show the returns still open (authorised, received, inspected)"),
        Binding("2", "show('all')", "All", group=_FILTER, id="returns.filter-all",
                tooltip="Show every return, the open ones first"),
        Binding("enter", "open_rma", "Open RMA", id="returns.open", tooltip="Show the highlighted return"),
        Binding("g", "go_to", "Go to RMA", id="returns.go-to", tooltip="Open a return by its number"),
        Binding("n", "new_return", "New return", id="returns.new",
                tooltip="Authorise a return for an order (asks which)"),
        Binding("right_square_bracket", "page(1)", "Next page", show=False, id="returns.next-page",
                tooltip=f"The next {PAGE_SIZE} returns"),
        Binding("left_square_bracket", "page(-1)", "Previous page", show=False, id="returns.previous-page",
                tooltip=f"The previous {PAGE_SIZE} returns"),
        Binding("ctrl+r", "reload", "Reload", show=False, id="returns.reload", tooltip="Read the list again"),
    ]

    NEEDS: ClassVar[dict[str, str]] = {"new_return": "operator"}

    def __init__(self) -> None:
        super().__init__()
        self.showing = "open"
        self.page_start = 0
        self.total = 0
        self.rows: list[ReturnRow] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield DataTable(id="returns-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.action_show("open")

    def on_data_changed(self) -> None:
        self.action_reload()

    # -- the list ---------------------------------------------------------------

    def action_show(self, which: str) -> None:
        """Show the open returns (`open`) or all of them (`all`), from the first page."""
        self.showing, self.page_start = which, 0
        self.query_one(DataTable).border_title = "Open returns" if which == "open" else "All returns"
        self._fetch()

    def action_reload(self) -> None:
        self._fetch()

    def action_page(self, step: int) -> None:
        offset = self.page_start + step * PAGE_SIZE
        if 0 <= offset < self.total:
            self.page_start = offset
            self._fetch()

    def _fetch(self) -> None:
        open_only, offset = self.showing == "open", self.page_start

        def fetch(conn: Connection) -> tuple[list[ReturnRow], int]:
            rows = return_rows(conn, open_only=open_only, limit=PAGE_SIZE, offset=offset)
            return rows, count_returns(conn, open_only=open_only)

        self.read(fetch, lambda read: self._paged(*read), group="returns-page", title="Cannot read returns")

    def _paged(self, rows: list[ReturnRow], total: int) -> None:
        self.rows, self.total = rows, total
        if self.page_start >= self.total and self.page_start:
            self.page_start = max(0, (self.total - 1) // PAGE_SIZE * PAGE_SIZE)
            self._fetch()
            return
        self._fill()

    def on_resize(self, event: Resize) -> None:
        self._fill()

    def _fill(self) -> None:
        table: DataTable[str | Text] = self.query_one(DataTable)
        row = table.cursor_row
        wide = self.size.width >= _WIDE
        table.clear(columns=True)
        for title, key in (("RMA", "rma"), ("Status", "status"), ("Order", "order"), ("Channel", "channel"),
                           ("Units", "units"), ("Resolution", "resolution")):
            table.add_column(title, key=key)
        if wide:
            table.add_column("Received at", key="location")
        table.add_column("Authorised", key="created")
        for r in self.rows:
            status = Text(r.status, style="bold" if r.open else "dim")
            cells: list[str | Text] = [
                r.rma, status, r.order_external_id, r.channel,
                Text(f"{r.received}/{r.units}", justify="right"), r.resolution or "–",
            ]
            if wide:
                cells.append(r.location or "–")
            cells.append(r.created_at.strftime("%Y-%m-%d" if not wide else "%Y-%m-%d %H:%M"))
            table.add_row(*cells, key=r.rma)
        if self.total == 0:
            table.border_subtitle = "no open returns" if self.showing == "open" else "no returns yet"
        else:
            last = self.page_start + len(self.rows)
            table.border_subtitle = f"{self.page_start + 1:,}–{last:,} of {self.total:,}"
        if self.rows:
            table.move_cursor(row=min(row, len(self.rows) - 1))

    # -- opening ----------------------------------------------------------------

    @property
    def highlighted(self) -> ReturnRow | None:
        table = self.query_one(DataTable)
        if not self.rows or not 0 <= table.cursor_row < len(self.rows):
            return None
        return self.rows[table.cursor_row]

    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        self.action_open_rma()

    def action_open_rma(self) -> None:
        row = self.highlighted
        if row is not None:
            self.app.push_screen(RmaScreen(row.rma))

    def action_go_to(self) -> None:
        def go(text: str | None) -> None:
            if text:
                self.app.push_screen(RmaScreen(rma_number(text)))

        self.app.push_screen(AskText("Go to a return", "RMA number (RMA-000123 or 123)"), go)

    def action_new_return(self) -> None:
        def find(text: str | None) -> None:
            if text:
                self._find_order(text)

        self.app.push_screen(AskText("New return", "Which order? (its external id, or #id)"), find)

    def _find_order(self, ref: str) -> None:
        self.read(lambda conn: find_order(conn, ref), self._found, group="returns-find-order",
                  failed=lambda why: self.notify(why, title="No such order", severity="warning"))

    def _found(self, order_id: int) -> None:
        def opened(rma: str | None) -> None:
            if rma:
                self.app.push_screen(RmaScreen(rma))

        self.app.push_screen(NewReturnScreen(order_id), opened)
