"""The `oms` command as a user runs it, in a fresh data directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import update

from store import open_store
from store.models import StockLevel


def _oms(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "OMS_DATABASE_URL"}
    env["OMS_HOME"] = str(home)
    return subprocess.run([sys.executable, "-m", "oms", *args], env=env, capture_output=True, text=True, timeout=600)


def test_check_before_init_says_what_to_do(tmp_path: Path) -> None:
    proc = _oms(tmp_path, "check")
    assert proc.returncode == 1
    assert "run `oms init` first" in proc.stderr


def test_init_creates_store_and_a_commented_config(tmp_path: Path) -> None:
    proc = _oms(tmp_path, "init")
    assert proc.returncode == 0, proc.stderr
    config = (tmp_path / "oms.toml").read_text()
    assert config.startswith("# oms configuration")
    assert (tmp_path / "oms.db").exists()
    assert _oms(tmp_path, "init").returncode == 0  # idempotent


def test_demo_seeds_every_state_and_checks_clean_then_check_catches_damage(tmp_path: Path) -> None:
    proc = _oms(tmp_path, "demo", "--no-tui", "--orders", "600", "--skus", "80")
    assert proc.returncode == 0, proc.stderr
    assert "seeded 600 orders over 80 SKUs" in proc.stderr
    for status in ("allocated", "backordered", "on_hold", "cancelled", "shipped", "closed", "received"):
        assert f"  {status}" in proc.stderr
    ok = _oms(tmp_path, "check")
    assert ok.returncode == 0 and "ok: levels equal the ledger" in ok.stdout
    # A second demo run does not seed twice.
    assert "already holds 600 orders" in _oms(tmp_path, "demo", "--no-tui").stderr

    store = open_store(f"sqlite:///{tmp_path / 'oms.db'}")
    with store.write() as conn:
        conn.execute(update(StockLevel).where(StockLevel.on_hand > 5).values(on_hand=StockLevel.on_hand + 1))
    store.dispose()
    bad = _oms(tmp_path, "check")
    assert bad.returncode == 1
    assert "on_hand != ledger" in bad.stderr and "movements sum to" in bad.stderr


def test_store_url_from_oms_toml_is_used(tmp_path: Path) -> None:
    assert _oms(tmp_path, "init").returncode == 0
    elsewhere = tmp_path / "elsewhere.db"
    config = tmp_path / "oms.toml"
    config.write_text(config.read_text().replace('# url = "postgresql+psycopg://oms@db.internal/oms"', f'url = "sqlite:///{elsewhere}"'))
    proc = _oms(tmp_path, "init")
    assert proc.returncode == 0, proc.stderr
    assert str(elsewhere) in proc.stdout and elsewhere.exists()
    config.write_text("[store\nurl = 1")
    broken = _oms(tmp_path, "check")
    assert broken.returncode == 2 and "oms.toml is not valid TOML" in broken.stderr


def test_the_demo_partner_sends_850s_that_arrive_and_are_acknowledged(tmp_path: Path) -> None:
    proc = _oms(tmp_path, "demo", "--no-tui", "--orders", "200", "--skus", "80", "--gateway-seconds", "4")
    assert proc.returncode == 0, proc.stderr
    arrived = int(proc.stdout.split("gateway: ")[1].split()[0])
    assert arrived >= 1
    mailbox = tmp_path / "mailboxes" / "acme-retail"
    assert len(list((mailbox / "in" / "archive").iterdir())) >= 1
    assert len(list((mailbox / "out").glob("997_*.x12"))) >= 1
