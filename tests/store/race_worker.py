"""One contender in the reservation race: waits for the start file, then ingests its
single-unit orders one per transaction and prints how many got stock."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from store import CanonicalLine, CanonicalOrder, ingest, open_store


def main(url: str, worker: int, attempts: int, go: str, mode: str) -> None:
    """Modes: `own` (each worker its own orders, one per transaction); `shared` (every
    worker delivers the same orders, as a duplicate delivery to several gateways would);
    `cross` (two-line orders whose lines lock S1 and S2 in opposite order in odd and even
    workers, so their transactions can deadlock)."""
    shared = mode == "shared"
    lines = (CanonicalLine("S1", 1, 1000, item_kind="sku"),)
    if mode == "cross":
        lines = (CanonicalLine("S1", 1, 1000, item_kind="sku"), CanonicalLine("S2", 1, 1000, item_kind="sku"))
        lines = lines[::-1] if worker % 2 else lines
    step = 1 if mode == "own" else 25
    store = open_store(url)
    while not Path(go).exists():
        time.sleep(0.001)
    orders = [
        CanonicalOrder(
            "web", f"race-{i}" if shared else f"race-{worker}-{i}",
            lines, "USD", version=1,
        )
        for i in range(attempts)
    ]
    got = created = 0
    for start in range(0, attempts, step):
        for outcome in ingest(store, orders[start : start + step]).outcomes:
            got += outcome.status == "allocated" and outcome.action == "created"
            created += outcome.action == "created"
    print(got, created)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5])
