"""The gateway against a real OpenSSH sshd: what a trading partner sees in its mailbox."""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from edi_maps import read
from edi_maps.pyx12_validate import validate_outbound
from gateway.daemon import Gateway
from gateway.settings import GatewaySettings, MailboxSpec
from store import Store
from store.catalog import NewSku, add_location, add_partner, add_skus
from store.fulfilment import ship_reserved
from store.inventory import receive
from store.models import AuditEvent, Document, Order, OrderLine
from tests.edi_maps.x12text import interchange, order
from tests.sshd import SshServer, SshServers, sshd_factory  # noqa: F401  (fixture)

PARTNER = "acme"


@pytest.fixture
def stocked(store: Store) -> Store:
    add_partner(store, PARTNER, "ACME Retail", isa_qualifier="ZZ", isa_id="SENDER", gs_id="SENDER",
                our_isa_qualifier="ZZ", our_isa_id="RECEIVER", our_gs_id="RECEIVER")
    add_location(store, "DAL", "Dallas", priority=1)
    add_skus(store, [NewSku(f"SKU{i}", f"Thing {i}", 999, "USD") for i in range(1, 6)])
    for i in range(1, 6):
        receive(store, f"SKU{i}", "DAL", 10_000)
    return store


@pytest.fixture
def server(sshd_factory: SshServers) -> SshServer:
    return sshd_factory.start(PARTNER)


def _gateway(store: Store, server: SshServer, *, retries: int = 3) -> Gateway:
    spec = MailboxSpec(PARTNER, "sftp", sftp=server.settings, poll_seconds=0.2)
    settings = GatewaySettings(mailboxes=(spec,), dispatch_seconds=0.2, backoff_seconds=0.05, retries=retries)
    return Gateway(store, settings, holder="test")


def _drop(server: SshServer, name: str, text: str) -> None:
    (server.root / "in" / name).write_text(text)


def _po(n: int, lines: int = 2) -> str:
    return interchange(order(f"PO-{n}", lines), control=f"{n:09d}")


def _count(store: Store, model: object, *where: object) -> int:
    with store.read() as conn:
        return int(conn.execute(select(func.count()).select_from(model).where(*where)).scalar_one())  # type: ignore[arg-type]


def _out(server: SshServer, prefix: str) -> list[Path]:
    return sorted(p for p in (server.root / "out").iterdir() if p.name.startswith(prefix))


def test_850s_become_orders_and_997s_come_back(stocked: Store, server: SshServer) -> None:
    for n in range(1, 4):
        _drop(server, f"po{n}.x12", _po(n))
    gw = _gateway(stocked, server)
    assert gw.run_once() == 0
    assert _count(stocked, Order) == 3
    assert sorted(p.name for p in (server.root / "in" / "archive").iterdir()) == ["po1.x12", "po2.x12", "po3.x12"]
    assert [p.name for p in (server.root / "in").iterdir() if p.is_file()] == []
    acks = _out(server, "997_")
    assert len(acks) == 3
    for ack in acks:
        ok, why = validate_outbound(ack.read_text(encoding="latin-1"))
        assert ok, why
    assert gw.run_once() == 0  # nothing new: nothing taken, nothing sent twice
    assert (_count(stocked, Order), len(_out(server, "997_"))) == (3, 3)


def test_a_shipment_puts_a_valid_856_and_810_in_the_partners_mailbox(stocked: Store, server: SshServer) -> None:
    _drop(server, "po1.x12", _po(1, lines=3))
    gw = _gateway(stocked, server)
    gw.run_once()
    with stocked.read() as conn:
        oid = conn.execute(select(Order.id)).scalar_one()
    ship_reserved(stocked, oid, carrier="UPSN", tracking="1Z999")
    gw.run_once()
    [asn] = _out(server, "856_")
    [invoice] = _out(server, "810_")
    for doc in (asn, invoice):
        text = doc.read_text(encoding="latin-1")
        ok, why = validate_outbound(text)
        assert ok, why
    [ts] = list(read(asn.read_bytes()).sets())
    assert ts.first("PRF") is not None and ts.first("PRF").get(1) == "PO-1"  # type: ignore[union-attr]
    assert [s.get(1) for s in ts.all("LIN")] == ["1", "2", "3"]  # the partner's PO1 line ids
    [inv] = list(read(invoice.read_bytes()).sets())
    assert inv.first("BIG") is not None and inv.first("BIG").get(4) == "PO-1"  # type: ignore[union-attr]


def test_fifty_files_dropped_at_once_are_each_taken_once(stocked: Store, server: SshServer) -> None:
    for n in range(1, 51):
        _drop(server, f"po{n:02d}.x12", _po(n, lines=1))
    assert _gateway(stocked, server).run_once() == 0
    assert (_count(stocked, Order), _count(stocked, Document)) == (50, 50)
    assert len(list((server.root / "in" / "archive").iterdir())) == 50
    assert len(_out(server, "997_")) == 50


