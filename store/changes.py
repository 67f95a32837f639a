"""Changes a source asks for after it placed an order (an EDI 860; later a marketplace edit).

    apply_change(store, OrderChange(...), actor="edi", document_id=7) -> ChangeOutcome

One transaction per change, all or nothing. Applied without an operator:

    cancel the order        every reservation released, backorders closed (nothing shipped yet)
    cancel a line           its open units cancelled, its reservation released
    new quantity            fewer: unallocated units go first, then backordered, then reserved
                            ones (given back to stock); more: the extra units are reserved at the
                            line's own location or the first serving one with stock, else backordered
    new unit price          the line's price and the order total
    add a line              resolved through aliases like intake; an unknown item sends the
                            order to the unknown_item queue, as at intake
    ship-to and dates       the order header

Anything else changes nothing and puts the order in the `change_conflict` queue with the
reason: a line the change names that is not on the order, fewer units than already shipped,
cancelling after shipping, an order already shipped, closed or cancelled. The source document
stays in the store for the operator. Each applied change bumps the order's version (so a
new 855 can answer it) and is audited with what it did. The order's dropship POs then follow
what it holds at each vendor (store.dropship.resync_dropship): a PO for units the change took
away is cancelled and what is left there ordered again; units added there are ordered.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from .canonical import Address, CanonicalLine
from .db import Store
from .errors import TransitionError
from .intake import SkuResolver, _book_placed, _chunks, _PlannedLine
from .catalog import channel_location_ids
from .dropship import resync_dropship
from .inventory import reserve, reserve_many
from .journal import audit
from .models import Channel, Order, OrderLine, Reservation, StockLevel
from .orders import cancel_in, flag_exception, move, status_from_lines
from .reservations import shrink_backorders, take_reserved
from .types import utcnow

__all__ = ["CHANGE_CONFLICT", "LINE_ACTIONS", "LineChange", "OrderChange", "ChangeOutcome", "apply_change"]

CHANGE_CONFLICT = "change_conflict"  # orders.exception for a change that needs an operator
_CONFLICT_TEXT = "change not applied: "
LINE_ACTIONS = ("add", "cancel", "update", "none")


class _Allocator:
    """Reserves whole lines at the first serving location with enough available stock;
    locations in `prefer` (a line's own, for a change) are tried before the channel's.

    The prefetched availability only picks where to try; the conditional UPDATE decides.
    New orders and backorders are placed by routing rules (store.routing); a change's added
    units go where the line already is, or to the first serving location with stock.
    """

    def __init__(self, conn: Connection, sku_ids: set[int], *, prefer: Sequence[int] = ()) -> None:
        self.conn = conn
        self.prefer = list(prefer)
        self.avail: dict[tuple[int, int], int] = {}
        self._locs: dict[int, list[int]] = {}
        for chunk in _chunks(sorted(sku_ids), 900):
            for sid, loc, a in conn.execute(
                select(
                    StockLevel.sku_id,
                    StockLevel.location_id,
                    StockLevel.on_hand - StockLevel.reserved - StockLevel.safety,
                ).where(StockLevel.sku_id.in_(chunk))
            ):
                self.avail[(sid, loc)] = a

    def locations(self, channel: int) -> list[int]:
        if channel not in self._locs:
            self._locs[channel] = list(dict.fromkeys([*self.prefer, *channel_location_ids(self.conn, channel)]))
        return self._locs[channel]

    def _pick(self, channel: int, sku: int, qty: int, skip: Collection[int] = ()) -> int | None:
        for loc in self.locations(channel):
            if loc not in skip and self.avail.get((sku, loc), 0) >= qty:
                return loc
        return None

    def allocate(self, lines: Sequence[tuple[int, _PlannedLine]]) -> None:
        """Set `location_id` on each (channel, line) that gets stock, in order.

        Lines are placed by the prefetched availability and the batch's reservations go
        to the database together; a line whose UPDATE finds the stock gone (another writer
        was faster) tries the next location on its own.
        """
        planned: list[tuple[int, _PlannedLine, int]] = []
        wanted: list[tuple[int, int, int]] = []
        for channel, p in lines:
            assert p.sku_id is not None
            loc = self._pick(channel, p.sku_id, p.line.qty)
            if loc is not None:
                self.avail[(p.sku_id, loc)] -= p.line.qty
                planned.append((channel, p, loc))
                wanted.append((p.sku_id, loc, p.line.qty))
        for (channel, p, loc), ok in zip(planned, reserve_many(self.conn, wanted)):
            if ok:
                p.location_id = loc
                continue
            assert p.sku_id is not None
            self.avail[(p.sku_id, loc)] = 0  # someone else took it since we looked
            tried = {loc}
            while (alt := self._pick(channel, p.sku_id, p.line.qty, tried)) is not None:
                tried.add(alt)
                if reserve(self.conn, p.sku_id, alt, p.line.qty):
                    self.avail[(p.sku_id, alt)] -= p.line.qty
                    p.location_id = alt
                    break
                self.avail[(p.sku_id, alt)] = 0


@dataclass(frozen=True, slots=True)
class LineChange:
    """One line of a change. The line is found by `line_ref` (the source's line id), else by
    one of `item_ids`; `qty` is the new ordered quantity, `line` the new line for `add`."""

    action: str
    line_ref: str | None = None
    item_ids: Mapping[str, str] = field(default_factory=dict)
    qty: int | None = None
    unit_price_minor: int | None = None
    line: CanonicalLine | None = None
    note: str | None = None  # what the source asked that we keep no field for

    def name(self) -> str:
        if self.line_ref:
            return f"line {self.line_ref}"
        return "line " + (", ".join(f"{k} {v}" for k, v in self.item_ids.items()) or "(no id)")


@dataclass(frozen=True, slots=True)
class OrderChange:
    channel: str
    external_id: str
    lines: tuple[LineChange, ...] = ()
    cancel: bool = False
    reason: str = ""
    ship_to: Address | None = None
    requested_ship_date: dt.date | None = None
    cancel_after: dt.date | None = None


@dataclass(frozen=True, slots=True)
class ChangeOutcome:
    status: str  # applied | conflict | rejected (no such order)
    order_id: int | None = None
    order_status: str | None = None
    reason: str | None = None
    done: tuple[str, ...] = ()


class _Conflict(Exception):
    pass


def apply_change(store: Store, change: OrderChange, *, actor: str = "edi", document_id: int | None = None) -> ChangeOutcome:
    """Apply one change to the order it names; see the module docstring for what applies."""
    for lc in change.lines:
        if lc.action not in LINE_ACTIONS:
            raise ValueError(f"line change action {lc.action!r} is not one of {', '.join(LINE_ACTIONS)}")

    def _do(conn: Connection) -> ChangeOutcome:
        stmt = (
            select(Order.id, Order.status, Order.channel_id, Order.exception, Order.exception_detail)
            .join(Channel, Channel.id == Order.channel_id)
            .where(Channel.code == change.channel, Order.external_id == change.external_id)
        )
        if conn.dialect.name == "postgresql":
            stmt = stmt.with_for_update(of=Order)
        row = conn.execute(stmt).first()
        if row is None:
            return ChangeOutcome("rejected", reason=f"no order {change.external_id} from {change.channel}; "
                                 "nothing changed (the change is kept with its document)")
        try:
            with conn.begin_nested():
                done, status = _Apply(conn, row, change, actor).run()
        except _Conflict as exc:
            reason = str(exc)
            _flag(conn, row, reason, actor, document_id)
            return ChangeOutcome("conflict", row.id, row.status, reason)
        why = "changed by the customer" + (f": {change.reason}" if change.reason else "")
        resynced = resync_dropship(conn, row.id, actor=actor, reason=why)
        if resynced:
            done.append(resynced.text())
        detail: dict[str, Any] = {"external_id": change.external_id, "done": list(done), "status": status}
        if document_id is not None:
            detail["document_id"] = document_id
        audit(conn, actor, "order", row.id, "order.changed", detail)
        return ChangeOutcome("applied", row.id, status, done=tuple(done))

    return store.run(_do)


def _flag(conn: Connection, row: Any, reason: str, actor: str, document_id: int | None) -> None:
    detail: dict[str, Any] = {"reason": reason}
    if document_id is not None:
        detail["document_id"] = document_id
    flag_exception(conn, row.id, CHANGE_CONFLICT, f"{_CONFLICT_TEXT}{reason}", actor=actor,
                   action="order.change_conflict", detail=detail, replaces=_CONFLICT_TEXT)


class _Apply:
    def __init__(self, conn: Connection, row: Any, change: OrderChange, actor: str) -> None:
        self.conn, self.row, self.change, self.actor = conn, row, change, actor
        self.done: list[str] = []
        self.now = utcnow()

    def run(self) -> tuple[list[str], str]:
        """What was done, and the order's status afterwards."""
        conn, row, change = self.conn, self.row, self.change
        if row.status in ("shipped", "closed", "cancelled"):
            raise _Conflict(f"order {change.external_id} is {row.status}; it can no longer change")
        if change.cancel:
            if row.status == "partially_shipped":
                raise _Conflict(f"order {change.external_id} has partly shipped; cancel what is left line by line")
            units = cancel_in(conn, row.id, change.reason or "cancelled by the customer", actor=self.actor,
                              notify=False)  # the channel asked: nothing to tell it
            return [f"order cancelled, {units} reserved units given back"], "cancelled"
        lines = list(conn.execute(select(OrderLine).where(OrderLine.order_id == row.id).order_by(OrderLine.line_no)))
        for lc in change.lines:
            if lc.action == "add":
                self._add(lc, lines)
                continue
            found = _find(lc, lines)
            if found is None:
                raise _Conflict(f"{lc.name()} is not on order {change.external_id}")
            # Read the line again: an earlier line change in this change may have moved its quantities.
            target = conn.execute(select(OrderLine).where(OrderLine.id == found.id)).one()
            if lc.action == "cancel":
                self._cancel_line(target)
            elif lc.action == "update":
                if lc.qty is not None and lc.qty != target.qty:
                    self._requantify(target, lc.qty, known=all(ln.sku_id is not None for ln in lines))
                if lc.unit_price_minor is not None and lc.unit_price_minor != target.unit_price_minor:
                    conn.execute(update(OrderLine).where(OrderLine.id == target.id)
                                 .values(unit_price_minor=lc.unit_price_minor))
                    self.done.append(f"line {target.line_no}: unit price {target.unit_price_minor} -> {lc.unit_price_minor}")
            if lc.note:
                self.done.append(f"line {target.line_no}: {lc.note}")
        self._header()
        return self.done, self._settle()

    # ------------------------------------------------------------------------------ lines

    def _add(self, lc: LineChange, lines: list[Any]) -> None:
        if lc.line is None or lc.line.qty < 0 or not lc.line.item:
            raise _Conflict(f"{lc.name()}: an added line needs an item and a quantity")
        if lc.line_ref and any(ln.line_ref == lc.line_ref for ln in lines):
            raise _Conflict(f"{lc.name()} is added but the order has it already")
        line_no = max((ln.line_no for ln in lines), default=0) + 1
        sku = SkuResolver(self.conn, [(self.row.channel_id, lc.line)]).resolve(self.row.channel_id, lc.line)
        ln = lc.line
        lid = self.conn.execute(
            insert(OrderLine).values(
                order_id=self.row.id, line_no=line_no, sku_id=sku, item=ln.item, item_kind=ln.item_kind,
                item_ids={k: v for k, v in ln.identifiers()}, description=ln.description, line_ref=ln.line_ref,
                uom=ln.uom, qty=ln.qty, unit_price_minor=ln.unit_price_minor,
            ).returning(OrderLine.id)
        ).scalar_one()
        self.done.append(f"line {line_no} added: {ln.qty} x {ln.item}")
        if sku is None:
            detail = f"line {line_no}: {ln.item_kind} {ln.item!r} matches no SKU or alias"
            self.conn.execute(update(Order).where(Order.id == self.row.id).values(
                exception="unknown_item", exception_detail=detail))
            self.done.append(f"line {line_no}: unknown item, the order waits in unknown_item")
        elif ln.qty > 0 and all(x.sku_id is not None for x in lines):
            self._allocate(lid, _PlannedLine(line_no, ln, sku))
        lines.append(self.conn.execute(select(OrderLine).where(OrderLine.id == lid)).one())

    def _cancel_line(self, line: Any) -> None:
        open_units = line.qty - line.qty_shipped - line.qty_cancelled
        if open_units <= 0:
            return
        shrink_backorders(self.conn, line.id, line.qty_backordered, self.now)
        take_reserved(self.conn, line.id, line.qty_reserved, state="released", now=self.now, newest_first=True)
        self.conn.execute(update(OrderLine).where(OrderLine.id == line.id).values(
            qty_cancelled=OrderLine.qty_cancelled + open_units, qty_reserved=0, qty_backordered=0))
        self.done.append(f"line {line.line_no}: {open_units} units cancelled")

    def _requantify(self, line: Any, qty: int, *, known: bool) -> None:
        floor = line.qty_shipped + line.qty_cancelled
        if qty < 0:
            raise _Conflict(f"line {line.line_no}: quantity {qty} is negative")
        if qty < floor:
            raise _Conflict(f"line {line.line_no}: {qty} units is fewer than the {line.qty_shipped} shipped "
                            f"and {line.qty_cancelled} cancelled")
        if qty < line.qty:
            give = line.qty - qty
            unallocated = line.qty - line.qty_reserved - line.qty_backordered - floor
            give -= min(give, unallocated)
            from_backorder = min(give, line.qty_backordered)
            shrink_backorders(self.conn, line.id, from_backorder, self.now)
            from_reserved = give - from_backorder
            take_reserved(self.conn, line.id, from_reserved, state="released", now=self.now, newest_first=True)
            self.conn.execute(update(OrderLine).where(OrderLine.id == line.id).values(
                qty=qty, qty_backordered=OrderLine.qty_backordered - from_backorder,
                qty_reserved=OrderLine.qty_reserved - from_reserved))
            self.done.append(f"line {line.line_no}: quantity {line.qty} -> {qty}"
                             + (f", {from_reserved} reserved units given back" if from_reserved else ""))
            return
        self.conn.execute(update(OrderLine).where(OrderLine.id == line.id).values(qty=qty))
        self.done.append(f"line {line.line_no}: quantity {line.qty} -> {qty}")
        if known and line.sku_id is not None:
            more = CanonicalLine(line.item, qty - line.qty, line.unit_price_minor, item_kind=line.item_kind)
            self._allocate(line.id, _PlannedLine(line.line_no, more, line.sku_id))

    # ------------------------------------------------------------------------------ stock

    def _allocate(self, line_id: int, p: _PlannedLine) -> None:
        """Reserve `p.line.qty` more units of a line, where it already has stock first, else backorder."""
        assert p.sku_id is not None
        own = self.conn.execute(
            select(Reservation.location_id).where(Reservation.line_id == line_id, Reservation.state == "active")
            .order_by(Reservation.id)
        ).scalars().all()
        _Allocator(self.conn, {p.sku_id}, prefer=own).allocate([(self.row.channel_id, p)])
        _book_placed(self.conn, [(line_id, p)], self.now)
        how = "reserved" if p.location_id is not None else "backordered"
        self.done.append(f"line {p.line_no}: {p.line.qty} more units {how}")

    # ------------------------------------------------------------------------ the order

    def _header(self) -> None:
        change, values = self.change, dict[str, Any]()
        if change.ship_to is not None:
            st = change.ship_to
            values.update(ship_to_name=st.name, ship_to_address1=st.address1, ship_to_address2=st.address2,
                          ship_to_city=st.city, ship_to_region=st.region, ship_to_postal_code=st.postal_code,
                          ship_to_country=st.country)
            self.done.append("new ship-to " + ", ".join(x for x in (st.name, st.city, st.region) if x))
        if change.requested_ship_date is not None:
            values["requested_ship_date"] = change.requested_ship_date
            self.done.append(f"requested ship date {change.requested_ship_date.isoformat()}")
        if change.cancel_after is not None:
            values["cancel_after"] = change.cancel_after
            self.done.append(f"cancel after {change.cancel_after.isoformat()}")
        if values:
            self.conn.execute(update(Order).where(Order.id == self.row.id).values(**values))

    def _settle(self) -> str:
        """Total, version and status after the lines changed; returns the status."""
        conn, oid = self.conn, self.row.id
        total, open_units, shipped, unknown = conn.execute(
            select(
                func.coalesce(func.sum((OrderLine.qty - OrderLine.qty_cancelled) * OrderLine.unit_price_minor), 0),
                func.coalesce(func.sum(OrderLine.qty - OrderLine.qty_cancelled), 0),
                func.coalesce(func.sum(OrderLine.qty_shipped), 0),
                func.count(OrderLine.id).filter(OrderLine.sku_id.is_(None)),
            ).where(OrderLine.order_id == oid)
        ).one()
        conn.execute(update(Order).where(Order.id == oid).values(
            total_minor=int(total), version=Order.version + 1, updated_at=self.now))
        if self.row.status == "on_hold":
            return str(self.row.status)  # a hold stays; releasing it reads the lines again
        if int(open_units) == 0 and int(shipped) == 0:
            dst = "cancelled"
        elif unknown:
            return str(self.row.status)  # waits in unknown_item; resolving the item allocates it
        else:
            dst = status_from_lines(conn, oid)
        if dst != self.row.status:
            try:
                move(conn, oid, dst, actor=self.actor, reason="changed by the customer")
            except TransitionError as exc:
                raise _Conflict(str(exc)) from exc
        return dst



def _find(lc: LineChange, lines: Sequence[Any]) -> Any | None:
    if lc.line_ref:
        for ln in lines:
            if ln.line_ref == lc.line_ref:
                return ln
        if lc.line_ref.isdigit() and not any(ln.line_ref for ln in lines):
            for ln in lines:  # an order that came without line ids: the source counts like us
                if ln.line_no == int(lc.line_ref):
                    return ln
    wanted = set(lc.item_ids.items())
    if wanted:
        hits = [ln for ln in lines if wanted & set((ln.item_ids or {}).items())]
        if len(hits) == 1:
            return hits[0]
    return None
