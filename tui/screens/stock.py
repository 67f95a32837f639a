"""The Stock screen: SKU x location levels (on hand, reserved, safety, available), searched by
SKU code prefix a page of SKUs at a time; below, the highlighted SKU's movements newest first
and the channels still owed its new quantity. Adjust, set safety stock, receive units."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from sqlalchemy import Connection
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.events import Resize
from textual.widgets import DataTable, Footer, Header, Input, Static

from store.inventory import adjust, receive, set_safety, stock_of
from store.views.common import reading
from store.views.stock import MovementRow, OwedPush, StockPage, StockRow, movements_of, owed_pushes, stock_page

from ..widgets.rma_line_inputs import count_of
from .ask import AskText
from .base import OmsScreen

__all__ = ["PAGE_SKUS", "StockScreen"]

PAGE_SKUS = 50
MOVEMENTS = 100
# Wide enough for SKU names and movement notes.
_WIDE = 100




def _num(n: int, style: str = "") -> Text:
    return Text(f"{n:,}", justify="right", style=style)


def _delta(text: str, on_hand: int) -> int:
    """"+5" or "-2": a change; "12": the new on-hand count."""
    text = text.replace(" ", "")
    if text[:1] in "+-" and text[1:]:
        n = count_of(text[1:], "the change")
        return n if text[0] == "+" else -n
    return count_of(text, "the new on-hand count") - on_hand


class StockScreen(OmsScreen):
    """Stock per SKU and location; type a code prefix to find SKUs."""

    PALETTE_TITLE = "Stock"
    AUTO_FOCUS = "#stock-grid"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "search", "Search", id="stock.search", tooltip="Find SKUs by the start of their code"),
        Binding("a", "adjust", "Adjust", id="stock.adjust",
                tooltip="Correct the on-hand count here (a new count or +/- units) with a reason"),
        Binding("s", "safety", "Safety", id="stock.safety",
                tooltip="Set the units held back from orders at this location"),
        Binding("r", "receive", "Receive", id="stock.receive", tooltip="Book units received at this location"),
        Binding("right_square_bracket", "page(1)", "Next SKUs", show=False, id="stock.next-page",
                tooltip=f"The next {PAGE_SKUS} SKUs"),
        Binding("left_square_bracket", "page(-1)", "Previous SKUs", show=False, id="stock.previous-page",
                tooltip=f"The previous {PAGE_SKUS} SKUs"),
        Binding("ctrl+r", "reload", "Reload", show=False, id="stock.reload", tooltip="Read the levels again"),
    ]

    NEEDS: ClassVar[dict[str, str]] = {"adjust": "operator", "safety": "operator", "receive": "operator"}

    def __init__(self) -> None:
        super().__init__()
        self.prefix = ""
        self._starts: list[str | None] = [None]  # the `after` of each page up to this one
        self.page: StockPage | None = None
        self.moves: list[MovementRow] = []
        self.owed: list[OwedPush] = []
        self._moves_sku: str | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(placeholder="SKU code starts with…  (/ to search)", id="stock-search", compact=True)
        grid: DataTable[str | Text] = DataTable(id="stock-grid", cursor_type="row", zebra_stripes=True)
        grid.border_title = "Stock"
        yield grid
        yield Static("", id="stock-owed")
        moves: DataTable[str | Text] = DataTable(id="stock-moves", cursor_type="row")
        moves.border_title = "Movements"
        yield moves
        yield Footer()

    def on_mount(self) -> None:
        self._fetch()

    def on_data_changed(self) -> None:
        self.action_reload()

    # -- the grid ---------------------------------------------------------------

    @property
    def highlighted(self) -> StockRow | None:
        grid = self.query_one("#stock-grid", DataTable)
        rows = self.page.rows if self.page else ()
        if not rows or not 0 <= grid.cursor_row < len(rows):
            return None
        return rows[grid.cursor_row]

    def action_search(self) -> None:
        self.query_one("#stock-search", Input).focus()

    @on(Input.Changed, "#stock-search")
    def _search(self, event: Input.Changed) -> None:
        self.prefix = event.value.strip()
        self._starts = [None]
        self._fetch()

    @on(Input.Submitted, "#stock-search")
    def _searched(self) -> None:
        self.query_one("#stock-grid", DataTable).focus()

    def action_page(self, step: int) -> None:
        if step > 0 and self.page is not None and self.page.next_after is not None:
            self._starts.append(self.page.next_after)
        elif step < 0 and len(self._starts) > 1:
            self._starts.pop()
        else:
            return
        self.query_one("#stock-grid", DataTable).move_cursor(row=0)
        self._fetch()

    def action_reload(self) -> None:
        self._fetch()
        self._moves_sku = None  # read the movements again too

    def _fetch(self) -> None:
        prefix, after = self.prefix, self._starts[-1]
        self.read(lambda conn: stock_page(conn, prefix, after=after, limit=PAGE_SKUS), self._paged,
                  group="stock-page", title="Cannot read stock")

    def _paged(self, page: StockPage) -> None:
        self.page = page
        self._fill_grid()
        self._follow()

    def on_resize(self, event: Resize) -> None:
        self._fill_grid()
        self._fill_moves()

    def _fill_grid(self) -> None:
        grid: DataTable[str | Text] = self.query_one("#stock-grid", DataTable)
        wide = self.size.width >= _WIDE
        row = grid.cursor_row
        grid.clear(columns=True)
        grid.add_column("SKU", key="sku")
        if wide:
            grid.add_column("Name", key="name")
        grid.add_column("Location", key="location")
        for title, key in (("On hand", "on_hand"), ("Reserved", "reserved"), ("Safety", "safety"),
                           ("Available", "available")):
            grid.add_column(title, key=key)
        page = self.page
        if page is None:
            return
        for r in page.rows:
            cells: list[str | Text] = [r.sku]
            if wide:
                cells.append(r.name[:30])
            cells += [r.location or "–", _num(r.on_hand), _num(r.reserved), _num(r.safety),
                      _num(r.available, "bold" if r.available else "dim")]
            grid.add_row(*cells, key=f"{r.sku}\t{r.location or ''}")
        first = len(self._starts) - 1
        shown = f"SKUs {first * PAGE_SKUS + 1:,}–{first * PAGE_SKUS + page.skus:,}" if page.skus else "no SKUs"
        if not page.skus and self.prefix:
            shown = f"no SKU starts with {self.prefix}"
        more = "  ] next" if page.more else ""
        back = "  [ previous" if first else ""
        grid.border_subtitle = f"{shown}{more}{back}"
        if page.rows:
            grid.move_cursor(row=min(row, len(page.rows) - 1))

    # -- the highlighted SKU ----------------------------------------------------

    @on(DataTable.RowHighlighted, "#stock-grid")
    def _highlighted(self) -> None:
        self._follow()

    def _follow(self) -> None:
        """Read the movements of the highlighted SKU, unless they are shown already."""
        row = self.highlighted
        sku = row.sku if row else None
        if sku == self._moves_sku:
            return
        self._moves_sku = sku
        if sku is None:
            self.moves, self.owed = [], []
            self._fill_moves()
        else:
            self._fetch_moves(sku)

    def _fetch_moves(self, sku: str) -> None:
        def fetch(conn: Connection) -> tuple[list[MovementRow], list[OwedPush]]:
            return movements_of(conn, sku, limit=MOVEMENTS), owed_pushes(conn, sku)

        self.read(fetch, lambda read: self._moved(sku, *read), group="stock-moves", title="Cannot read movements")

    def _moved(self, sku: str, moves: list[MovementRow], owed: list[OwedPush]) -> None:
        if sku != self._moves_sku:
            return
        self.moves, self.owed = moves, owed
        self._fill_moves()

    def _fill_moves(self) -> None:
        table: DataTable[str | Text] = self.query_one("#stock-moves", DataTable)
        wide = self.size.width >= _WIDE
        table.clear(columns=True)
        for title, key in (("When UTC", "at"), ("Loc", "location"), ("Units", "qty"), ("Kind", "kind"),
                           ("Reference", "reference"), ("By", "actor")):
            table.add_column(title, key=key)
        if wide:
            table.add_column("Note", key="note")
        for m in self.moves:
            cells: list[str | Text] = [
                m.at.strftime("%m-%d %H:%M"), m.location, Text(f"{m.qty:+,}", justify="right"), m.kind,
                (m.reference or "")[: 24 if wide else 14], m.actor[:12],
            ]
            if wide:
                cells.append(m.note or "")
            table.add_row(*cells)
        sku = self._moves_sku
        table.border_title = f"Movements of {sku}, newest first" if sku else "Movements"
        table.border_subtitle = (f"latest {len(self.moves)}" if len(self.moves) >= MOVEMENTS
                                 else f"{len(self.moves)} movement{'s' if len(self.moves) != 1 else ''}")
        owed = self.query_one("#stock-owed", Static)
        if not sku:
            owed.update("")
        elif self.owed:
            owed.update("Stock push owed to " + ", ".join(
                f"{o.channel} ({o.attempts} failed: {o.last_error})" if o.last_error else o.channel
                for o in self.owed))
        else:
            owed.update("No stock push owed to any channel")

    # -- writes -----------------------------------------------------------------

    def _located(self, what: str) -> StockRow | None:
        row = self.highlighted
        if row is None:
            self.notify("No SKU is highlighted", severity="warning")
            return None
        if row.location is None:
            self.notify(f"{row.sku} has no stock at any location yet: receive some first (r)", severity="warning")
            return None
        return row

    def action_adjust(self) -> None:
        row = self._located("adjust")
        if row is None:
            return

        def counted(text: str | None) -> None:
            if text is not None:
                self.app.push_screen(AskText(f"Adjust {row.sku} at {row.location}", "Why? (cycle count, damage …)"),
                                     lambda reason: self._adjust(row, text, reason))

        self.app.push_screen(AskText(
            f"Adjust {row.sku} at {row.location}",
            f"New on-hand count (now {row.on_hand}), or a change like +5 or -2", value=str(row.on_hand),
        ), counted)

    def _adjust(self, row: StockRow, text: str, reason: str | None) -> None:
        if reason is None:
            return
        sku, location = row.sku, row.location or ""

        def write(actor: str) -> int:
            with reading(self.store) as conn:
                now = next((r.on_hand for r in stock_of(conn, sku) if r.location == location), 0)
            delta = _delta(text, now)
            if delta == 0:
                raise ValueError(f"{sku} at {location} already has {now} on hand; nothing to change")
            return adjust(self.store, sku, location, delta, reason=reason, actor=actor)

        self.oms.perform("operator", f"adjust {sku} at {location}", write,
                         report=lambda on_hand: f"{sku} at {location}: {on_hand} on hand")

    def action_safety(self) -> None:
        row = self._located("set safety stock")
        if row is None:
            return
        sku, location = row.sku, row.location or ""

        def chosen(text: str | None) -> None:
            if text is None:
                return
            self.oms.perform(
                "operator", f"set the safety stock of {sku} at {location}",
                lambda actor: set_safety(self.store, sku, location, count_of(text, "safety stock"), actor=actor),
                report=f"{sku} at {location}: safety stock {text}",
            )

        self.app.push_screen(AskText(f"Safety stock of {sku} at {location}",
                                     "Units held back from orders here", value=str(row.safety)), chosen)

    def action_receive(self) -> None:
        row = self.highlighted
        if row is None:
            self.notify("No SKU is highlighted", severity="warning")
            return
        if row.location is None:
            self.app.push_screen(AskText(f"Receive {row.sku}", "At which location (its code)?"),
                                 lambda loc: self._ask_units(row.sku, loc) if loc else None)
        else:
            self._ask_units(row.sku, row.location)

    def _ask_units(self, sku: str, location: str) -> None:
        def units(text: str | None) -> None:
            if text is not None:
                self.app.push_screen(
                    AskText(f"Receive {sku} at {location}", "Reference (PO, ASN), or leave empty", required=False),
                    lambda ref: self._receive(sku, location, text, ref) if ref is not None else None,
                )

        self.app.push_screen(AskText(f"Receive {sku} at {location}", "Units received"), units)

    def _receive(self, sku: str, location: str, units: str, reference: str) -> None:
        self.oms.perform(
            "operator", f"receive {sku} at {location}",
            lambda actor: receive(self.store, sku, location, count_of(units, "units received"),
                                  reference=reference or None, actor=actor),
            report=lambda on_hand: f"{sku} at {location}: {on_hand} on hand",
        )
