"""The gateway with marketplace and cart channels, end to end over real HTTP against the fakes:
the last unit sold on two channels in one second, shipments confirmed from the outbox, and
webhooks taken as hints."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from sqlalchemy import func, select

from connectors.fakes.rig import DEMO_CHANNELS, Rig, start_rig
from connectors.registry import build
from gateway.channels import Hints, WebhookServer, refetch_hinted
from gateway.daemon import Gateway
from gateway.settings import ApiChannelSpec, GatewaySettings
from store import Store
from store.catalog import NewSku, add_location, add_skus
from store.check import check
from store.inventory import receive
from store.models import Channel, Order, OutboxMessage
from store.setup import ChannelSpec, Setup, apply_setup
from store.shipping import ship


@pytest.fixture
def rig() -> Iterator[Rig]:
    r = start_rig(DEMO_CHANNELS, skus=["S1"], qty=1)
    yield r
    r.stop()


def _setup(store: Store, rig: Rig, stock: int) -> Gateway:
    add_location(store, "A", "Alpha DC", priority=1)
    add_skus(store, [NewSku("S1", "Thing", 1000, "USD")])
    if stock:
        receive(store, "S1", "A", stock)
    apply_setup(store, Setup(channels=[ChannelSpec(code, code, "marketplace", connector=kind)
                                       for code, kind in rig.kinds.items()]))
    specs = tuple(ApiChannelSpec(code, kind, rig.settings[code], poll_seconds=0.2, stock_seconds=0.1)
                  for code, kind in rig.kinds.items())
    return Gateway(store, GatewaySettings(channels=specs, dispatch_seconds=0.2, retries=1, backoff_seconds=0.1))


def _until(gw: Gateway, done: Callable[[], bool], seconds: float = 90.0) -> None:
    """Gateway passes until `done()` (a deadline only so a broken build cannot hang the suite)."""
    deadline = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline, "the gateway did not get there"
        gw.run_once()


def _orders(store: Store) -> dict[str, list[str]]:
    with store.read() as conn:
        rows = conn.execute(select(Channel.code, Order.status).join(Channel, Channel.id == Order.channel_id)).all()
    out: dict[str, list[str]] = {}
    for code, status in rows:
        out.setdefault(code, []).append(status)
    return out


def test_the_last_unit_sold_on_two_channels_in_one_second_is_allocated_once(store: Store, rig: Rig) -> None:
    gw = _setup(store, rig, stock=1)
    _until(gw, lambda: all(f.quantity("S1") == 1 for f in rig.fakes.values()))
    # The same second at Shopify and at WooCommerce, then past every channel's safety lag.
    rig.fakes["shopify-main"].add_order({"S1": 1})
    rig.fakes["woo-outlet"].add_order({"S1": 1})
    rig.clock.advance(300)
    _until(gw, lambda: sum(len(v) for v in _orders(store).values()) == 2
           and all(f.quantity("S1") == 0 for f in rig.fakes.values()))
    statuses = _orders(store)
    assert sorted(statuses) == ["shopify-main", "woo-outlet"]
    assert sorted(s for v in statuses.values() for s in v) == ["allocated", "backordered"]
    # Every channel shows 0, and stays there: nothing is left to push.
    gw.run_once()
    assert {code: f.quantity("S1") for code, f in rig.fakes.items()} == dict.fromkeys(rig.fakes, 0)
    assert check(store).ok


@pytest.mark.parametrize("code", list(DEMO_CHANNELS))
def test_a_shipment_is_confirmed_at_its_channel_once(store: Store, rig: Rig, code: str) -> None:
    gw = _setup(store, rig, stock=5)
    fake = rig.fakes[code]
    remote = fake.add_order({"S1": 2})
    rig.clock.advance(300)
    _until(gw, lambda: bool(_orders(store).get(code)))
    with store.read() as conn:
        oid = conn.execute(select(Order.id).join(Channel, Channel.id == Order.channel_id)
                           .where(Channel.code == code)).scalar_one()
    ship(store, oid, "A", carrier="UPS", tracking="1Z999AA10123456784")
    _until(gw, lambda: len(fake.fulfillments(remote)) == 1)
    with store.read() as conn:
        states = conn.execute(select(OutboxMessage.state).where(OutboxMessage.kind == "shipment_confirm")).scalars().all()
    assert states == ["sent"]
    gw.run_once()
    gw.run_once()
    assert len(fake.fulfillments(remote)) == 1


def test_webhooks_are_verified_stored_deduplicated_and_fetched_again(store: Store, rig: Rig) -> None:
    _setup(store, rig, stock=5)
    shop = rig.fakes["shopify-main"]
    remote = shop.add_order({"S1": 1})
    rig.clock.advance(300)
    connector = build("shopify", "shopify-main", rig.settings["shopify-main"])
    hints = Hints()
    server = WebhookServer(store, {"shopify-main": connector}, hints, "127.0.0.1:0").start()
    try:
        headers, body = shop.webhook(remote, "orders/create")
        first = httpx.post(f"{server.url}/webhooks/shopify-main", content=body, headers=headers)
        again = httpx.post(f"{server.url}/webhooks/shopify-main", content=body, headers=headers)
        forged = httpx.post(f"{server.url}/webhooks/shopify-main", content=body.replace(b"1", b"2"), headers=headers)
        unknown = httpx.post(f"{server.url}/webhooks/nobody", content=body, headers=headers)
    finally:
        server.stop()
    assert (first.status_code, again.status_code, forged.status_code, unknown.status_code) == (200, 200, 401, 404)
    assert "duplicate" in again.json()["result"]
    report = refetch_hinted(store, connector, hints)
    assert report is not None and report.created == 1
    assert refetch_hinted(store, connector, hints) is None  # taken once
    from store.models import Document

    with store.read() as conn:
        kept = conn.execute(select(func.count()).select_from(Document).where(Document.kind == "webhook")).scalar_one()
    assert kept == 1  # the forged body was refused before it was stored
    connector.close()
