"""Returns (RMA): authorised, received at any location, inspected, then resolved.

    authorise ──> receive (one parcel or several) ──> inspect ──> resolve: refund | exchange | reship
        └──> cancel (while nothing is received)

    status:  authorised ──> received ──> inspected ──> closed
                 └──> cancelled

The status follows the lines: `received` while a received unit waits for inspection,
`inspected` once every received unit was restocked or scrapped (a later parcel takes it back
to `received`). Receiving changes no stock; a restock at inspection puts units on hand at the
chosen location through the ledger (movement kind "return", reference "<RMA> line <n>"), so
`oms check` agrees; scrapped units never re-enter stock. An exchange or reship is a new order
on the original's channel, linked to it (orders.origin_order_id), taken in through intake in
the same transaction so it is allocated like any other order. A refund is an outbox row
`refund` to the order's channel.

Each write function commits its change, its audit events and its outbox rows together.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, case, func, insert, select, update

from .canonical import Address, CanonicalLine, CanonicalOrder
from .counters import take
from .db import Store
from .errors import NotFound, ReturnError
from .intake import ingest_in
from .inventory import apply_movement
from .routing.backorders import fill_backorders
from .journal import audit, enqueue
from .models import Channel, Location, Order, OrderLine, Return, ReturnLine, Sku, StockMovement
from .money import format_amount
from .orders import _load
from .types import utcnow

__all__ = [
    "RESOLUTIONS",
    "CONDITIONS",
    "RmaLine",
    "Receipt",
    "Disposition",
    "Replacement",
    "ReturnLineView",
    "ReturnView",
    "authorise",
    "receive",
    "inspect",
    "resolve",
    "cancel",
    "get_return",
    "returns_of",
    "rma_number",
]

RESOLUTIONS = ("refund", "exchange", "reship")
# What a returned unit looks like when it arrives or is inspected.
CONDITIONS = ("new", "opened", "used", "damaged", "defective", "wrong_item", "incomplete")
_OPEN = ("authorised", "received", "inspected")


@dataclass(frozen=True, slots=True)
class RmaLine:
    """Authorise `qty` units of the order's line `line_no` for return, and why."""

    line_no: int
    qty: int
    reason: str


@dataclass(frozen=True, slots=True)
class Receipt:
    """`qty` units of the RMA's line for order line `line_no` arrived, in `condition`."""

    line_no: int
    qty: int
    condition: str | None = None


@dataclass(frozen=True, slots=True)
class Disposition:
    """What inspection does with received units of a line: restock some at location `at`
    (default: where the return was received), scrap some."""

    line_no: int
    restock: int = 0
    scrap: int = 0
    at: str | None = None
    condition: str | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Replacement:
    """An item an exchange sends instead: our SKU code and a quantity."""

    sku: str
    qty: int


@dataclass(frozen=True, slots=True)
class ReturnLineView:
    line_no: int
    item: str
    sku: str | None
    qty: int
    received: int
    restocked: int
    scrapped: int
    condition: str | None
    reason: str | None
    restocked_at: tuple[tuple[str, int], ...]  # (location code, units)

    @property
    def uninspected(self) -> int:
        return self.received - self.restocked - self.scrapped


@dataclass(frozen=True, slots=True)
class ReturnView:
    id: int
    rma: str
    status: str
    order_id: int
    order_external_id: str
    channel: str
    resolution: str | None
    refund_minor: int | None
    currency: str  # the order's: refunds are in it
    location: str | None  # where it was (first) received
    reason: str | None
    new_order_id: int | None
    new_order_external_id: str | None
    new_order_status: str | None
    created_at: dt.datetime
    received_at: dt.datetime | None
    closed_at: dt.datetime | None
    lines: tuple[ReturnLineView, ...]

    @property
    def refund(self) -> str | None:
        """The refund as a person reads it ("12.99 USD"), when there is one."""
        if self.refund_minor is None:
            return None
        return format_amount(self.refund_minor, self.currency)


