"""One order: its header on top, then tabs with its lines, reservations, routing explanation,
shipments, returns, the raw source document and its history; the keys work the order.

Pushed over the queue (Enter on an order); Escape goes back. Every key that changes the order
calls one `store/` function through `OmsApp.perform`, so the operator's name is on the audit
trail; the screen reads the order again after each change (and when the gateway writes).
"""

from __future__ import annotations

import re
from typing import ClassVar

from sqlalchemy import Connection
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Footer, Header, Static, TabbedContent, TabPane, TextArea

from store.aliases import UnknownLine, map_unknown_item, unknown_lines
from store.cancellations import cancel_units
from store.holds import hold, release
from store.outbox import retry
from store.returns import ReturnView, returns_of
from store.views.order_detail import OrderDetail, explain, order_detail

from ..labels import status_label
from .ask import AskText, Confirm
from .base import OmsScreen

__all__ = ["OrderScreen"]

_WORK = Binding.Group("Order", compact=True)
# (id, title) of the tabs, in order; keys 1..7 show them.
_TABS = (("lines", "Lines"), ("reserved", "Reserved"), ("routing", "Routing"), ("shipments", "Shipments"),
         ("returns", "Returns"), ("source", "Source"), ("history", "History"))
_LINES = re.compile(r"^\s*\d+\s*:\s*\d+\s*(,\s*\d+\s*:\s*\d+\s*)*$")


def _when(value: object) -> str:
    return f"{value:%Y-%m-%d %H:%M}" if value is not None else "-"


def _returns_text(returns: list[ReturnView]) -> str:
    if not returns:
        return "No returns."
    out: list[str] = []
    for r in returns:
        head = f"{r.rma}  {r.status}"
        if r.resolution:
            head += f"  {r.resolution}"
        if r.refund:
            head += f"  refund {r.refund}"
        if r.new_order_external_id:
            head += f"  new order {r.new_order_external_id} ({r.new_order_status})"
        out.append(head)
        if r.reason:
            out.append(f"  why: {r.reason}")
        for ln in r.lines:
            out.append(f"  line {ln.line_no} {ln.sku or ln.item} x{ln.qty}: received {ln.received}, "
                       f"restocked {ln.restocked}, scrapped {ln.scrapped}"
                       + (f" ({ln.condition})" if ln.condition else "") + (f" - {ln.reason}" if ln.reason else ""))
    return "\n".join(out)


def _shipments_text(d: OrderDetail) -> str:
    out: list[str] = []
    for s in d.shipments:
        what = ", ".join(f"line {n} x{q}" for n, q in s.lines)
        out.append(f"Shipment {s.id} from {s.location}  {s.status}  {_when(s.shipped_at)}")
        out.append(f"  {s.carrier or '-'} {s.service or ''} tracking {s.tracking or '-'}".replace("  tracking", " tracking"))
        out.append(f"  {what}")
        for c in s.cartons:
            inside = ", ".join(f"line {n} x{q}" for n, q in c.lines)
            extra = f"  tracking {c.tracking}" if c.tracking else ""
            out.append(f"  carton SSCC {c.sscc}: {inside}{extra}")
    if d.confirmations:
        out.append("Confirmations to the channel:")
        for m in d.confirmations:
            line = f"  #{m.id} to {m.target}: {m.state}"
            if m.state in ("failed", "dead"):
                line += f" after {m.attempts} attempts: {m.last_error or 'no error kept'}"
            out.append(line)
    return "\n".join(out) or "Nothing shipped yet."


def _routing_text(d: OrderDetail) -> str:
    if not d.decisions:
        return "No routing decisions."
    return "\n".join("\n".join(explain(x)) for x in d.decisions)


