"""`oms route` as an admin runs it: rules in oms.toml, a replay against other rules, an order explained."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

from store import open_store
from store.catalog import NewSku, add_skus
from store.inventory import receive
from tests.jsonl import order_json, write_jsonl

CONFIG = """
[[locations]]
code = "DAL"
name = "Dallas DC"
priority = 1
latitude = 32.78
longitude = -96.80
cost_per_order_minor = 400

[[locations]]
code = "RNO"
name = "Reno DC"
priority = 2
latitude = 39.53
longitude = -119.81
cost_per_order_minor = 250

[[channels]]
code = "web"
name = "Web shop"
kind = "cart"

[routing]
[routing.region_coordinates]
"US-TX" = [31.0, -99.0]

[[routing.rules]]
name = "nearest"
sort = ["distance"]
"""

CHEAPEST = """
[[routing.rules]]
name = "cheapest"
sort = ["cost"]
"""


def _oms(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "OMS_DATABASE_URL"}
    env["OMS_HOME"] = str(home)
    return subprocess.run([sys.executable, "-m", "oms", *args], env=env, capture_output=True, text=True, timeout=600)


def test_route_dry_run_replays_and_explain_says_why(tmp_path: Path) -> None:
    (tmp_path / "oms.toml").write_text(CONFIG)
    init = _oms(tmp_path, "init")
    assert init.returncode == 0, init.stderr
    assert "configured routing rules" in init.stdout
    store = open_store(f"sqlite:///{tmp_path / 'oms.db'}")
    add_skus(store, [NewSku(s, s) for s in ("S1", "S2", "S3")])
    for s in ("S1", "S2", "S3"):
        receive(store, s, "DAL", 50)
        receive(store, s, "RNO", 50)
    store.dispose()
    write_jsonl(tmp_path / "orders.jsonl", [order_json(n) for n in range(10)])  # shipping to Texas
    assert _oms(tmp_path, "import", "orders", str(tmp_path / "orders.jsonl")).returncode == 0
    today = dt.date.today().isoformat()

    same = _oms(tmp_path, "route", "--dry-run", "--since", today)
    assert same.returncode == 0, same.stderr
    assert "replayed 10 orders" in same.stdout and "unchanged: 10   changed: 0" in same.stdout

    (tmp_path / "cheapest.toml").write_text(CHEAPEST)
    other = _oms(tmp_path, "route", "--dry-run", "--since", today, "--rules", str(tmp_path / "cheapest.toml"))
    assert other.returncode == 0, other.stderr
    assert "unchanged: 0   changed: 10" in other.stdout
    assert "web/J00000: allocated: 1 DAL x1, 2 DAL x2, 3 DAL x3  ->  allocated: 1 RNO x1, 2 RNO x2, 3 RNO x3" \
        in other.stdout
    assert "cost 4.00 -> 2.50" in other.stdout

    why = _oms(tmp_path, "route", "--explain", "J00000")
    assert why.returncode == 0, why.stderr
    assert "allocated by rule 'nearest'" in why.stdout
    assert "DAL: #1" in why.stdout and "RNO: #2" in why.stdout
    assert "reserved: line 1 x1 at DAL" in why.stdout


def test_bad_rules_exit_2_naming_the_key(tmp_path: Path) -> None:
    (tmp_path / "oms.toml").write_text(CONFIG)
    assert _oms(tmp_path, "init").returncode == 0
    (tmp_path / "bad.toml").write_text('[[routing.rules]]\nname = "x"\nsort = ["closest"]\n')
    bad = _oms(tmp_path, "route", "--dry-run", "--since", "2026-01-01", "--rules", str(tmp_path / "bad.toml"))
    assert bad.returncode == 2
    assert "routing.rules[1] (x).sort[1]: String should match pattern" in bad.stderr
    broken = CONFIG.replace('sort = ["distance"]', 'sort = ["distance"]\nsplit_lines = true')
    (tmp_path / "oms.toml").write_text(broken)
    init = _oms(tmp_path, "init")
    assert init.returncode == 2 and "split_lines needs split = true" in init.stderr
    assert _oms(tmp_path, "route", "--since", "2026-01-01").returncode == 2  # no --dry-run: a usage error


def test_route_again_takes_an_order_out_of_the_unroutable_queue(tmp_path: Path) -> None:
    (tmp_path / "oms.toml").write_text(CONFIG.replace('[routing]\n', '[routing]\nfallback = "unroutable"\n')
                                       .replace('sort = ["distance"]', 'sort = ["distance"]\nlocations = { codes = ["RNO"] }'))
    assert _oms(tmp_path, "init").returncode == 0
    store = open_store(f"sqlite:///{tmp_path / 'oms.db'}")
    add_skus(store, [NewSku(s, s) for s in ("S1", "S2", "S3")])
    for s in ("S1", "S2", "S3"):
        receive(store, s, "DAL", 50)  # only at DAL, and the rule takes RNO alone
    store.dispose()
    write_jsonl(tmp_path / "orders.jsonl", [order_json(1)])
    assert _oms(tmp_path, "import", "orders", str(tmp_path / "orders.jsonl")).returncode == 0
    (tmp_path / "oms.toml").write_text(CONFIG)  # the admin widens the rule
    assert _oms(tmp_path, "init").returncode == 0
    again = _oms(tmp_path, "route", "--again", "J00001")
    assert again.returncode == 0, again.stderr
    assert "J00001: allocated" in again.stdout
    assert "operator: allocated by rule 'nearest'" in again.stdout
    store = open_store(f"sqlite:///{tmp_path / 'oms.db'}")
    with store.read() as conn:
        from sqlalchemy import select

        from store.models import Order

        assert conn.execute(select(Order.exception).where(Order.external_id == "J00001")).scalar_one() is None
    store.dispose()
