"""Routing by an operator: what the rules would decide now, and placing units where they choose.

    propose(store, order_id)                                   -> Proposal (reads only)
    place(store, order_id, [Placement(1, "A", 2), Placement(1, "B", 1)], actor="ann")  -> Placed

An order's open units are those neither reserved, shipped nor cancelled: units nothing was
placed for yet, and backordered units. `propose` decides them with the active rules on the
stock as it is now, without reserving anything; the operator accepts that proposal (its
placements go to `place`, the rule named) or picks a location and quantity per line, split
over as many locations as they like. `place` reserves with the conditional UPDATE (a location
that no longer has the units refuses the whole choice: InsufficientStock, nothing changes),
fills backorders first from units never placed, backorders what is still open, and records a
routing decision (trigger `operator`) whose explanation says who chose it, next to routing's
own; audited `order.routed_by_operator`.

Refused with TransitionError: an order on hold (releasing the hold routes it), one that is
cancelled, shipped, closed or for pick-up ready in store; a line that is not on the order or
whose item is unknown; more units than are open on a line; a location that is not active.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select, update

from ..db import Store
from ..errors import InsufficientStock, TransitionError
from ..journal import audit
from ..models import Backorder, Location, Order, OrderLine, Reservation, Sku
from ..orders import _load, clear_exception_text, move, status_from_lines
from ..types import utcnow
from .engine import Decision, LineFacts, decide
from .live import Router

__all__ = ["ROUTABLE", "OpenLine", "Placement", "Proposal", "Placed", "propose", "propose_in", "place", "place_in"]

# Order statuses whose open units an operator may route.
ROUTABLE = ("received", "allocated", "backordered", "partially_shipped")


@dataclass(frozen=True, slots=True)
class OpenLine:
    """A line with units still to place, and what each location has of its SKU now."""

    line_no: int
    sku: str
    item: str
    open: int  # unplaced + backordered
    backordered: int
    available: tuple[tuple[str, int], ...]  # (location code, units available), the channel's first


@dataclass(frozen=True, slots=True)
class Placement:
    """Reserve `qty` units of line `line_no` at location `location` (its code)."""

    line_no: int
    location: str
    qty: int


@dataclass(frozen=True, slots=True)
class Proposal:
    order_id: int
    external_id: str
    status: str
    lines: tuple[OpenLine, ...]
    outcome: str  # allocated | split | backordered | held | cancelled | unroutable
    rule: str | None
    placements: tuple[Placement, ...]
    backordered: tuple[tuple[int, int], ...]  # (line number, units)
    explanation: dict[str, Any]
    refused: str | None = None  # why the order cannot be routed now (nothing else is set)

    @property
    def acceptable(self) -> bool:
        """The proposal places something an operator can accept."""
        return self.refused is None and bool(self.placements)


@dataclass(frozen=True, slots=True)
class Placed:
    order_id: int
    external_id: str
    status: str
    placements: tuple[Placement, ...]
    backordered: tuple[tuple[int, int], ...]


def _open_rows(conn: Connection, order_id: int) -> list[Any]:
    return list(conn.execute(
        select(OrderLine.id, OrderLine.line_no, OrderLine.sku_id, OrderLine.item, OrderLine.unit_price_minor,
               Sku.code.label("sku"),
               (OrderLine.qty - OrderLine.qty_reserved - OrderLine.qty_backordered - OrderLine.qty_shipped
                - OrderLine.qty_cancelled).label("unplaced"),
               OrderLine.qty_backordered.label("backordered"))
        .outerjoin(Sku, Sku.id == OrderLine.sku_id)
        .where(OrderLine.order_id == order_id).order_by(OrderLine.line_no)
    ))


def _refusal(status: str, rows: Sequence[Any], who: str) -> str | None:
    if status == "on_hold":
        return f"{who} is on hold; releasing the hold routes it"
    if status not in ROUTABLE:
        return f"{who} is {status}; only {', '.join(ROUTABLE)} orders are routed"
    unknown = [r.line_no for r in rows if r.sku_id is None]
    if unknown:
        return f"{who}: map the unknown item of line {', '.join(map(str, unknown))} first"
    if not any(r.unplaced + r.backordered > 0 for r in rows):
        return f"{who} has no open units to route"
    return None


def propose(store: Store, order_id: int) -> Proposal:
    """What the active rules would decide now for the order's open units (nothing is reserved)."""
    with store.read() as conn:
        return propose_in(conn, order_id)


