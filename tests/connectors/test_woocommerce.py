"""WooCommerce: the connector against its fake over real HTTP, into a real store (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from connectors.channel import ShipmentNotice, ShippedLine, StockLevel, SyncWindow
from connectors.errors import AuthRejected, ConnectorError, Rejected, Unreachable, WebhookRejected
from connectors.fakes.server import Request
from connectors.fakes.woocommerce import FakeWooCommerce
from connectors.sync import pull
from connectors.woocommerce import WooCommerce
from store import Store
from store.catalog import add_channel
from store.channel_sync import load_sync
from store.models import Channel, Order

UTC = dt.timezone.utc
ORDERS = "/wp-json/wc/v3/orders"


@pytest.fixture
def woo() -> Iterator[FakeWooCommerce]:
    with FakeWooCommerce() as fake:
        yield fake


def _connector(fake: FakeWooCommerce, **settings: Any) -> WooCommerce:
    base = {
        "url": fake.url, "consumer_key": "ck_test", "consumer_secret": "cs_test", "webhook_secret": "woo-webhook-secret",
        "lookback_days": 1, "safety_lag_seconds": 5, "overlap_seconds": 60, "backoff_base": 0.01,
        "limits": {"api": {"rate": 500, "burst": 50}},
    }
    base.update(settings)
    return WooCommerce("woo", base)


@pytest.fixture
def shop(catalog: Store) -> Store:
    add_channel(catalog, "woo", "Web shop (WooCommerce)", "cart")
    return catalog


def _stored(store: Store) -> dict[str, tuple[int, str]]:
    with store.read() as conn:
        rows = conn.execute(
            select(Order.external_id, Order.version, Order.status).join(Channel, Channel.id == Order.channel_id)
            .where(Channel.code == "woo")
        ).all()
    assert len(rows) == len({r.external_id for r in rows})
    return {r.external_id: (int(r.version), r.status) for r in rows}


def _micros(value: dt.datetime) -> int:
    return int(value.timestamp() * 1_000_000)


def _spread(fake: FakeWooCommerce, n: int, *, span: dt.timedelta = dt.timedelta(hours=2)) -> list[str]:
    """`n` orders updated over the last `span`, one second apart at least, SKUs S1..S5."""
    now = fake.clock.now()
    step = span / n
    return [fake.add_order({f"S{i % 5 + 1}": 1 + i % 3}, updated_at=now - span + step * i) for i in range(n)]


def _catch_up(store: Store, conn: WooCommerce, fake: FakeWooCommerce) -> None:
    """Time passes beyond the safety lag; one call shows the connector the channel's clock; pull."""
    fake.clock.advance(conn.safety_lag.total_seconds() + 2)
    conn.get_orders([next(iter(fake.orders))])
    pull(store, conn)


def _assert_latest(store: Store, fake: FakeWooCommerce) -> dict[str, tuple[int, str]]:
    stored = _stored(store)
    assert sorted(stored) == sorted(fake.orders), "every order once, none missing"
    stale = [oid for oid in fake.orders if stored[oid][0] != _micros(fake.updated_at(oid))]
    assert not stale, f"{len(stale)} orders not at their latest version, e.g. {stale[:3]}"
    return stored


# -- a. full sync of 2,000 orders under throttling, orders changing mid-sync ------------------


