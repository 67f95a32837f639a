"""The eBay connector against its fake over real HTTP, with the store on SQLite and PostgreSQL:
full syncs under throttling while orders change, a crash mid-sync, OAuth refresh, the daily
quota pausing the channel, offset paging over a live set, shipments that are not duplicated
after a timeout, and stock pushed in batches with per-SKU errors."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from connectors.channel import Connector, ShipmentNotice, ShippedLine, StockLevel, SyncWindow
from connectors.ebay import Ebay, quota_reset
from connectors.errors import AuthRejected, QuotaExhausted, Unreachable, WebhookRejected
from connectors.fakes.ebay import FakeEbay, next_pacific_midnight
from connectors.fakes.server import Clock, Request
from connectors.sync import pull
from store import Store
from store.catalog import add_channel
from store.channel_sync import load_sync
from store.inventory import receive
from store.models import AuditEvent, Channel, Order
from store.stock_sync import Pushed, list_skus, listings, stock_done, stock_due

ORDERS = "/sell/fulfillment/v1/order"
ROOT = Path(__file__).resolve().parents[2]
Connect = Callable[..., Ebay]


@pytest.fixture
def fake() -> Iterator[FakeEbay]:
    # The fake's clock starts at our now, as eBay's would: a connector reads it from Date headers.
    # Its burst limit is generous unless a test is about throttling.
    f = FakeEbay(clock=Clock(), rate=1000.0, burst=1000.0)
    f.start()
    yield f
    f.stop()


@pytest.fixture
def connect(fake: FakeEbay) -> Iterator[Connect]:
    made: list[Ebay] = []

    def _connect(**extra: Any) -> Ebay:
        made.append(Ebay("ebay", settings(fake, **extra), sleep=lambda s: None))
        return made[-1]

    yield _connect
    for ebay in made:
        ebay.close()


def settings(fake: FakeEbay, **extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "url": fake.url, "client_id": fake.client_id, "client_secret": fake.client_secret,
        "refresh_token": fake.refresh_token, "page_size": 200, "timeout": 5, "lookback_days": 1,
        "safety_lag_seconds": 5, "overlap_seconds": 60, "max_span_seconds": 86_400,
        # The client is seeded faster than the fake allows, so the fake's 429s are what pace it.
        "limits": {"fulfillment": {"rate": 50, "burst": 10}, "inventory": {"rate": 50, "burst": 10}},
    }
    base.update(extra)
    return base


def stored(store: Store) -> list[tuple[str, int, str]]:
    with store.read() as conn:
        rows = conn.execute(
            select(Order.external_id, Order.version, Order.status).join(Channel, Channel.id == Order.channel_id)
            .where(Channel.code == "ebay")
        ).all()
    return [(r.external_id, int(r.version), r.status) for r in rows]


def assert_latest(store: Store, fake: FakeEbay) -> None:
    """Every order the fake has is stored exactly once, at the fake's latest version."""
    rows = stored(store)
    ids = [r[0] for r in rows]
    assert len(ids) == len(set(ids)), "an order stored twice"
    assert set(ids) == set(fake.orders), f"missing {len(set(fake.orders) - set(ids))}"
    stale = [oid for oid, version, _ in rows if version != fake.version(oid)]
    assert stale == []


def spread(fake: FakeEbay, n: int, *, hours: float = 20.0) -> list[str]:
    now = fake.clock.now()
    step = hours * 3600 / n
    return [fake.add_order({f"X{i % 7}": 1 + i % 3}, updated_at=now - dt.timedelta(seconds=60 + i * step))
            for i in range(n)]


def catch_up(store: Store, ebay: Ebay, fake: FakeEbay) -> None:
    """Time passes at eBay past the safety lag of the last change; the first pull learns eBay's
    clock from its answers (the connector knows no other), the second reads up to it."""
    fake.clock.advance(10)
    pull(store, ebay)
    pull(store, ebay)


def listing_calls(req: Request) -> bool:
    return req.method == "GET" and req.path == ORDERS and "filter" in req.query


# -- a. a full sync under throttling, with orders changing at eBay mid-sync ---------------------