def rma_number(text: str) -> str:
    """The RMA an operator means: "RMA-000123", "rma-000123" or just "123"."""
    s = text.strip().upper()
    if s.isdigit():
        return f"RMA-{int(s):06d}"
    return s


# ------------------------------------------------------------------------------- checks


def _check_resolution(resolution: str | None) -> None:
    if resolution is not None and resolution not in RESOLUTIONS:
        raise ReturnError(f"resolution {resolution!r} is not one of {', '.join(RESOLUTIONS)}")


def _check_condition(where: str, condition: str | None) -> None:
    if condition is not None and condition not in CONDITIONS:
        raise ReturnError(f"{where}: condition {condition!r} is not one of {', '.join(CONDITIONS)}")


def _check_once(where: str, line_nos: Iterable[int]) -> None:
    seen: set[int] = set()
    for n in line_nos:
        if n in seen:
            raise ReturnError(f"{where}: line {n} is named twice; give each line once")
        seen.add(n)


def _check_refund_amount(amount: int) -> None:
    if amount <= 0:
        raise ReturnError(f"a refund must be a positive amount, got {amount}")


# ------------------------------------------------------------------------------- authorise


def authorise(
    store: Store,
    order_id: int,
    lines: Sequence[RmaLine],
    *,
    refund_minor: int | None = None,
    resolution: str | None = None,
    reason: str | None = None,
    actor: str = "operator",
) -> ReturnView:
    """Authorise the return of shipped (or picked-up) units of an order, from any channel.

    Refused, with the line and the figures, when a line returns more than was shipped less
    what other RMAs of the order cover (open ones their authorised units, closed ones the
    units they received), and when nothing of the order has shipped.
    """
    _check_resolution(resolution)
    if refund_minor is not None:
        _check_refund_amount(refund_minor)
        if resolution not in (None, "refund"):
            raise ReturnError(f"a refund amount goes with resolution refund, not {resolution}")
        resolution = "refund"
    if reason is not None and len(reason) > 500:
        raise ReturnError("the RMA's note is longer than 500 characters")

    def _do(conn: Connection) -> ReturnView:
        order = _load(conn, order_id)  # locked: two RMAs at once cannot both take the same units
        name = f"order {order.external_id}"
        if not lines:
            raise ReturnError(f"{name}: an RMA needs at least one line")
        _check_once(name, (ln.line_no for ln in lines))
        for ln in lines:
            if ln.qty < 1:
                raise ReturnError(f"{name} line {ln.line_no}: return quantity must be at least 1, got {ln.qty}")
            if not ln.reason.strip():
                raise ReturnError(f"{name} line {ln.line_no}: say why it comes back (a reason)")
            if len(ln.reason) > 200:
                raise ReturnError(f"{name} line {ln.line_no}: the reason is longer than 200 characters")
        head = conn.execute(select(Order.currency).where(Order.id == order_id)).one()
        rows = {
            r.line_no: r
            for r in conn.execute(
                select(OrderLine.id, OrderLine.line_no, OrderLine.item, OrderLine.qty, OrderLine.qty_shipped,
                       OrderLine.qty_cancelled).where(OrderLine.order_id == order_id)
            )
        }
        delivered = _delivered_units(conn, order_id, order.status)

        if not any(delivered(r) for r in rows.values()):
            raise ReturnError(
                f"{name} is {order.status}: nothing of it has shipped or been picked up, "
                "so there is nothing to return"
            )
        covered = _covered(conn, order_id)
        for ln in lines:
            r = rows.get(ln.line_no)
            if r is None:
                have = ", ".join(str(n) for n in sorted(rows))
                raise ReturnError(f"{name} has no line {ln.line_no} (its lines: {have})")
            sent, taken = delivered(r), covered.get(r.id, 0)
            if ln.qty > sent - taken:
                raise ReturnError(
                    f"{name} line {ln.line_no} ({r.item}): cannot return {ln.qty}; "
                    f"{sent} shipped, {taken} already on other RMAs, {max(0, sent - taken)} left to return"
                )
        if refund_minor is not None:
            _check_refund(conn, order_id, order.external_id, head.currency, refund_minor, None)
        rma = f"RMA-{take(conn, 'rma')[0]:06d}"
        now = utcnow()
        rid = conn.execute(
            insert(Return)
            .values(order_id=order_id, rma=rma, status="authorised", resolution=resolution, reason=reason,
                    refund_minor=refund_minor, currency=head.currency, created_at=now)
            .returning(Return.id)
        ).scalar_one()
        conn.execute(
            insert(ReturnLine),
            [{"return_id": rid, "line_id": rows[ln.line_no].id, "qty": ln.qty, "qty_received": 0, "qty_restocked": 0,
              "qty_scrapped": 0, "condition": None, "reason": ln.reason.strip()} for ln in lines],
        )
        detail: dict[str, Any] = {
            "rma": rma, "order_id": order_id, "external_id": order.external_id,
            "lines": [[ln.line_no, ln.qty, ln.reason.strip()] for ln in lines],
        }
        if resolution:
            detail["resolution"] = resolution
        if refund_minor is not None:
            detail.update(refund_minor=refund_minor, currency=head.currency)
        audit(conn, actor, "return", rid, "return.authorised", detail)
        return _view(conn, rid)

    return store.run(_do)


