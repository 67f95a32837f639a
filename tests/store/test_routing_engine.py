"""The routing decision, feature by feature: one table row per case a rule writer relies on."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pytest

from store.errors import RulesInvalid
from store.routing.engine import LineFacts, OrderFacts, Site, decide
from store.routing.rules import LocationFilter, OrderFilter, Rule, Rules, rules_from_dict, rules_to_dict

TODAY = dt.date(2026, 11, 22)
# Three warehouses and a store; coordinates of Newark, Chicago, Reno and a Brooklyn store.
SITES = {
    1: Site(1, "EWR", "warehouse", "NJ", "US", 40.73, -74.17, rank=1, cost_per_order_minor=500, cost_per_unit_minor=50),
    2: Site(2, "ORD", "warehouse", "IL", "US", 41.88, -87.63, rank=2, cost_per_order_minor=300, cost_per_unit_minor=40),
    3: Site(3, "RNO", "warehouse", "NV", "US", 39.53, -119.81, rank=3, cost_per_order_minor=200, cost_per_unit_minor=30),
    4: Site(4, "BKN", "store", "NY", "US", 40.68, -73.94, rank=4),
}
ALL = (1, 2, 3, 4)


@dataclass
class Case:
    name: str
    rules: Rules
    lines: list[tuple[int, int, int]]  # (sku, qty, unit price)
    avail: dict[tuple[int, int], int]
    expect_outcome: str
    expect_placements: list[tuple[int, str, int]]  # (line_no, location code, qty)
    load: dict[int, int] = field(default_factory=dict)
    order: dict[str, object] = field(default_factory=dict)
    sites: dict[int, Site] = field(default_factory=lambda: SITES)
    expect_backordered: list[tuple[int, int]] = field(default_factory=list)


def rule(**kw: object) -> Rules:
    return Rules(rules=(Rule(name="r", **kw),))  # type: ignore[arg-type]


CASES = [
    Case("one location with every line wins over a split, even in split mode",
         rule(split=True), [(10, 2, 1000), (11, 1, 1000)],
         {(10, 1): 2, (11, 2): 1, (10, 3): 5, (11, 3): 5}, "allocated", [(1, "RNO", 2), (2, "RNO", 1)]),
    Case("rank order picks the first location that has everything",
         rule(), [(10, 1, 1000)], {(10, 1): 1, (10, 2): 1}, "allocated", [(1, "EWR", 1)]),
    Case("split respects the minimum split value: a part under it is not made",
         rule(split=True, min_split_value_minor=5000, otherwise="backorder"),
         [(10, 1, 9000), (11, 1, 1000)], {(10, 1): 1, (11, 2): 1}, "backordered", [(1, "EWR", 1)],
         expect_backordered=[(2, 1)]),
    Case("split makes parts at or over the minimum split value",
         rule(split=True, min_split_value_minor=1000),
         [(10, 1, 9000), (11, 1, 1000)], {(10, 1): 1, (11, 2): 1}, "split", [(1, "EWR", 1), (2, "ORD", 1)]),
    Case("without split, a rule that cannot place everything at one location passes to the fallback",
         rule(split=False), [(10, 1, 1000), (11, 1, 1000)], {(10, 1): 1, (11, 2): 1}, "split",
         [(1, "EWR", 1), (2, "ORD", 1)]),
    Case("max_locations caps the parts of a split",
         rule(split=True, max_locations=1, otherwise="backorder"),
         [(10, 1, 1000), (11, 1, 1000)], {(10, 1): 1, (11, 2): 1}, "backordered", [(1, "EWR", 1)],
         expect_backordered=[(2, 1)]),
    Case("split_lines takes one line's units from two locations",
         rule(split=True, split_lines=True), [(10, 5, 1000)], {(10, 1): 3, (10, 2): 2}, "split",
         [(1, "EWR", 3), (1, "ORD", 2)]),
    Case("a location at its daily capacity is skipped",
         rule(),
         [(10, 1, 1000)], {(10, 1): 5, (10, 2): 5}, "allocated", [(1, "ORD", 1)],
         load={1: 100}, sites={**SITES, 1: Site(1, "EWR", "warehouse", "NJ", "US", 40.73, -74.17, rank=1, capacity=100)}),
    Case("capacity can be ignored by a rule",
         rule(locations=LocationFilter(within_capacity=False)), [(10, 1, 1000)], {(10, 1): 5}, "allocated",
         [(1, "EWR", 1)], load={1: 100},
         sites={**SITES, 1: Site(1, "EWR", "warehouse", "NJ", "US", 40.73, -74.17, rank=1, capacity=100)}),
    Case("safety stock: a rule leaves units at each location",
         rule(locations=LocationFilter(safety_stock=2)), [(10, 2, 1000)], {(10, 1): 3, (10, 2): 4},
         "allocated", [(1, "ORD", 2)]),
    Case("distance: the nearest location to the ship-to coordinates",
         rule(sort=("distance",)), [(10, 1, 1000)], {(10, 1): 1, (10, 2): 1, (10, 3): 1}, "allocated",
         [(1, "RNO", 1)], order={"latitude": 37.77, "longitude": -122.42}),  # San Francisco
    Case("distance from a region centroid when the order has no coordinates",
         Rules(rules=(Rule("r", sort=("distance",)),), region_coordinates={"US-IL": (40.0, -89.0)}),
         [(10, 1, 1000)], {(10, 1): 1, (10, 2): 1, (10, 3): 1}, "allocated", [(1, "ORD", 1)],
         order={"country": "US", "region": "IL"}),
    Case("max distance rejects locations too far away",
         rule(locations=LocationFilter(max_distance_km=500), otherwise="backorder"), [(10, 1, 1000)],
         {(10, 3): 1}, "backordered", [], order={"latitude": 40.71, "longitude": -74.0},
         expect_backordered=[(1, 1)]),
    Case("stock sort balances: the location with the most of the order's items first",
         rule(sort=("stock",)), [(10, 1, 1000)], {(10, 1): 2, (10, 2): 9, (10, 3): 4}, "allocated",
         [(1, "ORD", 1)]),
    Case("cost sort: the cheapest location for this order",
         rule(sort=("cost",)), [(10, 1, 1000)], {(10, 1): 2, (10, 2): 2, (10, 3): 2}, "allocated",
         [(1, "RNO", 1)]),
    Case("-rank turns the rank around",
         rule(sort=("-rank",)), [(10, 1, 1000)], {(10, 1): 2, (10, 2): 2}, "allocated", [(1, "ORD", 1)]),
    Case("location kinds: a store-only rule ships from the store",
         rule(locations=LocationFilter(kinds=("store",))), [(10, 1, 1000)], {(10, 1): 2, (10, 4): 2},
         "allocated", [(1, "BKN", 1)]),
    Case("regions served: a location serving other regions is skipped",
         rule(), [(10, 1, 1000)], {(10, 1): 2, (10, 2): 2}, "allocated", [(1, "ORD", 1)],
         order={"country": "US", "region": "CA"},
         sites={**SITES, 1: Site(1, "EWR", "warehouse", "NJ", "US", rank=1, regions_served=("NJ", "NY"))}),
    Case("order filter: a rule for another channel does not apply; the fallback backorders",
         Rules(rules=(Rule("amz only", when=OrderFilter(channels=("amz",)), otherwise="hold"),)),
         [(10, 1, 1000)], {}, "backordered", [], expect_backordered=[(1, 1)]),
    Case("hold action: a rule that cannot place the order holds it",
         rule(otherwise="hold", hold_reason="big orders wait for a buyer"), [(10, 5, 1000)], {(10, 1): 1},
         "held", []),
    Case("cancel action", rule(otherwise="cancel"), [(10, 5, 1000)], {}, "cancelled", []),
    Case("fallback unroutable", Rules(rules=(Rule("r"),), fallback="unroutable"), [(10, 5, 1000)], {},
         "unroutable", []),
    Case("pick-up: only the pick-up store is a candidate",
         rule(), [(10, 1, 1000)], {(10, 1): 5, (10, 4): 1}, "allocated", [(1, "BKN", 1)],
         order={"fulfilment": "pickup", "pickup": 4}),
    Case("ship-by window: an urgent-order rule applies only within its window",
         Rules(rules=(Rule("urgent", when=OrderFilter(ship_by_within_days=1), sort=("-rank",)), Rule("rest"))),
         [(10, 1, 1000)], {(10, 1): 1, (10, 2): 1}, "allocated", [(1, "EWR", 1)],
         order={"ship_by": TODAY + dt.timedelta(days=5)}),
    Case("two lines of one SKU count against the same stock",
         rule(), [(10, 2, 1000), (10, 2, 1000)], {(10, 1): 3, (10, 2): 4}, "allocated",
         [(1, "ORD", 2), (2, "ORD", 2)]),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_routing_rule_features(case: Case) -> None:
    facts = OrderFacts(
        channel="web", today=TODAY, locations=ALL,
        lines=tuple(LineFacts(n, sku, qty, price) for n, (sku, qty, price) in enumerate(case.lines, 1)),
        **case.order,  # type: ignore[arg-type]
    )
    d = decide(facts, case.sites, case.avail, case.load, case.rules)
    codes = {s.id: s.code for s in case.sites.values()}
    assert d.outcome == case.expect_outcome, d.explanation
    assert [(n, codes[loc], q) for n, loc, q in d.placements] == case.expect_placements, d.explanation
    assert list(d.backordered) == case.expect_backordered


def test_the_explanation_says_why_each_location_was_rejected() -> None:
    sites = {**SITES, 1: Site(1, "EWR", "warehouse", "NJ", "US", rank=1, capacity=10)}
    rules = Rules(rules=(
        Rule("amz", when=OrderFilter(channels=("amz",))),
        Rule("warehouses", locations=LocationFilter(kinds=("warehouse",), max_distance_km=3000), sort=("distance",)),
    ))
    facts = OrderFacts(channel="web", today=TODAY, locations=ALL, lines=(LineFacts(1, 10, 1, 1000),),
                       latitude=41.0, longitude=-87.0)
    d = decide(facts, sites, {(10, 2): 1, (10, 3): 1}, {1: 10}, rules)
    first, second = d.explanation["rules"]
    assert first == {"rule": "amz", "applies": False, "why": "channel web is not amz"}
    rejected = {c["location"]: c["rejected"] for c in second["candidates"]}
    assert rejected["EWR"] == "at capacity: 10 of 10 orders today"
    assert rejected["BKN"] == "a store; the rule takes warehouse"
    assert rejected["ORD"] is None and rejected["RNO"] is None
    scores = {c["location"]: c["scores"] for c in second["candidates"] if c["rejected"] is None}
    assert scores["ORD"]["distance_km"] < scores["RNO"]["distance_km"]
    assert d.rule == "warehouses" and d.explanation["decided_by"] == "warehouses"


def test_backorder_action_sets_the_auto_cancel_day() -> None:
    rules = rule(otherwise="backorder", auto_cancel_after_days=7, cancel_at_cancel_after=True)
    lines = (LineFacts(1, 10, 1, 1000),)
    later = OrderFacts(channel="web", today=TODAY, locations=ALL, lines=lines, placed_on=TODAY,
                       cancel_after=TODAY + dt.timedelta(days=30))
    sooner = OrderFacts(channel="web", today=TODAY, locations=ALL, lines=lines, placed_on=TODAY,
                        cancel_after=TODAY + dt.timedelta(days=3))
    assert decide(later, SITES, {}, {}, rules).auto_cancel_on == TODAY + dt.timedelta(days=7)
    assert decide(sooner, SITES, {}, {}, rules).auto_cancel_on == TODAY + dt.timedelta(days=3)


def test_rules_round_trip_through_their_stored_form_with_the_same_digest() -> None:
    rules = Rules(rules=(Rule("a", when=OrderFilter(channels=("amz",)), sort=("distance", "-stock"), split=True,
                              min_split_value_minor=2500),), region_coordinates={"US-CA": (36.7, -119.4)})
    again = rules_from_dict(rules_to_dict(rules))
    assert again == rules and again.digest == rules.digest
    assert Rules().digest != rules.digest


@pytest.mark.parametrize("data, message", [
    ({"rules": [{"name": "a", "sort": ["nearest"]}]}, "routing.rules[1] (a).sort: 'nearest' is not one of"),
    ({"rules": [{"name": "a"}, {"name": "a"}]}, "routing.rules[2] (a): another rule has the same name"),
    ({"rules": [{"name": "a", "otherwise": "next", "auto_cancel_after_days": 3}]}, "auto-cancel applies to backorders"),
    ({"rules": [{"name": "a", "when": {"chanels": ["x"]}}]}, "routing.rules[1].when: unknown key 'chanels'"),
    ({"rules": [{"name": "a", "split_lines": True}]}, "split_lines needs split = true"),
])
def test_bad_rules_are_refused_naming_the_rule_and_key(data: dict[str, object], message: str) -> None:
    with pytest.raises(RulesInvalid, match=message.replace("[", r"\[").replace("]", r"\]").replace("(", r"\(").replace(")", r"\)")):
        rules_from_dict(data)