def test_full_sync_of_2000_orders_under_throttling_with_changes_and_an_expired_token(
    store: Store, fake: FakeEbay, connect: Connect
) -> None:
    add_channel(store, "ebay", "eBay", "marketplace")
    fake.bucket.rate = fake.bucket.burst = 10.0  # eBay documents no burst limit; this is the fake's own
    ids = spread(fake, 2000)
    ebay = connect()
    rng = random.Random(6)
    seen = {"pages": 0, "drained": 0}
    touched: set[str] = set()

    def churn(req: Request) -> None:
        if not listing_calls(req):
            return
        seen["pages"] += 1
        if seen["pages"] % 10 == 0:  # the app's other traffic spends the burst: the next call gets a 429
            fake.spend_burst()
            seen["drained"] += 1
        if seen["pages"] % 3 == 0:  # orders change between pages, read or not yet read
            for oid in rng.sample(ids, 5):
                fake.touch(oid, note=f"page {seen['pages']}")
                touched.add(oid)
        if seen["pages"] == 12:  # two hours pass at eBay: the access token has expired
            fake.clock.advance(7300)

    fake.on_request.append(churn)
    first = pull(store, ebay)
    fake.on_request.remove(churn)
    catch_up(store, ebay, fake)

    assert_latest(store, fake)
    assert first.splits > 0  # 2,000 orders do not fit a page: the window was bisected
    assert ebay.api.throttled >= seen["drained"] > 0  # each 429 was waited out (Retry-After), then sent again
    assert fake.unauthorised >= 1 and ebay.auth.refreshes >= 2  # 401 mid-sync, token minted again
    assert len(touched) > 20


# -- b. a crash mid-sync and a restart lose nothing --------------------------------------------


_CHILD = textwrap.dedent("""
    import json, sys
    from connectors.ebay import Ebay
    from connectors.sync import pull
    from store import open_store
    url, settings = sys.argv[1], json.loads(sys.argv[2])
    pull(open_store(url), Ebay("ebay", settings, sleep=lambda s: None))
""")


def test_a_pull_killed_mid_sync_resumes_and_loses_nothing(
    store: Store, db_url: str, fake: FakeEbay, connect: Connect
) -> None:
    add_channel(store, "ebay", "eBay", "marketplace")
    spread(fake, 1200)
    child = subprocess.Popen([sys.executable, "-c", _CHILD, db_url, json.dumps(settings(fake))], cwd=ROOT,
                             env={**os.environ, "PYTHONPATH": str(ROOT)})
    seen = {"pages": 0}
    killed = threading.Event()

    def kill(req: Request) -> None:
        if listing_calls(req):
            seen["pages"] += 1
            if seen["pages"] == 9 and not killed.is_set():  # 8 pages answered: some are committed
                os.kill(child.pid, signal.SIGKILL)
                killed.set()

    fake.on_request.append(kill)
    assert child.wait(timeout=60) == -signal.SIGKILL
    fake.on_request.remove(kill)
    before = stored(store)
    state = load_sync(store, "ebay")
    assert 0 < len(before) < 1200 and state.window is not None  # died inside the window

    fake.touch(before[0][0], note="changed while we were down")
    catch_up(store, connect(), fake)
    assert_latest(store, fake)
    assert load_sync(store, "ebay").window is None


# -- c. a shipment retried after a timeout is not duplicated at eBay ----------------------------


def _notice(ebay: Ebay, oid: str, tracking: str = "9400 1118 9956 0000 0000 00") -> ShipmentNotice:
    order = ebay.get_orders([oid])[0].order
    lines = tuple(ShippedLine(ln.line_ref, ln.item, ln.item, ln.qty) for ln in order.lines)
    return ShipmentNotice("ship-1", oid, "usps", tracking, dt.datetime(2026, 3, 2, 10, tzinfo=dt.timezone.utc), lines)


def test_a_shipment_retried_after_a_timeout_is_created_once(fake: FakeEbay, connect: Connect) -> None:
    oid = fake.add_order({"S1": 2, "S2": 1})
    ebay = connect(timeout=0.5)
    notice = _notice(ebay, oid)

    def stall_the_post(req: Request) -> None:
        # The read-back GET comes first; the POST after it is carried out, then answered late.
        if req.method == "GET" and req.path.endswith("/shipping_fulfillment"):
            fake.stall_next(1, seconds=1.5, path=r"/shipping_fulfillment$")
            fake.on_request.remove(stall_the_post)

    fake.on_request.append(stall_the_post)
    with pytest.raises(Unreachable):
        ebay.confirm_shipment(notice)
    assert len(fake.fulfillments(oid)) == 1  # eBay made it; we never heard

    again = ebay.confirm_shipment(notice)
    made = fake.fulfillments(oid)
    assert len(made) == 1 and again == made[0]["fulfillmentId"]
    assert made[0]["shipmentTrackingNumber"] == "9400 1118 9956 0000 0000 00"
    assert made[0]["shippingCarrierCode"] == "USPS"
    assert sorted((li["quantity"]) for li in made[0]["lineItems"]) == [1, 2]
    assert ebay.confirm_shipment(notice) == again and len(fake.fulfillments(oid)) == 1