def _covered(conn: Connection, order_id: int) -> dict[int, int]:
    """Units of each order line other RMAs already take: authorised on open ones, received on
    closed ones (what a closed RMA never received may be authorised again)."""
    units = case((Return.status == "closed", ReturnLine.qty_received), else_=ReturnLine.qty)
    rows = conn.execute(
        select(ReturnLine.line_id, func.sum(units))
        .join(Return, Return.id == ReturnLine.return_id)
        .where(Return.order_id == order_id, Return.status != "cancelled")
        .group_by(ReturnLine.line_id)
    ).all()
    return {lid: int(q or 0) for lid, q in rows}


def _delivered_units(conn: Connection, order_id: int, status: str) -> Callable[[Any], int]:
    """Units of an order line the customer has: shipped, or, for a picked-up order, every unit
    not cancelled (a pick-up hands them over whether or not they were booked as shipped)."""
    fulfilment = conn.execute(select(Order.fulfilment).where(Order.id == order_id)).scalar_one()
    picked_up = fulfilment == "pickup" and status in ("picked_up", "closed")

    def delivered(r: Any) -> int:
        return max(int(r.qty_shipped), int(r.qty) - int(r.qty_cancelled)) if picked_up else int(r.qty_shipped)

    return delivered


def _check_refund(
    conn: Connection, order_id: int, external_id: str, currency: str, amount: int, this: int | None
) -> None:
    """A refund may not exceed the value of the units delivered (shipped or picked up, at each
    line's unit price; a cancelled unit was never charged for) less what the order's other RMAs
    refunded."""
    status = conn.execute(select(Order.status).where(Order.id == order_id)).scalar_one()
    delivered = _delivered_units(conn, order_id, status)
    value = sum(
        delivered(r) * int(r.unit_price_minor)
        for r in conn.execute(
            select(OrderLine.qty, OrderLine.qty_shipped, OrderLine.qty_cancelled, OrderLine.unit_price_minor)
            .where(OrderLine.order_id == order_id)
        )
    )
    stmt = select(func.coalesce(func.sum(Return.refund_minor), 0)).where(
        Return.order_id == order_id, Return.status == "closed", Return.resolution == "refund"
    )
    if this is not None:
        stmt = stmt.where(Return.id != this)
    refunded = int(conn.execute(stmt).scalar_one() or 0)
    if amount > value - refunded:
        raise ReturnError(
            f"order {external_id}: a refund of {format_amount(amount, currency)} is more than the "
            f"{format_amount(value, currency)} of units delivered (shipped or picked up) less "
            f"{format_amount(refunded, currency)} already refunded on its other RMAs "
            f"({format_amount(max(0, value - refunded), currency)} left to refund)"
        )


