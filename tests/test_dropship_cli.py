"""`oms dropship` and the gateway through the real entry point, as the README tells an operator
to use them: a PO to a vendor without EDI is listed and marked sent by hand; a PO to an EDI
vendor is not, and lands as an 850 in its mailbox folder after `oms gateway --once`; `send`
says where its 850 is and puts a dead one back; a cancelled PO the vendor may have says so."""

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
from store.outbox import claim, failed

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
    # The EDI vendor's PO is the gateway's to send: not marked sent by hand.
    by_hand = _oms(tmp_path, "dropship", "sent", "DS000002")
    assert by_hand.returncode == 2
    assert "DS000002: it is in the outbox for the gateway to send (dropship_po:2 pending)" in by_hand.stderr

    queued = _oms(tmp_path, "dropship", "send", "DS000002")
    assert (queued.returncode, queued.stdout) == (0, "DS000002: 850 queued for lampco (interchange 000000001)\n")
    waiting = _oms(tmp_path, "dropship", "send", "DS000002")
    assert waiting.stdout == "DS000002: its 850 is in the outbox (pending), waiting for the gateway\n"
    _gave_up(tmp_path)  # the dispatcher gave up on it: dead
    rearmed = _oms(tmp_path, "dropship", "send", "DS000002")
    assert (rearmed.returncode, rearmed.stdout) == (0, ("DS000002: its 850 had stopped (dead after 1 attempts: "
                                                        "MailboxError: connection refused); back in the outbox "
                                                        "(pending) for the gateway's next pass\n"))

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
    assert resend.returncode == 0 and resend.stdout.startswith("DS000002: its 850 was sent to lampco at ")

    # The customer cancels the order whose PO was mailed: the list says to tell the vendor.
    cancelled = _oms(tmp_path, "cancel", "P-1", "--reason", "customer asked")
    assert cancelled.returncode == 0, cancelled.stderr
    for ref in (["P-1", "--channel", "phone"], ["#1"]):
        shown = _oms(tmp_path, "dropship", "list", "--status", "cancelled", "--order", *ref)
        assert shown.returncode == 0, shown.stderr
        lines = shown.stdout.splitlines()
        assert lines[0].startswith("DS000001  cancelled    order P-1  location MAIL")
        assert lines[1] == "  tell the vendor: it may already have this PO, and nothing has told it of the cancellation"
        assert len(lines) == 4  # and its ship-to and line; DS000002 is not P-1's
    unknown = _oms(tmp_path, "dropship", "list", "--order", "P-1", "--channel", "web")
    assert unknown.returncode == 2 and "no order P-1 on channel web" in unknown.stderr


def _gave_up(home: Path) -> None:
    """The dispatcher's last attempt at the 850 failed: its row is dead."""
    store = open_store(f"sqlite:///{home / 'oms.db'}")
    [msg] = claim(store, kinds=["edi_850"])
    assert failed(store, msg.id, "MailboxError: connection refused", max_attempts=1) == "dead"
    store.dispose()
