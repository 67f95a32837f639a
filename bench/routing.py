"""Routing at intake and replay, with 50 locations and 20 rules.

    .venv/bin/python bench/routing.py [--quick] [--store sqlite|postgresql|both] [--orders N] [--replay N]

Each store (SQLite file; PostgreSQL schema of our own) gets 50 locations across the United
States (some with a daily capacity, some serving only their regions, all with costs), two
channels, 2,000 SKUs stocked at about half the locations, and 20 routing rules: channel,
priority, region and ship-by filters; distance, stock, cost and rank sorts; single and split
(with minimum split values); backorder and hold actions.

Figures (JSON lines on stdout):
- intake_latency_p50_ms / _p99_ms: one order per `ingest` call (its own transaction), N orders;
- decisions_per_s: orders routed per second taking 500-order batches;
- replay_s: `replay` of the decisions of --replay orders with the same rules (and `changed`,
  which must be 0), and replay_orders_per_s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import PgSchema, emit, log, pg_reachable, pg_url  # noqa: E402

from store import Address, CanonicalLine, CanonicalOrder, Store, ingest, open_store, upgrade  # noqa: E402
from store.catalog import NewSku, add_channel, add_skus  # noqa: E402
from store.inventory import apply_movement  # noqa: E402
from store.routing.replay import replay  # noqa: E402
from store.routing.rules import LocationFilter, OrderFilter, Rule, Rules  # noqa: E402
from store.setup import LocationSpec, Setup, apply_setup  # noqa: E402

REGIONS = ["NY", "NJ", "PA", "MA", "IL", "OH", "MI", "GA", "FL", "TX", "CO", "AZ", "NV", "CA", "WA", "OR",
           "MN", "MO", "TN", "NC"]
N_LOCATIONS, N_SKUS = 50, 2000


def _locations(rng: random.Random) -> list[LocationSpec]:
    out = []
    for n in range(N_LOCATIONS):
        region = REGIONS[n % len(REGIONS)]
        out.append(LocationSpec(
            f"L{n:02d}", f"Site {n}", kind="store" if n % 5 == 4 else "warehouse", priority=n, region=region,
            country="US", latitude=rng.uniform(26, 48), longitude=rng.uniform(-123, -71),
            daily_capacity=50_000 if n % 4 == 0 else None,
            regions_served=REGIONS[:10] if n % 7 == 3 else None,
            cost_per_order_minor=rng.randint(200, 900), cost_per_unit_minor=rng.randint(10, 80),
        ))
    return out


def _rules() -> Rules:
    rules = []
    for n, region in enumerate(REGIONS[:8]):
        rules.append(Rule(f"{region} from nearby", when=OrderFilter(ship_to_regions=(region,), channels=("amz",)),
                          locations=LocationFilter(kinds=("warehouse",), max_distance_km=900 + 100 * n),
                          sort=("distance", "stock")))
    for n in range(6):
        rules.append(Rule(f"priority {n + 3}+ cheapest", when=OrderFilter(min_priority=n + 3),
                          locations=LocationFilter(safety_stock=n), sort=("cost", "rank"), split=True,
                          min_split_value_minor=1000 * n))
    rules.append(Rule("urgent", when=OrderFilter(ship_by_within_days=1), sort=("distance",), split=True))
    rules.append(Rule("west", when=OrderFilter(ship_to_regions=("CA", "WA", "OR", "NV", "AZ")),
                      locations=LocationFilter(regions=("CA", "WA", "OR", "NV", "AZ")), sort=("distance",)))
    rules.append(Rule("stores for the web", when=OrderFilter(channels=("web",)),
                      locations=LocationFilter(kinds=("store",), safety_stock=2), sort=("distance",)))
    rules.append(Rule("big orders wait", when=OrderFilter(min_priority=9), otherwise="hold",
                      hold_reason="priority 9 orders are checked by hand"))
    rules.append(Rule("whole order, balance stock", sort=("stock", "distance")))
    rules.append(Rule("split, then backorder", sort=("distance", "rank"), split=True, max_locations=3,
                      min_split_value_minor=500, otherwise="backorder", auto_cancel_after_days=21))
    assert len(rules) == 20
    return Rules(rules=tuple(rules), region_coordinates={f"US-{r}": (30 + i, -120 + 2.5 * i) for i, r in enumerate(REGIONS)})


def _setup(store: Store, rng: random.Random) -> None:
    upgrade(store)
    add_channel(store, "web", "Web", "cart")
    add_channel(store, "amz", "Amazon", "marketplace")
    apply_setup(store, Setup(locations=_locations(rng), routing=_rules()))
    add_skus(store, [NewSku(f"SKU{i:05d}", f"Item {i}", 100 * (1 + i % 50), "USD") for i in range(N_SKUS)])
    with store.write() as conn:
        from sqlalchemy import select

        from store.models import Location, Sku

        skus = conn.execute(select(Sku.id)).scalars().all()
        locs = conn.execute(select(Location.id)).scalars().all()
        for s in skus:
            for loc in locs:
                if rng.random() < 0.5:
                    apply_movement(conn, s, loc, rng.randint(200, 3000), "receipt", reference="bench")


def _orders(rng: random.Random, start: int, n: int, today: dt.date) -> list[CanonicalOrder]:
    """Half the orders carry ship-to coordinates; the rest are placed by their region's centroid."""
    out = []
    for k in range(start, start + n):
        coords = rng.random() < 0.5
        out.append(CanonicalOrder(
            channel=rng.choice(("web", "amz", "amz")), external_id=f"B{k:07d}", currency="USD", version=1,
            priority=rng.choice((0, 0, 0, 0, 1, 3, 5, 9)),
            requested_ship_date=today + dt.timedelta(days=rng.randint(0, 5)),
            ship_to=Address(region=rng.choice(REGIONS), country="US",
                            latitude=rng.uniform(26, 48) if coords else None,
                            longitude=rng.uniform(-123, -71) if coords else None),
            lines=tuple(CanonicalLine(f"SKU{rng.randrange(N_SKUS):05d}", rng.randint(1, 3), 100 * rng.randint(1, 50),
                                      item_kind="sku") for _ in range(rng.randint(1, 4))),
        ))
    return out


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


