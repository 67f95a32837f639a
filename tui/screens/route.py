"""Route an order's open units: what the rules would decide now, and a table of lines by
location where the operator types units (a split across locations) before routing.

One row per open line and location: what is available there now, what routing proposes, and
the units chosen (the proposal to begin with). `a` accepts the proposal as it is; Enter on a row
sets its units; ctrl+s routes the units chosen. Both reserve through store.routing.manual and
record a routing decision with the operator's name.
"""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import DataTable, Footer, Static

from store.routing.manual import Placed, Placement, Proposal, place, propose

from ..labels import status_label
from .ask import AskText
from .base import OmsModal

__all__ = ["RouteScreen"]


def _proposal_text(p: Proposal) -> str:
    if p.refused:
        return p.refused
    what = ", ".join(f"line {x.line_no} at {x.location} x{x.qty}" for x in p.placements) or "nothing placed"
    text = f"Routing would: {p.outcome} - {what}"
    if p.backordered:
        text += "; backordered " + ", ".join(f"line {n} x{q}" for n, q in p.backordered)
    text += f" (rule {p.rule or 'fallback'})"
    how = p.explanation.get("hold_reason") or p.explanation.get("how")
    if how:
        text += f"\n{how}"
    return text


class RouteScreen(OmsModal[str | None]):
    """Routing's proposal for the open units, and the operator's own choice of locations."""

    PALETTE_TITLE = "Route"
    AUTO_FOCUS = "#route-table"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="route.close", tooltip="Close without routing"),
        Binding("a", "accept", "Accept proposal", id="route.accept",
                tooltip="Reserve what routing proposes, as it proposes it"),
        Binding("enter", "edit", "Units", id="route.edit", tooltip="Set the units of this line from this location"),
        Binding("x", "clear", "Clear", id="route.clear", tooltip="Choose no units anywhere, to start again"),
        Binding("ctrl+s", "place", "Route chosen", id="route.place",
                tooltip="Reserve the units chosen in the table (split over the locations given)"),
    ]

    NEEDS: ClassVar[dict[str, str]] = {"accept": "operator", "place": "operator"}

    def __init__(self, order_id: int) -> None:
        super().__init__()
        self.order_id = order_id
        self.proposal: Proposal | None = None
        self.chosen: dict[tuple[int, str], int] = {}

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="route-dialog") as box:
            box.border_title = f"Route order #{self.order_id}"
            yield Static("Asking routing…", id="route-proposal")
            yield DataTable(id="route-table", cursor_type="row")
            yield Static("", id="route-summary")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns("Ln", "SKU", "Open", "Location", "Avail", "Proposed", "Chosen")
        self._read()

    def _read(self) -> None:
        self.read(lambda _conn: propose(self.store, self.order_id), self._show, group="route-proposal",
                  failed=lambda why: self.query_one("#route-proposal", Static).update(Content(why)))

    def _show(self, p: Proposal) -> None:
        self.proposal = p
        self.query_one("#route-dialog").border_title = f"Route {p.external_id} ({status_label(p.status)})"
        self.query_one("#route-proposal", Static).update(Content(_proposal_text(p)))
        self.chosen = {(x.line_no, x.location): x.qty for x in p.placements}
        self._fill()
        self.refresh_bindings()

    def _fill(self) -> None:
        p = self.proposal
        if p is None:
            return
        table = self.query_one(DataTable)
        row = table.cursor_row
        table.clear()
        proposed = {(x.line_no, x.location): x.qty for x in p.placements}
        for line in p.lines:
            for loc, avail in line.available:
                key = (line.line_no, loc)
                table.add_row(str(line.line_no), line.sku, str(line.open), loc, str(avail),
                              str(proposed.get(key, "")), str(self.chosen.get(key, "")), key=f"{line.line_no}:{loc}")
        if table.row_count:
            table.move_cursor(row=min(row, table.row_count - 1))
        summary = []
        for line in p.lines:
            got = sum(q for (n, _), q in self.chosen.items() if n == line.line_no)
            left = line.open - got
            summary.append(f"line {line.line_no}: {got} of {line.open} chosen"
                           + (f", {left} backordered" if left > 0 else "") + (" (too many)" if left < 0 else ""))
        self.query_one("#route-summary", Static).update(Content("; ".join(summary)))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        allowed = super().check_action(action, parameters)
        if allowed is not True:
            return allowed
        p = self.proposal
        if action == "accept":
            return p is not None and p.acceptable
        if action in ("place", "edit", "clear"):
            return p is not None and p.refused is None
        return True

    # -- keys -------------------------------------------------------------------------------

    def action_close(self) -> None:
        self.dismiss(None)

    def action_clear(self) -> None:
        self.chosen = {}
        self._fill()

    @on(DataTable.RowSelected)
    def _row_selected(self) -> None:
        self.action_edit()

    def action_edit(self) -> None:
        p, table = self.proposal, self.query_one(DataTable)
        if p is None or p.refused or not table.row_count:
            return
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value or ""
        line_no, _, loc = key.partition(":")
        n = int(line_no)
        line = next(x for x in p.lines if x.line_no == n)
        avail = dict(line.available).get(loc, 0)

        def asked(text: str | None) -> None:
            if text is None:
                return
            text = text.strip() or "0"
            if not text.isdigit():
                self.notify(f"{text!r} is not a number of units", severity="warning")
                return
            if int(text):
                self.chosen[(n, loc)] = int(text)
            else:
                self.chosen.pop((n, loc), None)
            self._fill()

        self.app.push_screen(AskText(
            f"Line {n} ({line.sku}) from {loc}", f"How many units? {line.open} open, {avail} available at {loc}",
            value=str(self.chosen.get((n, loc), "")), required=False), asked)

    def _route(self, placements: list[Placement], rule: str | None, what: str) -> None:
        oid = self.order_id

        def report(done: Placed) -> str:
            text = f"{done.external_id} routed: {status_label(done.status)}"
            if done.backordered:
                text += "; backordered " + ", ".join(f"line {n} x{q}" for n, q in done.backordered)
            return text

        self.oms.perform("operator", what, lambda actor: place(self.store, oid, placements, actor=actor, rule=rule),
                         done=lambda done: self.close_with(report(done)), report=report)

    def action_accept(self) -> None:
        p = self.proposal
        if p is None or not p.acceptable:
            return
        self._route(list(p.placements), p.rule or "fallback", f"route {p.external_id} as proposed")

    def action_place(self) -> None:
        p = self.proposal
        if p is None or p.refused:
            return
        chosen = [Placement(n, loc, q) for (n, loc), q in sorted(self.chosen.items()) if q > 0]
        if not chosen:
            self.notify("Choose some units first: Enter on a row", severity="warning")
            return
        self._route(chosen, None, f"route {p.external_id}")