def propose_in(conn: Connection, order_id: int) -> Proposal:
    """`propose` on the caller's connection (in a write transaction: then placed as read)."""
    order = _load(conn, order_id, lock=False)
    rows = _open_rows(conn, order_id)
    who = f"order {order.external_id}"
    refused = _refusal(order.status, rows, who)
    if refused is not None:
        return Proposal(order_id, order.external_id, order.status, (), "unroutable", None, (), (), {}, refused)
    todo = [r for r in rows if r.unplaced + r.backordered > 0]
    router = Router(conn, {r.sku_id for r in todo})
    facts = router.facts_of_order(order_id, [LineFacts(r.line_no, r.sku_id, r.unplaced + r.backordered,
                                                       r.unit_price_minor) for r in todo])
    d = decide(facts, router.sites, router.avail, router.load, router.rules)
    codes = {s.id: s.code for s in router.sites.values()}
    order_of = {loc: i for i, loc in enumerate(facts.locations)}
    sites = sorted(router.sites.values(), key=lambda s: (order_of.get(s.id, len(order_of)), s.rank, s.code))
    lines = tuple(
        OpenLine(r.line_no, r.sku, r.item, r.unplaced + r.backordered, r.backordered,
                 tuple((s.code, max(0, router.avail.get((r.sku_id, s.id), 0))) for s in sites
                       if s.id in order_of or router.avail.get((r.sku_id, s.id), 0) > 0))
        for r in todo
    )
    return Proposal(
        order_id, order.external_id, order.status, lines, d.outcome, d.rule,
        tuple(Placement(n, codes.get(loc, str(loc)), q) for n, loc, q in d.placements),
        d.backordered, dict(d.explanation, hold_reason=d.hold_reason) if d.hold_reason else dict(d.explanation),
    )


def place(
    store: Store, order_id: int, placements: Sequence[Placement], *, actor: str = "operator",
    rule: str | None = None,
) -> Placed:
    """Reserve `placements` for the order's open units; `rule` names the rule whose proposal
    the operator accepted (None: the operator chose the locations)."""
    return store.run(lambda conn: place_in(conn, order_id, placements, actor=actor, rule=rule))


