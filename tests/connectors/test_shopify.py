"""The Shopify connector against the fake Shopify over real HTTP, with the store on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import signal
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from connectors.channel import ShipmentNotice, ShippedLine, StockLevel, SyncWindow
from connectors.errors import AuthRejected, Rejected, Unreachable, WebhookRejected
from connectors.fakes.server import Clock, Request
from connectors.fakes.shopify import API_VERSION, FakeShopify
from connectors.shopify import Shopify
from connectors.sync import pull, refetch
from gateway.channels import push_stock
from store import Store
from store.catalog import NewSku, add_channel, add_skus
from store.channel_sync import load_sync
from store.inventory import receive
from store.models import Channel, DocumentError, Order
from store.stock_sync import list_skus, listings

CHANNEL = "shop"
START = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) - dt.timedelta(days=2)
GQL = f"/admin/api/{API_VERSION}/graphql.json"


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


@pytest.fixture
def shop(clock: Clock) -> Iterator[FakeShopify]:
    fake = FakeShopify(clock=clock)
    fake.start()
    yield fake
    fake.stop()


def connect(shop: FakeShopify, clock: Clock, **settings: Any) -> Shopify:
    """A connector whose waits move the fake clock instead of the test's time."""
    base = {"url": shop.url, "access_token": shop.access_token, "webhook_secret": shop.webhook_secret,
            "location_id": shop.location_id}
    return Shopify(CHANNEL, {**base, **settings}, sleep=clock.advance)


def micros(t: dt.datetime) -> int:
    return (t - dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)) // dt.timedelta(microseconds=1)


def stored(store: Store) -> dict[str, tuple[int, str]]:
    """external id -> (version, status) of the channel's orders; asserts none is there twice."""
    with store.read() as conn:
        rows = conn.execute(select(Order.external_id, Order.version, Order.status)
                            .join(Channel, Channel.id == Order.channel_id).where(Channel.code == CHANNEL)).all()
    out = {r.external_id: (int(r.version), r.status) for r in rows}
    assert len(out) == len(rows)
    return out


def assert_in_step(store: Store, shop: FakeShopify) -> None:
    """Every order at the channel is in the store once, at the channel's latest version."""
    have = stored(store)
    assert sorted(have) == sorted(shop.orders)
    stale = {oid: (have[oid][0], micros(o.updated_at)) for oid, o in shop.orders.items()
             if have[oid][0] != micros(o.updated_at)}
    assert stale == {}
    cancelled = {oid for oid, o in shop.orders.items() if o.cancelled_at is not None}
    assert {oid for oid, (_, status) in have.items() if status == "cancelled"} == cancelled


def spread_orders(shop: FakeShopify, n: int, *, seed: int = 7) -> None:
    """`n` orders of the catalog's SKUs updated over the day before the fake clock's now."""
    rng = random.Random(seed)
    now = shop.clock.now()
    for _ in range(n):
        skus = rng.sample(["S1", "S2", "S3", "S4", "S5"], rng.randint(1, 3))
        shop.add_order({s: rng.randint(1, 3) for s in skus},
                       updated_at=now - dt.timedelta(seconds=rng.randint(120, 86_000)))


@pytest.fixture
def channel_store(catalog: Store) -> Store:
    add_channel(catalog, CHANNEL, "Shopify", "cart")
    return catalog


def orders_requests(shop: FakeShopify) -> list[dict[str, Any]]:
    """The variables of every orders query the fake was sent."""
    return [v for r in shop.calls if (v := orders_variables(r)) is not None]


def orders_variables(req: Request) -> dict[str, Any] | None:
    if req.path != GQL or b"orders(" not in req.body:
        return None
    return dict(req.json()["variables"])


# -- a: a full sync under throttling, orders changing as it reads ---------------------------------

