"""`oms return ...` as the returns desk runs it, against a real store (SQLite and PostgreSQL)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from store import Store, ingest
from store.fulfilment import ship_reserved
from store.inventory import receive
from store.models import OutboxMessage
from tests.factories import order
from tests.store.helpers import count, level


def _oms(home: Path, db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OMS_HOME": str(home), "OMS_DATABASE_URL": db_url, "USER": "dana"}
    return subprocess.run([sys.executable, "-m", "oms", *args], env=env, capture_output=True, text=True, timeout=300)


def test_a_return_from_authorisation_to_refund(catalog: Store, db_url: str, tmp_path: Path) -> None:
    receive(catalog, "S1", "A", 10)
    for channel in ("web", "amz"):  # the same external id on two channels
        oid = ingest(catalog, [order("W1", ("S1", 3), channel=channel)]).outcomes[0].order_id
        assert oid is not None
        ship_reserved(catalog, oid, carrier="UPS", tracking=f"1Z{channel}")

    def oms(*args: str) -> subprocess.CompletedProcess[str]:
        return _oms(tmp_path, db_url, "return", *args)

    proc = oms("authorise", "W1", "--line", "1:2:too small", "--refund", "12.50")
    assert proc.returncode == 2 and "order W1 is on several channels (amz, web); say which with --channel" in proc.stderr
    proc = oms("authorise", "W1", "--channel", "web", "--line", "1:4:too small")
    assert proc.returncode == 2 and "order W1 line 1 (S1): cannot return 4; 3 shipped" in proc.stderr
    proc = oms("authorise", "W1", "--channel", "web", "--line", "1:two:too small")
    assert proc.returncode == 2 and "quantity 'two' is not a whole number" in proc.stderr
    proc = oms("authorise", "W1", "--channel", "web", "--line", "1:2:too small", "--refund", "12.505")
    assert proc.returncode == 2 and "more decimals than USD has" in proc.stderr

    proc = oms("authorise", "W1", "--channel", "web", "--line", "1:2:too small: both pairs", "--refund", "12.50")
    assert proc.returncode == 0, proc.stderr
    assert "RMA-000001  authorised  order W1 on web" in proc.stdout
    assert "resolution: refund, refund 12.50 USD" in proc.stdout and "too small: both pairs" in proc.stdout

    a_before = level(catalog, "S1", "A")
    proc = oms("receive", "RMA-000001", "--location", "B", "--line", "1:2:opened")
    assert proc.returncode == 0, proc.stderr
    assert "RMA-000001  received" in proc.stdout and "received at B" in proc.stdout
    assert level(catalog, "S1", "A") == a_before and level(catalog, "S1", "B") == (0, 0)

    proc = oms("inspect", "1", "--line", "1", "--restock", "1", "--at", "A")
    assert proc.returncode == 0, proc.stderr
    assert level(catalog, "S1", "A") == (a_before[0] + 1, a_before[1])
    proc = oms("inspect", "1", "--line", "1", "--scrap", "2")
    assert proc.returncode == 2 and "restock 0 + scrap 2 is more than the 1 received units not yet inspected" in proc.stderr
    proc = oms("inspect", "1", "--line", "1", "--scrap", "1", "--condition", "damaged")
    assert proc.returncode == 0 and "RMA-000001  inspected" in proc.stdout
    assert level(catalog, "S1", "B") == (0, 0)

    proc = oms("resolve", "RMA-000001")
    assert proc.returncode == 0, proc.stderr
    assert "RMA-000001  closed" in proc.stdout
    assert count(catalog, OutboxMessage, OutboxMessage.kind == "refund", OutboxMessage.target == "web") == 1

    proc = oms("show", "rma-000001")
    assert proc.returncode == 0, proc.stderr
    row = next(line for line in proc.stdout.splitlines() if line.strip().startswith("1  S1"))
    assert row.split()[:6] == ["1", "S1", "2", "2", "1", "1"] and "restocked at A:1" in row
    proc = oms("list", "W1", "--channel", "amz")
    assert proc.returncode == 0 and "order W1 has no returns" in proc.stdout
    proc = oms("show", "RMA-000999")
    assert proc.returncode == 2 and "no return RMA-000999" in proc.stderr

    check = _oms(tmp_path, db_url, "check")
    assert check.returncode == 0 and "ok: levels equal the ledger" in check.stdout


def test_an_exchange_from_the_command_line(catalog: Store, db_url: str, tmp_path: Path) -> None:
    receive(catalog, "S1", "A", 5)
    receive(catalog, "S2", "B", 5)
    oid = ingest(catalog, [order("7001", ("S1", 1))]).outcomes[0].order_id
    assert oid is not None
    ship_reserved(catalog, oid, carrier="UPS", tracking="1Z7001")

    def oms(*args: str) -> subprocess.CompletedProcess[str]:
        return _oms(tmp_path, db_url, "return", *args)

    assert oms("authorise", "7001", "--line", "1:1:wrong size", "--resolution", "exchange").returncode == 0
    assert oms("receive", "1", "--location", "A", "--line", "1:1").returncode == 0
    assert oms("inspect", "1", "--line", "1", "--restock", "1").returncode == 0
    proc = oms("resolve", "1", "--item", "S2:1")
    assert proc.returncode == 0, proc.stderr
    assert "exchange order 7001-RMA-000001" in proc.stdout and ": allocated" in proc.stdout
    assert level(catalog, "S2", "B") == (5, 1)
    assert level(catalog, "S1", "A") == (5, 0)  # 5 in, 1 shipped, 1 restocked
    proc = oms("list", str(oid))  # the order's number works where no external id matches
    assert proc.returncode == 0 and "RMA-000001  closed" in proc.stdout


def test_resolve_with_only_an_amount_refunds_it(catalog: Store, db_url: str, tmp_path: Path) -> None:
    receive(catalog, "S1", "A", 5)
    oid = ingest(catalog, [order("8001", ("S1", 1))]).outcomes[0].order_id
    assert oid is not None
    ship_reserved(catalog, oid, carrier="UPS", tracking="1Z8001")

    def oms(*args: str) -> subprocess.CompletedProcess[str]:
        return _oms(tmp_path, db_url, "return", *args)

    assert oms("authorise", "8001", "--line", "1:1:changed mind").returncode == 0
    assert oms("receive", "1", "--location", "A", "--line", "1:1").returncode == 0
    assert oms("inspect", "1", "--line", "1", "--restock", "1").returncode == 0
    proc = oms("resolve", "1")
    assert proc.returncode == 2 and "say how to resolve it: --resolution refund|exchange|reship" in proc.stderr
    proc = oms("resolve", "1", "--refund", "7.50")
    assert proc.returncode == 0, proc.stderr
    assert "RMA-000001  closed" in proc.stdout and "refund 7.50 USD" in proc.stdout
    assert count(catalog, OutboxMessage, OutboxMessage.kind == "refund") == 1