# ------------------------------------------------------------------------------- receive


def receive(
    store: Store, rma: str, location: str, lines: Sequence[Receipt], *, actor: str = "operator"
) -> ReturnView:
    """Units of an RMA arrived at `location` (any active location, not necessarily the one
    that shipped). Stock does not change: the units wait for inspection."""
    key = rma_number(rma)
    if not lines:
        raise ReturnError(f"{key}: say which lines arrived")
    _check_once(key, (r.line_no for r in lines))
    for r in lines:
        if r.qty < 1:
            raise ReturnError(f"{key} line {r.line_no}: received quantity must be at least 1, got {r.qty}")
        _check_condition(f"{key} line {r.line_no}", r.condition)

    def _do(conn: Connection) -> ReturnView:
        ret = _locked(conn, key)
        if ret.status not in _OPEN:
            raise ReturnError(f"{key} is {ret.status}; only an open RMA can be received")
        loc = _location(conn, location)
        by_no = _lines(conn, ret.id)
        for r in lines:
            rl = _line(by_no, key, r.line_no)
            if rl.qty_received + r.qty > rl.qty:
                raise ReturnError(
                    f"{key} line {r.line_no} ({rl.item}): receiving {r.qty} would make {rl.qty_received + r.qty} "
                    f"received of {rl.qty} authorised"
                )
        for r in lines:
            rl = by_no[r.line_no]
            conn.execute(
                update(ReturnLine)
                .where(ReturnLine.id == rl.id)
                .values(qty_received=ReturnLine.qty_received + r.qty, condition=_conditions(rl.condition, r.condition))
            )
        now = utcnow()
        values: dict[str, Any] = {"status": _status(conn, ret.id)}
        if ret.received_at is None:
            values.update(received_at=now, location_id=loc)
        conn.execute(update(Return).where(Return.id == ret.id).values(**values))
        audit(conn, actor, "return", ret.id, "return.received", {
            "rma": key, "order_id": ret.order_id, "location": location,
            "lines": [[r.line_no, r.qty, r.condition] for r in lines],
        })
        return _view(conn, ret.id)

    return store.run(_do)


def _conditions(before: str | None, new: str | None) -> str | None:
    """Every condition a line's parcels arrived in, once each ("new, damaged")."""
    seen = [c for c in (before or "").split(", ") if c]
    if new and new not in seen:
        seen.append(new)
    return ", ".join(seen)[:64] or None


# ------------------------------------------------------------------------------- inspect