def test_a_changed_host_key_is_refused_and_nothing_is_downloaded(stocked: Store, server: SshServer) -> None:
    _drop(server, "po1.x12", _po(1))
    server.restart(new_host_key=True)  # the partner's server was replaced, or someone is in between
    gw = _gateway(stocked, server)
    assert gw.run_once() == 1
    assert (_count(stocked, Document), _count(stocked, Order)) == (0, 0)
    assert (server.root / "in" / "po1.x12").exists()
    with stocked.read() as conn:
        alerts = conn.execute(select(AuditEvent.detail).where(AuditEvent.action == "alert.host_key_refused")).all()
    assert len(alerts) == 1 and PARTNER in str(alerts[0])


def test_sshd_killed_mid_download_then_restarted_loses_and_doubles_nothing(stocked: Store, server: SshServer) -> None:
    # One big PO (a few MB) so the transfer is under way when the server dies; small ones around it.
    _drop(server, "a_small.x12", _po(1))
    _drop(server, "b_big.x12", _po(2, lines=60_000))
    _drop(server, "c_small.x12", _po(3))
    gw = _gateway(stocked, server, retries=1)
    killed = threading.Event()

    def kill_when_reading() -> None:
        while not killed.is_set():
            if "b_big.x12" in server.log():  # sftp-server logs the open of the file being read
                server.kill()
                killed.set()
                return
            threading.Event().wait(0.005)

    watcher = threading.Thread(target=kill_when_reading)
    watcher.start()
    gw.run_once()
    killed.set()
    watcher.join()
    server.restart()
    assert gw.run_once() == 0
    assert _count(stocked, Order) == 3
    with stocked.read() as conn:
        big = conn.execute(select(Order.id).where(Order.external_id == "PO-2")).scalar_one()
    assert _count(stocked, OrderLine, OrderLine.order_id == big) == 60_000
    assert _count(stocked, Document) == 3
    assert len(list((server.root / "in" / "archive").iterdir())) == 3
    assert len(_out(server, "997_")) == 3


def test_sshd_killed_mid_upload_then_restarted_delivers_each_file_once(stocked: Store, server: SshServer) -> None:
    for n in range(1, 21):
        _drop(server, f"po{n:02d}.x12", _po(n, lines=1))
    gw = _gateway(stocked, server, retries=1)
    # Take the files in without sending: the 997s wait in the outbox.
    from gateway.partners import poll_partner

    poll_partner(stocked, gw.settings.mailboxes[0])
    killed = threading.Event()

    def kill_after_some_uploads() -> None:
        while not killed.is_set():
            if server.log().count("997_") >= 5:  # a few uploads under way or done
                server.kill()
                killed.set()
                return
            threading.Event().wait(0.002)

    watcher = threading.Thread(target=kill_after_some_uploads)
    watcher.start()
    gw.run_once()
    killed.set()
    watcher.join()
    server.restart()
    assert gw.run_once() == 0
    finals = _out(server, "997_")
    assert len(finals) == 20 and len({p.name for p in finals}) == 20
    assert [p.name for p in (server.root / "out").iterdir() if p.name.startswith(".")] == []  # no temp left
    for p in finals:
        ok, why = validate_outbound(p.read_text(encoding="latin-1"))
        assert ok, (p.name, why)


def test_two_gateways_on_one_store_never_poll_a_partner_at_once(stocked: Store, server: SshServer) -> None:
    first = Gateway(stocked, GatewaySettings(mailboxes=(MailboxSpec(PARTNER, "sftp", sftp=server.settings),),
                                             lease_seconds=300), holder="host-a:1")
    second = Gateway(stocked, GatewaySettings(mailboxes=(MailboxSpec(PARTNER, "sftp", sftp=server.settings),),
                                              lease_seconds=300), holder="host-b:2")
    _drop(server, "po1.x12", _po(1))
    assert first.run_once() == 0
    _drop(server, "po2.x12", _po(2))
    assert second.run_once() == 0  # the lease is first's: second stands by
    assert _count(stocked, Order) == 1
    assert first.run_once() == 0
    assert _count(stocked, Order) == 2


def test_a_wrong_password_is_refused_without_showing_it(stocked: Store, server: SshServer) -> None:
    settings = dataclasses.replace(server.settings, key_file=None, password="s3cret-not-the-one")
    gw = Gateway(stocked, GatewaySettings(mailboxes=(MailboxSpec(PARTNER, "sftp", sftp=settings),), retries=1))
    assert gw.run_once() == 1
    from store.heartbeats import beats

    [hb] = [b for b in beats(stocked) if b.worker == f"partner:{PARTNER}"]
    assert hb.state == "failing" and "s3cret" not in (hb.detail or "")