class OrderScreen(OmsScreen):
    """Everything about one order, and the keys that work it."""

    PALETTE_TITLE = "Order"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="order.back", tooltip="Back to the list"),
        Binding("h", "hold", "Hold", group=_WORK, id="order.hold", tooltip="Put the order on hold, with a reason"),
        Binding("u", "release", "Release", group=_WORK, id="order.release",
                tooltip="Take the order off hold, with a reason"),
        Binding("c", "cancel", "Cancel", group=_WORK, id="order.cancel",
                tooltip="Cancel the order, or some units of its lines"),
        Binding("r", "route", "Route", group=_WORK, id="order.route",
                tooltip="See where routing would send the open units; accept it or choose locations"),
        Binding("s", "ship", "Ship", group=_WORK, id="order.ship",
                tooltip="Ship what is reserved at one location: carrier, tracking, cartons"),
        Binding("t", "new_return", "Return", group=_WORK, id="order.return",
                tooltip="Authorise a return (RMA) of shipped units"),
        Binding("m", "map_item", "Map item", group=_WORK, id="order.map-item",
                tooltip="Say which SKU an unknown item means (for this channel); the order is routed"),
        Binding("R", "retry_confirmation", "Retry confirm", group=_WORK, id="order.retry-confirmation",
                tooltip="Send failed or dead shipment confirmations to the channel again"),
        Binding("ctrl+r", "reload", "Reload", show=False, id="order.reload", tooltip="Read the order again"),
        *(Binding(str(n), f"tab({tab!r})", title, show=False, id=f"order.tab-{tab}", tooltip=f"Show the {title} tab")
          for n, (tab, title) in enumerate(_TABS, 1)),
    ]

    NEEDS: ClassVar[dict[str, str]] = {
        "hold": "operator", "release": "operator", "cancel": "operator", "route": "operator", "ship": "operator",
        "new_return": "operator", "map_item": "operator", "retry_confirmation": "admin",
    }

    def __init__(self, order_id: int) -> None:
        super().__init__()
        self.order_id = order_id
        self.detail: OrderDetail | None = None
        self.returns: list[ReturnView] = []
        self.unknown: list[UnknownLine] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Reading the order…", id="order-head")
        with TabbedContent(id="order-tabs"):
            with TabPane("Lines", id="order-tab-lines"):
                yield DataTable(id="order-lines", cursor_type="row", zebra_stripes=True)
            with TabPane("Reserved", id="order-tab-reserved"):
                yield DataTable(id="order-reservations", cursor_type="row")
            with TabPane("Routing", id="order-tab-routing"):
                with VerticalScroll():
                    yield Static(id="order-routing")
            with TabPane("Shipments", id="order-tab-shipments"):
                with VerticalScroll():
                    yield Static(id="order-shipments")
            with TabPane("Returns", id="order-tab-returns"):
                with VerticalScroll():
                    yield Static(id="order-returns")
            with TabPane("Source", id="order-tab-source"):
                yield TextArea(id="order-source", read_only=True, soft_wrap=False, show_line_numbers=False)
            with TabPane("History", id="order-tab-history"):
                yield DataTable(id="order-history", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#order-lines", DataTable).add_columns("Ln", "Item", "SKU", "Qty", "Res", "BO", "Ship",
                                                             "Canc", "Price")
        self.query_one("#order-reservations", DataTable).add_columns("Ln", "SKU", "Location", "Qty", "State",
                                                                    "Since UTC")
        self.query_one("#order-history", DataTable).add_columns("At UTC", "Who", "What", "Detail")
        self._read()

    def on_data_changed(self) -> None:
        self._read()

    # -- reading ----------------------------------------------------------------------------

    def _read(self) -> None:
        def fetch(conn: Connection) -> tuple[OrderDetail, list[ReturnView], list[UnknownLine]]:
            detail, unknown = order_detail(conn, self.order_id), unknown_lines(conn, self.order_id)
            return detail, returns_of(self.store, self.order_id), unknown

        self.read(fetch, lambda read: self._show(*read), group="order-detail", failed=self._unreadable)

    def _unreadable(self, why: str) -> None:
        self.query_one("#order-head", Static).update(Content(f"Cannot read order #{self.order_id}: {why}"))

    def _show(self, d: OrderDetail, returns: list[ReturnView], unknown: list[UnknownLine]) -> None:
        self.detail, self.returns, self.unknown = d, returns, unknown
        h = d.header
        self.sub_title = f"{h.external_id} ({h.channel})"
        parts: list[str | tuple[str, str]] = [
            (h.external_id, "bold"), f"  {h.channel}" + (f" / partner {h.partner}" if h.partner else ""),
            (f"  {status_label(h.status)}", "bold"), f"  {h.total}",
            f"  {h.fulfilment}" if h.fulfilment != "ship" else "",
        ]
        if h.exception:
            parts += [(f"\n{h.exception}: ", "bold $text-warning"), (h.exception_detail or "", "$text-warning")]
        if h.status == "on_hold" or h.hold_reason:
            parts += [(f"\nheld ({h.hold_kind or 'manual'}): ", "bold $text-warning"), h.hold_reason or "no reason kept"]
        parts.append(f"\nbuyer {h.buyer or '-'}  ship to {h.ship_to}")
        parts.append(f"\nplaced {_when(h.placed_at)}  received {_when(h.received_at)}")
        if h.ship_by:
            parts.append(f"  ship by {h.ship_by}")
        if h.cancel_after:
            parts.append(f"  cancel after {h.cancel_after}")
        head = Content.assemble(*parts)
        self.query_one("#order-head", Static).update(head)

        lines = self.query_one("#order-lines", DataTable)
        lines.clear()
        for ln in d.lines:
            lines.add_row(str(ln.line_no), ln.item, ln.sku or "?", str(ln.qty),
                          str(ln.reserved), str(ln.backordered), str(ln.shipped), str(ln.cancelled), ln.unit_price,
                          key=str(ln.line_no))
        res = self.query_one("#order-reservations", DataTable)
        res.clear()
        for r in d.reservations:
            res.add_row(str(r.line_no), r.sku, r.location, str(r.qty), r.state, _when(r.created_at))
        self.query_one("#order-routing", Static).update(Content(_routing_text(d)))
        self.query_one("#order-shipments", Static).update(Content(_shipments_text(d)))
        self.query_one("#order-returns", Static).update(Content(_returns_text(returns)))
        source = self.query_one("#order-source", TextArea)
        if d.document is None:
            source.load_text("No source document is kept for this order.")
        else:
            doc = d.document
            note = "\n… (cut short)" if doc.truncated else ""
            source.load_text(f"{doc.kind} from {doc.source}, received {_when(doc.received_at)}\n\n{doc.text}{note}")
        hist = self.query_one("#order-history", DataTable)
        hist.clear()
        for e in d.history:
            hist.add_row(_when(e.at), e.actor, e.action, e.detail[:200])
        self.refresh_bindings()

    # -- what the keys may do now -------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        allowed = super().check_action(action, parameters)
        if allowed is not True or self.detail is None:
            return allowed
        status = self.detail.header.status
        if action == "hold":
            return status not in ("on_hold", "shipped", "closed", "cancelled", "picked_up")
        if action == "release":
            return status == "on_hold"
        if action == "cancel":
            return status not in ("shipped", "closed", "cancelled", "picked_up")
        if action == "map_item":
            return bool(self.unknown)
        if action == "retry_confirmation":
            return any(c.state in ("failed", "dead") for c in self.detail.confirmations)
        if action == "ship":
            return any(ln.reserved for ln in self.detail.lines) and status != "on_hold"
        if action == "new_return":
            return any(ln.shipped for ln in self.detail.lines)
        return True

    # -- the keys ---------------------------------------------------------------------------

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = f"order-tab-{tab}"

    def action_reload(self) -> None:
        self._read()

    def _order_name(self) -> str:
        return self.detail.header.external_id if self.detail else f"#{self.order_id}"

    def action_hold(self) -> None:
        oid, name = self.order_id, self._order_name()

        def asked(reason: str | None) -> None:
            if reason:
                self.oms.perform("operator", f"hold {name}",
                                 lambda actor: hold(self.store, oid, reason, actor=actor),
                                 report=f"{name} is on hold")

        self.app.push_screen(AskText(f"Hold {name}", "Why? (the next operator reads this)"), asked)

    def action_release(self) -> None:
        oid, name = self.order_id, self._order_name()

        def asked(reason: str | None) -> None:
            if reason:
                self.oms.perform("operator", f"release {name}",
                                 lambda actor: release(self.store, oid, reason=reason, actor=actor),
                                 report=lambda status: f"{name} released: {status_label(status)}")

        self.app.push_screen(AskText(f"Release {name}", "Why may it go on?"), asked)

    def action_cancel(self) -> None:
        oid, name = self.order_id, self._order_name()

        def confirmed(lines: dict[int, int] | None, reason: str, yes: bool | None) -> None:
            if yes:
                self.oms.perform(
                    "operator", f"cancel {name}",
                    lambda actor: cancel_units(self.store, oid, lines, reason=reason, actor=actor),
                    report=lambda done: f"{name}: {done.units} units cancelled; it is {status_label(done.status)}")

        def got_reason(lines: dict[int, int] | None, reason: str | None) -> None:
            if not reason:
                return
            what = ("every open unit" if lines is None
                    else ", ".join(f"{q} of line {n}" for n, q in sorted(lines.items())))
            self.app.push_screen(Confirm(f"Cancel {name}?", f"Cancel {what}? The channel is told; "
                                         "reserved units go back on the shelf."),
                                 lambda yes: confirmed(lines, reason, yes))

        def got_lines(text: str | None) -> None:
            if text is None:
                return
            text = text.strip()
            if text and not _LINES.match(text):
                self.notify("Write lines as LINE:UNITS, e.g. 2:1,3:2 (or leave empty for the whole order)",
                            severity="warning")
                return
            lines: dict[int, int] | None = None
            if text:
                lines = {}
                for part in text.split(","):
                    n, q = part.split(":")
                    lines[int(n)] = lines.get(int(n), 0) + int(q)
            self.app.push_screen(AskText(f"Cancel {name}", "Why? (the channel is told)"),
                                 lambda reason: got_reason(lines, reason))

        self.app.push_screen(AskText(f"Cancel {name}", "Which lines? LINE:UNITS, e.g. 2:1,3:2; "
                                     "empty cancels the whole order", required=False), got_lines)

    def action_route(self) -> None:
        from .route import RouteScreen

        self.app.push_screen(RouteScreen(self.order_id))

    def action_ship(self) -> None:
        from .ship import ShipScreen

        self.app.push_screen(ShipScreen(self.order_id))

    def action_new_return(self) -> None:
        from .new_return import NewReturnScreen

        self.app.push_screen(NewReturnScreen(self.order_id))

    def action_map_item(self) -> None:
        if not self.unknown or self.detail is None:
            return
        oid, name, channel = self.order_id, self._order_name(), self.detail.header.channel
        line = self.unknown[0]

        def asked(sku: str | None) -> None:
            if sku:
                self.oms.perform(
                    "operator", f"map line {line.line_no} of {name}",
                    lambda actor: map_unknown_item(self.store, oid, line.line_no, sku, actor=actor),
                    report=lambda done: (f"{done.kind} {done.value!r} is {done.sku} on {done.channel}; "
                                         + (f"{name} is {status_label(done.status)}" if done.resolved
                                            else f"{name} still has unknown items")))

        more = f" ({len(self.unknown)} unknown lines)" if len(self.unknown) > 1 else ""
        self.app.push_screen(AskText(
            f"Map line {line.line_no} of {name}{more}",
            f"{line.kind} {line.value!r} from {channel}" + (f" ({line.description})" if line.description else "")
            + " is which of our SKUs?", placeholder="SKU code"), asked)

    def action_retry_confirmation(self) -> None:
        if self.detail is None:
            return
        ids = [c.id for c in self.detail.confirmations if c.state in ("failed", "dead")]
        name = self._order_name()
        if not ids:
            return

        def write(actor: str) -> int:
            for mid in ids:
                retry(self.store, mid, actor=actor)
            return len(ids)

        self.oms.perform("admin", f"retry the shipment confirmation of {name}", write,
                         report=lambda n: f"{n} shipment confirmation{'s' if n != 1 else ''} of {name} queued again")