def inspect(store: Store, rma: str, lines: Sequence[Disposition], *, actor: str = "operator") -> ReturnView:
    """Decide what received units become: restocked at a location (on hand rises there, through
    the ledger) or scrapped (recorded on the line and in the audit trail; never stock again).
    Restocked plus scrapped can never exceed what was received."""
    key = rma_number(rma)
    if not lines:
        raise ReturnError(f"{key}: say which lines were inspected")
    _check_once(key, (d.line_no for d in lines))
    for d in lines:
        where = f"{key} line {d.line_no}"
        if d.restock < 0 or d.scrap < 0:
            raise ReturnError(f"{where}: restock and scrap quantities cannot be negative")
        if d.restock + d.scrap == 0:
            raise ReturnError(f"{where}: restock or scrap at least one unit")
        if d.at is not None and not d.restock:
            raise ReturnError(f"{where}: a location to restock at, but nothing to restock")
        _check_condition(where, d.condition)

    def _do(conn: Connection) -> ReturnView:
        ret = _locked(conn, key)
        if ret.status == "authorised":
            raise ReturnError(f"{key}: nothing has been received yet, so there is nothing to inspect")
        if ret.status not in _OPEN:
            raise ReturnError(f"{key} is {ret.status}; it can no longer be inspected")
        by_no = _lines(conn, ret.id)
        home = conn.execute(select(Location.code).where(Location.id == ret.location_id)).scalar_one_or_none()
        for d in lines:
            rl = _line(by_no, key, d.line_no)
            if d.restock + d.scrap > rl.uninspected:
                raise ReturnError(
                    f"{key} line {d.line_no} ({rl.item}): restock {d.restock} + scrap {d.scrap} is more than the "
                    f"{rl.uninspected} received units not yet inspected ({rl.qty_received} received, "
                    f"{rl.qty_restocked} restocked, {rl.qty_scrapped} scrapped)"
                )
        for d in lines:
            rl = by_no[d.line_no]
            where = f"{key} line {d.line_no}"
            detail: dict[str, Any] = {"rma": key, "order_id": ret.order_id, "line_no": d.line_no, "item": rl.item}
            if d.note:
                detail["note"] = d.note
            if d.restock:
                at = d.at or home
                if at is None:  # unreachable: a received return has a location
                    raise ReturnError(f"{where}: say where to restock")
                loc = _location(conn, at, stock=True)
                if rl.sku_id is None:
                    raise ReturnError(f"{where}: the order line has no SKU to restock")
                on_hand = apply_movement(conn, rl.sku_id, loc, d.restock, "return", reference=f"{key} line {d.line_no}",
                                         actor=actor, note=d.condition or rl.condition)
                audit(conn, actor, "return", ret.id, "return.restocked",
                      {**detail, "qty": d.restock, "location": at, "on_hand": on_hand})
            if d.scrap:
                audit(conn, actor, "return", ret.id, "return.scrapped", {**detail, "qty": d.scrap})
            values: dict[str, Any] = {
                "qty_restocked": ReturnLine.qty_restocked + d.restock,
                "qty_scrapped": ReturnLine.qty_scrapped + d.scrap,
            }
            if d.condition:
                values["condition"] = d.condition
            conn.execute(update(ReturnLine).where(ReturnLine.id == rl.id).values(**values))
        conn.execute(update(Return).where(Return.id == ret.id).values(status=_status(conn, ret.id)))
        restocked = {by_no[d.line_no].sku_id for d in lines if d.restock}
        fill_backorders(conn, {s for s in restocked if s is not None}, actor=actor)  # restocked units are stock
        return _view(conn, ret.id)

    return store.run(_do)


# ------------------------------------------------------------------------------- resolve