def test_full_sync_under_throttling_with_changes_mid_sync(shop: Store) -> None:
    # The host allows 15 calls a second, 2 at once; the client is configured far above it.
    with FakeWooCommerce(rate=15, burst=2, whole_retry_after=False) as fake:
        ids = _spread(fake, 2000)
        rng = random.Random(6)
        lists = {"n": 0}
        touched: set[str] = set()
        cancelled: set[str] = set()

        def meddle(req: Request) -> None:
            if req.method != "GET" or req.path != ORDERS:
                return
            lists["n"] += 1
            n = lists["n"]
            if n % 3 == 0:  # an order anywhere in the window changes between pages
                oid = rng.choice(ids)
                fake.touch(oid, note=f"change {n}")
                touched.add(oid)
            if n % 20 == 0:
                oid = rng.choice(ids)
                fake.touch(oid, cancel=True)
                cancelled.add(oid)
            if n % 17 == 0:
                fake.fail_next(2, status=503, path=ORDERS)  # a burst of 5xx: reads are sent again

        fake.on_request.append(meddle)
        conn = _connector(fake, limits={"api": {"rate": 1000, "burst": 100}})
        try:
            report = pull(shop, conn)
            fake.on_request.clear()
            _catch_up(shop, conn, fake)
            assert report.splits > 0, "a day of 2,000 orders does not fit a page: the window was split"
            assert conn.api.throttled > 0 and fake.throttled > 0, "the client was throttled and waited"
            assert len(touched) > 10 and cancelled
            stored = _assert_latest(shop, fake)
            assert len(stored) == 2000
            assert all(stored[oid][1] == "cancelled" for oid in cancelled)
            assert load_sync(shop, "woo").window is None
        finally:
            conn.close()


# -- b. a crash mid-sync, then a restart ------------------------------------------------------


def test_crash_mid_sync_then_restart_loses_nothing(shop: Store, woo: FakeWooCommerce) -> None:
    _spread(woo, 600, span=dt.timedelta(minutes=40))
    lists = {"n": 0}

    def die(req: Request) -> None:
        if req.path == ORDERS:
            lists["n"] += 1
            if lists["n"] == 20:  # the channel goes away for good after 19 list calls
                woo.fail_next(1000, status=503)

    woo.on_request.append(die)
    conn = _connector(woo)
    try:
        with pytest.raises(Unreachable):
            pull(shop, conn)
    finally:
        conn.close()
    mid = load_sync(shop, "woo")
    assert mid.window is not None, "the crash left a window half read"
    assert 0 < len(_stored(shop)) < 600
    woo.on_request.clear()
    woo.heal()
    for oid in list(woo.orders)[::50]:
        woo.touch(oid, note="changed while we were down")
    again = _connector(woo)  # a new process: nothing is carried over but the store
    try:
        pull(shop, again)
        _catch_up(shop, again, woo)
        assert len(_assert_latest(shop, woo)) == 600
    finally:
        again.close()


# -- c. a shipment confirmation retried after a timeout ---------------------------------------


def _notice(oid: str, fake: FakeWooCommerce, tracking: str = "9400111899560000000000") -> ShipmentNotice:
    o = fake.orders[oid]
    lines = tuple(ShippedLine(str(ln["id"]), ln["sku"], ln["sku"], ln["quantity"]) for ln in o.lines)
    return ShipmentNotice(f"ship-{oid}-1", oid, "USPS", tracking, dt.datetime(2026, 7, 10, 15, tzinfo=UTC), lines)


def test_shipment_retried_after_timeout_is_not_duplicated(woo: FakeWooCommerce) -> None:
    oid = woo.add_order({"S1": 2})
    armed = {"done": False}

    def stall_the_post(req: Request) -> None:
        # The read-back (GET) goes through; the POST that follows it is carried out and answered late.
        if req.method == "GET" and req.path.endswith("/shipment-trackings") and not armed["done"]:
            armed["done"] = True
            woo.stall_next(1, seconds=1.5, path="shipment-trackings")

    woo.on_request.append(stall_the_post)
    conn = _connector(woo, timeout=0.5)
    try:
        with pytest.raises(Unreachable):
            conn.confirm_shipment(_notice(oid, woo))
        assert len(woo.fulfillments(oid)) == 1, "the timed-out POST was carried out at the store"
        assert woo.orders[oid].status == "processing"
        tracking_id = conn.confirm_shipment(_notice(oid, woo))
        assert [t["tracking_number"] for t in woo.fulfillments(oid)] == ["9400111899560000000000"]
        assert tracking_id == woo.fulfillments(oid)[0]["tracking_id"]
        assert woo.orders[oid].status == "completed"
        assert woo.fulfillments(oid)[0]["date_shipped"] == "2026-07-10"
        # Once more (the outbox retrying a success it did not record): still one, still completed.
        assert conn.confirm_shipment(_notice(oid, woo)) == tracking_id
        assert len(woo.fulfillments(oid)) == 1
        # A second parcel with its own number is added.
        conn.confirm_shipment(_notice(oid, woo, tracking="9400111899560000000001"))
        assert len(woo.fulfillments(oid)) == 2
    finally:
        conn.close()


