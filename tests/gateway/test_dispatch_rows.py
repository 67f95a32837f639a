"""One outbox row the dispatcher cannot turn into its document (its shipment, order or PO gone,
a payload without what it should hold) fails on its own, with the reason, and the rows after
it still go: one bad row never stops a partner's EDI."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from gateway.daemon import Gateway
from gateway.dispatch import edi_for_cancellations, edi_for_shipments
from gateway.settings import GatewaySettings, MailboxSpec
from store import Address, CanonicalLine, CanonicalOrder, Store, ingest
from store.cancellations import cancel_units
from store.catalog import NewSku, add_channel, add_location, add_partner, add_skus
from store.inventory import receive
from store.journal import enqueue
from store.models import OutboxMessage
from store.shipping import ship
from tests.store.test_dropship import dropship_world, place


@pytest.fixture
def acme(store: Store) -> Store:
    add_partner(store, "acme", "ACME Retail", isa_qualifier="ZZ", isa_id="ACMERETAIL", gs_id="ACMERETAIL",
                our_isa_qualifier="ZZ", our_isa_id="WESELL", our_gs_id="WESELL")
    add_channel(store, "web", "Web shop", "cart")
    add_location(store, "DAL", "Dallas DC")
    add_skus(store, [NewSku("SKU1", "Thing 1", 1250, "USD")])
    receive(store, "SKU1", "DAL", 50)
    return store


def _order(store: Store, po: str) -> int:
    lines = (CanonicalLine("SKU1", 4, 1250, item_kind="vendor_part", line_ref="0010"),)
    ship_to = Address("ACME Store 12", "1 Main St", None, "Dallas", "TX", "75201", "US")
    [outcome] = ingest(store, [CanonicalOrder(channel="acme", external_id=po, currency="USD", lines=lines,
                                              ship_to=ship_to)]).outcomes
    assert outcome.order_id is not None and outcome.status == "allocated", outcome
    return outcome.order_id


def _poison(store: Store, kind: str, target: str, payload: dict[str, object]) -> None:
    """A row written before the good ones, so the dispatcher meets it first."""
    with store.write() as conn:
        enqueue(conn, kind, target, f"{kind}:poison", payload, None)


def _state(store: Store, key: str) -> tuple[str, str | None]:
    with store.read() as conn:
        row = conn.execute(select(OutboxMessage.state, OutboxMessage.last_error)
                           .where(OutboxMessage.idempotency_key == key)).one()
    return row.state, row.last_error


def _kinds(store: Store) -> list[str]:
    with store.read() as conn:
        return list(conn.execute(select(OutboxMessage.kind).where(OutboxMessage.kind.like("edi_%"))
                                 .order_by(OutboxMessage.id)).scalars())


def test_a_shipment_row_that_cannot_be_turned_does_not_stop_the_next(acme: Store) -> None:
    _poison(acme, "shipment_confirm", "acme", {"shipment_id": 999_999})
    oid = _order(acme, "PO-8001")
    ship(acme, oid, "DAL", carrier="UPS", tracking="1Z8001")
    assert edi_for_shipments(acme, ["acme"]) == 1
    assert _kinds(acme) == ["edi_856", "edi_810"]  # the good shipment's notice and invoice
    assert _state(acme, "shipment_confirm:poison") == ("failed", "NotFound: no shipment 999999")


def test_a_cancellation_row_that_cannot_be_turned_does_not_stop_the_next(acme: Store) -> None:
    _poison(acme, "order_cancel", "acme", {"order_id": 999_999})
    oid = _order(acme, "PO-8002")
    cancel_units(acme, oid, {1: 1}, reason="discontinued by the maker")
    assert edi_for_cancellations(acme, ["acme"]) == 1
    assert _kinds(acme) == ["edi_855"]
    assert _state(acme, "order_cancel:poison") == ("failed", "NotFound: no order 999999")


def test_a_dropship_row_that_cannot_be_turned_does_not_stop_the_vendors_850(store: Store, tmp_path: Path) -> None:
    world = dropship_world(store)
    _poison(store, "dropship_po", "vend", {"number": "DS999999"})  # no PO id in it
    place(store, "W-8003", ("S1", 1, 1999))  # routing orders DS000001 from vend
    for folder in ("in", "out"):
        (tmp_path / "vend" / folder).mkdir(parents=True)
    gw = Gateway(world.store, GatewaySettings(mailboxes=(MailboxSpec("vend", "folder", folder=tmp_path / "vend"),)),
                 holder="test")
    assert gw.run_once() == 0
    assert [p.name for p in (tmp_path / "vend" / "out").iterdir()] == ["850_000000001.x12"]
    assert _state(store, "dropship_po:poison") == ("failed", "KeyError: 'dropship_id'")
