"""8 processes race for the last 100 units of one SKU: exactly 100 win, nothing oversells."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from store import Store, check, open_store
from store.inventory import receive
from store.models import Order
from tests.store.helpers import count, level

pytestmark = pytest.mark.slow

WORKERS, ATTEMPTS, UNITS = 8, 125, 100


def test_concurrent_reservations_never_oversell(catalog: Store, db_url: str, tmp_path: Path) -> None:
    receive(catalog, "S1", "A", UNITS)
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.store.race_worker", db_url, str(w), str(ATTEMPTS), str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=Path(__file__).resolve().parents[2],
        )
        for w in range(WORKERS)
    ]
    # Watch the level while the race runs: available stock must never go below zero.
    seen: list[tuple[int, int]] = []
    done = threading.Event()
    watcher_store = open_store(db_url)

    def watch() -> None:
        while not done.is_set():
            seen.append(level(watcher_store, "S1", "A"))

    t = threading.Thread(target=watch)
    t.start()
    go.touch()
    outputs = [p.communicate(timeout=300) for p in procs]
    done.set()
    t.join()
    watcher_store.dispose()
    for p, (out, err) in zip(procs, outputs):
        assert p.returncode == 0, err
    won = sum(int(out.strip()) for out, _ in outputs)

    assert won == UNITS
    assert count(catalog, Order, Order.status == "allocated") == UNITS
    assert count(catalog, Order, Order.status == "backordered") == WORKERS * ATTEMPTS - UNITS
    assert level(catalog, "S1", "A") == (UNITS, UNITS)
    assert seen and all(0 <= reserved <= on_hand for on_hand, reserved in seen)
    assert check(catalog).ok