def place_in(
    conn: Connection, order_id: int, placements: Sequence[Placement], *, actor: str, rule: str | None = None,
) -> Placed:
    """`place` inside the caller's transaction."""
    order = _load(conn, order_id)
    rows = _open_rows(conn, order_id)
    who = f"order {order.external_id}"
    refused = _refusal(order.status, rows, who)
    if refused is not None:
        raise TransitionError(refused)
    if not placements:
        raise TransitionError(f"{who}: choose at least one location and quantity")
    by_no = {r.line_no: r for r in rows}
    pickup = conn.execute(select(Order.fulfilment, Order.pickup_location_id).where(Order.id == order_id)).one()
    locations = {str(c): (int(i), str(k)) for i, c, k in conn.execute(
        select(Location.id, Location.code, Location.kind).where(Location.active.is_(True)))}
    wanted: dict[tuple[int, str], int] = {}
    for p in placements:
        r = by_no.get(p.line_no)
        if r is None:
            raise TransitionError(f"{who} has no line {p.line_no}")
        if p.qty <= 0:
            raise TransitionError(f"{who} line {p.line_no}: units to place must be positive, got {p.qty}")
        if p.location not in locations:
            raise TransitionError(f"{who}: {p.location!r} is not an active location")
        if pickup.fulfilment == "pickup" and locations[p.location][0] != pickup.pickup_location_id:
            raise TransitionError(f"{who} is collected in store: its units can only be reserved at its pick-up "
                                  f"location, not {p.location}")
        wanted[(p.line_no, p.location)] = wanted.get((p.line_no, p.location), 0) + p.qty
    per_line: dict[int, int] = {}
    for (n, _), q in wanted.items():
        per_line[n] = per_line.get(n, 0) + q
    for n, q in sorted(per_line.items()):
        r = by_no[n]
        if q > r.unplaced + r.backordered:
            raise TransitionError(f"{who} line {n} ({r.sku}): {q} units chosen, {r.unplaced + r.backordered} open")
    todo = [r for r in rows if r.unplaced + r.backordered > 0]
    router = Router(conn, {r.sku_id for r in todo})
    facts = router.facts_of_order(order_id, [LineFacts(r.line_no, r.sku_id, r.unplaced + r.backordered,
                                                       r.unit_price_minor) for r in todo])
    chosen = tuple(sorted((n, locations[code][0], q) for (n, code), q in wanted.items()))
    rest = tuple((r.line_no, r.unplaced + r.backordered - per_line.get(r.line_no, 0)) for r in todo
                 if r.unplaced + r.backordered - per_line.get(r.line_no, 0) > 0)
    used = {loc for _, loc, _ in chosen}
    outcome = "backordered" if rest else ("split" if len(used) > 1 else "allocated")
    chooser = f"chosen by {actor}" if rule is None else f"rule {rule}, accepted by {actor}"
    how = "; ".join(f"line {n} {code} x{q}" for (n, code), q in sorted(wanted.items()))
    decision = Decision(outcome, rule, chosen, rest, explanation={
        "rules": [], "decided_by": chooser, "how": how, "chosen_by": actor})
    short = router.place(order_id, facts, decision, "operator")
    if short:
        sku_of = {r.sku_id: r.sku for r in todo}
        code_of = {i: c for c, (i, _) in locations.items()}
        raise InsufficientStock(f"{who} not routed: " + ", ".join(
            f"{code_of.get(loc, loc)} no longer has {q} of {sku_of.get(sku, sku)} available" for sku, loc, q in short))
    now = utcnow()
    unplaced_left = {r.line_no: int(r.unplaced) for r in todo}
    for n, loc, q in chosen:
        from_unplaced = min(q, unplaced_left[n])
        unplaced_left[n] -= from_unplaced
        _book(conn, by_no[n], loc, q, q - from_unplaced, now)
    for n, q in rest:
        r = by_no[n]
        unplaced = r.unplaced - min(r.unplaced, per_line.get(n, 0))
        if unplaced > 0:  # units never placed wait as a backorder; those already waiting stay
            conn.execute(insert(Backorder).values(line_id=r.id, sku_id=r.sku_id, qty=unplaced, state="open",
                                                  created_at=now))
            conn.execute(update(OrderLine).where(OrderLine.id == r.id).values(
                qty_backordered=OrderLine.qty_backordered + unplaced))
    router.flush(actor)
    from ..intake import _UNROUTABLE_TEXTS

    for text in _UNROUTABLE_TEXTS:
        clear_exception_text(conn, order_id, "unroutable", text, actor=actor, action="order.routed",
                             detail={"trigger": "operator"})
    status = status_from_lines(conn, order_id)
    if status != order.status:
        move(conn, order_id, status, actor=actor, reason=f"routed: {chooser}")
    result = tuple(Placement(n, code, q) for (n, code), q in sorted(wanted.items()))
    audit(conn, actor, "order", order_id, "order.routed_by_operator", {
        "placements": [[p.line_no, p.location, p.qty] for p in result], "backordered": [list(b) for b in rest],
        "rule": rule, "status": status})
    return Placed(order_id, order.external_id, status, result, rest)


def _book(conn: Connection, r: Any, loc: int, qty: int, from_backorder: int, now: dt.datetime) -> None:
    """A reservation of `qty` units at `loc` on line `r`, `from_backorder` of them filling its
    backorders (oldest first)."""
    conn.execute(insert(Reservation).values(line_id=r.id, sku_id=r.sku_id, location_id=loc, qty=qty, state="active",
                                            created_at=now))
    if from_backorder:
        left = from_backorder
        for bid, have in conn.execute(
            select(Backorder.id, Backorder.qty).where(Backorder.line_id == r.id, Backorder.state == "open")
            .order_by(Backorder.id)
        ).all():
            if left <= 0:
                break
            part = min(left, have)
            values: dict[str, object] = {"state": "filled", "closed_at": now} if part == have else {"qty": have - part}
            conn.execute(update(Backorder).where(Backorder.id == bid).values(**values))
            left -= part
    conn.execute(update(OrderLine).where(OrderLine.id == r.id).values(
        qty_reserved=OrderLine.qty_reserved + qty, qty_backordered=OrderLine.qty_backordered - from_backorder))
