"""Dropship POs through the gateway: what lands in the vendor's mailbox (a folder shared with
them), once; nothing for a PO cancelled before it went, nor while its order is on hold; an
alert when the vendor takes no 850."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select, update

from edi_maps import read
from edi_maps.outgoing import queue_850
from edi_maps.pyx12_validate import validate_outbound
from gateway.daemon import Gateway
from gateway.settings import GatewaySettings, MailboxSpec
from store import Store
from store.dropship import cancel_dropship, dropship_orders, order_from_vendor
from store.heartbeats import beats
from store.models import AuditEvent, DropshipOrder, OutboxMessage, TradingPartner
from store.orders import hold, release_hold
from store.types import utcnow
from tests.store.test_dropship import World, dropship_world, place


@pytest.fixture
def world(store: Store) -> World:
    return dropship_world(store)


@pytest.fixture
def mailbox(tmp_path: Path) -> Path:
    root = tmp_path / "vend"
    (root / "in").mkdir(parents=True)
    (root / "out").mkdir()
    return root


def _gateway(store: Store, mailbox: Path) -> Gateway:
    spec = MailboxSpec("vend", "folder", folder=mailbox)
    return Gateway(store, GatewaySettings(mailboxes=(spec,)), holder="test")


def _ordered(world: World, external_id: str) -> tuple[int, int]:
    oid = place(world.store, external_id, ("S1", 2, 1999), ("S2", 1, 500))
    return oid, world.store.run(lambda conn: order_from_vendor(conn, oid, world.drop, actor="routing"))


def _rows(store: Store) -> dict[str, tuple[str, str | None]]:
    """The dropship PO and 850 outbox rows: key -> (state, last error)."""
    with store.read() as conn:
        rows = conn.execute(select(OutboxMessage.idempotency_key, OutboxMessage.state, OutboxMessage.last_error)
                            .where(OutboxMessage.kind.in_(("dropship_po", "edi_850")))).all()
    return {key: (state, error) for key, state, error in rows}


def test_the_dispatcher_puts_a_valid_850_in_the_vendors_mailbox_once(world: World, mailbox: Path) -> None:
    store = world.store
    oid, did = _ordered(world, "W-2001")
    gw = _gateway(store, mailbox)
    assert gw.run_once() == 0
    [upload] = list((mailbox / "out").iterdir())
    assert upload.name == "850_000000001.x12"
    text = upload.read_text(encoding="latin-1")
    ok, why = validate_outbound(text)
    assert ok, why
    [ts] = list(read(upload.read_bytes()).sets())
    assert ts.first("BEG").get(3) == "DS000001"  # type: ignore[union-attr]
    assert [s.elements[5:7] for s in ts.all("PO1")] == [("VP", "V-100"), ("BP", "S2")]  # theirs, else our SKU
    with store.read() as conn:
        [po] = dropship_orders(conn, oid)
    assert po.status == "sent" and po.sent_at is not None
    assert _rows(store) == {f"dropship_po:{did}": ("sent", None), f"edi_850:{did}": ("sent", None)}
    [dispatcher] = [b for b in beats(store) if b.worker == "dispatcher"]
    assert dispatcher.detail == "sent 1, 1 dropship POs turned into 850"
    assert gw.run_once() == 0  # nothing new: nothing built or uploaded twice
    assert [p.name for p in (mailbox / "out").iterdir()] == ["850_000000001.x12"]


def test_a_po_cancelled_before_it_went_never_reaches_the_vendor(world: World, mailbox: Path) -> None:
    store = world.store
    first_oid, first = _ordered(world, "W-2002")
    second_oid, second = _ordered(world, "W-2003")
    assert queue_850(store, second).queued  # built, waiting for the dispatcher
    for oid in (first_oid, second_oid):
        store.run(lambda conn, oid=oid: cancel_dropship(conn, oid, actor="cs", reason="customer asked"))
    assert _gateway(store, mailbox).run_once() == 0
    assert list((mailbox / "out").iterdir()) == []
    rows = _rows(store)
    assert {key: state for key, (state, _) in rows.items()} == {
        f"dropship_po:{first}": "dead", f"dropship_po:{second}": "dead", f"edi_850:{second}": "dead"}
    assert rows[f"edi_850:{second}"][1] == "not sent: dropship PO DS000002 was cancelled (customer asked)"


def test_a_po_cancelled_while_the_dispatcher_held_its_row_stops_there(world: World, mailbox: Path) -> None:
    store = world.store
    _oid, did = _ordered(world, "W-2004")
    with store.write() as conn:  # as if the cancellation committed after the dispatcher claimed the row
        conn.execute(update(DropshipOrder).values(status="cancelled"))
    assert _gateway(store, mailbox).run_once() == 0
    assert list((mailbox / "out").iterdir()) == []
    assert _rows(store) == {f"dropship_po:{did}": ("dead", "dropship PO DS000001 is cancelled; nothing is ordered "
                                                           "from the vendor")}


def test_a_vendor_that_takes_no_850_leaves_the_po_open_with_an_alert(world: World, mailbox: Path) -> None:
    store = world.store
    with store.write() as conn:
        conn.execute(update(TradingPartner).values(config={"documents": ["997"]}))
    oid, did = _ordered(world, "W-2005")
    assert _gateway(store, mailbox).run_once() == 0
    assert list((mailbox / "out").iterdir()) == []
    with store.read() as conn:
        [po] = dropship_orders(conn, oid)
        alert = conn.execute(select(AuditEvent.detail).where(AuditEvent.action == "alert.850_not_exchanged")).scalar_one()
    assert po.status == "open"
    assert alert == {"partner": "vend", "detail": "dropship PO DS000001 stays open: partner vend does not exchange "
                                                  "850 (its documents setting)"}


def test_a_held_orders_po_waits_in_the_outbox_and_goes_when_the_hold_ends(world: World, mailbox: Path) -> None:
    store = world.store
    oid, did = _ordered(world, "W-2006")
    hold(store, oid, "card declined twice", kind="fraud")
    gw = _gateway(store, mailbox)
    assert gw.run_once() == 0
    assert list((mailbox / "out").iterdir()) == []
    assert _rows(store) == {f"dropship_po:{did}": (
        "failed", "dropship PO DS000001 waits for the hold on order W-2006 (fraud: card declined twice)")}
    release_hold(store, oid, reason="cleared by risk")
    with store.write() as conn:  # the row's retry delay has passed
        conn.execute(update(OutboxMessage).where(OutboxMessage.kind == "dropship_po").values(next_attempt_at=utcnow()))
    assert gw.run_once() == 0
    assert [p.name for p in (mailbox / "out").iterdir()] == ["850_000000001.x12"]
    assert _rows(store) == {f"dropship_po:{did}": ("sent", None), f"edi_850:{did}": ("sent", None)}


def test_an_850_built_before_the_hold_is_not_uploaded_while_it_lasts(world: World, mailbox: Path) -> None:
    store = world.store
    oid, did = _ordered(world, "W-2007")
    assert queue_850(store, did).queued  # built and waiting for the upload
    hold(store, oid, "address looks wrong", kind="address")
    gw = _gateway(store, mailbox)
    assert gw.run_once() == 0
    assert list((mailbox / "out").iterdir()) == []
    assert _rows(store)[f"edi_850:{did}"] == (
        "failed", "dropship PO DS000001 waits for the hold on order W-2007 (address: address looks wrong)")
    release_hold(store, oid, reason="customer confirmed")
    with store.write() as conn:  # the row's retry delay has passed
        conn.execute(update(OutboxMessage).where(OutboxMessage.kind == "edi_850").values(next_attempt_at=utcnow()))
    assert gw.run_once() == 0
    assert [p.name for p in (mailbox / "out").iterdir()] == ["850_000000001.x12"]
    with store.read() as conn:
        [po] = dropship_orders(conn, oid)
    assert po.status == "sent"
