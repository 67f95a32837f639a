"""`oms dropship` and the gateway through the real entry point, as the README tells an operator
to use them: a PO to a vendor without EDI is listed and marked sent by hand; a PO to an EDI
vendor lands as an 850 in its mailbox folder after `oms gateway --once`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from edi_maps import read
from edi_maps.pyx12_validate import validate_outbound
from store import Address, CanonicalLine, CanonicalOrder, ingest, open_store
from store.catalog import NewSku, add_skus, location_id
from store.dropship import order_from_vendor
from store.inventory import receive

CONFIG = """
[[locations]]
code = "LAMPS"
name = "Lamp Co (dropship)"
kind = "dropship"
vendor = "lampco"

[[locations]]
code = "MAIL"
name = "Mail-order vendor"
kind = "dropship"

[[channels]]
code = "web"
name = "Web shop"
kind = "cart"
locations = ["LAMPS"]

[[channels]]
code = "phone"
name = "Phone orders"
kind = "manual"
locations = ["MAIL"]

[[partners]]
code = "lampco"
name = "Lamp Co"
isa_qualifier = "ZZ"
isa_id = "LAMPCO"
gs_id = "LAMPCO"
our_isa_qualifier = "ZZ"
our_isa_id = "US"
our_gs_id = "US"
documents = ["997", "850"]

[partners.mailbox]
transport = "folder"
path = "lampco"

[gateway.schedules]
stock_advice = "off"
"""


def _oms(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("OMS_DATABASE_URL", "OMS_CONFIG")}
    env["OMS_HOME"] = str(home)
    return subprocess.run([sys.executable, "-m", "oms", *args], env=env, capture_output=True, text=True, timeout=300)


def _routed(home: Path) -> None:
    """What routing will do: an order per channel, reserved at its vendor's location and ordered."""
    store = open_store(f"sqlite:///{home / 'oms.db'}")
    add_skus(store, [NewSku("LAMP-1", "Desk lamp", 4500, "USD")])
    for loc in ("LAMPS", "MAIL"):
        receive(store, "LAMP-1", loc, 10)
    ship_to = Address("Jane Doe", "12 Elm St", None, "Springfield", "IL", "62701", "US")
    for channel, external_id, loc in (("phone", "P-1", "MAIL"), ("web", "W-1", "LAMPS")):
        [out] = ingest(store, [CanonicalOrder(channel, external_id, (CanonicalLine("LAMP-1", 2, 4500, item_kind="sku"),),
                                              "USD", version=1, ship_to=ship_to)]).outcomes
        assert out.order_id is not None and out.status == "allocated", out
        oid = out.order_id
        store.run(lambda conn, oid=oid, loc=loc: order_from_vendor(conn, oid, location_id(conn, loc), actor="routing"))
    store.dispose()


def test_an_operator_sends_a_po_by_hand_and_the_gateway_sends_the_edi_vendors(tmp_path: Path) -> None:
    (tmp_path / "oms.toml").write_text(CONFIG)
    for folder in ("in", "out"):
        (tmp_path / "lampco" / folder).mkdir(parents=True)
    assert _oms(tmp_path, "init").returncode == 0
    _routed(tmp_path)

    listed = _oms(tmp_path, "dropship", "list", "--status", "all")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].startswith("DS000001  open         order P-1  location MAIL (no EDI: send it yourself")
    assert lines[1] == "  ship to: Jane Doe, 12 Elm St, Springfield IL 62701 US"
    assert lines[2] == "  line   1  LAMP-1               x 2"
    assert lines[3].startswith("DS000002  open         order W-1  location LAMPS (EDI partner lampco)")

    done = _oms(tmp_path, "dropship", "sent", "DS000001")
    assert (done.returncode, done.stdout) == (0, "DS000001 sent\n")
    again = _oms(tmp_path, "dropship", "sent", "DS000001")
    assert again.returncode == 2 and "DS000001 is sent; only an open PO can be marked sent" in again.stderr
    assert _oms(tmp_path, "dropship", "sent", "DS999").returncode == 2
    edi = _oms(tmp_path, "dropship", "send", "DS000001")
    assert edi.returncode == 2 and "location MAIL has no EDI vendor" in edi.stderr

    gateway = _oms(tmp_path, "gateway", "--once")
    assert gateway.returncode == 0, gateway.stderr
    [upload] = list((tmp_path / "lampco" / "out").iterdir())
    assert upload.name == "850_000000001.x12"
    ok, why = validate_outbound(upload.read_text(encoding="latin-1"))
    assert ok, why
    [ts] = list(read(upload.read_bytes()).sets())
    assert ts.first("BEG").elements[:3] == ("00", "DS", "DS000002")  # type: ignore[union-attr]
    left = _oms(tmp_path, "dropship", "list")
    assert left.stdout == "no open dropship POs\n"
    resend = _oms(tmp_path, "dropship", "send", "DS000002")
    assert (resend.returncode, resend.stdout) == (0, "DS000002: its 850 is already in the outbox\n")
