"""Reservation attempts per second when many processes race for the last units of one SKU.

    .venv/bin/python bench/race.py [--quick] [--store sqlite|postgresql|both] [--repeat N]

8 processes (multiprocessing, spawn) each ingest 125 single-line, qty-1 orders for one SKU
that has exactly 100 units at one location, one order per `ingest` call, so every attempt is
its own transaction. All start together at a barrier; the figure is 1,000 attempts over the
time from the first start to the last finish. Exactly 100 must get stock (the rest are
backordered) and `check(store)` must pass, or the script exits non-zero.

`--quick` changes nothing essential: 1,000 attempts is already small (it runs once).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import queue
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import PgSchema, emit, log, median, pg_reachable, pg_url  # noqa: E402

from store import CanonicalLine, CanonicalOrder, check, ingest, open_store, upgrade  # noqa: E402
from store.catalog import NewSku, add_channel, add_location, add_skus  # noqa: E402
from store.inventory import receive  # noqa: E402

CHANNEL = "race-web"
SKU = "RACE-SKU-1"
LOCATION = "RACE-DC"
RESULT_TIMEOUT_S = 600.0


def _prepare(url: str, stock: int) -> None:
    store = open_store(url)
    try:
        upgrade(store)
        add_channel(store, CHANNEL, "Race web shop", "cart")
        add_location(store, LOCATION, "Race DC")
        add_skus(store, [NewSku(SKU, "The last units")])
        receive(store, SKU, LOCATION, stock, reference="bench race")
    finally:
        store.dispose()


def _worker(url: str, index: int, n: int, barrier: Any, results: Any) -> None:
    """One racing process: connect, wait for the others, then one `ingest` call per order."""
    try:
        store = open_store(url)
        with store.read() as conn:  # connect before the start line, not after it
            conn.execute(text("SELECT 1"))
        orders = [
            CanonicalOrder(
                channel=CHANNEL,
                external_id=f"RACE-{index:02d}-{i:04d}",
                lines=(CanonicalLine(item=SKU, qty=1, unit_price_minor=1299, item_kind="sku"),),
                currency="USD",
                version=1,
            )
            for i in range(n)
        ]
        statuses: dict[str, int] = {}
        barrier.wait()
        start = time.perf_counter()
        for order in orders:
            report = ingest(store, [order], batch_size=1)
            for outcome in report.outcomes:
                key = f"{outcome.action}/{outcome.status}"
                statuses[key] = statuses.get(key, 0) + 1
        end = time.perf_counter()
        store.dispose()
        results.put((index, start, end, statuses, None))
    except BaseException:
        results.put((index, 0.0, 0.0, {}, traceback.format_exc()))


def _race(url: str, processes: int, per_process: int) -> tuple[float, dict[str, int]]:
    """Run the processes once; (seconds from first start to last finish, outcome counts)."""
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(processes)
    results = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(url, i, per_process, barrier, results)) for i in range(processes)]
    for p in procs:
        p.start()
    got = []
    try:
        for _ in procs:
            got.append(results.get(timeout=RESULT_TIMEOUT_S))
    except queue.Empty:
        log(f"race: a process gave no result within {RESULT_TIMEOUT_S:.0f}s")
        raise SystemExit(1)
    finally:
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.terminate()
                p.join()
    failed = [r for r in got if r[4] is not None]
    if failed:
        log(f"race: process {failed[0][0]} failed:\n{failed[0][4]}")
        raise SystemExit(1)
    statuses: dict[str, int] = {}
    for r in got:
        for k, v in r[3].items():
            statuses[k] = statuses.get(k, 0) + v
    return max(r[2] for r in got) - min(r[1] for r in got), statuses


def _verify(url: str, name: str, expect_orders: int, stock: int) -> int:
    """Reserved units after the race; exits non-zero if the store disagrees with itself."""
    store = open_store(url)
    try:
        rep = check(store)
        with store.read() as conn:
            reserved = int(conn.execute(
                text("SELECT coalesce(sum(qty), 0) FROM reservations WHERE state = 'active'")
            ).scalar_one())
            level = int(conn.execute(text("SELECT coalesce(sum(reserved), 0) FROM stock_levels")).scalar_one())
            orders = int(conn.execute(text("SELECT count(*) FROM orders")).scalar_one())
    finally:
        store.dispose()
    problems = [str(p) for p in rep.problems]
    if orders != expect_orders:
        problems.append(f"{orders} orders in the store, expected {expect_orders}")
    if reserved != stock or level != stock:
        problems.append(f"reserved {reserved} units (level says {level}); exactly {stock} were available")
    if problems:
        log(f"{name}: the race left the store inconsistent:")
        for p in problems[:20]:
            log(f"  {p}")
        raise SystemExit(1)
    return reserved


def bench_store(name: str, fresh: Any, args: argparse.Namespace) -> None:
    n = args.processes * args.per_process
    rates: list[float] = []
    reserved = 0
    for r in range(args.repeat):
        url = fresh()
        _prepare(url, args.stock)
        secs, statuses = _race(url, args.processes, args.per_process)
        reserved = _verify(url, name, n, args.stock)
        rates.append(n / secs)
        log(f"{name} run {r + 1}/{args.repeat}: {n} attempts in {secs:.2f}s = {n / secs:,.0f} attempts/s; "
            f"outcomes {statuses}")
    emit(bench="race", metric="reservation_attempts_per_s", store=name, value=round(median(rates), 1),
         unit="attempts/s", n=n, processes=args.processes, reserved=reserved)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="one run instead of --repeat")
    ap.add_argument("--store", choices=("sqlite", "postgresql", "both"), default="both")
    ap.add_argument("--repeat", type=int, default=3, help="runs per store; the median is reported")
    ap.add_argument("--processes", type=int, default=8)
    ap.add_argument("--per-process", type=int, default=125, help="orders (attempts) per process")
    ap.add_argument("--stock", type=int, default=100, help="units of the SKU on hand")
    args = ap.parse_args(argv)
    if args.quick:
        args.repeat = 1

    if args.store in ("sqlite", "both"):
        tmp = Path(tempfile.mkdtemp(prefix="oms-bench-race-"))
        runs = iter(range(1, 1_000_000))
        try:
            log(f"--- sqlite: {args.processes} processes x {args.per_process} attempts, {args.stock} units")
            bench_store("sqlite", lambda: f"sqlite:///{tmp / f'race{next(runs)}.db'}", args)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    if args.store in ("postgresql", "both"):
        why = pg_reachable(pg_url())
        if why is not None:
            log(f"PostgreSQL at {pg_url().render_as_string(hide_password=True)} is unreachable ({why}); "
                + ("SQLite figures only" if args.store == "both" else "no figures"))
            return 0
        schema = PgSchema(pg_url(), "bench_race")
        with schema.kept():
            log(f"--- postgresql: {args.processes} processes x {args.per_process} attempts, {args.stock} units")

            def fresh() -> str:
                schema.fresh()
                return schema.url.render_as_string(hide_password=False)

            bench_store("postgresql", fresh, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
