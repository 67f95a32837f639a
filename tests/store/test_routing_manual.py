"""An operator routing an order: the proposal read without reserving, a split they choose,
the decision recorded as theirs; on both databases."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from store import InsufficientStock, Store, TransitionError, check, ingest
from store.holds import hold
from store.inventory import receive
from store.models import AuditEvent, Backorder, RoutingDecision
from store.routing.manual import Placement, place, propose
from tests.factories import order
from tests.store.helpers import level, lines_of, order_row


@pytest.fixture
def short(catalog: Store) -> Store:
    """S1: 2 at A, 3 at B; an order for 4 of S1 is backordered at intake (A and B hold 5 together)."""
    receive(catalog, "S1", "A", 2)
    receive(catalog, "S1", "B", 3)
    return catalog


def test_proposal_reads_without_reserving(short: Store) -> None:
    ingest(short, [order("1", ("S1", 4))])
    oid = order_row(short, "1").id
    before = (level(short, "S1", "A"), level(short, "S1", "B"))
    p = propose(short, oid)
    assert p.refused is None
    [line] = p.lines
    # Intake reserved what it could; the rest waits as a backorder the proposal places again.
    assert (line.line_no, line.sku, line.open) == (1, "S1", lines_of(short, oid)[0].qty_backordered)
    assert line.open == sum(q for _, q in p.backordered) + sum(x.qty for x in p.placements)
    assert (level(short, "S1", "A"), level(short, "S1", "B")) == before


def test_a_split_the_operator_chooses_reserves_at_two_locations(short: Store) -> None:
    ingest(short, [order("1", ("S1", 4))])
    oid = order_row(short, "1").id
    reserved_before = lines_of(short, oid)[0].qty_reserved
    # Give back what intake reserved, so the operator's split is the only reservation.
    if reserved_before:
        from store.cancellations import cancel_units
        cancel_units(short, oid, None, reason="start over", actor="test")
        ingest(short, [order("2", ("S1", 4))])
        oid = order_row(short, "2").id
    line = lines_of(short, oid)[0]
    assert line.qty_reserved == 0
    done = place(short, oid, [Placement(1, "A", 2), Placement(1, "B", 2)], actor="ann")
    assert done.status == "allocated"
    assert level(short, "S1", "A") == (2, 2) and level(short, "S1", "B") == (3, 2)
    line = lines_of(short, oid)[0]
    assert (line.qty_reserved, line.qty_backordered) == (4, 0)
    with short.read() as conn:
        d = conn.execute(select(RoutingDecision).where(RoutingDecision.order_id == oid)
                         .order_by(RoutingDecision.id.desc())).first()
        assert d is not None and (d.trigger, d.outcome) == ("operator", "split")
        assert d.explanation["decided_by"] == "chosen by ann"
        assert sorted(d.explanation["placements"]) == [[1, "A", 2], [1, "B", 2]]
        event = conn.execute(select(AuditEvent).where(AuditEvent.action == "order.routed_by_operator")).one()
        assert event.actor == "ann" and event.entity_id == oid
        assert not conn.execute(select(Backorder).where(Backorder.state == "open")).first()
    assert check(short).ok


def test_a_choice_leaving_units_open_backorders_them(catalog: Store) -> None:
    receive(catalog, "S1", "B", 1)
    from store.catalog import limit_channel_locations

    limit_channel_locations(catalog, "web", ["A"])  # routing never looks at B for this channel
    ingest(catalog, [order("1", ("S1", 3))])
    oid = order_row(catalog, "1").id
    assert order_row(catalog, "1").status == "backordered"
    assert not propose(catalog, oid).acceptable
    done = place(catalog, oid, [Placement(1, "B", 1)], actor="ann")
    assert done.status == "backordered" and done.backordered == ((1, 2),)
    line = lines_of(catalog, oid)[0]
    assert (line.qty_reserved, line.qty_backordered) == (1, 2)
    with catalog.read() as conn:
        open_units = sum(b.qty for b in conn.execute(select(Backorder).where(Backorder.state == "open")))
    assert open_units == 2
    assert check(catalog).ok


def test_stock_gone_or_too_many_units_or_a_hold_refuse_and_change_nothing(short: Store) -> None:
    from store.catalog import limit_channel_locations

    limit_channel_locations(short, "web", ["A"])
    ingest(short, [order("1", ("S2", 2))])  # no S2 anywhere: backordered
    oid = order_row(short, "1").id
    with pytest.raises(InsufficientStock, match="no longer has 2 of S2"):
        place(short, oid, [Placement(1, "B", 2)], actor="ann")
    with pytest.raises(TransitionError, match="3 units chosen, 2 open"):
        place(short, oid, [Placement(1, "A", 3)], actor="ann")
    hold(short, oid, "customer called", actor="ann")
    with pytest.raises(TransitionError, match="on hold"):
        place(short, oid, [Placement(1, "A", 1)], actor="ann")
    assert propose(short, oid).refused is not None
    assert lines_of(short, oid)[0].qty_reserved == 0
    assert check(short).ok