def test_the_fake_adds_a_tracking_twice_when_asked_twice(woo: FakeWooCommerce) -> None:
    # Why the connector reads back: WooCommerce itself does not deduplicate.
    oid = woo.add_order({"S1": 1})
    with httpx.Client(base_url=woo.url, auth=("ck_test", "cs_test")) as http:
        for _ in range(2):
            r = http.post(f"/wp-json/wc-shipment-tracking/v3/orders/{oid}/shipment-trackings",
                          json={"tracking_provider": "USPS", "tracking_number": "X1", "date_shipped": "2026-07-10"})
            assert r.status_code == 201 and r.json()["tracking_id"]
    assert len(woo.fulfillments(oid)) == 2


def test_a_cancelled_order_is_not_marked_shipped(woo: FakeWooCommerce) -> None:
    oid = woo.add_order({"S1": 1})
    woo.touch(oid, cancel=True)
    conn = _connector(woo)
    try:
        with pytest.raises(Rejected, match="cancelled at the store"):
            conn.confirm_shipment(_notice(oid, woo))
        assert woo.fulfillments(oid) == [] and woo.orders[oid].status == "cancelled"
    finally:
        conn.close()


# -- d. stock -----------------------------------------------------------------------------------


def test_stock_push_is_absolute_batched_and_reports_unknown_skus(woo: FakeWooCommerce) -> None:
    skus = [f"P{i:03d}" for i in range(150)]
    for sku in skus:
        woo.set_listing(sku, qty=7)
    woo.set_listing("VAR-1", qty=3, variation=True)
    conn = _connector(woo)
    try:
        levels = [StockLevel(sku, i % 9) for i, sku in enumerate(skus)] + [StockLevel("VAR-1", 11),
                                                                          StockLevel("NOPE", 4)]
        results = conn.push_stock(levels)
        assert [r.sku for r in results] == [lv.sku for lv in levels]
        by_sku = {r.sku: r for r in results}
        assert all(by_sku[s].accepted and woo.quantity(s) == i % 9 for i, s in enumerate(skus))
        assert by_sku["VAR-1"].accepted and woo.quantity("VAR-1") == 11
        assert by_sku["VAR-1"].ref["parent_id"] == woo.listings["VAR-1"].parent_id != 0
        assert not by_sku["NOPE"].accepted
        assert by_sku["NOPE"].error == f"no product with SKU NOPE at {woo.url}"
        batches = [c for c in woo.calls if c.method == "POST" and c.path.endswith("/batch")]
        assert sorted(len(c.json()["update"]) for c in batches) == [1, 50, 100]
        assert any("/variations/batch" in c.path for c in batches)
        assert [q for _, q in woo.accepted_at("VAR-1")] == [11]

        # The ids found are kept in the ref: the next push looks nothing up, and sends the same
        # absolute figure again harmlessly.
        before = len(woo.calls)
        again = conn.push_stock([StockLevel(r.sku, 5, r.ref) for r in results if r.accepted][:3])
        assert all(r.accepted for r in again) and woo.quantity(skus[0]) == 5
        assert not [c for c in woo.calls[before:] if c.method == "GET"]
    finally:
        conn.close()


