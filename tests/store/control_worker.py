"""Takes ISA control numbers for one partner in many small transactions; prints them."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from store import open_store
from store.control import take_control_numbers


def main(url: str, partner: int, rounds: int, go: str) -> None:
    store = open_store(url)
    while not Path(go).exists():
        time.sleep(0.001)
    got: list[int] = []
    for i in range(rounds):
        got += store.run(lambda conn: take_control_numbers(conn, partner, "isa", 1 + i % 3))
    print(" ".join(map(str, got)))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
