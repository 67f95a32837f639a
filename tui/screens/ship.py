"""Ship what is reserved at one location: carrier, service, tracking number and cartons.

The table lists the order's lines reserved at the chosen location, one column per carton.
There is one carton to begin with, holding everything; ctrl+n adds a carton and Enter on a
carton's cell moves units into it (carton 1 keeps whatever the others do not take). Cartons
get SSCC-18 labels from the GS1 company prefix in oms.toml ([shipping]); without one the units
ship loose. ctrl+s ships through store.shipping.ship, with the operator's name on the audit trail.
"""

from __future__ import annotations

from typing import ClassVar

from sqlalchemy import Connection
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import DataTable, Footer, Input, Select, Static

from store.shipping import Pack, Shipped, ship
from store.views.order_detail import ShipFrom, external_id, ship_choices

from ..labels import status_label
from .ask import AskText
from .base import OmsModal

__all__ = ["ShipScreen"]

_FIXED = 3  # columns before the cartons: line, SKU, units here


class ShipScreen(OmsModal[int | None]):
    """Dismissed with the new shipment's id, or None when closed without shipping."""

    PALETTE_TITLE = "Ship"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="ship.close", tooltip="Close without shipping"),
        Binding("ctrl+n", "add_carton", "Add carton", id="ship.add-carton",
                tooltip="Another carton; move units into it with Enter on its column"),
        Binding("ctrl+s", "ship", "Ship", id="ship.ship",
                tooltip="Ship the cartons with this carrier and tracking number"),
    ]

    NEEDS: ClassVar[dict[str, str]] = {"ship": "operator"}

    def __init__(self, order_id: int) -> None:
        super().__init__()
        self.order_id = order_id
        self.choices: list[ShipFrom] = []
        self.location: str | None = None
        # cartons[0] is computed (the rest); cartons[1:] hold line number -> units typed.
        self.cartons: list[dict[int, int]] = [{}]

    # -- settings the app may carry (oms.toml [shipping]) ------------------------------------

    @property
    def gs1_prefix(self) -> str | None:
        labels = self.oms.shipping
        return labels.gs1_company_prefix if labels is not None else None

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="ship-dialog") as box:
            box.border_title = f"Ship order #{self.order_id}"
            with Horizontal(classes="ship-row"):
                yield Select[str]([], prompt="Ship from", allow_blank=True, id="ship-location")
                yield Input(placeholder="Carrier (UPS, FDEG…)", id="ship-carrier")
            with Horizontal(classes="ship-row"):
                yield Input(placeholder="Service", id="ship-service")
                yield Input(placeholder="Tracking number", id="ship-tracking")
            yield DataTable(id="ship-cartons", cursor_type="cell")
            yield Static("", id="ship-note")
        yield Footer()

    def on_mount(self) -> None:
        self._read()

    def _read(self) -> None:
        def fetch(conn: Connection) -> tuple[str, list[ShipFrom]]:
            return external_id(conn, self.order_id), ship_choices(conn, self.order_id)

        self.read(fetch, lambda read: self._show(*read), group="ship-choices",
                  failed=lambda why: self.query_one("#ship-note", Static).update(Content(why)))

    def _show(self, name: str, choices: list[ShipFrom]) -> None:
        self.choices = choices
        self.query_one("#ship-dialog").border_title = f"Ship {name}"
        select = self.query_one("#ship-location", Select)
        select.set_options((f"{c.location}  {c.name}  ({c.units} units)", c.location) for c in choices)
        if choices:
            select.value = choices[0].location
            self.location = choices[0].location
        self._fill()
        self.query_one("#ship-carrier", Input).focus()

    @on(Select.Changed, "#ship-location")
    def _location_changed(self, event: Select.Changed) -> None:
        value = event.value
        self.location = value if isinstance(value, str) else None
        self.cartons = [{}]
        self._fill()

    def _here(self) -> ShipFrom | None:
        return next((c for c in self.choices if c.location == self.location), None)

    def _rest(self, line_no: int, units: int) -> int:
        return units - sum(c.get(line_no, 0) for c in self.cartons[1:])

    def _fill(self) -> None:
        table = self.query_one("#ship-cartons", DataTable)
        cursor = table.cursor_coordinate
        table.clear(columns=True)
        here = self._here()
        boxed = self.gs1_prefix is not None
        columns = ["Ln", "SKU", "Here"]
        columns += [f"Carton {i + 1}" for i in range(len(self.cartons))] if boxed else ["Loose"]
        table.add_columns(*columns)
        note = ""
        if here is None:
            note = "Nothing of this order is reserved anywhere: route it first."
        else:
            for n, sku, units in here.lines:
                cells = [str(n), sku, str(units), str(self._rest(n, units))]
                if boxed:
                    cells += [str(c.get(n, "")) for c in self.cartons[1:]]
                table.add_row(*cells)
            if boxed:
                note = "Carton 1 holds what the other cartons do not; Enter on a carton's cell sets its units."
            else:
                note = "Ships loose (no SSCC labels): no GS1 company prefix in oms.toml [shipping]."
        self.query_one("#ship-note", Static).update(Content(note))
        if table.row_count:
            table.move_cursor(row=min(cursor.row, table.row_count - 1), column=min(cursor.column, len(columns) - 1))

    # -- keys -------------------------------------------------------------------------------

    def action_close(self) -> None:
        self.dismiss(None)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        allowed = super().check_action(action, parameters)
        if allowed is not True:
            return allowed
        if action == "add_carton":
            return self.gs1_prefix is not None and self._here() is not None
        return True

    def action_add_carton(self) -> None:
        if self.gs1_prefix is None or self._here() is None:
            return
        self.cartons.append({})
        self._fill()
        table = self.query_one("#ship-cartons", DataTable)
        table.focus()
        table.move_cursor(column=_FIXED + len(self.cartons) - 1)

    @on(DataTable.CellSelected, "#ship-cartons")
    def _cell_selected(self, event: DataTable.CellSelected) -> None:
        here = self._here()
        carton = event.coordinate.column - _FIXED
        if here is None or carton < 1 or carton >= len(self.cartons):
            if here is not None and carton == 0 and len(self.cartons) > 1:
                self.notify("Carton 1 holds what the others do not; set the units of another carton", timeout=4)
            return
        n, sku, units = here.lines[event.coordinate.row]
        box = self.cartons[carton]
        free = self._rest(n, units) + box.get(n, 0)

        def asked(text: str | None) -> None:
            if text is None:
                return
            text = text.strip() or "0"
            if not text.isdigit() or int(text) > free:
                self.notify(f"Carton {carton + 1} can take 0 to {free} units of line {n}", severity="warning")
                return
            if int(text):
                box[n] = int(text)
            else:
                box.pop(n, None)
            self._fill()

        self.app.push_screen(AskText(f"Carton {carton + 1}: line {n} ({sku})",
                                     f"How many units in this carton? (0 to {free})",
                                     value=str(box.get(n, "")), required=False), asked)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "ship-tracking":
            self.action_ship()
        else:
            self.focus_next()

    def _packs(self, here: ShipFrom) -> list[Pack]:
        first = {n: r for n, _, units in here.lines if (r := self._rest(n, units)) > 0}
        boxes = [first, *self.cartons[1:]]
        return [Pack(lines=dict(b)) for b in boxes if b]

    def action_ship(self) -> None:
        here = self._here()
        if here is None:
            self.notify("Choose where it ships from", severity="warning")
            return
        carrier = self.query_one("#ship-carrier", Input).value.strip()
        service = self.query_one("#ship-service", Input).value.strip() or None
        tracking = self.query_one("#ship-tracking", Input).value.strip()
        if not carrier or not tracking:
            self.notify("A shipment needs a carrier and a tracking number", severity="warning")
            self.query_one("#ship-carrier" if not carrier else "#ship-tracking", Input).focus()
            return
        oid, loc, prefix = self.order_id, here.location, self.gs1_prefix
        extension = self.oms.shipping.sscc_extension if self.oms.shipping is not None else 0
        packs = self._packs(here) if prefix is not None else []
        loose = None if prefix is not None else {n: q for n, _, q in here.lines}

        def write(actor: str) -> Shipped:
            return ship(self.store, oid, loc, carrier=carrier, tracking=tracking, service=service, cartons=packs,
                        lines=loose, gs1_company_prefix=prefix, sscc_extension=extension, actor=actor)

        def report(done: Shipped) -> str:
            boxes = f" in {len(done.cartons)} cartons" if len(done.cartons) > 1 else ""
            return (f"{done.external_id}: {done.units} units shipped from {done.location}{boxes}, "
                    f"{carrier} {tracking}; it is {status_label(done.order_status)}")

        self.oms.perform("operator", "ship the order", write, report=report,
                         done=lambda done: self.close_with(done.shipment_id))
