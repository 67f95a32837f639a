"""A cancellation on an EDI partner's order reaches the partner as an 855 showing the cancelled
lines; a partner that takes no 855 and a marketplace order get none."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select, update

from edi_maps import read
from edi_maps.outgoing import queue_855
from edi_maps.pyx12_validate import validate_outbound
from gateway.dispatch import edi_for_cancellations
from store import CanonicalLine, CanonicalOrder, Store, ingest
from store.cancellations import cancel_units
from store.catalog import NewSku, add_channel, add_location, add_partner, add_skus
from store.inventory import receive
from store.models import OutboxMessage, TradingPartner

PLACED = dt.datetime(2026, 1, 10, 15, 0, tzinfo=dt.UTC)


@pytest.fixture
def acme(store: Store) -> Store:
    add_partner(store, "acme", "ACME Retail", isa_qualifier="ZZ", isa_id="ACMERETAIL", gs_id="ACMERETAIL",
                our_isa_qualifier="ZZ", our_isa_id="WESELL", our_gs_id="WESELL")
    add_channel(store, "web", "Web shop", "cart")
    add_location(store, "DAL", "Dallas DC")
    add_skus(store, [NewSku(f"SKU{i}", f"Thing {i}", 1250, "USD") for i in range(1, 4)])
    for i in range(1, 4):
        receive(store, f"SKU{i}", "DAL", 50)
    return store


def _order(store: Store, channel: str, po: str) -> int:
    lines = tuple(CanonicalLine(f"SKU{i}", 4, 1250, item_kind="vendor_part", line_ref=f"00{i}0") for i in (1, 2, 3))
    [outcome] = ingest(store, [CanonicalOrder(channel=channel, external_id=po, currency="USD", placed_at=PLACED,
                                              lines=lines)]).outcomes
    assert outcome.order_id is not None
    return outcome.order_id


def _rows(store: Store, kind: str) -> list[tuple[str, dict[str, Any]]]:
    with store.read() as conn:
        return [(r.state, r.payload) for r in conn.execute(
            select(OutboxMessage.state, OutboxMessage.payload).where(OutboxMessage.kind == kind)
            .order_by(OutboxMessage.id))]


def test_a_cancellation_becomes_an_855_change_showing_the_cancelled_lines(acme: Store) -> None:
    oid = _order(acme, "acme", "PO-7001")
    assert queue_855(acme, oid).queued  # the original acknowledgment went before
    cancel_units(acme, oid, {2: 4, 3: 1}, reason="discontinued by the maker")
    assert edi_for_cancellations(acme, ["acme"]) == 1
    assert edi_for_cancellations(acme, ["acme"]) == 0  # claimed once
    [(state, _)] = _rows(acme, "order_cancel")
    assert state == "sent"
    original, change = (p for _, p in _rows(acme, "edi_855"))
    data = str(change["data"])
    ok, why = validate_outbound(data)
    assert ok, why
    [ts] = list(read(data.encode("latin-1")).sets())
    bak = ts.first("BAK")
    assert bak is not None and (bak.get(1), bak.get(2), bak.get(3)) == ("04", "AC", "PO-7001")
    assert [s.elements[:3] for s in ts.all("ACK")] == [("IA", "4", "EA"), ("IR", "4", "EA"), ("IQ", "3", "EA")]
    assert [s.get(1) for s in ts.all("PO1")] == ["0010", "0020", "0030"]
    assert original["interchange"] != change["interchange"]


def test_a_whole_order_cancelled_before_any_855_is_rejected_in_the_first(acme: Store) -> None:
    oid = _order(acme, "acme", "PO-7002")
    cancel_units(acme, oid, None, reason="buyer's credit hold")
    assert edi_for_cancellations(acme, ["acme"]) == 1
    [(_, payload)] = _rows(acme, "edi_855")
    [ts] = list(read(str(payload["data"]).encode("latin-1")).sets())
    bak = ts.first("BAK")
    assert bak is not None and (bak.get(1), bak.get(2)) == ("00", "RD")
    assert {s.get(1) for s in ts.all("ACK")} == {"IR"}


def test_no_855_for_a_partner_that_takes_none_nor_for_a_marketplace_order(acme: Store) -> None:
    with acme.write() as conn:
        conn.execute(update(TradingPartner).values(config={"documents": ["997", "856", "810"]}))
    cancel_units(acme, _order(acme, "acme", "PO-7003"), {1: 1}, reason="short")
    cancel_units(acme, _order(acme, "web", "W-1"), {1: 1}, reason="short")
    assert edi_for_cancellations(acme, ["acme"]) == 1
    assert _rows(acme, "edi_855") == []
    # The partner's row is done; the web shop's waits for its own connector.
    assert [(s, p["external_id"]) for s, p in _rows(acme, "order_cancel")] == [("sent", "PO-7003"), ("pending", "W-1")]
