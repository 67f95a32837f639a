"""Time from a file landing to its orders being committed, through the running gateway.

    .venv/bin/python bench/gateway.py [--quick] [--files N]

For a CSV drop folder (watchdog) and an SFTP partner mailbox (a real OpenSSH sshd on
loopback, polled every second), each on a fresh SQLite store:

- latency: N files (default 200, 5 orders each) land one after another, 4 a second; for
  each, the time from the file being complete in the folder to its document being committed
  (`documents.processed_at`); p50 and p99 are reported;
- throughput: N files land at once; files/s and orders/s until the last is committed.

The issue's goal: p99 under 2 s for CSV, and under one poll interval plus 1 s for SFTP.
Figures go to stdout as JSON lines; progress to stderr.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
# This file's name is the package's: keep the bench folder from shadowing `gateway`.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() not in (BENCH, ROOT)] + [str(BENCH)]

from _common import emit, log, percentile  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from gateway.daemon import Gateway  # noqa: E402
from gateway.settings import FolderSpec, GatewaySettings, MailboxSpec  # noqa: E402
from store import Store, open_store, upgrade  # noqa: E402
from store.catalog import NewSku, add_channel, add_location, add_partner, add_skus  # noqa: E402
from store.inventory import receive  # noqa: E402
from store.models import Document, Order  # noqa: E402

ORDERS_PER_FILE = 5
RATE = 4.0  # files per second in the latency run (below what one SFTP poller sustains)
POLL = 1.0


def _store(path: Path) -> Store:
    store = open_store(f"sqlite:///{path}")
    upgrade(store)
    add_channel(store, "shop", "Shop drop folder", "csv")
    add_partner(store, "acme", "ACME", isa_qualifier="ZZ", isa_id="SENDER", gs_id="SENDER", our_isa_qualifier="ZZ",
                our_isa_id="RECEIVER", our_gs_id="RECEIVER")
    add_location(store, "DAL", "Dallas", priority=1)
    add_skus(store, [NewSku(f"SKU{i}", f"Thing {i}", 999, "USD") for i in range(1, 6)])
    for i in range(1, 6):
        receive(store, f"SKU{i}", "DAL", 10_000_000)
    return store


def _csv(n: int) -> bytes:
    rows = ["order_id,sku,qty,unit_price,currency"]
    for o in range(ORDERS_PER_FILE):
        rows += [f"C{n}-{o},SKU{1 + (o + i) % 5},{1 + i},9.99,USD" for i in range(2)]
    return ("\n".join(rows) + "\n").encode()


def _x12(n: int) -> bytes:
    e, sets = "*", []
    for o in range(ORDERS_PER_FILE):
        body = [f"BEG*00*SA*X{n}-{o}**20260115", "N1*ST*STORE*92*0042",
                *(f"PO1*{i}*{i}*EA*9.99**VP*SKU{i}" for i in range(1, 3)), "CTT*2"]
        segs = [f"ST*850*{o + 1:04d}", *body, f"SE*{len(body) + 2}*{o + 1:04d}"]
        sets.append("".join(s + "~" for s in segs))
    isa = ("ISA*00*          *00*          *ZZ*" + "SENDER".ljust(15) + "*ZZ*" + "RECEIVER".ljust(15)
           + f"*260115*0930*U*00401*{n:09d}*0*P*>~")
    gs = f"GS{e}PO{e}SENDER{e}RECEIVER{e}20260115{e}0930{e}{n}{e}X{e}004010~"
    return (isa + gs + "".join(sets) + f"GE*{len(sets)}*{n}~IEA*1*{n:09d}~").encode()


def _committed(store: Store) -> dict[str, dt.datetime]:
    """File name → when its document was committed."""
    with store.read() as conn:
        rows = conn.execute(select(Document.source, Document.processed_at).where(Document.processed_at.is_not(None)))
        return {src.rsplit("/", 1)[-1]: at for src, at in rows}


def _orders(store: Store) -> int:
    with store.read() as conn:
        return int(conn.execute(select(func.count()).select_from(Order)).scalar_one())


def _run(kind: str, files: int, folder: Path, store: Store, settings: GatewaySettings,
         land: Callable[[Path, int], None]) -> None:
    stop = threading.Event()
    gw = Gateway(store, settings, holder="bench")
    thread = threading.Thread(target=gw.serve, args=(stop,), daemon=True)
    thread.start()
    time.sleep(1.5)  # the rescan at start and the first poll are not part of the figures
    try:
        # latency: files land one after another
        landed: dict[str, dt.datetime] = {}
        for n in range(files):
            name = land(folder, n)  # type: ignore[func-returns-value]
            landed[str(name)] = dt.datetime.now(dt.UTC)
            time.sleep(1 / RATE)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len(done := _committed(store)) < files:
            time.sleep(0.05)
        lat = [(done[k] - v).total_seconds() for k, v in landed.items() if k in done]
        if len(lat) < files:
            log(f"{kind}: only {len(lat)} of {files} files committed within the deadline")
        emit(bench="gateway", metric="landing_to_commit_p50_s", source=kind, value=round(percentile(lat, 50), 3), unit="s", n=len(lat))
        emit(bench="gateway", metric="landing_to_commit_p99_s", source=kind, value=round(percentile(lat, 99), 3), unit="s", n=len(lat))
        log(f"{kind}: latency p50 {percentile(lat, 50):.3f} s, p99 {percentile(lat, 99):.3f} s, max {max(lat):.3f} s")
        # throughput: files land at once
        before_docs, before_orders = len(_committed(store)), _orders(store)
        t0 = time.perf_counter()
        for n in range(files, 2 * files):
            land(folder, n)
        while time.monotonic() < deadline + 120 and len(_committed(store)) < before_docs + files:
            time.sleep(0.02)
        took = time.perf_counter() - t0
        orders = _orders(store) - before_orders
        emit(bench="gateway", metric="files_per_s", source=kind, value=round(files / took, 1), unit="files/s", n=files)
        emit(bench="gateway", metric="orders_per_s", source=kind, value=round(orders / took, 1), unit="orders/s", n=orders)
        log(f"{kind}: {files} files at once in {took:.2f} s: {files / took:.1f} files/s, {orders / took:.1f} orders/s")
    finally:
        stop.set()
        thread.join(timeout=60)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="20 files instead of 200")
    ap.add_argument("--files", type=int, default=None)
    args = ap.parse_args()
    files = args.files or (20 if args.quick else 200)
    with tempfile.TemporaryDirectory(prefix="oms-bench-gw-") as tmp:
        base = Path(tmp)
        drop = base / "drop"
        drop.mkdir()

        def land_csv(folder: Path, n: int) -> str:
            name = f"orders_{n:05d}.csv"
            (folder / name).write_bytes(_csv(n))
            return name

        store = _store(base / "csv.db")
        _run("csv", files, drop, store,
             GatewaySettings(folders=(FolderSpec(drop, "generic", "shop", settle_seconds=0.5),)), land_csv)
        store.dispose()

        try:
            from tests.sshd import start_sshd
            server = start_sshd(base / "sshd")
        except BaseException as exc:  # pytest's skip is a BaseException
            log(f"sftp: no sshd to measure against ({exc}); CSV figures only")
            return

        def land_x12(folder: Path, n: int) -> str:
            name = f"po_{n:05d}.x12"
            temp = folder / "in" / f".{name}.part"  # the partner's client writes, then renames
            temp.write_bytes(_x12(n + 1))
            temp.rename(folder / "in" / name)
            return name

        store = _store(base / "sftp.db")
        try:
            spec = MailboxSpec("acme", "sftp", sftp=server.settings, poll_seconds=POLL)
            _run("sftp", files, server.root, store, GatewaySettings(mailboxes=(spec,), dispatch_seconds=1.0), land_x12)
            emit(bench="gateway", metric="sftp_poll_interval_s", source="sftp", value=POLL, unit="s", n=1)
        finally:
            store.dispose()
            server.stop()


if __name__ == "__main__":
    main()
