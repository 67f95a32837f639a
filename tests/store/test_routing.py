"""Routing in the store: rules from the configuration decide at intake, every decision is kept
with its explanation, backorders are routed again when stock arrives, auto-cancel ends the wait."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from store import Store, ingest
from store.canonical import Address
from store.cancellations import cancel_units
from store.catalog import add_location
from store.dropship import dropship_orders
from store.holds import release
from store.pickup import picked_up, ready_for_pickup
from store.inventory import receive, set_safety
from store.models import Backorder, LocationLoad, OutboxMessage, RoutingDecision
from store.routing.autocancel import cancel_due
from store.routing.rules import LocationFilter, OrderFilter, Rule, Rules
from store.setup import LocationSpec, Setup, apply_setup
from tests.factories import order
from tests.store.helpers import count, level, lines_of, order_row


def use(store: Store, *rules: Rule, **kw: object) -> None:
    apply_setup(store, Setup(routing=Rules(rules=rules, **kw)))  # type: ignore[arg-type]


def decisions(store: Store, order_id: int) -> list[RoutingDecision]:
    with store.read() as conn:
        return list(conn.execute(select(RoutingDecision).where(RoutingDecision.order_id == order_id)
                                 .order_by(RoutingDecision.id)).all())


def reserved_at(store: Store, external_id: str) -> dict[str, int]:
    from store.models import Location, OrderLine, Reservation

    oid = order_row(store, external_id).id
    with store.read() as conn:
        rows = conn.execute(
            select(Location.code, Reservation.qty).join(Location, Location.id == Reservation.location_id)
            .join(OrderLine, OrderLine.id == Reservation.line_id)
            .where(OrderLine.order_id == oid, Reservation.state == "active")
        ).all()
    out: dict[str, int] = {}
    for code, qty in rows:
        out[code] = out.get(code, 0) + qty
    return out


def test_without_rules_each_line_goes_to_the_best_ranked_location_that_has_it(catalog: Store) -> None:
    receive(catalog, "S1", "B", 5)
    receive(catalog, "S2", "A", 5)
    ingest(catalog, [order("o1", ("S1", 2), ("S2", 1))])
    assert reserved_at(catalog, "o1") == {"A": 1, "B": 2}
    (d,) = decisions(catalog, order_row(catalog, "o1").id)
    assert d.trigger == "intake" and d.outcome == "split" and d.rule is None
    assert d.explanation["placements"] == [[1, "B", 2], [2, "A", 1]]


def test_distance_rule_ships_from_the_nearest_location_and_explains_why(catalog: Store) -> None:
    apply_setup(catalog, Setup(locations=[
        LocationSpec("A", "Alpha DC", priority=1, latitude=40.73, longitude=-74.17),   # Newark
        LocationSpec("B", "Beta DC", priority=2, latitude=39.53, longitude=-119.81),  # Reno
    ]))
    use(catalog, Rule("nearest", sort=("distance",)))
    receive(catalog, "S1", "A", 5)
    receive(catalog, "S1", "B", 5)
    ingest(catalog, [order("west", ("S1", 1), ship_to=Address(latitude=37.77, longitude=-122.42)),
                     order("east", ("S1", 1), ship_to=Address(latitude=40.71, longitude=-74.0))])
    assert reserved_at(catalog, "west") == {"B": 1}
    assert reserved_at(catalog, "east") == {"A": 1}
    (d,) = decisions(catalog, order_row(catalog, "west").id)
    assert d.rule == "nearest"
    scores = {c["location"]: c["scores"]["distance_km"] for c in d.explanation["rules"][0]["candidates"]}
    assert scores["B"] < 400 < 3000 < scores["A"]


def test_split_respects_the_minimum_split_value(catalog: Store) -> None:
    # S1 costs 10.00 a unit in the factory; S5 50.00 (price is per line from the order).
    use(catalog, Rule("split big parts", split=True, min_split_value_minor=3000, otherwise="backorder"))
    receive(catalog, "S1", "A", 10)
    receive(catalog, "S2", "B", 5)
    ingest(catalog, [order("small-part", ("S1", 5), ("S2", 1))])  # the B part is worth 10.00 < 30.00
    ingest(catalog, [order("big-parts", ("S1", 3), ("S2", 3))])  # 30.00 at each
    assert reserved_at(catalog, "small-part") == {"A": 5}
    assert order_row(catalog, "small-part").status == "backordered"
    assert reserved_at(catalog, "big-parts") == {"A": 3, "B": 3}
    assert order_row(catalog, "big-parts").status == "allocated"


def test_daily_capacity_sends_orders_on_once_a_location_is_full(catalog: Store) -> None:
    apply_setup(catalog, Setup(locations=[LocationSpec("A", "Alpha DC", priority=1, daily_capacity=2),
                                          LocationSpec("B", "Beta DC", priority=2)]))
    receive(catalog, "S1", "A", 10)
    receive(catalog, "S1", "B", 10)
    ingest(catalog, [order(f"c{i}", ("S1", 1)) for i in range(3)])
    ingest(catalog, [order("c3", ("S1", 1))])
    assert [next(iter(reserved_at(catalog, f"c{i}"))) for i in range(4)] == ["A", "A", "B", "B"]
    with catalog.read() as conn:
        loads = dict(conn.execute(select(LocationLoad.location_id, LocationLoad.orders)).all())
    assert sorted(loads.values()) == [2, 2]


def test_safety_stock_of_the_location_and_of_the_rule_are_left_alone(catalog: Store) -> None:
    use(catalog, Rule("keep two for the shop", when=OrderFilter(channels=("amz",)),
                      locations=LocationFilter(safety_stock=2), otherwise="backorder"))
    receive(catalog, "S1", "A", 5)
    set_safety(catalog, "S1", "A", 1)  # 4 available; amz may take 2 of them
    ingest(catalog, [order("amz-1", ("S1", 3), channel="amz")])
    assert order_row(catalog, "amz-1").status == "backordered"
    ingest(catalog, [order("amz-2", ("S1", 2), channel="amz")])
    assert reserved_at(catalog, "amz-2") == {"A": 2}
    ingest(catalog, [order("web-1", ("S1", 2))])  # the web shop may use what amz left
    assert reserved_at(catalog, "web-1") == {"A": 2}
    assert level(catalog, "S1", "A") == (5, 4)


def test_a_backorder_is_allocated_when_stock_arrives_most_urgent_first(catalog: Store) -> None:
    ingest(catalog, [order("late", ("S1", 2), priority=0)])
    ingest(catalog, [order("urgent", ("S1", 2), priority=5)])
    ingest(catalog, [order("later", ("S1", 1), priority=0)])
    assert {order_row(catalog, x).status for x in ("late", "urgent", "later")} == {"backordered"}
    receive(catalog, "S1", "B", 3)
    assert order_row(catalog, "urgent").status == "allocated"
    assert reserved_at(catalog, "urgent") == {"B": 2}
    assert order_row(catalog, "late").status == "backordered"  # 1 left: not enough for its 2
    assert order_row(catalog, "later").status == "allocated"  # ... but enough for this one
    assert count(catalog, Backorder, Backorder.state == "open") == 1
    assert level(catalog, "S1", "B") == (3, 3)
    urgent = decisions(catalog, order_row(catalog, "urgent").id)
    assert [d.trigger for d in urgent] == ["intake", "receipt"]
    line = lines_of(catalog, order_row(catalog, "urgent").id)[0]
    assert (line.qty_reserved, line.qty_backordered) == (2, 0)


def test_a_held_order_is_not_given_arriving_stock(catalog: Store) -> None:
    use(catalog, Rule("review", otherwise="hold", hold_reason="no stock: ask the buyer"))
    ingest(catalog, [order("o1", ("S1", 1))])
    row = order_row(catalog, "o1")
    assert (row.status, row.hold_kind, row.hold_reason) == ("on_hold", "routing", "no stock: ask the buyer")
    receive(catalog, "S1", "A", 5)
    assert order_row(catalog, "o1").status == "on_hold"
    assert level(catalog, "S1", "A") == (5, 0)
    # Released, it is routed: the rules place it now that there is stock.
    assert release(catalog, order_row(catalog, "o1").id, reason="buyer agreed to wait") == "allocated"
    assert level(catalog, "S1", "A") == (5, 1)
    assert [d.trigger for d in decisions(catalog, order_row(catalog, "o1").id)] == ["intake", "hold_released"]


def test_no_rule_placing_an_order_sends_it_to_the_unroutable_queue(catalog: Store) -> None:
    use(catalog, Rule("stores only", locations=LocationFilter(kinds=("store",))), fallback="unroutable")
    receive(catalog, "S1", "A", 5)
    ingest(catalog, [order("o1", ("S1", 1))])
    row = order_row(catalog, "o1")
    assert (row.status, row.exception) == ("received", "unroutable")
    (d,) = decisions(catalog, row.id)
    reasons = {c["location"]: c["rejected"] for c in d.explanation["rules"][0]["candidates"]}
    assert reasons == {"A": "a warehouse; the rule takes store", "B": "a warehouse; the rule takes store"}


def test_auto_cancel_at_the_orders_cancel_after_date(catalog: Store) -> None:
    use(catalog, Rule("wait until cancel-after", otherwise="backorder", cancel_at_cancel_after=True))
    receive(catalog, "S2", "A", 1)
    day = dt.date(2026, 12, 1)
    ingest(catalog, [order("o1", ("S1", 2), ("S2", 1), cancel_after=day)])
    row = order_row(catalog, "o1")
    assert (row.status, row.auto_cancel_on) == ("backordered", day)
    assert cancel_due(catalog, day - dt.timedelta(days=1)) == []
    assert cancel_due(catalog, day) == [row.id]
    line1, line2 = lines_of(catalog, row.id)
    assert (line1.qty_cancelled, line1.qty_backordered, line2.qty_reserved) == (2, 0, 1)
    assert order_row(catalog, "o1").status == "allocated"  # what was reserved still ships
    assert count(catalog, OutboxMessage, OutboxMessage.kind == "order_cancel") == 1
    assert cancel_due(catalog, day) == []  # nothing left to cancel


def test_auto_cancel_after_n_days_cancels_an_order_with_nothing_else(catalog: Store) -> None:
    use(catalog, Rule("a week", otherwise="backorder", auto_cancel_after_days=7))
    placed = dt.datetime(2026, 11, 1, 12, tzinfo=dt.timezone.utc)
    ingest(catalog, [order("o1", ("S1", 2), placed_at=placed)])
    assert cancel_due(catalog, dt.date(2026, 11, 8)) == [order_row(catalog, "o1").id]
    assert order_row(catalog, "o1").status == "cancelled"
    receive(catalog, "S1", "A", 5)  # a cancelled order takes nothing
    assert level(catalog, "S1", "A") == (5, 0)


def test_pickup_orders_reserve_at_their_store(catalog: Store) -> None:
    add_location(catalog, "SHOP", "Brooklyn shop", kind="store", priority=9)
    receive(catalog, "S1", "A", 5)
    receive(catalog, "S1", "SHOP", 1)
    ingest(catalog, [order("p1", ("S1", 1), fulfilment="pickup", pickup_location="SHOP")])
    row = order_row(catalog, "p1")
    assert (row.status, row.fulfilment) == ("allocated", "pickup")
    assert reserved_at(catalog, "p1") == {"SHOP": 1}
    assert ready_for_pickup(catalog, row.id) == "SHOP"
    picked_up(catalog, row.id, collected_by="Ada")
    assert order_row(catalog, "p1").status == "picked_up"
    assert level(catalog, "S1", "SHOP") == (0, 0) and level(catalog, "S1", "A") == (5, 0)


def test_lines_routed_to_a_dropship_vendor_become_its_purchase_order(catalog: Store) -> None:
    add_location(catalog, "LAMPS", "Lamp Co", kind="dropship", priority=9)
    receive(catalog, "S3", "LAMPS", 50)  # the vendor's stock as it advertises it
    receive(catalog, "S1", "A", 5)
    ingest(catalog, [order("d1", ("S1", 1), ("S3", 2))])
    row = order_row(catalog, "d1")
    assert row.status == "allocated" and reserved_at(catalog, "d1") == {"A": 1, "LAMPS": 2}
    with catalog.read() as conn:
        (po,) = dropship_orders(conn, row.id)
    assert po.status == "open" and po.number.startswith("DS")  # a vendor without EDI: for an operator
    cancel_units(catalog, row.id, None, reason="customer changed mind")
    with catalog.read() as conn:
        assert [p.status for p in dropship_orders(conn, row.id)] == ["cancelled"]


def test_rules_come_from_the_configuration_and_are_kept_by_digest(catalog: Store) -> None:
    rules = Rules(rules=(Rule("r1", sort=("-rank",)),))
    assert any("routing rules" in c for c in apply_setup(catalog, Setup(routing=rules)))
    assert apply_setup(catalog, Setup(routing=rules)) == []  # the same rules again: nothing changes
    receive(catalog, "S1", "A", 5)
    receive(catalog, "S1", "B", 5)
    ingest(catalog, [order("o1", ("S1", 1))])
    (d,) = decisions(catalog, order_row(catalog, "o1").id)
    assert d.ruleset == rules.digest and reserved_at(catalog, "o1") == {"B": 1}


def test_a_cancel_rule_cancels_the_order_as_it_comes_in_and_tells_the_channel(catalog: Store) -> None:
    use(catalog, Rule("all or nothing", otherwise="cancel"))
    report = ingest(catalog, [order("o1", ("S1", 2))])
    assert (report.outcomes[0].action, report.outcomes[0].status) == ("created", "cancelled")
    row = order_row(catalog, "o1")
    assert row.status == "cancelled"
    (line,) = lines_of(catalog, row.id)
    assert (line.qty_cancelled, line.qty_reserved, line.qty_backordered) == (2, 0, 0)
    with catalog.read() as conn:
        (payload,) = conn.execute(select(OutboxMessage.payload).where(OutboxMessage.kind == "order_cancel")).scalars()
    assert payload["whole_order"] is True and payload["lines"][0]["qty"] == 2
    assert "all or nothing" in payload["reason"]
    with catalog.read() as conn:
        (ack,) = conn.execute(select(OutboxMessage.payload).where(OutboxMessage.kind == "order_ack")).scalars()
    assert ack["status"] == "cancelled"


def test_a_pickup_store_not_serving_the_channel_is_still_the_only_place(catalog: Store) -> None:
    from store.setup import ChannelSpec

    add_location(catalog, "SHOP", "Brooklyn shop", kind="store", priority=9)
    apply_setup(catalog, Setup(channels=[ChannelSpec("web", "Web shop", "cart", locations=("A", "B"))]))
    receive(catalog, "S1", "A", 5)
    ingest(catalog, [order("p1", ("S1", 1), fulfilment="pickup", pickup_location="SHOP")])
    assert order_row(catalog, "p1").status == "backordered" and reserved_at(catalog, "p1") == {}
    receive(catalog, "S1", "SHOP", 2)
    assert reserved_at(catalog, "p1") == {"SHOP": 1}


def test_a_pickup_order_naming_no_store_we_have_waits_in_unroutable(catalog: Store) -> None:
    receive(catalog, "S1", "A", 5)
    ingest(catalog, [order("p1", ("S1", 1), fulfilment="pickup", pickup_location="NOPE")])
    row = order_row(catalog, "p1")
    assert (row.status, row.exception) == ("received", "unroutable")
    assert row.exception_detail == "pick-up store 'NOPE' is not an active location"
    assert level(catalog, "S1", "A") == (5, 0)


def test_a_receipt_that_fills_nobody_records_nothing_and_stops(catalog: Store) -> None:
    ingest(catalog, [order(f"w{i}", ("S1", 2)) for i in range(5)])
    receive(catalog, "S1", "A", 1)  # not enough for any of them
    assert {order_row(catalog, f"w{i}").status for i in range(5)} == {"backordered"}
    assert count(catalog, RoutingDecision, RoutingDecision.trigger == "receipt") == 0
    receive(catalog, "S1", "A", 3)  # 4 now: two orders
    assert [order_row(catalog, f"w{i}").status for i in range(5)] == ["allocated"] * 2 + ["backordered"] * 3
    assert count(catalog, RoutingDecision, RoutingDecision.trigger == "receipt") == 2
