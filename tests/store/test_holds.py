"""Holds: each kind stops an order with its reason and keeps its stock; a release says who and
why and puts the order back where its lines are; many orders are released at once."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from store import Store, TransitionError, ingest
from store.holds import HOLD_KINDS, hold, release, release_many
from store.inventory import receive
from store.models import AuditEvent, Reservation
from tests.factories import order
from tests.store.helpers import count, level, order_row


@pytest.fixture
def placed(catalog: Store) -> Store:
    """1: allocated (S1 x4 at A). 2: backordered (S2 has no stock). 3: allocated (S1 x1)."""
    receive(catalog, "S1", "A", 10)
    ingest(catalog, [order("1", ("S1", 4)), order("2", ("S2", 1)), order("3", ("S1", 1))])
    return catalog


def _id(store: Store, external_id: str) -> int:
    return int(order_row(store, external_id).id)


@pytest.mark.parametrize("kind", [k for k in HOLD_KINDS])
@pytest.mark.parametrize(("external_id", "status"), [("1", "allocated"), ("2", "backordered")])
def test_every_kind_of_hold_keeps_the_stock_and_a_release_restores_the_status(
    placed: Store, kind: str, external_id: str, status: str
) -> None:
    oid = _id(placed, external_id)
    assert hold(placed, oid, f"{kind} check", kind, actor="risk-bot") == status
    row = order_row(placed, external_id)
    assert (row.status, row.hold_kind, row.hold_reason) == ("on_hold", kind, f"{kind} check")
    assert level(placed, "S1", "A") == (10, 5)  # both allocated orders keep their reservations
    assert count(placed, Reservation, Reservation.state == "active") == 2

    assert release(placed, oid, reason="looked fine", actor="maria") == status
    row = order_row(placed, external_id)
    assert (row.status, row.hold_kind, row.hold_reason) == (status, None, None)
    assert level(placed, "S1", "A") == (10, 5)
    with placed.read() as conn:
        actor, detail = conn.execute(select(AuditEvent.actor, AuditEvent.detail).where(
            AuditEvent.action == "order.hold_released", AuditEvent.entity_id == oid)).one()
    assert actor == "maria"
    assert detail == {"kind": kind, "held_for": f"{kind} check", "reason": "looked fine", "to": status}


REFUSED = [
    ("no reason", lambda s, oid: hold(s, oid, "  "), "needs a reason"),
    ("an unknown kind", lambda s, oid: hold(s, oid, "why", "vip"), "hold kind 'vip' is not one of fraud, address"),
    ("held twice", lambda s, oid: (hold(s, oid, "address looks wrong", "address"), hold(s, oid, "again", "fraud")),
     r"already on hold \(address: address looks wrong\); release it first"),
    ("a release without a reason", lambda s, oid: (hold(s, oid, "x"), release(s, oid, reason="")), "needs a reason"),
    ("a release of an order not on hold", lambda s, oid: release(s, oid, reason="ok"), "is allocated, not on hold"),
]


@pytest.mark.parametrize(("case", "act", "message"), REFUSED, ids=[c[0] for c in REFUSED])
def test_holds_and_releases_that_make_no_sense_are_refused(placed: Store, case: str, act: object, message: str) -> None:
    oid = _id(placed, "1")
    with pytest.raises(TransitionError, match=message):
        act(placed, oid)  # type: ignore[operator]


def test_an_operator_releases_many_orders_at_once_and_sees_what_was_skipped(placed: Store) -> None:
    one, two, three = (_id(placed, x) for x in ("1", "2", "3"))
    hold(placed, one, "chargeback risk", "fraud")
    hold(placed, two, "no such street", "address")
    fraud_only = release_many(placed, [one, two, three, 999], reason="risk team cleared the batch", kind="fraud")
    assert [(r.order_id, r.status, r.skipped) for r in fraud_only] == [
        (one, "allocated", None),
        (two, None, "on an address hold, not a fraud hold"),
        (three, None, "allocated, not on hold"),
        (999, None, "no order 999"),
    ]
    assert [order_row(placed, x).status for x in ("1", "2", "3")] == ["allocated", "on_hold", "allocated"]
    [rest] = release_many(placed, [two], reason="customer confirmed the address")
    assert (rest.status, rest.kind) == ("backordered", "address")
    assert count(placed, AuditEvent, AuditEvent.action == "order.hold_released") == 2