def resolve(
    store: Store,
    rma: str,
    *,
    resolution: str | None = None,
    refund_minor: int | None = None,
    items: Sequence[Replacement] = (),
    actor: str = "operator",
) -> ReturnView:
    """Close an inspected RMA with its resolution (default: the one given at authorisation).

    refund    records the amount (default: the one authorised) and queues a `refund` outbox
              row to the order's channel with the RMA, amount and currency;
    exchange  a new order on the same channel for `items` (default: the returned items as
              received), external id "<original>-<RMA>", linked as origin_kind "exchange";
    reship    a new order for the returned items as received, linked as origin_kind "reship".

    Replacement orders carry no charge (the original was paid) and go through intake, so they
    are allocated, or backordered, like any other order.
    """
    key = rma_number(rma)
    _check_resolution(resolution)
    if refund_minor is not None:
        _check_refund_amount(refund_minor)
    for it in items:
        if it.qty < 1:
            raise ReturnError(f"{key}: replacement {it.sku} needs a quantity of at least 1, got {it.qty}")

    def _do(conn: Connection) -> ReturnView:
        ret = _locked(conn, key)
        if ret.status == "authorised":
            raise ReturnError(f"{key}: nothing has been received yet; receive and inspect it before resolving")
        if ret.status == "received":
            waiting = sum(rl.uninspected for rl in _lines(conn, ret.id).values())
            raise ReturnError(f"{key}: {waiting} received unit(s) wait for inspection; inspect them first")
        if ret.status != "inspected":
            raise ReturnError(f"{key} is {ret.status}; it cannot be resolved again")
        how = resolution or ret.resolution
        if how is None and refund_minor is not None:
            how = "refund"  # an amount and nothing else said: a refund
        if how is None:
            raise ReturnError(f"{key}: say how to resolve it: --resolution {'|'.join(RESOLUTIONS)}")
        if how != "refund" and refund_minor is not None:
            raise ReturnError(f"{key}: a refund amount (--refund AMOUNT) goes with --resolution refund, not {how}")
        if how != "exchange" and items:
            raise ReturnError(f"{key}: replacement items go with an exchange, not a {how}")
        order = _load(conn, ret.order_id)
        code = conn.execute(select(Channel.code).where(Channel.id == order.channel_id)).scalar_one()
        currency = ret.currency or conn.execute(select(Order.currency).where(Order.id == ret.order_id)).scalar_one()
        values: dict[str, Any] = {"status": "closed", "resolution": how, "closed_at": utcnow()}
        detail: dict[str, Any] = {"rma": key, "order_id": ret.order_id, "resolution": how}
        if how == "refund":
            amount = refund_minor if refund_minor is not None else ret.refund_minor
            if amount is None:
                raise ReturnError(f"{key}: a refund needs an amount: give --refund AMOUNT")
            _check_refund(conn, ret.order_id, order.external_id, currency, amount, ret.id)
            values.update(refund_minor=amount, currency=currency)
            detail.update(refund_minor=amount, currency=currency)
            enqueue(conn, "refund", code, f"refund:{key}", {
                "rma": key, "order_id": ret.order_id, "external_id": order.external_id,
                "amount_minor": amount, "currency": currency,
            }, ret.order_id)
        else:
            new_id, new_ext = _replacement(conn, ret, how, items, code, actor)
            values["new_order_id"] = new_id
            detail.update(new_order_id=new_id, new_external_id=new_ext)
        conn.execute(update(Return).where(Return.id == ret.id).values(**values))
        audit(conn, actor, "return", ret.id, "return.closed", detail)
        return _view(conn, ret.id)

    return store.run(_do)


def _pickup_code(conn: Connection, location_id: int | None) -> str | None:
    if location_id is None:
        return None
    return conn.execute(select(Location.code).where(Location.id == location_id)).scalar_one_or_none()


def _replacement(
    conn: Connection, ret: Any, how: str, items: Sequence[Replacement], channel: str, actor: str
) -> tuple[int, str]:
    """The exchange or reship order, taken in through intake inside this transaction."""
    o = conn.execute(select(Order).where(Order.id == ret.order_id)).one()
    if items:
        known = set(conn.execute(
            select(Sku.code).where(Sku.code.in_({it.sku for it in items}), Sku.active.is_(True))
        ).scalars())
        for it in items:
            if it.sku not in known:
                raise NotFound(f"{ret.rma}: no active SKU {it.sku!r} to send in exchange")
        wanted = [(it.sku, it.qty) for it in items]
    else:
        wanted = [
            (str(code), int(n))
            for code, n in conn.execute(
                select(Sku.code, ReturnLine.qty_received)
                .join(OrderLine, OrderLine.id == ReturnLine.line_id)
                .join(Sku, Sku.id == OrderLine.sku_id)
                .where(ReturnLine.return_id == ret.id, ReturnLine.qty_received > 0)
                .order_by(OrderLine.line_no)
            )
        ]
    suffix = f"-{ret.rma}"
    external_id = o.external_id[: 128 - len(suffix)] + suffix
    canon = CanonicalOrder(
        channel=channel,
        external_id=external_id,
        lines=tuple(
            CanonicalLine(item=sku, qty=qty, unit_price_minor=0, item_kind="sku", description=f"{how} for {ret.rma}")
            for sku, qty in wanted
        ),
        currency=o.currency,
        placed_at=utcnow(),
        buyer_name=o.buyer_name,
        buyer_ref=o.buyer_ref,
        ship_to=Address(
            name=o.ship_to_name, address1=o.ship_to_address1, address2=o.ship_to_address2, city=o.ship_to_city,
            region=o.ship_to_region, postal_code=o.ship_to_postal_code, country=o.ship_to_country,
            latitude=o.ship_to_latitude, longitude=o.ship_to_longitude,
        ),
        priority=o.priority,
        fulfilment=o.fulfilment,
        pickup_location=_pickup_code(conn, o.pickup_location_id),
    )
    outcome = ingest_in(conn, [canon], actor=actor).outcomes[0]
    if outcome.action != "created" or outcome.order_id is None:
        why = outcome.reason or f"an order {external_id} is already on channel {channel}"
        raise ReturnError(f"{ret.rma}: the {how} order {external_id} could not be created: {why}")
    new_id = outcome.order_id
    conn.execute(update(Order).where(Order.id == new_id).values(origin_order_id=ret.order_id, origin_kind=how))
    audit(conn, actor, "order", new_id, f"order.{how}_of", {
        "rma": ret.rma, "origin_order_id": ret.order_id, "origin_external_id": o.external_id,
        "status": outcome.status,
    })
    return new_id, external_id