def test_full_sync_of_2000_orders_under_throttling_with_changes_mid_sync(channel_store: Store, shop: FakeShopify,
                                                                          clock: Clock) -> None:
    shop.bucket.rate = 50.0  # the older plan's restore rate: a page of 20 orders costs most of the bucket
    spread_orders(shop, 2000)
    rng = random.Random(11)
    ids = list(shop.orders)
    seen = {"requests": 0, "touched": 0}

    def meanwhile(req: Request) -> None:
        seen["requests"] += 1
        if seen["requests"] % 7 == 0:  # another worker of the same app spends the shared bucket
            shop.bucket.try_take(shop.bucket.available)
        if seen["requests"] <= 150:  # the channel keeps changing while the sync reads
            for oid in rng.sample(ids, 4):
                shop.touch(oid, note=f"changed {seen['requests']}")
            shop.touch(rng.choice(ids), cancel=True)
            if seen["requests"] % 10 == 0:
                ids.append(shop.add_order({"S1": 1}))
            seen["touched"] += 5

    shop.on_request.append(meanwhile)
    connector = connect(shop, clock)
    try:
        first = pull(channel_store, connector)
    finally:
        connector.close()
    shop.on_request.clear()
    # The next poll, once the last changes are older than the safety lag. (A new connector: it
    # reads Shopify's clock before its first window; the old one would still go by its last answer.)
    clock.advance(connector.safety_lag.total_seconds() + 1)
    poller = connect(shop, clock)
    try:
        second = pull(channel_store, poller)
    finally:
        poller.close()
    assert seen["touched"] >= 500
    assert shop.throttled > 0 and connector.api.throttled == shop.throttled  # 200 + THROTTLED, each waited out
    assert connector.bucket.waited > 0  # and the client paced itself from throttleStatus
    assert first.created + second.created == len(shop.orders)  # each order created once
    assert second.updated > 0  # orders read by the first pull and changed after it
    assert len(shop.orders) > 2000
    assert_in_step(channel_store, shop)


# -- b: a crash mid-sync and a restart ----------------------------------------------------------------

def test_a_sync_that_fails_mid_window_resumes_at_its_cursor(channel_store: Store, shop: FakeShopify,
                                                             clock: Clock) -> None:
    spread_orders(shop, 300)
    pages = {"n": 0}

    def outage(req: Request) -> None:
        if (orders_variables(req) or {}).get("after"):
            pages["n"] += 1
            if pages["n"] == 5:
                shop.fail_next(8, status=503)  # outlasts the client's tries

    shop.on_request.append(outage)
    connector = connect(shop, clock, page_size=20)
    with pytest.raises(Unreachable):
        pull(channel_store, connector)
    connector.close()
    shop.on_request.clear()
    state = load_sync(channel_store, CHANNEL)
    assert state.cursor is not None and state.window is not None  # mid-window
    held = stored(channel_store)
    assert 0 < len(held) < 300

    before = len(orders_requests(shop))
    again = connect(shop, clock, page_size=20)  # a new process: nothing but the store
    try:
        pull(channel_store, again)
    finally:
        again.close()
    assert orders_requests(shop)[before]["after"] == state.cursor["after"]  # resumed, not started over
    assert_in_step(channel_store, shop)


_WORKER = """
import sys
from connectors.shopify import Shopify
from connectors.sync import pull
from store import open_store
store = open_store(sys.argv[1])
pull(store, Shopify("shop", {"url": sys.argv[2], "access_token": "shpat_fake", "page_size": 10}))
"""


def test_a_sync_killed_mid_window_loses_nothing(channel_store: Store, shop: FakeShopify, clock: Clock) -> None:
    spread_orders(shop, 200)
    shop.bucket.rate = 10_000.0  # the worker waits in real time; keep it from waiting
    proc = subprocess.Popen([sys.executable, "-c", _WORKER, channel_store.engine.url.render_as_string(hide_password=False),
                             shop.url], cwd=os.getcwd())
    killed = {"n": 0}

    def kill_at_page_8(req: Request) -> None:
        if (orders_variables(req) or {}).get("after"):
            killed["n"] += 1
            if killed["n"] == 8:
                os.kill(proc.pid, signal.SIGKILL)  # while page 8 is on the wire

    shop.on_request.append(kill_at_page_8)
    assert proc.wait(timeout=60) == -signal.SIGKILL
    shop.on_request.clear()
    held = stored(channel_store)
    assert 0 < len(held) < 200
    connector = connect(shop, clock, page_size=10)
    try:
        pull(channel_store, connector)
    finally:
        connector.close()
    assert_in_step(channel_store, shop)