def test_a_shipment_post_refused_with_503_is_sent_again_once(fake: FakeEbay, connect: Connect) -> None:
    oid = fake.add_order({"S1": 1, "S2": 1})
    ebay = connect()
    both = _notice(ebay, oid, tracking="1Z999AA10123456784")
    notice, other = (dataclasses.replace(both, key=f"ship-{ln.sku}", lines=(ln,)) for ln in both.lines)

    def fail_the_post(req: Request) -> None:
        if req.method == "GET" and req.path.endswith("/shipping_fulfillment"):
            fake.fail_next(1, status=503, path=r"/shipping_fulfillment$")
            fake.on_request.remove(fail_the_post)

    fake.on_request.append(fail_the_post)
    with pytest.raises(Unreachable):  # a write is not retried blind
        ebay.confirm_shipment(notice)
    assert fake.fulfillments(oid) == []
    fid = ebay.confirm_shipment(notice)
    assert [f["fulfillmentId"] for f in fake.fulfillments(oid)] == [fid]
    # The same parcel number on a shipment of the other line is another fulfillment, not this one.
    second = ebay.confirm_shipment(other)
    assert second != fid and [f["fulfillmentId"] for f in fake.fulfillments(oid)] == [fid, second]
    assert ebay.confirm_shipment(notice) == fid and ebay.confirm_shipment(other) == second


def test_the_fake_creates_a_fulfillment_per_post_like_ebay(fake: FakeEbay, connect: Connect) -> None:
    oid = fake.add_order({"S1": 1})
    ebay = connect()
    line = ebay.get_orders([oid])[0].order.lines[0].line_ref
    body = {"lineItems": [{"lineItemId": line, "quantity": 1}], "shippedDate": "2026-03-02T10:00:00.000Z",
            "shippingCarrierCode": "UPS", "trackingNumber": "1Z1"}
    for _ in range(2):
        r = ebay.api.request("fulfillment", "POST", f"{ORDERS}/{oid}/shipping_fulfillment", json=body, ok=(201,))
        assert r.headers["location"].startswith(f"{fake.url}{ORDERS}/{oid}/shipping_fulfillment/")
    assert len(fake.fulfillments(oid)) == 2  # not idempotent: why the connector reads back first
    dup = dict(body, lineItems=[{"lineItemId": line, "quantity": 1}] * 2)
    r = ebay.api.request("fulfillment", "POST", f"{ORDERS}/{oid}/shipping_fulfillment", json=dup, ok=(201, 400))
    assert r.status_code == 400 and r.json()["errors"][0]["errorId"] == 32210


# -- d. stock: absolute quantities, batches of 25, errors per SKU --------------------------------


def test_stock_push_batches_of_25_caches_offers_and_reports_each_sku(fake: FakeEbay, connect: Connect) -> None:
    skus = [f"S{i:02d}" for i in range(40)]
    for sku in skus:
        fake.set_listing(sku, qty=3)
    ebay = connect()
    levels = [StockLevel(sku, i) for i, sku in enumerate(skus)] + [StockLevel("NOT-LISTED", 5)]

    results = ebay.push_stock(levels)
    by_sku = {r.sku: r for r in results}
    assert [r.sku for r in results] == [lv.sku for lv in levels]
    assert all(by_sku[s].accepted for s in skus)
    assert [fake.quantity(s) for s in skus] == list(range(40))  # absolute, item and offer alike
    assert not by_sku["NOT-LISTED"].accepted and "no EBAY_US offer" in (by_sku["NOT-LISTED"].error or "")
    bulks = [c for c in fake.calls if c.path.endswith("/bulk_update_price_quantity")]
    assert [len(c.json()["requests"]) for c in bulks] == [25, 15]
    assert all(len(fake.accepted_at(s)) == 1 for s in skus)

    # The next push reuses the cached offer ids; one listing was relisted meanwhile (a new offer).
    fake.set_listing("S05", qty=0, relist=True)
    offers_before = sum(1 for c in fake.calls if c.path == "/sell/inventory/v1/offer")
    again = ebay.push_stock([StockLevel(s, 7, by_sku[s].ref) for s in skus[:10]])
    assert sum(1 for c in fake.calls if c.path == "/sell/inventory/v1/offer") == offers_before
    refused = [r for r in again if not r.accepted]
    assert [r.sku for r in refused] == ["S05"] and "25713" in (refused[0].error or "")
    assert refused[0].ref == {}  # looked up again next time
    assert fake.quantity("S04") == 7 and fake.quantity("S05") == 0
    retry = ebay.push_stock([StockLevel("S05", 7, refused[0].ref)])
    assert retry[0].accepted and fake.quantity("S05") == 7

    # The listing shows the lesser of the item's and the offer's quantity: why both are sent.
    offer = by_sku["S06"].ref["offer_ids"][0]
    body = {"requests": [{"sku": "S06", "shipToLocationAvailability": {"quantity": 9},
                          "offers": [{"offerId": offer, "availableQuantity": 4}]}]}
    ebay.api.request("inventory", "POST", "/sell/inventory/v1/bulk_update_price_quantity", json=body)
    assert fake.quantity("S06") == 4