def test_stock_push_finds_a_product_again_when_its_cached_id_is_gone(woo: FakeWooCommerce) -> None:
    woo.set_listing("S1", qty=1)
    conn = _connector(woo)
    try:
        stale = {"id": 99999, "parent_id": 0}
        [r] = conn.push_stock([StockLevel("S1", 8, stale)])
        assert r.accepted and woo.quantity("S1") == 8 and r.ref["id"] == woo.listings["S1"].id
        [gone] = conn.push_stock([StockLevel("GONE", 8, stale)])
        assert not gone.accepted and gone.error is not None and "no product with SKU GONE" in gone.error
    finally:
        conn.close()


def test_stock_push_retried_after_a_dropped_answer_lands_once(woo: FakeWooCommerce) -> None:
    woo.set_listing("S1", qty=1)
    woo.drop_next(1, path="/products/batch")  # carried out, answer lost: absolute, so sent again
    conn = _connector(woo)
    try:
        [r] = conn.push_stock([StockLevel("S1", 6)])
        assert r.accepted and woo.quantity("S1") == 6
        assert [q for _, q in woo.accepted_at("S1")] == [6, 6]
    finally:
        conn.close()


# -- e. WooCommerce's own rules ------------------------------------------------------------------


def test_per_page_over_100_is_refused_and_the_client_never_asks_it(woo: FakeWooCommerce) -> None:
    with httpx.Client(base_url=woo.url, auth=("ck_test", "cs_test")) as http:
        r = http.get(ORDERS, params={"per_page": 101})
        assert r.status_code == 400 and r.json()["code"] == "rest_invalid_param"
        assert "between 1 (inclusive) and 100 (inclusive)" in r.json()["data"]["params"]["per_page"]
        r = http.get(ORDERS, params={"orderby": "modified"})
        assert r.status_code == 400 and "orderby" in r.json()["data"]["params"]
        for _ in range(12):
            woo.add_order({"S1": 1})
        r = http.get(ORDERS)
        assert len(r.json()) == 10 and r.headers["X-WP-Total"] == "12" and r.headers["X-WP-TotalPages"] == "2"
        assert 'rel="next"' in r.headers["Link"]
    conn = _connector(woo, page_size=5)
    try:  # a page the set no longer reaches (orders left the window): an empty, last page
        now = woo.clock.now()
        gone = conn.list_orders(SyncWindow(now - dt.timedelta(hours=1), now + dt.timedelta(hours=1)), {"page": 9})
        assert gone.orders == () and gone.next_cursor is None
        first = conn.list_orders(SyncWindow(now - dt.timedelta(hours=1), now + dt.timedelta(hours=1)), None)
        assert first.total == 12 and first.next_cursor == {"page": 2} and len(first.orders) == 5
    finally:
        conn.close()
    with pytest.raises(ConnectorError, match="page_size"):
        _connector(woo, page_size=101)
    conn = _connector(woo)
    try:
        conn.list_orders(SyncWindow(woo.clock.now() - dt.timedelta(hours=1), woo.clock.now()), None)
        sent = [c for c in woo.calls if c.path == ORDERS][-1]
        assert sent.arg("per_page") == "100" and sent.arg("orderby") == "id" and sent.arg("dates_are_gmt") == "true"
        assert sent.arg("status") == "any"
    finally:
        conn.close()


def test_basic_auth_query_auth_and_a_wrong_key(woo: FakeWooCommerce) -> None:
    oid = woo.add_order({"S1": 1})
    with httpx.Client(base_url=woo.url) as http:
        r = http.get(ORDERS)
        assert r.status_code == 401 and r.json()["code"] == "woocommerce_rest_cannot_view"
    for conn in (_connector(woo), _connector(woo, auth="query")):
        try:
            assert [o.order.external_id for o in conn.get_orders([oid])] == [oid]
        finally:
            conn.close()
    assert "authorization" not in woo.calls[-1].headers and woo.calls[-1].arg("consumer_key") == "ck_test"
    wrong = _connector(woo, consumer_secret="cs_wrong")
    try:
        with pytest.raises(AuthRejected):
            wrong.get_orders([oid])
    finally:
        wrong.close()


