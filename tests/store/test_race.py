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


def _start(db_url: str, go: Path, workers: int, attempts: int, *extra: str) -> list[subprocess.Popen[str]]:
    return [
        subprocess.Popen(
            [sys.executable, "-m", "tests.store.race_worker", db_url, str(w), str(attempts), str(go), *extra],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=Path(__file__).resolve().parents[2],
        )
        for w in range(workers)
    ]


def _results(procs: list[subprocess.Popen[str]]) -> list[tuple[int, int]]:
    results = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        won, created = out.split()
        results.append((int(won), int(created)))
    return results


def test_concurrent_reservations_never_oversell(catalog: Store, db_url: str, tmp_path: Path) -> None:
    receive(catalog, "S1", "A", UNITS)
    go = tmp_path / "go"
    procs = _start(db_url, go, WORKERS, ATTEMPTS, "own")
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
    results = _results(procs)
    done.set()
    t.join()
    watcher_store.dispose()
    won = sum(w for w, _ in results)

    assert won == UNITS
    assert count(catalog, Order, Order.status == "allocated") == UNITS
    assert count(catalog, Order, Order.status == "backordered") == WORKERS * ATTEMPTS - UNITS
    assert level(catalog, "S1", "A") == (UNITS, UNITS)
    assert seen and all(0 <= reserved <= on_hand for on_hand, reserved in seen)
    assert check(catalog).ok


def test_same_orders_delivered_to_four_processes_at_once_go_in_once(catalog: Store, db_url: str, tmp_path: Path) -> None:
    receive(catalog, "S1", "A", 1000)
    go = tmp_path / "go"
    procs = _start(db_url, go, 4, 200, "shared")
    go.touch()
    results = _results(procs)
    assert sum(created for _, created in results) == 200
    assert count(catalog, Order) == 200
    assert level(catalog, "S1", "A") == (1000, 200)
    assert check(catalog).ok


def test_orders_locking_stock_in_opposite_order_all_go_in(catalog: Store, db_url: str, tmp_path: Path) -> None:
    """Deadlocks between writers are retried, not lost."""
    receive(catalog, "S1", "A", 1000)
    receive(catalog, "S2", "A", 1000)
    go = tmp_path / "go"
    procs = _start(db_url, go, 4, 150, "cross")
    go.touch()
    results = _results(procs)
    assert sum(won for won, _ in results) == 600
    assert level(catalog, "S1", "A") == (1000, 600)
    assert level(catalog, "S2", "A") == (1000, 600)
    assert check(catalog).ok