def test_stock_from_the_store_outbox_reaches_ebay(catalog: Store, fake: FakeEbay, connect: Connect) -> None:
    add_channel(catalog, "ebay", "eBay", "marketplace")
    for i in range(1, 6):
        fake.set_listing(f"S{i}", qty=0)
    receive(catalog, "S1", "A", 12)
    receive(catalog, "S2", "B", 4)
    fake.revise_limit = 1  # eBay allows so many revisions of a listing a day; S3 has had its one
    fake.set_listing("S3", qty=0)
    ebay = connect()
    ebay.push_stock([StockLevel("S3", 0)])
    list_skus(catalog, "ebay", "*")

    due = stock_due(catalog, "ebay")
    results = ebay.push_stock([StockLevel(d.sku, d.qty, d.ref) for d in due])
    stock_done(catalog, "ebay", [Pushed(d.sku_id, d.changes, r.accepted, r.qty, r.ref, r.error)
                                 for d, r in zip(due, results)])
    assert {s: fake.quantity(s) for s in ("S1", "S2", "S4")} == {"S1": 12, "S2": 4, "S4": 0}
    shown = {ls.sku: ls for ls in listings(catalog, "ebay")}
    assert shown["S1"].last_qty == 12 and not shown["S1"].pending
    assert shown["S3"].pending and "25019" in (shown["S3"].last_error or "")


# -- e. eBay specifics -----------------------------------------------------------------------


def test_offset_paging_over_a_live_set_skips_an_order_so_a_dense_second_is_counted_again(
    store: Store, fake: FakeEbay, connect: Connect
) -> None:
    add_channel(store, "ebay", "eBay", "marketplace")
    at = (fake.clock.now() - dt.timedelta(minutes=30)).replace(microsecond=0)
    dense = [fake.add_order({"X1": 1}, updated_at=at) for _ in range(450)]  # one second: cannot split
    spread(fake, 300)
    ebay = connect()

    # What a naive reader sees: an order on page 1 changes, the rows after it move up one.
    window = SyncWindow(at, at + dt.timedelta(seconds=1))
    page1 = ebay.list_orders(window, None)
    assert page1.total == 450 and page1.next_cursor == {"offset": 200}
    fake.touch(page1.orders[0].order.external_id, note="moved")
    page2 = ebay.list_orders(window, page1.next_cursor)
    page3 = ebay.list_orders(window, page2.next_cursor)
    assert page3.next_cursor is None
    read = {o.order.external_id for p in (page1, page2, page3) for o in p.orders}
    assert len(set(dense) - read) == 1  # skipped, though it never changed

    fake.clock.advance(10)
    moved = {"done": False}

    def move(req: Request) -> None:  # during the sync's own offset paging of that second
        if listing_calls(req) and req.arg("offset") == "200" and not moved["done"]:
            for oid in dense[:3]:
                fake.touch(oid, note="moved again")
            moved["done"] = True

    fake.on_request.append(move)
    report = pull(store, ebay)
    fake.on_request.remove(move)
    assert moved["done"] and report.restarts >= 1  # the count moved: the second was read again
    catch_up(store, ebay, fake)
    assert_latest(store, fake)