# ------------------------------------------------------------------------------- cancel


def cancel(store: Store, rma: str, reason: str, *, actor: str = "operator") -> ReturnView:
    """Withdraw an RMA before anything of it was received; its units may be authorised again."""
    key = rma_number(rma)
    if not reason.strip():
        raise ReturnError(f"{key}: a cancellation needs a reason")

    def _do(conn: Connection) -> ReturnView:
        ret = _locked(conn, key)
        if ret.status != "authorised":
            what = "units have been received; inspect and resolve it instead" if ret.status in _OPEN else f"it is {ret.status}"
            raise ReturnError(f"{key} cannot be cancelled: {what}")
        conn.execute(update(Return).where(Return.id == ret.id).values(status="cancelled", closed_at=utcnow()))
        audit(conn, actor, "return", ret.id, "return.cancelled", {"rma": key, "order_id": ret.order_id, "reason": reason})
        return _view(conn, ret.id)

    return store.run(_do)


# ------------------------------------------------------------------------------- reads


def get_return(store: Store, rma: str) -> ReturnView:
    key = rma_number(rma)
    with store.read() as conn:
        rid = conn.execute(select(Return.id).where(Return.rma == key)).scalar_one_or_none()
        if rid is None:
            raise NotFound(f"no return {key}")
        return _view(conn, rid)


def returns_of(store: Store, order_id: int) -> list[ReturnView]:
    """Every RMA of an order, oldest first."""
    with store.read() as conn:
        ids = conn.execute(select(Return.id).where(Return.order_id == order_id).order_by(Return.id)).scalars().all()
        return [_view(conn, rid) for rid in ids]


# ------------------------------------------------------------------------------- helpers


def _locked(conn: Connection, rma: str) -> Any:
    stmt = select(Return).where(Return.rma == rma)
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    row = conn.execute(stmt).first()
    if row is None:
        raise NotFound(f"no return {rma}")
    return row


def _location(conn: Connection, code: str, *, stock: bool = False) -> int:
    row = conn.execute(select(Location.id, Location.kind, Location.active).where(Location.code == code)).first()
    if row is None:
        raise NotFound(f"no location {code!r}")
    if not row.active:
        raise ReturnError(f"location {code} is inactive")
    if stock and row.kind == "dropship":
        raise ReturnError(f"location {code} is a dropship vendor; restock at a warehouse or store")
    return int(row.id)


@dataclass(frozen=True, slots=True)
class _Line:
    id: int
    line_no: int
    item: str
    sku_id: int | None
    qty: int
    qty_received: int
    qty_restocked: int
    qty_scrapped: int
    condition: str | None

    @property
    def uninspected(self) -> int:
        return self.qty_received - self.qty_restocked - self.qty_scrapped


