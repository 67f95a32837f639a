"""Segments per second through the X12 reader, on a generated file of 850 purchase orders.

    .venv/bin/python bench/edi.py [--quick] [--repeat N] [--profile] [--read-only]

Four figures, each the median of N runs: read only (`edi_maps.read`); read + pyx12 validation
in one process (`validate(text, workers=1)`, the sequential path); read + validation as callers
get it (`validate(text)`: chunks of whole sets in a pool of worker processes when the interchange
has at least `PARALLEL_SEGMENTS` segments, with the sequential rate as its baseline and the
ratio); and the whole inbound path (`edi_maps.inbound.receive_x12`: store the bytes, read,
envelope, validate, map the 850s, intake with reservations, 997 into the outbox) on a fresh
SQLite store each run, which also validates by default. The worker pool is started once before
timing, as a running gateway keeps it; its start-up time goes to stderr.

The file (100 × 850 with 490 or 491 PO1 lines each, 50,000 segments in all by default; 10 ×
850 and 5,000 segments with --quick) is built once with `edi_maps.Writer`, then `edi_maps.read` runs on its bytes
N times (default 3); the median rate is reported. Building the file and checking what was
read back (set and PO1 counts, envelope sound) are not timed.

Figures go to stdout as JSON lines; progress and the optional profile go to stderr.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import pstats
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import emit, log, median  # noqa: E402

from edi_maps import Delimiters, GroupSpec, IsaHeader, SetSpec, Writer, check, errors, read  # noqa: E402
from edi_maps.inbound import receive_x12  # noqa: E402
from edi_maps.pyx12_validate import PARALLEL_SEGMENTS, validate  # noqa: E402
from store import Store, open_store, upgrade  # noqa: E402
from store.catalog import NewSku, add_location, add_partner, add_skus, location_id, sku_id  # noqa: E402
from store.inventory import apply_movement  # noqa: E402

WHEN = dt.datetime(2026, 1, 15, 9, 30, tzinfo=dt.UTC)
# per 850: ST, BEG, REF, DTM, N1*ST, N3, N4, PO1 × lines, CTT, SE = lines + 9 segments
HEADER_SEGMENTS = 9


def build(orders: int, total: int) -> tuple[bytes, list[int]]:
    """One interchange of `orders` 850s, `total` segments in all; the file and each 850's PO1 count."""
    w = Writer(Delimiters("*", ">", "~", "^"), newline="\n")
    base, extra = divmod(total - 4 - HEADER_SEGMENTS * orders, orders)  # 4: ISA, GS, GE, IEA
    per_order = [base + (1 if o < extra else 0) for o in range(orders)]
    sets = []
    for o, lines in enumerate(per_order):
        po = f"PO{o + 1:07d}"
        body = [
            w.segment("BEG", "00", "SA", po, "", "20260115"),
            w.segment("REF", "DP", "042"),
            w.segment("DTM", "002", "20260130"),
            w.segment("N1", "ST", f"STORE {o % 97}", "92", f"{1000 + o % 97}"),
            w.segment("N3", "100 MAIN ST"),
            w.segment("N4", "SPRINGFIELD", "IL", "62701", "US"),
        ]
        for i in range(lines):
            body.append(
                w.segment("PO1", str(i + 1), str(1 + i % 12), "EA", f"{3 + i % 50}.99", "", "UP",
                          f"0{12345678900 + i:011d}", "VP", f"SKU-{i:05d}")
            )
        body.append(w.segment("CTT", str(lines)))
        sets.append(SetSpec("850", o + 1, body))
    header = IsaHeader("ZZ", "BUYER", "ZZ", "SELLER", 1, WHEN, version="00401")
    segments = w.interchange(header, [GroupSpec("PO", "BUYER", "SELLER", 1, WHEN, sets)])
    assert len(segments) == total
    return w.write(segments), per_order


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="one tenth of the default size")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs; the median is reported")
    ap.add_argument("--profile", action="store_true", help="cProfile one run, top functions to stderr")
    ap.add_argument("--read-only", action="store_true", help="only the reader's figure")
    args = ap.parse_args()

    orders, n = (10, 5_000) if args.quick else (100, 50_000)
    data, per_order = build(orders, n)
    log(f"edi: {orders} × 850 with {min(per_order)}-{max(per_order)} PO1 each: {n} segments, {len(data):,} bytes")

    tm = read(data)  # warm-up, and proof the reader saw what was written
    sets = list(tm.sets())
    assert len(sets) == orders, f"read {len(sets)} sets, wrote {orders}"
    assert [len(s.all("PO1")) for s in sets] == per_order, "a PO1 line went missing"
    assert tm.segment_count() == n, f"read {tm.segment_count()} segments, wrote {n}"
    assert not errors(check(tm)), "the generated envelope is not sound"

    rates = []
    for i in range(args.repeat):
        t0 = time.perf_counter()
        read(data)
        elapsed = time.perf_counter() - t0
        rates.append(n / elapsed)
        log(f"  run {i + 1}: {elapsed * 1000:.1f} ms, {n / elapsed:,.0f} segments/s")
    if args.profile:
        prof = cProfile.Profile()
        prof.runcall(read, data)
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(12)
        log(out.getvalue())
    emit(bench="edi", metric="read_segments_per_s", value=round(median(rates), 1), unit="segments/s", n=n)
    if args.read_only:
        return

    text = data.decode("latin-1")
    t0 = time.perf_counter()
    validate(build(4, 400)[0].decode("latin-1"), parallel_from=0)
    log(f"  worker pool started and warm in {time.perf_counter() - t0:.2f} s (parallel from {PARALLEL_SEGMENTS:,} segments)")
    figures = {}
    for metric, workers in (("read_validate_sequential_segments_per_s", 1), ("read_validate_segments_per_s", None)):
        rates = []
        for i in range(args.repeat):
            t0 = time.perf_counter()
            read(data)
            report = validate(text, workers=workers)
            elapsed = time.perf_counter() - t0
            assert report.clean, report.findings()[:5]
            rates.append(n / elapsed)
            log(f"  validate ({'one process' if workers == 1 else 'default'}) run {i + 1}: {elapsed:.2f} s, {n / elapsed:,.0f} segments/s")
        figures[metric] = round(median(rates), 1)
    sequential, default = figures["read_validate_sequential_segments_per_s"], figures["read_validate_segments_per_s"]
    emit(bench="edi", metric="read_validate_sequential_segments_per_s", value=sequential, unit="segments/s", n=n)
    emit(bench="edi", metric="read_validate_segments_per_s", value=default, unit="segments/s", n=n,
         baseline=sequential, ratio=round(default / sequential, 2))

    rates = []
    for i in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            store = _fresh_store(Path(tmp) / "oms.db", max(per_order))
            t0 = time.perf_counter()
            result = receive_x12(store, data, source="bench.x12")
            elapsed = time.perf_counter() - t0
            assert result.state == "accepted", result.problems[:5]
            assert sum(s.status == "ingested" for ic in result.interchanges for s in ic.sets) == orders
            store.dispose()
        rates.append(n / elapsed)
        log(f"  pipeline run {i + 1}: {elapsed:.2f} s, {n / elapsed:,.0f} segments/s")
    emit(bench="edi", metric="pipeline_segments_per_s", value=round(median(rates), 1), unit="segments/s", n=n,
         store="sqlite", orders=orders)


def _fresh_store(path: Path, items: int) -> Store:
    """The buyer as a trading partner, every SKU the file names, stock for all of it."""
    store = open_store(f"sqlite:///{path}")
    upgrade(store)
    add_partner(store, "buyer", "Buyer", isa_qualifier="ZZ", isa_id="BUYER", gs_id="BUYER",
                our_isa_qualifier="ZZ", our_isa_id="SELLER", our_gs_id="SELLER")
    add_location(store, "DC", "DC", priority=1)
    add_skus(store, [NewSku(f"SKU-{i:05d}", f"Item {i}", 399, "USD") for i in range(items)])
    with store.write() as conn:
        for i in range(items):
            apply_movement(conn, sku_id(conn, f"SKU-{i:05d}"), location_id(conn, "DC"), 100_000, "receipt")
    return store


if __name__ == "__main__":
    main()