def test_daily_quota_pauses_the_channel_until_pacific_midnight_with_an_alert(
    store: Store, fake: FakeEbay, connect: Connect
) -> None:
    add_channel(store, "ebay", "eBay", "marketplace")
    spread(fake, 900)
    fake.daily_quota = 6
    ebay = connect()
    before = next_pacific_midnight(fake.clock.now())

    report = pull(store, ebay)
    after = next_pacific_midnight(fake.clock.now())
    assert report.paused_until in (before, after)  # the day could turn during the test
    state = load_sync(store, "ebay")
    assert state.paused_until == report.paused_until and "request limit" in (state.pause_reason or "")
    with store.read() as conn:
        alerts = conn.execute(select(AuditEvent.detail).where(AuditEvent.action == "alert.channel_paused")).all()
    assert len(alerts) == 1 and alerts[0].detail["channel"] == "ebay"
    assert fake.quota_used() == 6

    calls = len(fake.calls)
    assert pull(store, ebay).paused_until == report.paused_until and len(fake.calls) == calls  # no call

    assert report.paused_until is not None
    fake.clock.set(report.paused_until + dt.timedelta(minutes=1))  # a new day at eBay
    fake.daily_quota = None
    ebay.get_orders(["00-00000-00000"])  # the connector's next call tells it eBay's day has turned
    pull(store, ebay)
    assert_latest(store, fake)
    assert load_sync(store, "ebay").paused_until is None


def test_quota_verdict_only_for_the_daily_shape() -> None:
    at = dt.datetime(2026, 7, 1, 6, 59, tzinfo=dt.timezone.utc)  # 23:59 PDT
    assert quota_reset(at) == dt.datetime(2026, 7, 1, 7, 0, tzinfo=dt.timezone.utc)
    assert quota_reset(dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.timezone.utc)) == \
        dt.datetime(2026, 12, 2, 8, 0, tzinfo=dt.timezone.utc)  # 01:00 PST: the next day, at UTC-8


def test_quota_error_raises_quota_exhausted_and_a_burst_429_is_waited_out(fake: FakeEbay, connect: Connect) -> None:
    fake.add_order({"S1": 1})
    ebay = connect()
    win = SyncWindow(fake.clock.now() - dt.timedelta(hours=1), fake.clock.now())
    fake.bucket.rate = 1.0
    fake.spend_burst()  # a burst: 429 with Retry-After, waited, then answered
    assert ebay.list_orders(win, None).total == 1 and ebay.api.throttled == 1
    fake.daily_quota = fake.quota_used()
    with pytest.raises(QuotaExhausted) as caught:
        ebay.list_orders(win, None)
    assert caught.value.until == next_pacific_midnight(fake.clock.now())


def test_oauth_refresh_request_and_a_token_expiring_on_the_fake_clock(fake: FakeEbay, connect: Connect) -> None:
    fake.add_order({"S1": 1})
    ebay = connect()
    win = SyncWindow(fake.clock.now() - dt.timedelta(hours=1), fake.clock.now() + dt.timedelta(hours=3))
    assert ebay.list_orders(win, None).total == 1
    token = next(c for c in fake.calls if c.path == "/identity/v1/oauth2/token")
    form = dict(httpx.QueryParams(token.body.decode()).multi_items())
    assert form["grant_type"] == "refresh_token" and form["refresh_token"] == fake.refresh_token
    assert set(form["scope"].split()) == {"https://api.ebay.com/oauth/api_scope/sell.fulfillment",
                                          "https://api.ebay.com/oauth/api_scope/sell.inventory"}
    assert token.headers["authorization"].startswith("Basic ")

    fake.clock.advance(7201)  # eBay user tokens last two hours
    assert ebay.list_orders(win, None).total == 1
    assert fake.unauthorised == 1 and fake.tokens_issued == 2 and ebay.auth.refreshes == 2

    wrong = connect(client_secret="not-it")
    with pytest.raises(AuthRejected):
        wrong.list_orders(win, None)


