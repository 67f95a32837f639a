"""One return (RMA): what it is, its lines with units authorised, received, restocked and
scrapped, and the steps of the returns desk: receive, inspect, resolve, or cancel it."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.events import Resize
from textual.widgets import DataTable, Footer, Header, Static

from store.money import format_amount, parse_amount
from store.returns import (
    RESOLUTIONS,
    Disposition,
    Receipt,
    Replacement,
    ReturnView,
    cancel,
    get_return,
    inspect,
    receive,
    resolve,
)

from ..widgets.rma_line_inputs import Column, LineSpec, count_of
from .ask import AskText
from .base import OmsScreen
from .rma_lines import LinesAnswer, RmaLinesDialog

__all__ = ["RmaScreen"]

# Wide enough to show each line's condition and where it was restocked.
_WIDE = 110


def _when(at: dt.datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M") if at else "–"


def _head(ret: ReturnView) -> Text:
    """The RMA's facts in a few lines: status and order, dates, resolution, note."""
    text = Text()
    text.append(ret.rma, style="bold")
    text.append(f"  {ret.status}", style="bold")
    text.append(f"   order {ret.order_external_id} on {ret.channel}\n")
    text.append(f"Authorised {_when(ret.created_at)}   received {_when(ret.received_at)}")
    text.append(f" at {ret.location}" if ret.location else "")
    text.append(f"   closed {_when(ret.closed_at)}\n" if ret.closed_at else "\n")
    how = ret.resolution or "not decided"
    if ret.refund:
        how += f" of {ret.refund}"
    if ret.new_order_external_id:
        how += f": order {ret.new_order_external_id} ({ret.new_order_status})"
    text.append(f"Resolution {how}")
    if ret.reason:
        text.append(f"\nNote {ret.reason}")
    return text


def _replacements(text: str) -> list[Replacement]:
    """"S3 2, S4" -> 2 x S3 and 1 x S4."""
    items: list[Replacement] = []
    for part in text.replace(";", ",").split(","):
        bits = part.replace(":", " ").split()
        if not bits:
            continue
        if len(bits) > 2:
            raise ValueError(f"{part.strip()!r}: write each item as SKU QTY, separated by commas")
        qty = count_of(bits[1], f"the quantity of {bits[0]}") if len(bits) > 1 else 1
        items.append(Replacement(bits[0], qty))
    return items



