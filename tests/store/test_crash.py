"""kill -9 in the middle of an import, ten times, then finish: every order exactly once."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from store import Store, check
from store.inventory import receive
from store.models import Order, OrderLine
from tests.jsonl import order_json, write_jsonl
from tests.store.helpers import count

pytestmark = pytest.mark.slow

ORDERS = 2000


def _oms(db_url: str, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "OMS_DATABASE_URL": db_url}
    return subprocess.Popen(
        [sys.executable, "-m", "oms", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def test_import_killed_ten_times_leaves_every_order_exactly_once(catalog: Store, db_url: str, tmp_path: Path) -> None:
    for sku in ("S1", "S2", "S3"):
        receive(catalog, sku, "A", 3000)
    path = write_jsonl(tmp_path / "orders.jsonl", [order_json(n) for n in range(ORDERS)])

    rng = random.Random(int(os.environ.get("OMS_CRASH_SEED", "0")) or None)
    progress = []
    for _ in range(10):
        proc = _oms(db_url, "import", "orders", str(path))
        # Kill at a random point: once a random share of the orders is in, plus a random delay.
        target = count(catalog, Order) + rng.randint(1, 400)
        while proc.poll() is None and count(catalog, Order) < min(target, ORDERS - 1):
            time.sleep(0.01)
        time.sleep(rng.uniform(0, 0.05))
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
        progress.append(count(catalog, Order))
        assert check(catalog).ok, "store inconsistent right after a kill"

    final = _oms(db_url, "import", "orders", str(path))
    out, err = final.communicate(timeout=300)
    assert final.returncode == 0, err
    assert count(catalog, Order) == ORDERS
    # No order is half there: every one has all three lines.
    assert count(catalog, OrderLine) == 3 * ORDERS
    assert check(catalog).ok
    # The kills really did interrupt work part-way at least once.
    assert any(0 < n < ORDERS for n in progress), progress
