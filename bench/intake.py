"""Orders per second through `store.ingest`, side by side with the raw driver doing the same work.

    .venv/bin/python bench/intake.py [--quick] [--store sqlite|postgresql|both] [--repeat N] [--profile]

Each run starts from a fresh store (SQLite: a new file; PostgreSQL: a new schema) holding one
channel, 3 locations and 500 SKUs with ample stock, and takes N orders of 3 lines each in
batches of 500. The raw baseline (`_raw.py`: sqlite3 executemany; psycopg pipeline mode)
writes the same rows and issues the same look-ups and conditional UPDATEs on a store set up
the same way. Intake and raw runs alternate so noise hits both; medians are reported.

Figures go to stdout as JSON lines; progress and the optional profile go to stderr.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import pstats
import random
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, text

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import PgSchema, emit, log, median, pg_reachable, pg_url  # noqa: E402
from _raw import raw_postgresql, raw_sqlite  # noqa: E402

from store import Address, CanonicalLine, CanonicalOrder, Store, check, ingest, open_store, upgrade  # noqa: E402
from store.catalog import NewSku, add_channel, add_location, add_skus  # noqa: E402
from store.inventory import apply_movement  # noqa: E402

CHANNEL = "bench-web"
LOCATIONS = (("BENCH-EAST", 10), ("BENCH-WEST", 20), ("BENCH-NORTH", 30))
N_SKUS = 500
ON_HAND = 100_000  # per SKU and location: every line is reserved at the first location
BATCH = 500
TABLES = ("orders", "order_lines", "reservations", "backorders", "outbox")


# --- input and set-up (not timed) ---------------------------------------------------------


def sku_code(i: int) -> str:
    return f"BSKU-{i:05d}"


def make_orders(n: int, lines_per_order: int, seed: int = 20261122) -> list[CanonicalOrder]:
    rng = random.Random(seed)
    prices = [rng.randrange(199, 9999) for _ in range(N_SKUS)]
    placed = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.timezone.utc)
    orders = []
    for i in range(n):
        skus = rng.sample(range(N_SKUS), lines_per_order)
        lines = tuple(
            CanonicalLine(item=sku_code(s), qty=rng.randint(1, 3), unit_price_minor=prices[s], item_kind="sku")
            for s in skus
        )
        orders.append(
            CanonicalOrder(
                channel=CHANNEL,
                external_id=f"WEB-{i:07d}",
                lines=lines,
                currency="USD",
                version=1,
                placed_at=placed + dt.timedelta(seconds=i),
                buyer_name=f"Buyer {i % 997}",
                ship_to=Address(name=f"Buyer {i % 997}", address1=f"{i % 400} Main St", city="Springfield",
                                region="IL", postal_code="62701", country="US"),
            )
        )
    return orders


def prepare(store: Store) -> None:
    """Migrate, then one channel, the locations, the SKUs and their stock (through the ledger)."""
    upgrade(store)
    add_channel(store, CHANNEL, "Bench web shop", "cart")
    locs = [add_location(store, code, code.title(), priority=prio) for code, prio in LOCATIONS]
    add_skus(store, [NewSku(sku_code(i), f"Bench item {i}", unit_price_minor=999, currency="USD") for i in range(N_SKUS)])

    def _stock(conn: Any) -> None:
        skus = [r[0] for r in conn.execute(text("SELECT id FROM skus ORDER BY id"))]
        for sid in skus:
            for loc in locs:
                apply_movement(conn, sid, loc, ON_HAND, "receipt", reference="bench")

    store.run(_stock)


def table_counts(store: Store) -> dict[str, int]:
    with store.read() as conn:
        counts = {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in TABLES}
        counts["audit_events(order)"] = conn.execute(
            text("SELECT count(*) FROM audit_events WHERE entity = 'order'")
        ).scalar_one()
        counts["stock reserved"] = conn.execute(text("SELECT sum(reserved) FROM stock_levels")).scalar_one()
    return {k: int(v or 0) for k, v in counts.items()}


# --- one store kind: a fresh store per run ------------------------------------------------


class _Target:
    """Where runs happen: `fresh()` yields a prepared store; `raw(orders)` runs the baseline on it."""

    name: str

    def fresh(self) -> Any:  # context manager yielding a Store
        raise NotImplementedError

    def raw(self, store: Store, orders: list[CanonicalOrder]) -> float:
        """Run the raw baseline on the prepared store; seconds taken."""
        raise NotImplementedError

    def close(self) -> None:
        pass


class _Sqlite(_Target):
    name = "sqlite"

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="oms-bench-intake-"))
        self.runs = 0

    @contextmanager
    def fresh(self) -> Iterator[Store]:
        self.runs += 1
        self.path = self.dir / f"run{self.runs}.db"
        store = open_store(f"sqlite:///{self.path}")
        try:
            prepare(store)
            yield store
        finally:
            store.dispose()
            for suffix in ("", "-wal", "-shm"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)

    def raw(self, store: Store, orders: list[CanonicalOrder]) -> float:
        return raw_sqlite(str(self.path), orders, BATCH)

    def close(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


class _Postgres(_Target):
    name = "postgresql"

    def __init__(self) -> None:
        self.schema = PgSchema(pg_url(), "bench_intake")

    @contextmanager
    def fresh(self) -> Iterator[Store]:
        self.schema.fresh()
        store = open_store(self.schema.url.render_as_string(hide_password=False))
        try:
            prepare(store)
            yield store
        finally:
            store.dispose()

    def raw(self, store: Store, orders: list[CanonicalOrder]) -> float:
        return raw_postgresql(self.schema, orders, BATCH)

    def close(self) -> None:
        self.schema.drop()


def _timed(fn: Callable[[], None]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _intake(store: Store, orders: list[CanonicalOrder]) -> None:
    report = ingest(store, orders, batch_size=BATCH)
    created = report.count("created")
    if created != len(orders):
        raise SystemExit(f"intake created {created} of {len(orders)} orders: {report.summary()}")


def _verify(target: _Target, store: Store, what: str, n: int) -> dict[str, int]:
    rep = check(store)
    if not rep.ok:
        log(f"{target.name} {what}: check(store) found {len(rep.problems)} problems:")
        for p in rep.problems[:20]:
            log(f"  {p}")
        raise SystemExit(1)
    counts = table_counts(store)
    if counts["orders"] != n:
        log(f"{target.name} {what}: {counts['orders']} orders in the store, expected {n}")
        raise SystemExit(1)
    return counts


def bench_target(target: _Target, orders: list[CanonicalOrder], repeat: int, lines: int) -> None:
    n = len(orders)
    intake_rates: list[float] = []
    raw_rates: list[float] = []
    for r in range(repeat):
        # Alternate which goes first, so a noisy neighbour does not always land on the same side.
        order = ("intake", "raw") if r % 2 == 0 else ("raw", "intake")
        counts: dict[str, dict[str, int]] = {}
        for what in order:
            with target.fresh() as store:
                if what == "intake":
                    secs = _timed(lambda: _intake(store, orders))
                    intake_rates.append(n / secs)
                else:
                    secs = target.raw(store, orders)
                    raw_rates.append(n / secs)
                counts[what] = _verify(target, store, what, n)
            log(f"{target.name} run {r + 1}/{repeat} {what:<6}: {n} orders in {secs:.2f}s = {n / secs:,.0f} orders/s")
        if counts["intake"] != counts["raw"]:
            log(f"{target.name}: raw baseline wrote different rows: intake {counts['intake']} raw {counts['raw']}")
            raise SystemExit(1)
    log(f"{target.name}: rows per run {counts['intake']}")
    value, baseline = median(intake_rates), median(raw_rates)
    common = {"store": target.name, "unit": "orders/s", "n": n, "lines_per_order": lines}
    emit(bench="intake", metric="orders_per_s", value=round(value, 1), **common,
         baseline=round(baseline, 1), ratio=round(value / baseline, 3))
    emit(bench="intake", metric="raw_orders_per_s", value=round(baseline, 1), **common)


def profile_target(target: _Target, orders: list[CanonicalOrder], top: int) -> None:
    """One extra intake run under cProfile (not counted in the figures); statements per kind."""
    with target.fresh() as store:
        stmts: Counter[str] = Counter()

        @event.listens_for(store.engine, "before_cursor_execute")
        def _count(conn: Any, cur: Any, stmt: str, params: Any, ctx: Any, many: bool) -> None:
            stmts[" ".join(stmt.split()[:3])] += 1

        prof = cProfile.Profile()
        secs = _timed(lambda: prof.runcall(_intake, store, orders))
        _verify(target, store, "profile", len(orders))
    batches = -(-len(orders) // BATCH)
    log(f"\n=== profile {target.name}: {len(orders)} orders in {secs:.2f}s under cProfile ({batches} batches)")
    log("cursor executions per batch, by statement start:")
    for k, v in stmts.most_common():
        log(f"  {v / batches:10.1f}  {k}")
    for key in ("tottime", "cumulative"):
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).sort_stats(key).print_stats(top)
        log(buf.getvalue())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="about 1,000 orders: a smoke check in seconds")
    ap.add_argument("--store", choices=("sqlite", "postgresql", "both"), default="both")
    ap.add_argument("--repeat", type=int, default=3, help="runs per store; the median is reported")
    ap.add_argument("--orders", type=int, help="orders per run (default 20,000; 1,000 with --quick)")
    ap.add_argument("--lines", type=int, default=3, help="lines per order")
    ap.add_argument("--profile", action="store_true", help="also profile one intake run per store (stderr)")
    ap.add_argument("--profile-top", type=int, default=30)
    args = ap.parse_args(argv)

    n = args.orders or (1_000 if args.quick else 20_000)
    orders = make_orders(n, args.lines)
    targets: list[_Target] = []
    if args.store in ("sqlite", "both"):
        targets.append(_Sqlite())
    if args.store in ("postgresql", "both"):
        why = pg_reachable(pg_url())
        if why is None:
            targets.append(_Postgres())
        else:
            log(f"PostgreSQL at {pg_url().render_as_string(hide_password=True)} is unreachable ({why}); "
                + ("SQLite figures only" if args.store == "both" else "no figures"))
    for target in targets:
        try:
            log(f"--- {target.name}: {n} orders x {args.lines} lines, batches of {BATCH}, {args.repeat} run(s)")
            bench_target(target, orders, args.repeat, args.lines)
            if args.profile:
                profile_target(target, orders, args.profile_top)
        finally:
            target.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
