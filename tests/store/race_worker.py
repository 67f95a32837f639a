"""One contender in the reservation race: waits for the start file, then ingests its
single-unit orders one per transaction and prints how many got stock."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from store import CanonicalLine, CanonicalOrder, ingest, open_store


def main(url: str, worker: int, attempts: int, go: str) -> None:
    store = open_store(url)
    while not Path(go).exists():
        time.sleep(0.001)
    got = 0
    for i in range(attempts):
        o = CanonicalOrder("web", f"race-{worker}-{i}", (CanonicalLine("S1", 1, 1000, item_kind="sku"),), "USD", version=1)
        outcome = ingest(store, [o]).outcomes[0]
        got += outcome.status == "allocated"
    print(got)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