def run(store: Store, name: str, args: argparse.Namespace) -> None:
    rng = random.Random(11)
    log(f"{name}: setting up 50 locations, 2,000 SKUs, 20 rules")
    _setup(store, rng)
    today = dt.datetime.now(dt.timezone.utc).date()
    since = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=1)

    lat: list[float] = []
    for o in _orders(rng, 0, args.orders, today):
        t = time.perf_counter()
        ingest(store, [o])
        lat.append(time.perf_counter() - t)
    emit(bench="routing", metric="intake_latency_p50_ms", store=name, value=round(statistics.median(lat) * 1000, 2),
         unit="ms", n=len(lat), locations=N_LOCATIONS, rules=20)
    emit(bench="routing", metric="intake_latency_p99_ms", store=name, value=round(_pct(lat, 0.99) * 1000, 2),
         unit="ms", n=len(lat), locations=N_LOCATIONS, rules=20)

    total, start, t0 = args.replay, args.orders, time.perf_counter()
    batch = 500
    done = 0
    while done < total - args.orders:
        n = min(batch, total - args.orders - done)
        ingest(store, _orders(rng, start + done, n, today))
        done += n
        if done % 10_000 < batch:
            log(f"{name}: {args.orders + done:,} orders routed")
    took = time.perf_counter() - t0
    emit(bench="routing", metric="decisions_per_s", store=name, value=round(done / took, 1), unit="orders/s",
         n=done, batch=batch)

    t0 = time.perf_counter()
    report = replay(store, _rules(), since=since, keep=10, workers=os.cpu_count() or 1)
    took = time.perf_counter() - t0
    emit(bench="routing", metric="replay_s", store=name, value=round(took, 2), unit="s", n=report.orders,
         changed=report.changed, workers=os.cpu_count() or 1)
    emit(bench="routing", metric="replay_orders_per_s", store=name, value=round(report.orders / took, 1),
         unit="orders/s", n=report.orders)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--store", choices=("sqlite", "postgresql", "both"), default="both")
    ap.add_argument("--orders", type=int, default=2000, help="orders taken one at a time for the latency")
    ap.add_argument("--replay", type=int, default=100_000, help="orders routed in all, then replayed")
    args = ap.parse_args()
    if args.quick:
        args.orders, args.replay = 200, 2000
    if args.store in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            store = open_store(f"sqlite:///{tmp}/bench.db")
            run(store, "sqlite", args)
            store.dispose()
    if args.store in ("postgresql", "both"):
        url = pg_url()
        why = pg_reachable(url)
        if why:
            log(f"postgresql: skipped ({why})")
            return
        schema = PgSchema(url, "bench_routing")
        schema.fresh()
        try:
            store = open_store(schema.url.render_as_string(hide_password=False))
            run(store, "postgresql", args)
            store.dispose()
        finally:
            schema.drop()


if __name__ == "__main__":
    main()