# -- c: a shipment confirmation retried after a timeout -------------------------------------------

def _notice(connector: Shopify, oid: str, tracking: str, skus: tuple[str, ...] | None = None) -> ShipmentNotice:
    order = connector.get_orders([oid])[0].order
    lines = tuple(ShippedLine(ln.line_ref, ln.item, ln.item, ln.qty) for ln in order.lines
                  if skus is None or ln.item in skus)
    return ShipmentNotice(f"ship-{oid}-{tracking}", oid, "UPS", tracking, dt.datetime.now(dt.timezone.utc), lines)


def test_shipment_retried_after_a_timeout_is_fulfilled_once(shop: FakeShopify, clock: Clock) -> None:
    oid = shop.add_order({"S1": 2, "S2": 1})
    connector = connect(shop, clock, timeout=0.5)
    try:
        notice = _notice(connector, oid, "1Z0001", ("S1",))
        shop.stall_operation("fulfillmentCreate", 1.5)  # carried out, answered after the client gave up
        with pytest.raises(Unreachable):
            connector.confirm_shipment(notice)
        assert len(shop.fulfillments(oid)) == 1  # it happened at Shopify
        remote = connector.confirm_shipment(notice)  # the outbox's retry
        assert connector.confirm_shipment(notice) == remote
        f = shop.fulfillments(oid)
        assert [x.id for x in f] == [int(remote.rsplit("/", 1)[1])]
        assert (f[0].number, f[0].company, [q for _, q in f[0].lines]) == ("1Z0001", "UPS", [2])

        # The rest of the order in a second parcel; then nothing is left for a third.
        rest = _notice(connector, oid, "1Z0002", ("S2",))
        assert connector.confirm_shipment(rest) != remote
        assert len(shop.fulfillments(oid)) == 2
        with pytest.raises(Rejected, match="nothing left to fulfil"):
            connector.confirm_shipment(_notice(connector, oid, "1Z0003", ("S1",)))
        assert len(shop.fulfillments(oid)) == 2
    finally:
        connector.close()


def test_fulfilment_create_refuses_once_nothing_remains(shop: FakeShopify, clock: Clock) -> None:
    oid = shop.add_order({"S1": 1})
    connector = connect(shop, clock)
    try:
        connector.confirm_shipment(_notice(connector, oid, "T1"))
        fo = shop.orders[oid].fulfillment_orders[0]
        body = {"query": "mutation F($f: FulfillmentInput!) { fulfillmentCreate(fulfillment: $f) { fulfillment { id } "
                         "userErrors { field message } } }",
                "variables": {"f": {"lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": f"gid://shopify/FulfillmentOrder/{fo.id}"}]}}}
        r = httpx.post(shop.url + GQL, json=body, headers={"X-Shopify-Access-Token": shop.access_token})
        errors = r.json()["data"]["fulfillmentCreate"]["userErrors"]
        assert r.status_code == 200 and "unfulfillable status" in errors[0]["message"]
        assert len(shop.fulfillments(oid)) == 1
    finally:
        connector.close()


# -- d: stock -----------------------------------------------------------------------------------------

def test_stock_push_sets_absolute_quantities_and_reports_each_refused_sku(channel_store: Store, shop: FakeShopify,
                                                                           clock: Clock) -> None:
    receive(channel_store, "S1", "A", 7)
    receive(channel_store, "S2", "B", 3)
    receive(channel_store, "S4", "A", 2)
    for sku in ("S1", "S2", "S3"):
        shop.set_listing(sku, qty=50)
    shop.set_listing("S4", stocked=False)  # a variant, but not stocked at our location; S5 has none
    list_skus(channel_store, CHANNEL, "*")
    connector = connect(shop, clock)
    try:
        assert push_stock(channel_store, connector) == 3
        assert [shop.quantity(s) for s in ("S1", "S2", "S3", "S4", "S5")] == [7, 3, 0, None, None]
        shown = {li.sku: li for li in listings(channel_store, CHANNEL)}
        assert {s: shown[s].last_qty for s in ("S1", "S2", "S3")} == {"S1": 7, "S2": 3, "S3": 0}
        assert "ITEM_NOT_STOCKED_AT_LOCATION" in (shown["S4"].last_error or "")
        assert "no Shopify variant has SKU S5" in (shown["S5"].last_error or "")
        assert [q for _, q in shop.accepted_at("S1")] == [7]

        # A sale at Shopify moves S1 to 6; our next figure (9) is compared against 7, found stale,
        # read again and set; the lookup is not repeated (the inventory item id was kept).
        shop.add_order({"S1": 1})
        receive(channel_store, "S1", "A", 2)
        lookups = sum(1 for _, roots in shop.operations if "productVariants" in roots)
        assert push_stock(channel_store, connector) == 1  # S4 and S5 wait for their retry time
        assert shop.quantity("S1") == 9
        assert sum(1 for _, roots in shop.operations if "productVariants" in roots) == lookups
        assert [q for _, q in shop.accepted_at("S1")] == [7, 9]
    finally:
        connector.close()