class RmaScreen(OmsScreen):
    """An RMA's head and lines; keys for each step of the returns desk."""

    PALETTE_TITLE = "Return"
    AUTO_FOCUS = "#rma-lines"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "receive", "Receive", id="rma.receive",
                tooltip="Record the units that arrived, per line, and where"),
        Binding("i", "inspect", "Inspect", id="rma.inspect",
                tooltip="Restock (at a location) or scrap the received units, per line"),
        Binding("v", "resolve", "Resolve", id="rma.resolve",
                tooltip="Close it with a refund, an exchange or a reship"),
        Binding("x", "cancel_rma", "Cancel RMA", id="rma.cancel",
                tooltip="Withdraw the RMA before anything arrived (asks why)"),
        Binding("o", "show_order", "Order", id="rma.order", tooltip="Open the order this return is for"),
        Binding("escape", "close", "Back", id="rma.back", tooltip="Back to the list"),
    ]

    NEEDS: ClassVar[dict[str, str]] = {
        "receive": "operator", "inspect": "operator", "resolve": "operator", "cancel_rma": "operator",
    }

    def __init__(self, rma: str) -> None:
        super().__init__()
        self.rma = rma
        self.ret: ReturnView | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Reading…", id="rma-head")
        table: DataTable[str | Text] = DataTable(id="rma-lines", cursor_type="row", zebra_stripes=True)
        table.border_title = "Lines"
        yield table
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = self.rma
        self._load()

    def on_data_changed(self) -> None:
        self._load()

    def _load(self) -> None:
        self.read(lambda _conn: get_return(self.store, self.rma), self._loaded, group="rma-load",
                  failed=lambda why: self.query_one("#rma-head", Static).update(f"Cannot read {self.rma}: {why}"))

    def _loaded(self, ret: ReturnView) -> None:
        self.ret = ret
        self.query_one("#rma-head", Static).update(_head(ret))
        self._fill()

    def on_resize(self, event: Resize) -> None:
        if self.ret is not None:
            self._fill()

    def _fill(self) -> None:
        ret = self.ret
        if ret is None:
            return
        table: DataTable[str | Text] = self.query_one("#rma-lines", DataTable)
        wide = self.size.width >= _WIDE
        row = table.cursor_row
        table.clear(columns=True)
        table.add_column("Ln", key="line")
        table.add_column("Item", key="item")
        table.add_column("Reason", key="reason")
        for title, key in (("Auth", "qty"), ("Recv", "received"), ("Rstk", "restocked"), ("Scrap", "scrapped"),
                           ("Wait", "waiting")):
            table.add_column(title, key=key)
        if wide:
            table.add_column("Condition", key="condition")
            table.add_column("Restocked at", key="places")
        for ln in ret.lines:
            cells: list[str | Text] = [
                str(ln.line_no), ln.sku or ln.item, (ln.reason or "")[: 40 if wide else 16],
                *(Text(str(n), justify="right") for n in (ln.qty, ln.received, ln.restocked, ln.scrapped)),
                Text(str(ln.uninspected), justify="right", style="bold" if ln.uninspected else ""),
            ]
            if wide:
                cells += [ln.condition or "", ", ".join(f"{loc} {n}" for loc, n in ln.restocked_at)]
            table.add_row(*cells, key=str(ln.line_no))
        table.border_subtitle = f"{len(ret.lines)} line{'s' if len(ret.lines) != 1 else ''} · {ret.status}"
        if ret.lines:
            table.move_cursor(row=min(row, len(ret.lines) - 1))

    # -- actions ----------------------------------------------------------------

    def _ready(self) -> ReturnView | None:
        if self.ret is None:
            self.notify(f"{self.rma} is still being read", severity="warning")
        return self.ret

    def action_close(self) -> None:
        self.dismiss()

    def action_show_order(self) -> None:
        ret = self._ready()
        if ret is not None:
            from .order import OrderScreen

            self.app.push_screen(OrderScreen(ret.order_id))

    def action_receive(self) -> None:
        ret = self._ready()
        if ret is None:
            return
        lines = [LineSpec(ln.line_no, f"{ln.line_no} {ln.sku or ln.item} ({ln.received} of {ln.qty} in)",
                          {"qty": str(ln.qty - ln.received)})
                 for ln in ret.lines if ln.received < ln.qty]
        if not lines:
            self.notify(f"Every unit of {ret.rma} has been received", severity="warning")
            return
        dialog = RmaLinesDialog(
            f"Receive {ret.rma}", "Units that arrived on each line (0 or empty: none), and where.",
            [Column("qty", "Units", 7), Column("condition", "Condition", 12, numeric=False)], lines,
            fields=[("location", "Received at", ret.location or "")], accept="Receive",
        )
        self.app.push_screen(dialog, lambda answer: self._received(ret.rma, answer))

    def _received(self, rma: str, answer: LinesAnswer | None) -> None:
        if answer is None:
            return

        def write(actor: str) -> ReturnView:
            receipts = [
                Receipt(n, qty, v["condition"] or None)
                for n, v in answer.lines.items()
                if (qty := count_of(v["qty"] or "0", f"line {n}'s units"))
            ]
            if not answer.fields["location"]:
                raise ValueError("say where the units arrived (a location code)")
            return receive(self.store, rma, answer.fields["location"], receipts, actor=actor)

        self.oms.perform("operator", f"receive {rma}", write,
                         report=lambda v: f"{v.rma}: {sum(ln.received for ln in v.lines)} unit(s) received")

    def action_inspect(self) -> None:
        ret = self._ready()
        if ret is None:
            return
        lines = [LineSpec(ln.line_no, f"{ln.line_no} {ln.sku or ln.item} ({ln.uninspected} to inspect)",
                          {"restock": str(ln.uninspected), "scrap": "0", "at": ret.location or ""})
                 for ln in ret.lines if ln.uninspected > 0]
        if not lines:
            self.notify(f"{ret.rma} has no received units waiting for inspection", severity="warning")
            return
        dialog = RmaLinesDialog(
            f"Inspect {ret.rma}", "Per line: units back on the shelf (at which location) and units scrapped.",
            [Column("restock", "Restock", 8), Column("at", "At", 8, numeric=False), Column("scrap", "Scrap", 6),
             Column("condition", "Condition", 11, numeric=False)], lines, accept="Inspect",
        )
        self.app.push_screen(dialog, lambda answer: self._inspected(ret.rma, answer))

    def _inspected(self, rma: str, answer: LinesAnswer | None) -> None:
        if answer is None:
            return

        def write(actor: str) -> ReturnView:
            dispositions: list[Disposition] = []
            for n, v in answer.lines.items():
                restock = count_of(v["restock"] or "0", f"line {n}'s restock")
                scrap = count_of(v["scrap"] or "0", f"line {n}'s scrap")
                if restock or scrap:
                    dispositions.append(Disposition(n, restock=restock, scrap=scrap,
                                                    at=(v["at"] or None) if restock else None,
                                                    condition=v["condition"] or None))
            return inspect(self.store, rma, dispositions, actor=actor)

        self.oms.perform("operator", f"inspect {rma}", write, report=lambda v: f"{v.rma} inspected: {v.status}")

    def action_resolve(self) -> None:
        ret = self._ready()
        if ret is None:
            return
        self.app.push_screen(
            AskText(f"Resolve {ret.rma}", f"How: {', '.join(RESOLUTIONS)}?", value=ret.resolution or "refund"),
            lambda how: self._resolve_how(ret, how),
        )

    def _resolve_how(self, ret: ReturnView, how: str | None) -> None:
        if how is None:
            return
        how = how.lower()
        if how == "refund":
            amount = format_amount(ret.refund_minor, ret.currency).split()[0] if ret.refund_minor else ""
            self.app.push_screen(
                AskText(f"Refund {ret.rma}", f"Amount to refund, in {ret.currency}", value=amount),
                lambda text: self._resolve(ret, "refund", text or None, "") if text is not None else None,
            )
        elif how == "exchange":
            self.app.push_screen(
                AskText(f"Exchange {ret.rma}", "Send instead (SKU QTY, ...); empty: the same items again",
                        required=False),
                lambda text: self._resolve(ret, "exchange", None, text) if text is not None else None,
            )
        else:
            self._resolve(ret, how, None, "")

    def _resolve(self, ret: ReturnView, how: str, amount: str | None, items: str) -> None:
        def write(actor: str) -> ReturnView:
            refund = parse_amount(amount, ret.currency) if amount else None
            return resolve(self.store, ret.rma, resolution=how, refund_minor=refund, items=_replacements(items),
                           actor=actor)

        def said(v: ReturnView) -> str:
            if v.new_order_external_id:
                return f"{v.rma} closed: {v.resolution} order {v.new_order_external_id}"
            return f"{v.rma} closed: {v.resolution} {v.refund or ''}".rstrip()

        self.oms.perform("operator", f"resolve {ret.rma}", write, report=said)

    def action_cancel_rma(self) -> None:
        ret = self._ready()
        if ret is None:
            return

        def cancelled(reason: str | None) -> None:
            if reason is not None:
                self.oms.perform("operator", f"cancel {ret.rma}",
                                 lambda actor: cancel(self.store, ret.rma, reason, actor=actor),
                                 report=f"{ret.rma} cancelled")

        self.app.push_screen(AskText(f"Cancel {ret.rma}", "Why is it withdrawn?", accept="Cancel RMA"), cancelled)