def test_filter_encoding_limit_and_date_filters(fake: FakeEbay, connect: Connect) -> None:
    now = fake.clock.now()
    old = fake.add_order({"S1": 1}, updated_at=now - dt.timedelta(days=3))
    fake.touch(old, note="changed today")
    new = fake.add_order({"S1": 1}, updated_at=now - dt.timedelta(minutes=5))
    sent: list[httpx.URL] = []
    ebay = connect(page_size=500)  # more than eBay allows: 200 is asked for
    ebay.api.http.event_hooks["request"].append(lambda r: sent.append(r.url))
    page = ebay.list_orders(SyncWindow(now - dt.timedelta(hours=1), now + dt.timedelta(minutes=1)), None)
    assert {o.order.external_id for o in page.orders} == {old, new}  # by last change, not creation
    raw = sent[-1].query.decode()
    assert "%5B" in raw and "%5D" in raw and "[" not in raw and "]" not in raw
    assert "limit=200" in raw

    def get(query: str) -> httpx.Response:
        return ebay.api.request("fulfillment", "GET", f"{ORDERS}?{query}", ok=(200, 400))

    r = get("limit=201")
    assert r.status_code == 400 and r.json()["errors"][0]["errorId"] == 31100
    hour = f"{(now - dt.timedelta(hours=1)).strftime('%Y-%m-%dT%H:%M:%S')}.000Z"
    both = f"filter=creationdate:%5B{hour}..%5D,lastmodifieddate:%5B{hour}..%5D"
    assert [o["orderId"] for o in get(both).json()["orders"]] == [new]  # only creationdate applies
    assert get("filter=updated:%5Bx..%5D").status_code == 400


def test_mapping_prices_skus_cancellation_and_a_bad_order(store: Store, fake: FakeEbay, connect: Connect) -> None:
    add_channel(store, "ebay", "eBay", "marketplace")
    fake.prices["P3"] = "10.01"
    priced = fake.add_order({"P3": 3}, ship_to={"name": "Ann Lee", "address1": "1 Elm", "city": "Reno",
                                                "region": "NV", "postal_code": "89501", "country": "US"})
    nosku = fake.add_order([("", 2)])
    bad = fake.add_order({"S1": 1})
    with fake.lock:
        fake.orders[bad]["lineItems"][0]["lineItemCost"]["value"] = "lots"
    ebay = connect()
    now = fake.clock.now()
    page = ebay.list_orders(SyncWindow(now - dt.timedelta(hours=1), now + dt.timedelta(seconds=1)), None)
    assert [ref for ref, _ in page.problems] == [bad]
    got = {o.order.external_id: o.order for o in page.orders}
    line = got[priced].lines[0]
    assert (line.item, line.item_kind, line.qty, line.unit_price_minor) == ("P3", "sku", 3, 1001)
    assert line.line_ref == fake.orders[priced]["lineItems"][0]["lineItemId"]
    assert got[priced].ship_to.city == "Reno" and got[priced].currency == "USD"
    updated = got[priced].updated_at
    assert updated is not None and updated.tzinfo == dt.timezone.utc
    assert got[priced].version == fake.version(priced)
    item = got[nosku].lines[0]
    assert item.item_kind == "channel_item_id" and item.item == fake.orders[nosku]["lineItems"][0]["legacyItemId"]

    catch_up(store, ebay, fake)
    fake.touch(priced, cancel=True)
    catch_up(store, ebay, fake)
    status = {oid: st for oid, _, st in stored(store)}
    assert status[priced] == "cancelled" and status[nosku] != "cancelled" and bad not in status
    with store.read() as conn:
        assert conn.execute(select(func.count()).select_from(Order)).scalar_one() == 2


def test_get_orders_asks_50_ids_a_call(fake: FakeEbay, connect: Connect) -> None:
    ids = [fake.add_order({"S1": 1}) for _ in range(120)]
    got = connect().get_orders([*ids, "00-99999-99999"])
    assert sorted(o.order.external_id for o in got) == sorted(ids)
    asked = [len((c.arg("orderIds") or "").split(",")) for c in fake.calls if c.arg("orderIds")]
    assert asked == [50, 50, 21]


def test_5xx_bursts_are_retried_for_reads(store: Store, fake: FakeEbay, connect: Connect) -> None:
    add_channel(store, "ebay", "eBay", "marketplace")
    spread(fake, 50)
    ebay = connect()
    statuses: list[int] = []
    ebay.api.http.event_hooks["response"].append(lambda r: statuses.append(r.status_code))
    fake.fail_next(3, status=503, path=ORDERS + "$")
    report = pull(store, ebay)
    assert statuses.count(503) == 3 and report.orders == 50
    assert_latest(store, fake)


def test_webhooks_are_refused_polling_covers_them(fake: FakeEbay, connect: Connect) -> None:
    ebay: Connector = connect()  # and the class is a Connector, as mypy checks here
    with pytest.raises(WebhookRejected, match="polling"):
        ebay.verify_webhook({"X-EBAY-SIGNATURE": "e30="}, b"{}")