def test_stock_is_pushed_250_to_a_mutation(shop: FakeShopify, clock: Clock) -> None:
    skus = [f"P{i:04d}" for i in range(600)]
    for s in skus:
        shop.set_listing(s, qty=1)
    connector = connect(shop, clock)
    try:
        results = connector.push_stock([StockLevel(s, i % 17) for i, s in enumerate(skus)])
    finally:
        connector.close()
    assert all(r.accepted for r in results) and [r.sku for r in results] == skus
    assert shop.inventory_batches == [250, 250, 100]
    assert [shop.quantity(s) for s in skus] == [i % 17 for i in range(600)]
    assert all(r.ref["inventory_item_id"].startswith("gid://shopify/InventoryItem/") for r in results)


def test_a_stock_mutation_whose_answer_was_lost_is_applied_once(shop: FakeShopify, clock: Clock) -> None:
    shop.set_listing("S1", qty=4)
    connector = connect(shop, clock)
    try:
        ref = connector.push_stock([StockLevel("S1", 5)])[0].ref
        shop.drop_next(1)  # the mutation runs; its answer never arrives; the client sends it again
        result = connector.push_stock([StockLevel("S1", 8, ref)])[0]
    finally:
        connector.close()
    assert result.accepted and shop.quantity("S1") == 8
    assert [q for _, q in shop.accepted_at("S1")] == [5, 8]  # the repeat was answered from the key
    bodies = [r.json() for r in shop.calls if b"inventorySetQuantities" in r.body]
    assert len(bodies) == 3 and bodies[1] == bodies[2]  # the same key and input, sent twice


# -- e: Shopify's own rules -----------------------------------------------------------------------------

def test_throttled_200_is_waited_out_from_throttle_status(shop: FakeShopify, clock: Clock) -> None:
    spread_orders(shop, 30)
    connector = connect(shop, clock, page_size=20)
    try:
        window = SyncWindow(START - dt.timedelta(days=1), clock.now())
        shop.bucket.try_take(shop.bucket.available)  # someone else spent the bucket
        page = connector.list_orders(window, None)
        assert shop.throttled == 1 and connector.api.throttled == 1
        # It waited (requested - available) / restoreRate and no less: the second try went through;
        # and no more: once, not once for the hold and again for the cost (seconds of the fake clock).
        assert len(orders_requests(shop)) == 2 and 0 < connector.bucket.waited < 1.5 * 882 / 100
        assert len(page.orders) == 20 and page.next_cursor is not None
        assert connector.bucket.rate == 100.0 and connector.bucket.burst == 1000.0  # from throttleStatus
    finally:
        connector.close()


