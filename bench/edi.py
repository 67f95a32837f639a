"""Segments per second through the X12 reader, on a generated file of 850 purchase orders.

    .venv/bin/python bench/edi.py [--quick] [--repeat N] [--profile]

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
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import emit, log, median  # noqa: E402

from edi_maps import Delimiters, GroupSpec, IsaHeader, SetSpec, Writer, check, errors, read  # noqa: E402

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


if __name__ == "__main__":
    main()