def test_dates_are_read_in_utc_only_with_dates_are_gmt(woo: FakeWooCommerce) -> None:
    at = woo.clock.now().replace(microsecond=0) - dt.timedelta(hours=1)
    oid = woo.add_order({"S1": 1}, updated_at=at)
    window = SyncWindow(at - dt.timedelta(minutes=1), at + dt.timedelta(minutes=1))
    params: dict[str, str | int] = {"modified_after": (window.start.replace(tzinfo=None)).isoformat(),
              "modified_before": (window.end.replace(tzinfo=None)).isoformat(), "per_page": 100}
    with httpx.Client(base_url=woo.url, auth=("ck_test", "cs_test")) as http:
        forgot = http.get(ORDERS, params=params).json()
        right = http.get(ORDERS, params={**params, "dates_are_gmt": "true"}).json()
    assert forgot == [] and [o["id"] for o in right] == [int(oid)], "site time is -05:00: the filter misses"
    raw = right[0]
    assert raw["date_modified_gmt"] == at.replace(tzinfo=None).isoformat()
    assert raw["date_modified"] == (at - dt.timedelta(hours=5)).replace(tzinfo=None).isoformat()
    conn = _connector(woo)
    try:
        [o] = conn.list_orders(window, None).orders
        assert o.updated_at == at and o.order.version == _micros(at) and o.updated_at.tzinfo is not None
        # The window is [start, end): an order stamped exactly at `end` is the next window's.
        assert conn.list_orders(SyncWindow(at - dt.timedelta(minutes=1), at), None).orders == []
        assert len(conn.list_orders(SyncWindow(at, at + dt.timedelta(seconds=1)), None).orders) == 1
        half = SyncWindow(at - dt.timedelta(seconds=0.5), at + dt.timedelta(seconds=0.5))
        assert len(conn.list_orders(half, None).orders) == 1
    finally:
        conn.close()


def _page_by_page(fake: FakeWooCommerce, window: SyncWindow, on_page: Any) -> set[int]:
    """How a naive client reads: page 1, 2, ... of one window while the store changes."""
    got: set[int] = set()
    with httpx.Client(base_url=fake.url, auth=("ck_test", "cs_test")) as http:
        page = 1
        while True:
            r = http.get(ORDERS, params={
                "modified_after": window.start.replace(tzinfo=None).isoformat(timespec="seconds"),
                "modified_before": window.end.replace(tzinfo=None).isoformat(timespec="seconds"),
                "dates_are_gmt": "true", "orderby": "id", "order": "asc", "per_page": 10, "page": page})
            if r.status_code == 400:
                break
            got |= {o["id"] for o in r.json()}
            on_page(page)
            if page >= int(r.headers["X-WP-TotalPages"]):
                break
            page += 1
    return got


