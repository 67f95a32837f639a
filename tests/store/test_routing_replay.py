"""`oms route --dry-run`: past decisions replayed against rules. With the rules that decided
them, 10,000 orders come out exactly as they were routed live."""

from __future__ import annotations

import datetime as dt
import random

from sqlalchemy import select

from store import Store, ingest
from store.canonical import Address, CanonicalLine, CanonicalOrder
from store.catalog import NewSku, add_channel, add_skus
from store.inventory import receive
from store.models import Location, OrderLine, Reservation, RoutingDecision
from store.routing.replay import replay
from store.routing.rules import LocationFilter, OrderFilter, Rule, Rules
from store.setup import LocationSpec, Setup, apply_setup

CITIES = [  # code, region, lat, lon
    ("EWR", "NJ", 40.73, -74.17), ("ORD", "IL", 41.88, -87.63), ("DFW", "TX", 32.90, -97.04),
    ("RNO", "NV", 39.53, -119.81), ("ATL", "GA", 33.75, -84.39), ("SEA", "WA", 47.61, -122.33),
    ("BKN", "NY", 40.68, -73.94), ("LAX", "CA", 34.05, -118.24),
]
RULES = Rules(
    rules=(
        Rule("amz: nearest warehouse, whole order", when=OrderFilter(channels=("amz",)),
             locations=LocationFilter(kinds=("warehouse",), safety_stock=1), sort=("distance", "stock")),
        Rule("urgent: cheapest, split", when=OrderFilter(min_priority=5), sort=("cost", "rank"), split=True,
             min_split_value_minor=2000, otherwise="next"),
        Rule("west coast from the west", when=OrderFilter(ship_to_regions=("CA", "WA", "NV")),
             locations=LocationFilter(regions=("CA", "WA", "NV")), sort=("distance",)),
        Rule("anything: balance stock, split, backorder the rest", sort=("stock", "rank"), split=True,
             max_locations=3, otherwise="backorder", auto_cancel_after_days=14),
    ),
    region_coordinates={"US-" + c[1]: (c[2], c[3]) for c in CITIES},
)


def _world(store: Store, rng: random.Random) -> None:
    add_channel(store, "web", "Web shop", "cart")
    add_channel(store, "amz", "Amazon", "marketplace")
    apply_setup(store, Setup(locations=[
        LocationSpec(code, f"{code} site", kind="store" if code == "BKN" else "warehouse", priority=n, region=region,
                     country="US", latitude=lat, longitude=lon, daily_capacity=1500 if n % 3 == 0 else None,
                     cost_per_order_minor=300 + 50 * n, cost_per_unit_minor=20 + 5 * n)
        for n, (code, region, lat, lon) in enumerate(CITIES, 1)
    ], routing=RULES))
    add_skus(store, [NewSku(f"S{i}", f"Thing {i}", 500 * i, "USD") for i in range(1, 31)])
    for i in range(1, 31):
        for code, *_ in CITIES:
            if rng.random() < 0.6:
                receive(store, f"S{i}", code, rng.randint(5, 120))


def _orders(rng: random.Random, start: int, n: int) -> list[CanonicalOrder]:
    out = []
    for k in range(start, start + n):
        _, region, lat, lon = rng.choice(CITIES)
        coords = rng.random() < 0.5
        out.append(CanonicalOrder(
            channel=rng.choice(("web", "web", "amz")), external_id=f"R{k:06d}", currency="USD", version=1,
            priority=rng.choice((0, 0, 0, 5)),
            ship_to=Address(region=region, country="US", latitude=lat + rng.uniform(-1, 1) if coords else None,
                            longitude=lon + rng.uniform(-1, 1) if coords else None),
            lines=tuple(CanonicalLine(f"S{rng.randint(1, 30)}", rng.randint(1, 4), 500 * rng.randint(1, 30),
                                      item_kind="sku") for _ in range(rng.randint(1, 4))),
        ))
    return out


def test_replaying_10000_orders_with_unchanged_rules_reproduces_every_decision(store: Store) -> None:
    rng = random.Random(5)
    _world(store, rng)
    since = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=1)
    for start in range(0, 10_000, 1000):
        ingest(store, _orders(rng, start, 1000))
        for _ in range(10):  # stock arrives between batches: some backorders are routed again
            receive(store, f"S{rng.randint(1, 30)}", rng.choice(CITIES)[0], rng.randint(1, 40))
    report = replay(store, RULES, since=since)
    assert report.orders == 10_000
    assert report.changes == [] and report.unchanged == 10_000
    assert report.live == report.replayed
    side_by_side = replay(store, RULES, since=since, workers=2)  # two processes, each its own id range
    assert (side_by_side.orders, side_by_side.unchanged, side_by_side.live) == (10_000, 10_000, report.live)
    outcomes = report.live.outcomes
    assert outcomes["allocated"] and outcomes["split"] and outcomes["backordered"]  # every path was taken

    # What the decisions say is what was reserved (for orders no receipt has touched since).
    with store.read() as conn:
        touched = set(conn.execute(select(RoutingDecision.order_id).where(RoutingDecision.trigger != "intake")).scalars())
        said: dict[tuple[int, str], int] = {}
        for oid, expl in conn.execute(select(RoutingDecision.order_id, RoutingDecision.explanation)
                                      .where(RoutingDecision.trigger == "intake")):
            if oid not in touched:
                for _, code, qty in expl["placements"]:
                    said[(oid, code)] = said.get((oid, code), 0) + qty
        held: dict[tuple[int, str], int] = {}
        for oid, code, qty in conn.execute(
            select(OrderLine.order_id, Location.code, Reservation.qty)
            .join(OrderLine, OrderLine.id == Reservation.line_id).join(Location, Location.id == Reservation.location_id)
        ):
            if oid not in touched:
                held[(oid, code)] = held.get((oid, code), 0) + qty
    assert said == held


def test_other_rules_show_what_would_change(store: Store) -> None:
    rng = random.Random(7)
    _world(store, rng)
    since = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=1)
    ingest(store, _orders(rng, 0, 300))
    cheapest = Rules(rules=(Rule("cheapest single", sort=("cost",), otherwise="backorder"),))
    report = replay(store, cheapest, since=since)
    assert report.orders == 300 and report.changed > 0
    assert report.replayed.outcomes["split"] == 0  # the new rules never split
    first = report.changes[0]
    assert first.before != first.after and first.external_id.startswith("R")
    future = replay(store, RULES, since=dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1))
    assert future.orders == 0
