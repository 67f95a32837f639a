"""Holds: an order stopped where it is, with a kind and a reason, until someone releases it.

    hold(store, order_id, "card declined twice", kind="fraud")         -> status it was in
    release(store, order_id, reason="customer called back")            -> status it goes back to
    release_many(store, [ids], reason="cleared by risk", kind="fraud") -> one HoldRelease per order

Kinds: fraud, address, credit, manual (an operator's), routing (set by a routing rule's hold
queue). A hold keeps the order's reservations: the stock stays promised while someone looks.
orders.hold_reason and orders.hold_kind say why while it is held; releasing clears both.

A release needs a reason and is audited with who released it, why, and what the hold was
(`order.hold_released`). The order goes back to the state its lines say it is in (allocated,
backordered, partially shipped, ...); a pick-up order that was ready for pick-up when it was held
goes back to ready_for_pickup. `release_many` releases many orders in one transaction; an order
that is not on hold (or on a hold of another kind than asked) is skipped and says why, it does
not stop the others.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, select

from .db import Store
from .errors import NotFound, TransitionError
from .journal import audit
from .models import AuditEvent, Order, OrderLine, Reservation
from .intake import route_open_units
from .orders import _load, move, status_from_lines

__all__ = ["HOLD_KINDS", "HoldRelease", "hold", "hold_in", "release", "release_in", "release_many"]

HOLD_KINDS = ("fraud", "address", "credit", "manual", "routing")


@dataclass(frozen=True, slots=True)
class HoldRelease:
    """What releasing one order did: `status` is where it went, or None with `skipped` saying why."""

    order_id: int
    external_id: str | None
    status: str | None
    kind: str | None = None
    skipped: str | None = None


def hold(store: Store, order_id: int, reason: str, kind: str = "manual", *, actor: str = "operator") -> str:
    """Put an order on hold; returns the status it was in."""
    return store.run(lambda conn: hold_in(conn, order_id, reason, kind=kind, actor=actor))


def hold_in(conn: Connection, order_id: int, reason: str, *, kind: str = "manual", actor: str) -> str:
    """`hold` inside the caller's transaction (routing's hold queue uses kind "routing")."""
    reason = (reason or "").strip()
    if not reason:
        raise TransitionError("a hold needs a reason the next operator can read")
    if kind not in HOLD_KINDS:
        raise TransitionError(f"hold kind {kind!r} is not one of {', '.join(HOLD_KINDS)}")
    order = _load(conn, order_id)
    if order.status == "on_hold":
        held = conn.execute(select(Order.hold_kind).where(Order.id == order_id)).scalar_one()
        raise TransitionError(f"order {order.external_id} is already on hold ({held or 'manual'}: "
                              f"{order.hold_reason}); release it first")
    return move(conn, order_id, "on_hold", actor=actor, reason=reason, hold_kind=kind)


def release(store: Store, order_id: int, *, reason: str, actor: str = "operator") -> str:
    """Take an order off hold; returns the status it goes back to."""
    return store.run(lambda conn: release_in(conn, order_id, reason=reason, actor=actor))


def release_in(conn: Connection, order_id: int, *, reason: str, actor: str, kind: str | None = None) -> str:
    """`release` inside the caller's transaction; with `kind`, only a hold of that kind."""
    reason = (reason or "").strip()
    if not reason:
        raise TransitionError("releasing a hold needs a reason (it is kept with who released it)")
    order = _load(conn, order_id)
    held = conn.execute(select(Order.hold_kind).where(Order.id == order_id)).scalar_one()
    if order.status != "on_hold":
        raise TransitionError(f"order {order.external_id} is {order.status}, not on hold")
    if kind is not None and (held or "manual") != kind:
        raise TransitionError(f"order {order.external_id} is on {_a(held or 'manual')} hold, not {_a(kind)} hold")
    dst = status_from_lines(conn, order_id)
    if dst == "allocated" and _held_from(conn, order_id) == "ready_for_pickup" and _all_at_pickup(conn, order_id):
        dst = "ready_for_pickup"
    move(conn, order_id, dst, actor=actor, reason=f"hold released: {reason}")
    audit(conn, actor, "order", order_id, "order.hold_released",
          {"kind": held or "manual", "held_for": order.hold_reason, "reason": reason, "to": dst})
    if dst != "ready_for_pickup":
        # Units nothing was placed for (a routing hold, an order held as it came in) are routed now.
        dst = route_open_units(conn, order_id, trigger="hold_released", actor=actor)
    return dst


def release_many(
    store: Store, order_ids: Iterable[int], *, reason: str, actor: str = "operator", kind: str | None = None
) -> list[HoldRelease]:
    """Release every order in `order_ids` that is on hold (of `kind`, when given), in one
    transaction; the others are skipped with the reason."""
    if not (reason or "").strip():
        raise TransitionError("releasing a hold needs a reason (it is kept with who released it)")
    if kind is not None and kind not in HOLD_KINDS:
        raise TransitionError(f"hold kind {kind!r} is not one of {', '.join(HOLD_KINDS)}")
    ids = list(dict.fromkeys(order_ids))

    def _do(conn: Connection) -> list[HoldRelease]:
        out: list[HoldRelease] = []
        for oid in ids:
            try:
                order = _load(conn, oid)
            except NotFound:
                out.append(HoldRelease(oid, None, None, skipped=f"no order {oid}"))
                continue
            held = conn.execute(select(Order.hold_kind).where(Order.id == oid)).scalar_one()
            if order.status != "on_hold":
                out.append(HoldRelease(oid, order.external_id, None, skipped=f"{order.status}, not on hold"))
            elif kind is not None and (held or "manual") != kind:
                out.append(HoldRelease(oid, order.external_id, None, held,
                                       skipped=f"on {_a(held or 'manual')} hold, not {_a(kind)} hold"))
            else:
                try:
                    with conn.begin_nested():  # one order that cannot go back does not stop the rest
                        dst = release_in(conn, oid, reason=reason, actor=actor)
                except TransitionError as exc:
                    out.append(HoldRelease(oid, order.external_id, None, held, skipped=str(exc)))
                    continue
                out.append(HoldRelease(oid, order.external_id, dst, held or "manual"))
        return out

    return store.run(_do)


def _a(kind: str) -> str:
    return ("an " if kind[:1] in "aeiou" else "a ") + kind


def _held_from(conn: Connection, order_id: int) -> str | None:
    """The status the order was in when it was last put on hold (from its audit trail)."""
    detail = conn.execute(
        select(AuditEvent.detail).where(AuditEvent.entity == "order", AuditEvent.entity_id == order_id,
                                        AuditEvent.action == "order.on_hold")
        .order_by(AuditEvent.id.desc()).limit(1)
    ).scalar_one_or_none()
    return str(detail.get("from")) if isinstance(detail, dict) and detail.get("from") else None


def _all_at_pickup(conn: Connection, order_id: int) -> bool:
    """Every active reservation of the order is at its pick-up store."""
    pickup = conn.execute(select(Order.pickup_location_id).where(Order.id == order_id)).scalar_one()
    if pickup is None:
        return False
    elsewhere = conn.execute(
        select(Reservation.id).join(OrderLine, OrderLine.id == Reservation.line_id)
        .where(OrderLine.order_id == order_id, Reservation.state == "active", Reservation.location_id != pickup)
        .limit(1)
    ).first()
    return elsewhere is None