def test_window_bisection_reads_what_page_by_page_reading_skips(shop: Store, woo: FakeWooCommerce) -> None:
    ids = _spread(woo, 45, span=dt.timedelta(minutes=30))
    start = woo.clock.now() - dt.timedelta(hours=1)
    window = SyncWindow(start, woo.clock.now().replace(microsecond=0) - dt.timedelta(seconds=10))

    # Page-by-page: after page 1 the first order changes (leaves the window); the rest shift up
    # one place and the order that was 11th is on neither page 1 nor page 2.
    victims = iter(ids)
    naive = _page_by_page(woo, window, lambda page: woo.touch(next(victims), note=f"after page {page}"))
    in_window_before = {int(i) for i in ids}
    missed = in_window_before - naive - {int(i) for i in ids[:5]}
    assert missed, "the naive read skipped orders that never left the window"

    # Ours, with the same page size and the same changes between pages: nothing is skipped.
    ids2 = _spread(woo, 45, span=dt.timedelta(minutes=30))
    lists = {"n": 0}

    def meddle(req: Request) -> None:
        if req.path == ORDERS:  # every other list call, an order of the window changes
            lists["n"] += 1
            if lists["n"] % 2 == 0:
                woo.touch(ids2[lists["n"] // 2 % len(ids2)], note="mid-read")

    woo.on_request.append(meddle)
    conn = _connector(woo, page_size=10)
    try:
        report = pull(shop, conn)
        woo.on_request.clear()
        _catch_up(shop, conn, woo)
        assert report.splits > 0 and lists["n"] > 4
        _assert_latest(shop, woo)
    finally:
        conn.close()


def test_a_crowded_second_is_paged_then_counted_again(shop: Store, woo: FakeWooCommerce) -> None:
    # 25 orders in one second do not fit a page of 10 however the window is split: that second
    # is paged by offset, and read again because an order left it mid-read.
    at = woo.clock.now().replace(microsecond=0) - dt.timedelta(minutes=5)
    ids = [woo.add_order({"S2": 1}, updated_at=at) for _ in range(25)]
    touched = iter(ids[:3])  # three orders leave the second, one while each of three passes reads it

    def meddle(req: Request) -> None:
        if req.path == ORDERS and req.arg("page") == "2":
            oid = next(touched, None)
            if oid is not None:
                woo.touch(oid, note="moved")

    woo.on_request.append(meddle)
    conn = _connector(woo, page_size=10)
    try:
        report = pull(shop, conn)
        woo.on_request.clear()
        _catch_up(shop, conn, woo)
        assert report.restarts == 3, "each time the count moved, the second was read again"
        _assert_latest(shop, woo)
    finally:
        conn.close()


def test_order_mapping_money_skus_statuses(woo: FakeWooCommerce) -> None:
    woo.set_listing("VAR-9", qty=1, variation=True)
    oid = woo.add_order([("S1", 3), ("VAR-9", 1), ("S3", 2)], ship_to={"first_name": "Grace", "last_name": "Hopper",
                                                                        "city": "Arlington", "state": "VA"})
    with woo.lock:
        o = woo.orders[oid]
        o.lines[0]["price"] = "3.33"  # 9.99 for three: a float would make 332.99... of it
        o.lines[2]["sku"] = ""  # a product without a SKU
    conn = _connector(woo)
    try:
        [r] = conn.get_orders([oid, "nonsense"])
        order = r.order
        assert order.external_id == oid and order.currency == "USD" and not r.cancelled
        first, variation, blank = order.lines
        assert (first.item, first.item_kind, first.qty, first.unit_price_minor) == ("S1", "sku", 3, 333)
        assert first.line_ref == str(o.lines[0]["id"]) and first.item_ids["channel_item_id"] == str(o.lines[0]["product_id"])
        assert variation.item_ids["channel_item_id"] == str(woo.listings["VAR-9"].id)
        assert (blank.item, blank.item_kind) == (str(o.lines[2]["product_id"]), "channel_item_id")
        assert order.ship_to.name == "Grace Hopper" and order.ship_to.city == "Arlington"
        assert order.ship_to.region == "VA" and order.ship_to.country == "US"
        assert order.placed_at is not None and order.placed_at.tzinfo is not None
        for status, cancelled in (("refunded", True), ("on-hold", False), ("trash", True), ("cancelled", True)):
            woo.touch(oid, status=status)
            [again] = conn.get_orders([oid])  # a trashed order is found by its id all the same
            assert again.cancelled is cancelled, status
    finally:
        conn.close()


def test_an_order_that_cannot_be_mapped_is_a_problem_not_a_failure(woo: FakeWooCommerce) -> None:
    good = woo.add_order({"S1": 1})
    bad = woo.add_order({"S2": 1})
    with woo.lock:
        woo.orders[bad].lines[0].update(sku="", product_id=0, variation_id=0)
    conn = _connector(woo)
    try:
        now = woo.clock.now()
        page = conn.list_orders(SyncWindow(now - dt.timedelta(minutes=5), now + dt.timedelta(minutes=5)), None)
        assert [o.order.external_id for o in page.orders] == [good]
        assert [p[0] for p in page.problems] == [bad] and "neither a SKU nor a product id" in page.problems[0][1]
        assert page.total == 2 and page.body.startswith(b"[")
    finally:
        conn.close()


def test_5xx_bursts_and_host_throttles_are_waited_out_for_reads(woo: FakeWooCommerce) -> None:
    oid = woo.add_order({"S1": 1})
    woo.fail_next(3, status=502)
    conn = _connector(woo)
    try:
        assert [o.order.external_id for o in conn.get_orders([oid])] == [oid]
        assert conn.api.calls == 4 and len(woo.calls) == 1  # three 502s, then the answer
    finally:
        conn.close()
    with FakeWooCommerce(rate=5, burst=1) as slow:  # whole-second Retry-After, as hosts send
        oid = slow.add_order({"S1": 1})
        conn = _connector(slow)
        try:
            for _ in range(3):
                assert conn.get_orders([oid])
            assert slow.throttled > 0 and conn.api.throttled == slow.throttled
        finally:
            conn.close()


def test_webhooks_signed_duplicated_tampered_and_ping(woo: FakeWooCommerce) -> None:
    oid = woo.add_order({"S1": 1})
    conn = _connector(woo)
    try:
        headers, body = woo.webhook(oid, "order.updated")
        hint = conn.verify_webhook(headers, body)
        assert hint.external_ids == (oid,) and hint.topic == "order.updated"
        assert hint.event_id == headers["X-WC-Webhook-Delivery-ID"]
        assert conn.verify_webhook({k.lower(): v for k, v in headers.items()}, body) == hint  # delivered twice
        other_headers, other_body = woo.webhook(oid, "order.updated")
        assert conn.verify_webhook(other_headers, other_body).event_id != hint.event_id
        with pytest.raises(WebhookRejected):
            conn.verify_webhook(headers, body.replace(b'"status"', b'"Status"'))
        with pytest.raises(WebhookRejected):
            conn.verify_webhook({**headers, "X-WC-Webhook-Signature": woo.sign(b"other")}, body)
        unsigned = {k: v for k, v in headers.items() if k != "X-WC-Webhook-Signature"}
        with pytest.raises(WebhookRejected):
            conn.verify_webhook(unsigned, body)
        ping = conn.verify_webhook(*woo.webhook_ping())
        assert ping.external_ids == () and ping.topic == "ping"
    finally:
        conn.close()
    wrong = _connector(woo, webhook_secret="not-the-secret")
    try:
        with pytest.raises(WebhookRejected):
            wrong.verify_webhook(*woo.webhook(oid))
    finally:
        wrong.close()


def test_a_host_shedding_load_with_503_and_retry_after_is_waited_out_even_for_a_write() -> None:
    with FakeWooCommerce(rate=5, burst=1, throttle_status=503, whole_retry_after=False) as host:
        oid = host.add_order({"S1": 1})
        conn = _connector(host)
        try:
            for n in range(3):  # the POST of each is refused before it runs, so sending it again is safe
                conn.confirm_shipment(_notice(oid, host, tracking=f"T{n}"))
            assert [t["tracking_number"] for t in host.fulfillments(oid)] == ["T0", "T1", "T2"]
            assert host.throttled > 0 and conn.api.throttled == host.throttled
        finally:
            conn.close()


def test_paging_headers_dropped_by_a_cache_still_split_and_page(shop: Store) -> None:
    with FakeWooCommerce(strip_totals=True) as fake:
        _spread(fake, 120, span=dt.timedelta(minutes=20))
        crowded = fake.clock.now().replace(microsecond=0) - dt.timedelta(minutes=30)
        for _ in range(30):  # a second that needs two pages, told apart without X-WP-TotalPages
            fake.add_order({"S4": 1}, updated_at=crowded)
        conn = _connector(fake, page_size=25)
        try:
            report = pull(shop, conn)
            assert report.splits > 0
            assert len(_assert_latest(shop, fake)) == 150
        finally:
            conn.close()