def _lines(conn: Connection, return_id: int) -> dict[int, _Line]:
    rows = conn.execute(
        select(ReturnLine.id, OrderLine.line_no, OrderLine.item, OrderLine.sku_id, ReturnLine.qty,
               ReturnLine.qty_received, ReturnLine.qty_restocked, ReturnLine.qty_scrapped, ReturnLine.condition)
        .join(OrderLine, OrderLine.id == ReturnLine.line_id)
        .where(ReturnLine.return_id == return_id)
    ).all()
    return {r.line_no: _Line(*r) for r in rows}


def _line(by_no: dict[int, _Line], rma: str, line_no: int) -> _Line:
    rl = by_no.get(line_no)
    if rl is None:
        have = ", ".join(str(n) for n in sorted(by_no))
        raise ReturnError(f"{rma} has no line {line_no} (it covers order line(s) {have})")
    return rl


def _status(conn: Connection, return_id: int) -> str:
    """authorised, received or inspected, from the lines (after this transaction's updates)."""
    received, done = conn.execute(
        select(func.coalesce(func.sum(ReturnLine.qty_received), 0),
               func.coalesce(func.sum(ReturnLine.qty_restocked + ReturnLine.qty_scrapped), 0))
        .where(ReturnLine.return_id == return_id)
    ).one()
    if not received:
        return "authorised"
    return "inspected" if done >= received else "received"


def _view(conn: Connection, return_id: int) -> ReturnView:
    ret = conn.execute(
        select(*Return.__table__.c, Order.external_id.label("order_external_id"), Channel.code.label("channel"),
               Location.code.label("location"), func.coalesce(Return.currency, Order.currency).label("money"))
        .join(Order, Order.id == Return.order_id)
        .join(Channel, Channel.id == Order.channel_id)
        .outerjoin(Location, Location.id == Return.location_id)
        .where(Return.id == return_id)
    ).one()
    new_ext: str | None = None
    new_status: str | None = None
    if ret.new_order_id is not None:
        new_ext, new_status = conn.execute(
            select(Order.external_id, Order.status).where(Order.id == ret.new_order_id)
        ).one()
    rows = conn.execute(
        select(OrderLine.line_no, OrderLine.item, Sku.code, ReturnLine.qty, ReturnLine.qty_received,
               ReturnLine.qty_restocked, ReturnLine.qty_scrapped, ReturnLine.condition, ReturnLine.reason)
        .join(OrderLine, OrderLine.id == ReturnLine.line_id)
        .outerjoin(Sku, Sku.id == OrderLine.sku_id)
        .where(ReturnLine.return_id == return_id)
        .order_by(OrderLine.line_no)
    ).all()
    refs = {f"{ret.rma} line {row.line_no}": row.line_no for row in rows}
    places: dict[int, list[tuple[str, int]]] = {}
    for ref, loc, qty in conn.execute(
        select(StockMovement.reference, Location.code, func.sum(StockMovement.qty))
        .join(Location, Location.id == StockMovement.location_id)
        .where(StockMovement.kind == "return", StockMovement.reference.in_(list(refs)))
        .group_by(StockMovement.reference, Location.code)
        .order_by(Location.code)
    ):
        if ref is not None:
            places.setdefault(refs[ref], []).append((loc, int(qty)))
    return ReturnView(
        id=ret.id, rma=ret.rma, status=ret.status, order_id=ret.order_id, order_external_id=ret.order_external_id,
        channel=ret.channel, resolution=ret.resolution, refund_minor=ret.refund_minor, currency=ret.money,
        location=ret.location, reason=ret.reason, new_order_id=ret.new_order_id, new_order_external_id=new_ext,
        new_order_status=new_status, created_at=ret.created_at, received_at=ret.received_at,
        closed_at=ret.closed_at,
        lines=tuple(
            ReturnLineView(
                line_no=x.line_no, item=x.item, sku=x.code, qty=x.qty, received=x.qty_received,
                restocked=x.qty_restocked, scrapped=x.qty_scrapped, condition=x.condition, reason=x.reason,
                restocked_at=tuple(places.get(x.line_no, ())),
            )
            for x in rows
        ),
    )