def test_inventory_mutations_need_the_idempotent_directive(shop: FakeShopify) -> None:
    item = f"gid://shopify/InventoryItem/{shop.set_listing('S1', qty=1).inventory_item_id}"
    quantities = [{"inventoryItemId": item, "locationId": shop.location_id, "quantity": 3, "changeFromQuantity": None}]
    plain = ('mutation S($input: InventorySetQuantitiesInput!) { inventorySetQuantities(input: $input) '
             '{ userErrors { code } } }')
    keyed = ('mutation S($input: InventorySetQuantitiesInput!, $k: String!) { inventorySetQuantities(input: $input) '
             '@idempotent(key: $k) { inventoryAdjustmentGroup { id } userErrors { code } } }')

    def send(query: str, qs: list[dict[str, Any]], key: str = "k1") -> dict[str, Any]:
        variables = {"input": {"name": "available", "reason": "correction", "quantities": qs}, "k": key}
        r = httpx.post(shop.url + GQL, json={"query": query, "variables": variables},
                       headers={"X-Shopify-Access-Token": shop.access_token})
        assert r.status_code == 200
        return dict(r.json())

    assert "@idempotent" in send(plain, quantities)["errors"][0]["message"] and shop.quantity("S1") == 1
    first = send(keyed, quantities)
    assert shop.quantity("S1") == 3
    shop.set_listing("S1", qty=1)
    assert send(keyed, quantities)["data"] == first["data"]
    assert shop.quantity("S1") == 1  # the same key again: the first answer, nothing applied
    other = send(keyed, [{**quantities[0], "quantity": 4}])
    assert other["errors"][0]["extensions"]["code"] == "IDEMPOTENCY_KEY_PARAMETER_MISMATCH"


def test_orders_are_paged_by_an_opaque_cursor_and_bad_arguments_are_refused(shop: FakeShopify, clock: Clock) -> None:
    spread_orders(shop, 45)
    connector = connect(shop, clock, page_size=20)
    # The window reaches past now, so an order changed while it is read stays inside it.
    window = SyncWindow(START - dt.timedelta(days=1), clock.now() + dt.timedelta(hours=1))
    try:
        seen: list[str] = []
        cursor = None
        pages = 0
        while True:
            page = connector.list_orders(window, cursor)
            pages += 1
            seen += [o.order.external_id for o in page.orders]
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        assert pages == 3 and sorted(seen) == sorted(shop.orders)
        updated = [shop.orders[i].updated_at for i in seen]
        assert updated == sorted(updated)  # sortKey UPDATED_AT

        # An order changed behind the cursor comes again; none is skipped.
        first = connector.list_orders(window, None)
        moved = first.orders[0].order.external_id
        shop.touch(moved, note="changed while read")
        rest = []
        cursor = first.next_cursor
        while cursor is not None:
            page = connector.list_orders(window, cursor)
            rest += [o.order.external_id for o in page.orders]
            cursor = page.next_cursor
        assert moved in rest and len(set(rest) | {o.order.external_id for o in first.orders}) == 45
    finally:
        connector.close()

    def ask(variables: dict[str, Any]) -> dict[str, Any]:
        q = ("query O($first: Int!, $after: String) { orders(first: $first, after: $after, sortKey: UPDATED_AT) "
             "{ nodes { id } } }")
        return dict(httpx.post(shop.url + GQL, json={"query": q, "variables": variables},
                               headers={"X-Shopify-Access-Token": shop.access_token}).json())

    assert "250" in ask({"first": 251})["errors"][0]["message"]
    assert "cursor" in ask({"first": 5, "after": "not-a-cursor"})["errors"][0]["message"].lower()


def test_a_page_shopify_prices_over_1000_is_asked_again_smaller(shop: FakeShopify, clock: Clock) -> None:
    spread_orders(shop, 30)
    connector = connect(shop, clock, page_size=22)
    connector.page_size = 40  # as if Shopify priced our query higher than we do
    try:
        page = connector.list_orders(SyncWindow(START - dt.timedelta(days=1), clock.now()), None)
    finally:
        connector.close()
    assert connector.page_size == 20 and len(page.orders) == 20
    assert [v["first"] for v in orders_requests(shop)] == [40, 20]  # refused (MAX_COST_EXCEEDED), then asked again


