"""The operator TUI on a million orders: first paint, filters, jump to the end, keys, memory.

    .venv/bin/python bench/tui.py [--quick] [--store sqlite|postgresql|both] [--orders N] [--presses N]

Each store is built fast with bulk INSERTs of plain rows (orders and their lines in a
realistic mix: old orders mostly closed or shipped, recent ones open, a few in each
exception queue, failed shipment confirmations, rejected documents), then a separate
process drives the real `OmsApp` headless (120x40, no animations, no polling) so its
memory is the TUI's alone:

    first_paint_ms        app start to the first page of rows drawn
    filter_ms             a filter chosen (status, exception queue, overdue, channel, search
                          submitted with Enter; typing without Enter waits 150 ms more) to its
                          first rows drawn; `counted_ms` until every id is in (the count shown)
    all_counted_ms        app start to the whole first snapshot (1,000,000 ids) in
    end_ms                End pressed to the oldest order drawn
    key_down_ms,
    key_page_down_ms      keypress to screen, median and p99 over --presses presses
    reload_ms             the store changed: the list read again in place (rows drawn)
    max_rss_mb            the driving process's peak resident memory (VmHWM)

Figures go to stdout as JSON lines; progress to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import PgSchema, emit, log, percentile, pg_reachable, pg_url  # noqa: E402

from store import Store, open_store, upgrade  # noqa: E402
from store.bulk import insert_rows  # noqa: E402
from store.catalog import NewSku, add_channel, add_location, add_skus  # noqa: E402
from store.models import Document, Order, OrderLine, OutboxMessage, Sku  # noqa: E402

BENCH = "tui"
CHANNELS = (("web", "cart"), ("amz", "marketplace"), ("ebay", "marketplace"), ("shop", "cart"))
N_SKUS = 200
CHUNK = 50_000
# The clock the app runs on and the orders are dated against (fixed: the queues are deterministic).
NOW = dt.datetime(2026, 11, 20, 12, tzinfo=dt.timezone.utc)
SIZE = (120, 40)

# Status weights for orders older than a week, and for the last week.
_OLD: dict[str, float] = {"closed": 70, "shipped": 24, "cancelled": 4, "on_hold": 0.4, "backordered": 0.6, "allocated": 0.5,
        "partially_shipped": 0.3, "picked_up": 0.2}
_RECENT: dict[str, float] = {"received": 3, "allocated": 42, "backordered": 8, "on_hold": 2, "partially_shipped": 3, "shipped": 36,
           "cancelled": 2, "ready_for_pickup": 1, "closed": 3}


# --- building the store (not timed as a figure) ------------------------------------------------


def _pick(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), list(weights.values()))[0]


def _line_counts(status: str, qty: int) -> dict[str, int]:
    held = {"qty_reserved": 0, "qty_backordered": 0, "qty_shipped": 0, "qty_cancelled": 0}
    if status in ("shipped", "closed", "picked_up"):
        held["qty_shipped"] = qty
    elif status == "cancelled":
        held["qty_cancelled"] = qty
    elif status in ("allocated", "ready_for_pickup"):
        held["qty_reserved"] = qty
    elif status == "backordered":
        held["qty_backordered"] = qty
    elif status == "partially_shipped":
        held["qty_shipped"] = qty // 2
        held["qty_reserved"] = qty - qty // 2
    return held


def build(store: Store, n: int) -> dict[str, int]:
    """Migrate, then `n` orders (ids 1..n, oldest first) with lines, confirmations and documents."""
    upgrade(store)
    channel_ids = {code: add_channel(store, code, code.title(), kind) for code, kind in CHANNELS}
    add_location(store, "DC1", "Main DC")
    add_skus(store, [NewSku(f"SKU-{i:04d}", f"Item {i}", 999, "USD") for i in range(N_SKUS)])
    with store.read() as conn:
        from sqlalchemy import select

        sku_ids = list(conn.execute(select(Sku.id).order_by(Sku.id)).scalars())
    rng = random.Random(20261120)
    span = dt.timedelta(days=365)
    first = NOW - span
    line_id = 0
    tally: dict[str, int] = {}
    shipped: list[int] = []
    started = time.perf_counter()
    for lo in range(0, n, CHUNK):
        orders: list[dict[str, Any]] = []
        lines: list[dict[str, Any]] = []
        for i in range(lo, min(n, lo + CHUNK)):
            oid = i + 1
            received = first + span * (i / n) + dt.timedelta(seconds=rng.randint(0, 30))
            recent = NOW - received < dt.timedelta(days=7)
            status = _pick(rng, _RECENT if recent else _OLD)
            exception = None
            roll = rng.random()
            if roll < 0.003:
                status, exception = "received", "unknown_item"
            elif roll < 0.0035:
                status, exception = "received", "unroutable"
            elif roll < 0.0037:
                exception = "version_conflict"
            channel = CHANNELS[i % len(CHANNELS)][0]
            tally[status] = tally.get(status, 0) + 1
            if status in ("shipped", "closed"):
                shipped.append(oid)
            n_lines = 1 + (i % 3 == 0) + (i % 7 == 0)
            total = 0
            for no in range(1, n_lines + 1):
                line_id += 1
                qty = 1 + (i + no) % 3
                price = 500 + (i * 7 + no) % 9000
                total += qty * price
                sku = rng.randrange(N_SKUS)
                lines.append({
                    "id": line_id, "order_id": oid, "line_no": no,
                    "sku_id": None if exception == "unknown_item" else sku_ids[sku],
                    "item": f"SKU-{sku:04d}" if exception != "unknown_item" else f"NOPE-{i}",
                    "item_kind": "sku", "item_ids": {}, "qty": qty, "unit_price_minor": price,
                    **_line_counts(status, qty),
                })
            orders.append({
                "id": oid, "channel_id": channel_ids[channel], "external_id": f"{channel.upper()}-{i:07d}",
                "version": 1, "status": status, "exception": exception,
                "exception_detail": "the item is not in the catalog" if exception else None,
                "buyer_name": f"{rng.choice(_FIRST)} {rng.choice(_LAST)}",
                "ship_to_city": rng.choice(_CITIES), "fulfilment": "pickup" if status in ("ready_for_pickup", "picked_up") else "ship",
                "currency": "USD", "total_minor": total, "priority": 0,
                "placed_at": received - dt.timedelta(minutes=rng.randint(1, 90)),
                "requested_ship_date": (received + dt.timedelta(days=5)).date() if i % 20 == 0 else None,
                "received_at": received, "updated_at": received,
            })
        with store.write() as conn:
            insert_rows(conn, Order, orders)
            insert_rows(conn, OrderLine, lines)
        log(f"  {min(n, lo + CHUNK):,} orders ({time.perf_counter() - started:.0f} s)")
    failed = rng.sample(shipped, min(len(shipped), max(5, n // 2000)))
    messages = [
        {"id": k + 1, "kind": "shipment_confirm", "target": "amz", "idempotency_key": f"shipment_confirm:{oid}",
         "payload": {"order": oid}, "order_id": oid, "state": "dead" if k % 3 == 0 else "failed", "attempts": 5,
         "next_attempt_at": NOW, "last_error": "HTTP 500", "created_at": NOW}
        for k, oid in enumerate(failed)
    ]
    docs = [
        {"id": k + 1, "sha256": f"{k:064x}", "kind": "x12", "source": "sftp:acme", "size": 10,
         "payload": b"ISA*broken", "state": "rejected", "received_at": NOW}
        for k in range(40)
    ]
    with store.write() as conn:
        insert_rows(conn, OutboxMessage, messages)
        insert_rows(conn, Document, docs)
        if conn.dialect.name == "postgresql":
            for table in ("orders", "order_lines", "outbox", "documents"):
                conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                     f"(SELECT max(id) FROM {table}))")
    _analyze(store)
    tally["confirm_failed"] = len(failed)
    return tally


def _analyze(store: Store) -> None:
    """Statistics (and on PostgreSQL the visibility map, for index-only counts) as a live store has."""
    engine = store.engine
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    else:
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")


_FIRST = ("Ada", "Grace", "Alan", "Linus", "Barbara", "Ken", "Margaret", "Dennis", "Frances", "John", "Radia",
          "Edsger", "Katherine", "Donald", "Hedy", "Tim")
_LAST = ("Lovelace", "Hopper", "Turing", "Torvalds", "Liskov", "Thompson", "Hamilton", "Ritchie", "Allen",
         "McCarthy", "Perlman", "Dijkstra", "Johnson", "Knuth", "Lamarr", "Berners-Lee")
_CITIES = ("Leeds", "Zürich", "Porto", "Austin", "Osaka", "Lyon", "Denver", "Turin")


# --- driving the app (in its own process) -----------------------------------------------------------


def _peak_rss_kb() -> float:
    """This process's peak resident memory. Linux's VmHWM belongs to this program alone;
    getrusage's ru_maxrss also keeps the parent's peak across fork and exec (the builder's)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return float(line.split()[1])
    except OSError:
        pass
    return float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


async def drive(url: str, name: str, n: int, presses: int) -> None:
    """Drive the app and time from the key (or action) to the first frame composed with the
    rows it asked for: each composed frame checks the figure's condition (the Pilot's own
    waits sleep 20 ms and more, so keys are sent as the terminal driver sends them)."""
    os.environ["TEXTUAL_ANIMATIONS"] = "none"
    from textual import events
    from textual.screen import Screen

    from tui import OmsApp
    from tui.access import Operator
    from tui.screens.orders import OrdersScreen
    from tui.widgets.order_table import OrderTable

    store = open_store(url)

    def figure(metric: str, value: float, unit: str = "ms", **extra: Any) -> None:
        emit(bench=BENCH, metric=metric, store=name, value=round(value, 2), unit=unit, n=n, **extra)
        log(f"  {name} {metric} {extra.get('what', '')}: {value:,.1f} {unit}")

    app = OmsApp(store, operator=Operator("bench", "operator"), now=lambda: NOW, poll_seconds=None)
    watch: list[Any] = [None, None]  # (condition, time of the first frame composed meeting it)
    display = app._display

    def composed(screen: Screen[Any], renderable: Any) -> None:
        display(screen, renderable)
        if watch[0] is not None and watch[1] is None and watch[0]():
            watch[1] = time.perf_counter()

    app._display = composed
    table: OrderTable | None = None

    def drawn() -> bool:
        """The list holds a snapshot and every row on screen has its data (no "…")."""
        nonlocal table
        if table is None:
            found = app.screen.query(OrderTable)
            if not found:
                return False
            table = found.first()
        if table.row_count is None:
            return False
        return all(table.render_line(y).text.strip() != "…" for y in range(1, table.scrollable_size.height))

    async def timed(condition: Callable[[], bool], act: Callable[[], object] = lambda: None) -> float:
        watch[:] = [condition, None]
        t0 = time.perf_counter()
        act()
        polls = 0
        while watch[1] is None:
            await asyncio.sleep(0.0005)
            polls += 1
            if polls % 40 == 0 and condition():
                app.screen.refresh()  # met between frames and nothing left to draw: compose one
        watch[0] = None
        return float((watch[1] - t0) * 1000)

    def key(name: str) -> Callable[[], None]:
        def send() -> None:
            char = {"slash": "/", "enter": "\r"}.get(name, name if len(name) == 1 else None)
            event = events.Key(name, char)
            event.set_sender(app)
            assert app._driver is not None
            app._driver.send_message(event)
        return send

    started = time.perf_counter()
    watch[:] = [drawn, None]
    async with app.run_test(size=SIZE) as pilot:
        while watch[1] is None:
            await asyncio.sleep(0.0005)
        figure("first_paint_ms", (watch[1] - started) * 1000)
        watch[0] = None
        screen = app.screen
        assert isinstance(screen, OrdersScreen) and table is not None
        await timed(lambda: table.row_count is not None and table.border_subtitle != "counting…")  # type: ignore[union-attr]
        figure("all_counted_ms", (time.perf_counter() - started) * 1000, what="every id in the snapshot")
        await app.workers.wait_for_complete()  # the counts, so they do not overlap the filters

        async def timed_filter(what: str, act: Callable[[], object], choice: str, channel: str | None = None,
                               search: str = "") -> None:
            def showing() -> bool:
                return ((screen.filter_key, screen.channel, screen.search) == (choice, channel, search)
                        and table.filter == screen.current_filter() and drawn())  # type: ignore[union-attr]

            ms = await timed(showing, act)
            counted = await timed(lambda: table.row_count is not None and table.border_subtitle != "counting…")  # type: ignore[union-attr]
            figure("filter_ms", ms, what=what, rows=table.row_count, counted_ms=round(ms + counted, 1))  # type: ignore[union-attr]
            await app.workers.wait_for_complete()
            await pilot.pause()

        await timed_filter("status backordered", key("4"), "backordered")
        await timed_filter("queue unknown_item", lambda: screen.action_show_orders("unknown_item"), "unknown_item")
        await timed_filter("queue overdue", lambda: screen.action_show_orders("overdue"), "overdue")
        await timed_filter("queue confirm_failed", lambda: screen.action_show_orders("confirm_failed"),
                           "confirm_failed")
        await timed_filter("exceptions", key("9"), "exceptions")
        await timed_filter("all orders", key("0"), "all")
        await timed_filter("channel amz", key("c"), "all", "amz")
        await timed_filter("channel amz + backordered", key("4"), "backordered", "amz")
        while screen.channel is not None:  # every channel again
            await pilot.press("c")
        await pilot.press("0")
        await app.workers.wait_for_complete()
        await pilot.press("slash", *"web-00012")  # Enter right away: no pause after typing
        await timed_filter("search order number (Enter)", key("enter"), "all", None, "web-00012")
        await pilot.press("slash", *["backspace"] * 9, *"grace hop")
        await timed_filter("search buyer name (Enter)", key("enter"), "all", None, "grace hop")
        await pilot.press("escape")
        await app.workers.wait_for_complete()
        await pilot.pause()
        table.focus()

        ms = await timed(lambda: table.cursor_row == (table.row_count or 1) - 1 and drawn(), key("end"))
        figure("end_ms", ms)
        await pilot.press("home")
        await app.workers.wait_for_complete()

        for name_, metric in (("down", "key_down_ms"), ("pagedown", "key_page_down_ms")):
            times = []
            for _ in range(presses):
                before = table.cursor_row
                times.append(await timed(lambda: table.cursor_row != before and drawn(), key(name_)))
            figure(metric, statistics.median(times), what="median", presses=presses)
            figure(metric.replace("_ms", "_p99_ms"), percentile(times, 99), what="p99", presses=presses)
            await pilot.press("home")
            await app.workers.wait_for_complete()

        for _ in range(5):
            await pilot.press("pagedown")
        await app.workers.wait_for_complete()
        await pilot.pause()
        generation = table._generation

        def bump() -> None:
            app.data_version += 1  # what the app does when the audit trail grew

        ms = await timed(lambda: table._generation > generation and not table._snapshot_pending and drawn(), bump)
        figure("reload_ms", ms, what="in place, 5 pages down")
    figure("max_rss_mb", _peak_rss_kb() / 1024, unit="MB")
    store.dispose()


# --- per store ------------------------------------------------------------------------------------------


def run_store(name: str, url: str, store: Store, n: int, presses: int) -> None:
    log(f"{name}: building {n:,} orders")
    t0 = time.perf_counter()
    tally = build(store, n)
    store.dispose()
    log(f"{name}: built in {time.perf_counter() - t0:.0f} s: {dict(sorted(tally.items()))}")
    cmd = [sys.executable, __file__, "--drive", url, "--name", name, "--orders", str(n), "--presses", str(presses)]
    subprocess.run(cmd, check=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="20,000 orders and 40 presses: a smoke check")
    ap.add_argument("--store", choices=("sqlite", "postgresql", "both"), default="both")
    ap.add_argument("--orders", type=int, help="orders in the store (default 1,000,000)")
    ap.add_argument("--presses", type=int, help="presses per key for the latency (default 200)")
    ap.add_argument("--drive", help=argparse.SUPPRESS)
    ap.add_argument("--name", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    n = args.orders or (20_000 if args.quick else 1_000_000)
    presses = args.presses or (40 if args.quick else 200)
    if args.drive:
        asyncio.run(drive(args.drive, args.name, n, presses))
        return 0
    if args.store in ("sqlite", "both"):
        with tempfile.TemporaryDirectory(prefix="oms-bench-tui-") as tmp:
            url = f"sqlite:///{tmp}/oms.db"
            run_store("sqlite", url, open_store(url), n, presses)
    if args.store in ("postgresql", "both"):
        base = pg_url()
        why = pg_reachable(base)
        if why is not None:
            log(f"PostgreSQL at {base.render_as_string(hide_password=True)} is unreachable ({why}): SQLite figures only")
        else:
            schema = PgSchema(base, "bench_tui")
            with schema.kept():
                schema.fresh()
                url = schema.url.render_as_string(hide_password=False)
                run_store("postgresql", url, open_store(url), n, presses)
    return 0


if __name__ == "__main__":
    sys.exit(main())
