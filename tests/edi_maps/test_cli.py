"""`oms edi check | show | ingest` as an EDI analyst runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from store import Store
from store.catalog import add_partner
from tests.edi_maps.x12text import interchange, order
from tests.store.helpers import order_row


def _oms(*args: str, db_url: str | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if db_url:
        env["OMS_DATABASE_URL"] = db_url
    return subprocess.run([sys.executable, "-m", "oms", "edi", *args], env=env, capture_output=True, text=True, timeout=300)


def test_check_says_ok_for_a_sound_file_and_names_the_fault_of_a_broken_one(tmp_path: Path) -> None:
    good = tmp_path / "good.x12"
    good.write_text(interchange(order("PO-1", 2)))
    bad = tmp_path / "bad.x12"
    bad.write_text(interchange(order("PO-2", 2, se01=40)))
    proc = _oms("check", str(good))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "ST 850 0001: 7 segments, AK5 A" in proc.stdout and "=> ok" in proc.stdout
    proc = _oms("check", str(good), str(bad))
    assert proc.returncode == 1
    assert "error (AK5 4): SE01 says 40 but 7 segments from ST to SE were counted" in proc.stdout
    # ...and shows the 997 that would go back, rejecting that set with the same code.
    assert "AK2*850*0001~" in proc.stdout and "AK5*R*4~" in proc.stdout


def test_show_names_the_elements(tmp_path: Path) -> None:
    f = tmp_path / "po.x12"
    f.write_text(interchange(order("PO-77", 1)))
    proc = _oms("show", str(f))
    assert proc.returncode == 0, proc.stderr
    assert "BEG03 'PO-77'  Purchase Order Number" in proc.stdout
    assert "PO102 '2'  Quantity Ordered" in proc.stdout


def test_ingest_takes_the_850_in_and_a_second_run_does_nothing(store: Store, db_url: str, tmp_path: Path) -> None:
    add_partner(store, "acme", "ACME", isa_qualifier="ZZ", isa_id="SENDER", gs_id="SENDER",
                our_isa_qualifier="ZZ", our_isa_id="RECEIVER", our_gs_id="RECEIVER")
    f = tmp_path / "po.x12"
    f.write_text(interchange(order("PO-5", 1)))
    proc = _oms("ingest", str(f), db_url=db_url)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "ST 850 0001: PO PO-5 ingested" in proc.stdout
    assert order_row(store, "PO-5").exception == "unknown_item"  # SKU1 is not in this store's catalog
    again = _oms("ingest", str(f), db_url=db_url)
    assert again.returncode == 0 and "already received" in again.stdout