def test_orders_map_money_ids_lines_and_cancellation(shop: FakeShopify, clock: Clock) -> None:
    shop.set_listing("S1", price="1999.99")
    shop.set_listing("S2", price="1650")
    shop.set_listing("S3", price="2.761")
    usd = shop.add_order([("S1", 2), ("", 1)] + [(f"X{i}", 1) for i in range(12)],
                         ship_to={"name": "Ada L", "address1": "1 Main", "city": "Paris", "countryCodeV2": "FR",
                                  "zip": "75001", "latitude": 48.86, "longitude": 2.35})
    jpy = shop.add_order({"S2": 1}, currency="JPY")
    kwd = shop.add_order({"S3": 1}, currency="KWD")
    shop.touch(kwd, cancel=True)
    connector = connect(shop, clock)
    try:
        got = {r.order.external_id: r for r in connector.get_orders([usd, jpy, kwd, "999"])}
    finally:
        connector.close()
    assert sorted(got) == sorted([usd, jpy, kwd])
    o = got[usd].order
    assert len(o.lines) == 14  # 10 with the order, 4 read after
    assert (o.lines[0].item, o.lines[0].item_kind, o.lines[0].qty, o.lines[0].unit_price_minor) == ("S1", "sku", 2, 199999)
    variant = shop.orders[usd].lines[1].variant_id
    assert (o.lines[1].item, o.lines[1].item_kind) == (str(variant), "channel_item_id")
    assert o.lines[0].line_ref == f"gid://shopify/LineItem/{shop.orders[usd].lines[0].id}"
    assert o.version == micros(shop.orders[usd].updated_at) and o.updated_at is not None and o.updated_at.tzinfo == dt.timezone.utc
    assert (o.ship_to.city, o.ship_to.country, o.ship_to.latitude, o.currency) == ("Paris", "FR", 48.86, "USD")
    assert got[jpy].order.lines[0].unit_price_minor == 1650 and got[jpy].order.currency == "JPY"  # no minor unit
    assert got[kwd].order.lines[0].unit_price_minor == 2761  # fils: three places
    assert got[kwd].cancelled and not got[usd].cancelled


def test_an_order_that_cannot_be_read_is_a_problem_and_the_page_still_goes_in(channel_store: Store,
                                                                              shop: FakeShopify, clock: Clock) -> None:
    spread_orders(shop, 5)
    bad = shop.add_order({"S1": 1}, updated_at=clock.now() - dt.timedelta(hours=1))
    shop.orders[bad].lines[0].price = Decimal("10.005")  # finer than a cent
    connector = connect(shop, clock)
    try:
        report = pull(channel_store, connector)
    finally:
        connector.close()
    assert report.problems == [f"{bad}: cannot be read: ValueError: 10.005 USD is finer than the currency's minor unit"]
    assert sorted(stored(channel_store)) == sorted(set(shop.orders) - {bad})
    with channel_store.read() as conn:
        texts = [d for (d,) in conn.execute(select(DocumentError.reason))]
    assert any(bad in t and "finer" in t for t in texts)


def test_webhook_is_verified_and_names_the_order_the_sync_uses(channel_store: Store, shop: FakeShopify,
                                                                clock: Clock) -> None:
    oid = shop.add_order({"S1": 1})
    connector = connect(shop, clock)
    try:
        headers, body = shop.webhook(oid, "orders/create")
        hint = connector.verify_webhook({k.lower(): v for k, v in headers.items()}, body)
        assert (hint.topic, hint.external_ids, hint.event_id) == ("orders/create", (oid,), headers["X-Shopify-Event-Id"])
        assert connector.verify_webhook(headers, body) == hint  # a repeat delivery: the same event id
        assert shop.webhook(oid, "orders/updated")[0]["X-Shopify-Event-Id"] != hint.event_id
        with pytest.raises(WebhookRejected, match="signature"):
            connector.verify_webhook(headers, body.replace(b'"quantity": 1', b'"quantity": 9'))
        with pytest.raises(WebhookRejected):
            connector.verify_webhook({**headers, "X-Shopify-Hmac-Sha256": ""}, body)
        report = refetch(channel_store, connector, hint.external_ids)
        assert report.created == 1 and json.loads(body)["id"] == int(oid)
        assert stored(channel_store)[oid][0] == micros(shop.orders[oid].updated_at)
    finally:
        connector.close()


def test_a_wrong_token_is_refused(shop: FakeShopify, clock: Clock) -> None:
    connector = connect(shop, clock, access_token="shpat_wrong")
    try:
        with pytest.raises(AuthRejected, match="401"):
            connector.get_orders(["1"])
    finally:
        connector.close()
