"""Authorise a return (RMA) for an order: per line the units coming back and why.

The lines the customer has (shipped or picked up) are listed with how many can still be
returned; a refund amount and the resolution can be decided now or at the end. Dismissed
with the new RMA number, or None when abandoned.
"""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, Static

from store.money import parse_amount
from store.returns import RESOLUTIONS, ReturnView, RmaLine, authorise
from store.views.common import format_money
from store.views.returns import OrderForReturn, order_for_return

from ..widgets.rma_line_inputs import Column, LineSpec, RmaLineInputs, count_of
from .base import OmsModal

__all__ = ["NewReturnScreen"]



class NewReturnScreen(OmsModal[str | None]):
    """The order's returnable lines with a quantity and a reason to type for each."""

    PALETTE_TITLE = "New return"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "authorise", "Authorise", id="new-return.authorise",
                tooltip="Authorise the return of the units typed"),
        Binding("escape", "abandon", "Cancel", id="new-return.abandon", tooltip="Close without authorising"),
    ]

    NEEDS: ClassVar[dict[str, str]] = {"authorise": "operator"}

    def __init__(self, order_id: int) -> None:
        super().__init__()
        self.order_id = order_id
        self.order: OrderForReturn | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog new-return-dialog", id="new-return-box") as box:
            box.border_title = "New return"
            yield Static("Reading the order…", id="new-return-head")

    def on_mount(self) -> None:
        self._load()

    def _load(self) -> None:
        self.read(lambda conn: order_for_return(conn, self.order_id), self._loaded, group="new-return-order",
                  failed=self._cannot)

    def _cannot(self, why: str) -> None:
        self.query_one("#new-return-head", Static).update(f"Cannot return anything: {why}")

    async def _loaded(self, order: OrderForReturn | None) -> None:
        self.order = order
        if order is None:
            self._cannot(f"no order with id {self.order_id}")
            return
        head = self.query_one("#new-return-head", Static)
        box = self.query_one("#new-return-box", Vertical)
        box.border_title = f"New return for {order.external_id}"
        lines = [
            LineSpec(ln.line_no,
                     f"{ln.line_no} {ln.sku or ln.item} {ln.returnable} of {ln.delivered} "
                     f"@ {format_money(ln.unit_price_minor, order.currency)}",
                     {"qty": "0"})
            for ln in order.lines if ln.returnable > 0
        ]
        if not lines:
            head.update(f"Order {order.external_id} ({order.status}, {order.channel}) has nothing left to return: "
                        "no unit of it has shipped, or every shipped unit is on an RMA already.")
            return
        head.update(f"Order {order.external_id} ({order.status}, {order.channel}). Units coming back per line "
                    "(0: none) and why; the refund can be decided now or when it is resolved.")
        await box.mount_all([
            RmaLineInputs([Column("qty", "Units", 6), Column("reason", "Reason", 24, numeric=False)], lines,
                          label_title="Line, returnable of shipped"),
            Horizontal(Label("Resolution", classes="rma-field-label"),
                       Input(placeholder=" or ".join(RESOLUTIONS), id="field-resolution", compact=True),
                       classes="rma-field"),
            Horizontal(Label(f"Refund ({order.currency})", classes="rma-field-label"),
                       Input(placeholder="decide later", id="field-refund", compact=True), classes="rma-field"),
            Horizontal(Label("Note", classes="rma-field-label"),
                       Input(id="field-note", compact=True), classes="rma-field"),
            Horizontal(Button("Authorise", variant="primary", id="new-return-ok"),
                       Button("Cancel", id="new-return-cancel"), classes="dialog-buttons"),
        ])
        self.query(Input).first().focus()

    @on(Input.Submitted)
    @on(Button.Pressed, "#new-return-ok")
    def action_authorise(self) -> None:
        order = self.order
        if order is None or not self.query(RmaLineInputs):
            return
        typed = self.query_one(RmaLineInputs).values()
        resolution = self.query_one("#field-resolution", Input).value.strip().lower() or None
        refund = self.query_one("#field-refund", Input).value.strip()
        note = self.query_one("#field-note", Input).value.strip() or None

        def write(actor: str) -> ReturnView:
            lines = [RmaLine(n, qty, v["reason"]) for n, v in typed.items()
                     if (qty := count_of(v["qty"] or "0", f"line {n}'s units"))]
            if not lines:
                raise ValueError("type how many units come back on at least one line")
            refund_minor = parse_amount(refund, order.currency) if refund else None
            return authorise(self.store, order.id, lines, refund_minor=refund_minor, resolution=resolution,
                             reason=note, actor=actor)

        self.oms.perform("operator", f"authorise a return for {order.external_id}", write,
                         done=lambda view: self.close_with(view.rma), report=lambda view: f"{view.rma} authorised")

    @on(Button.Pressed, "#new-return-cancel")
    def action_abandon(self) -> None:
        self.dismiss(None)
