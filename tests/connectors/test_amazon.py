"""The Amazon connector against its fake over real HTTP, pulling into a real store (SQLite, PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from connectors.amazon import Amazon, package_reference
from connectors.channel import ShipmentNotice, ShippedLine, StockLevel, SyncWindow
from connectors.errors import ConnectorError, CursorExpired, Rejected, Unreachable, WebhookRejected
from connectors.fakes.amazon import FakeAmazon
from connectors.fakes.server import Clock, Request
from connectors.sync import pull
from store import Store
from store.channel_sync import load_sync
from store.models import Channel, Order

ROOT = Path(__file__).resolve().parents[2]
SEARCH = "/orders/2026-01-01/orders"
SKUS = ("S1", "S2", "S3", "S4", "S5")


def _settings(fake: FakeAmazon, **over: Any) -> dict[str, Any]:
    return {"url": fake.url, "token_url": fake.url + "/auth/o2/token", "client_id": fake.client_id,
            "client_secret": fake.client_secret, "refresh_token": fake.refresh_token, "seller_id": fake.seller_id,
            "marketplace_id": fake.marketplace_id, **over}


def _quick(seconds: float) -> None:
    """Backoffs shortened (the waits themselves are what the tests look at, not their length)."""
    time.sleep(min(seconds, 0.05))


@pytest.fixture
def fake() -> Iterator[FakeAmazon]:
    with FakeAmazon() as f:
        assert isinstance(f, FakeAmazon)
        yield f


def _seed(fake: FakeAmazon, n: int, *, hours: float, seed: int = 1) -> list[str]:
    """`n` orders updated over the last `hours` (minus the 2 minutes Amazon hides)."""
    rnd = random.Random(seed)
    now = fake.clock.now()
    ids = []
    for i in range(n):
        when = now - dt.timedelta(minutes=5) - dt.timedelta(seconds=rnd.uniform(0, hours * 3600))
        pairs = [(s, rnd.randint(1, 3)) for s in rnd.sample(SKUS, rnd.randint(1, 3))]
        ids.append(fake.add_order(pairs, updated_at=when, unit_price=f"{rnd.randint(100, 9999) / 100:.2f}"))
    return ids


def _stored(store: Store) -> dict[str, tuple[int, str]]:
    """external id -> (version, status) of the channel's orders, failing on a duplicate."""
    with store.read() as conn:
        rows = conn.execute(select(Order.external_id, Order.version, Order.status)
                            .join(Channel, Channel.id == Order.channel_id).where(Channel.code == "amz")).all()
    out = {r.external_id: (int(r.version), r.status) for r in rows}
    assert len(out) == len(rows), "an order is stored twice"
    return out


def _search_calls(fake: FakeAmazon) -> list[Request]:
    return [c for c in fake.calls if c.path == SEARCH]


# -- a. a full sync under throttling, orders changing mid-sync ---------------------------------

def test_full_sync_of_2000_orders_under_throttling_with_changes_mid_sync(catalog: Store) -> None:
    # searchOrders at 20 rps, burst 2 on the fake's clock; the client starts from the documented
    # plan (0.0056 rps, burst 20) and learns the rate from x-amzn-RateLimit-Limit.
    with FakeAmazon(limits={"searchOrders": (20.0, 2)}) as fake:
        assert isinstance(fake, FakeAmazon)
        ids = _seed(fake, 2000, hours=30)
        rnd = random.Random(7)
        touched: set[str] = set()
        cancelled: set[str] = set()
        seen = {"pages": 0}

        def meanwhile(req: Request) -> None:
            if req.path != SEARCH:
                return
            seen["pages"] += 1
            # Another client of this seller spends the shared quota now and then: a 429 follows.
            if seen["pages"] % 4 == 0:
                fake.spend_quota("searchOrders")
            if seen["pages"] == 9:
                fake.fail_next(2, status=503, path=SEARCH)  # a short outage: reads are retried
            for oid in rnd.sample(ids, 4):  # buyers change orders between pages
                if oid in cancelled:
                    continue
                if rnd.random() < 0.25:
                    fake.touch(oid, cancel=True)
                    cancelled.add(oid)
                else:
                    fake.touch(oid, ship_to={"addressLine2": f"Apt {rnd.randint(1, 99)}"})
                touched.add(oid)

        fake.on_request.append(meanwhile)
        amz = Amazon("amz", _settings(fake, max_span_seconds=8 * 3600, lookback_days=2), sleep=_quick)
        first = pull(catalog, amz)
        fake.on_request.clear()
        # The changes made during the pull are newer than its last window; once Amazon's
        # 2 minutes have passed, the next poll (a connector built afresh) takes them.
        fake.clock.advance(amz.safety_lag.total_seconds() + 30)
        amz.close()
        later = Amazon("amz", _settings(fake, max_span_seconds=8 * 3600, lookback_days=2), sleep=_quick)
        second = pull(catalog, later)
        later.close()
        seen_429 = amz.api.throttled + later.api.throttled

        stored = _stored(catalog)
        assert set(stored) == set(ids)
        stale = [oid for oid in ids if stored[oid][0] != fake.version(oid)]
        assert stale == []
        assert {oid for oid in ids if stored[oid][1] == "cancelled"} == cancelled
        assert len(touched) > 50 and cancelled
        assert first.windows > 1 and second.orders >= len(touched)
        # Throttled for real, and every 429 was waited out and sent again.
        assert fake.throttled["searchOrders"] >= 3
        assert seen_429 == fake.throttled["searchOrders"] and amz.api.throttled >= 3
        assert amz.buckets["searchOrders"].rate == 20.0
        assert not fake.refused  # never a 2-minute violation or a mismatched page token


# -- b. a crash mid-sync and a restart ---------------------------------------------------------

_CHILD = """
import json, sys
from store import open_store
from connectors.amazon import Amazon
from connectors.sync import pull
store = open_store(sys.argv[1])
pull(store, Amazon("amz", json.loads(sys.argv[2])))
print("finished")
"""


@pytest.mark.parametrize("expired", [False, True], ids=["resume", "token-expired"])
def test_a_killed_sync_restarts_and_loses_nothing(catalog: Store, db_url: str, expired: bool) -> None:
    with FakeAmazon() as fake:
        assert isinstance(fake, FakeAmazon)
        ids = _seed(fake, 600, hours=6, seed=3)
        settings = _settings(fake, page_size=50, max_span_seconds=2 * 86400, lookback_days=1)
        child: dict[str, subprocess.Popen[bytes]] = {}
        pages = {"n": 0}

        def kill_at_fifth_page(req: Request) -> None:
            if req.path == SEARCH:
                pages["n"] += 1
                if pages["n"] == 5:
                    child["p"].send_signal(signal.SIGKILL)  # kill -9 while the page is on the wire

        fake.on_request.append(kill_at_fifth_page)
        child["p"] = subprocess.Popen([sys.executable, "-c", _CHILD, db_url, json.dumps(settings)], cwd=ROOT,
                                      env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE)
        out, _ = child["p"].communicate(timeout=60)
        assert child["p"].returncode == -signal.SIGKILL and b"finished" not in out
        fake.on_request.clear()

        state = load_sync(catalog, "amz")
        assert state.window is not None and state.cursor is not None  # killed inside a window
        assert 0 < len(_stored(catalog)) < len(ids)
        if expired:
            fake.clock.advance(25 * 3600)  # page tokens last 24 h, access tokens 1 h
        before = len(fake.calls)
        amz = Amazon("amz", settings)
        report = pull(catalog, amz)
        resumed = [c for c in fake.calls[before:] if c.path == SEARCH]
        assert resumed[0].arg("paginationToken") == state.cursor["token"]  # picked up where it died
        if expired:
            assert report.restarts == 1
            assert [r[2] for r in fake.refused if r[1] == 400] == ["paginationToken has expired"]
        else:
            assert report.restarts == 0 and not fake.refused
        stored = _stored(catalog)
        assert set(stored) == set(ids)
        assert all(stored[oid][0] == fake.version(oid) for oid in ids)
        amz.close()


# -- c. a shipment confirmation retried after a timeout ------------------------------------------

def _notice(key: str, oid: str, fake: FakeAmazon, *, refs: bool = True, only: int | None = None) -> ShipmentNotice:
    items = fake.orders[oid].items if only is None else [fake.orders[oid].items[only]]
    lines = tuple(ShippedLine(it["orderItemId"] if refs else None, it["sku"], it["sku"], it["qty"]) for it in items)
    return ShipmentNotice(key, oid, "UPS", "1Z999AA10123456784", dt.datetime(2026, 11, 2, 15, 30, tzinfo=dt.timezone.utc),
                          lines, service="UPS Ground")


def test_a_confirmation_whose_answer_timed_out_is_sent_again_without_a_second_package(fake: FakeAmazon) -> None:
    oid = fake.add_order({"S1": 2, "S2": 1})
    amz = Amazon("amz", _settings(fake, timeout=0.5), sleep=_quick)
    path = "shipmentConfirmation"
    # Every try is carried out at Amazon and answered too late: the call fails...
    fake.stall_next(amz.api.tries, seconds=1.0, path=path)
    with pytest.raises(Unreachable):
        amz.confirm_shipment(_notice("ship-1", oid, fake, only=0))
    assert len([c for c in fake.calls if c.path.endswith(path)]) == amz.api.tries
    # ...and the outbox sends it again later: still one package, the same one.
    ref = amz.confirm_shipment(_notice("ship-1", oid, fake, only=0))
    assert ref == package_reference("ship-1")
    assert [(p["packageReferenceId"], p["orderItems"]) for p in fake.fulfillments(oid)] == [
        (ref, [{"orderItemId": fake.orders[oid].items[0]["orderItemId"], "quantity": 2}])]
    assert fake.orders[oid].status == "PARTIALLY_SHIPPED"
    # One timeout, then the client's own retry: one package more, not two.
    fake.stall_next(1, seconds=1.0, path=path)
    amz.confirm_shipment(_notice("ship-2", oid, fake, refs=False, only=1))  # line ids looked up by SKU
    assert sorted(p["packageReferenceId"] for p in fake.fulfillments(oid)) == sorted([ref, package_reference("ship-2")])
    assert fake.orders[oid].status == "SHIPPED"
    amz.close()


def test_shipment_details_amazon_insists_on(fake: FakeAmazon) -> None:
    oid = fake.add_order({"S1": 1})
    amz = Amazon("amz", _settings(fake))
    notice = _notice("ship-9", oid, fake)
    amz.confirm_shipment(ShipmentNotice(notice.key, oid, "Speedy Couriers Ltd", notice.tracking, notice.shipped_at,
                                        notice.lines))
    (package,) = fake.fulfillments(oid)
    assert (package["carrierCode"], package["carrierName"]) == ("Other", "Speedy Couriers Ltd")
    assert package["shipDate"] == "2026-11-02T15:30:00Z"
    # The fake refuses what Amazon refuses: a US-style date, a carrier "Other" without a name.
    for bad in ({"shipDate": "11/02/2026"}, {"carrierCode": "Other"}):
        detail = {"packageReferenceId": "77", "carrierCode": "UPS", "trackingNumber": "1Z", "shipDate": "2026-11-02T15:30:00Z",
                  "orderItems": [{"orderItemId": fake.orders[oid].items[0]["orderItemId"], "quantity": 1}], **bad}
        r = amz.api.http.post(f"/orders/v0/orders/{oid}/shipmentConfirmation", headers=amz.auth.headers(amz.api.http),
                              json={"marketplaceId": fake.marketplace_id, "packageDetail": detail})
        assert r.status_code == 400
    with pytest.raises(Rejected, match="names no carrier"):
        amz.confirm_shipment(ShipmentNotice("ship-10", oid, " ", "1Z", notice.shipped_at, notice.lines))
    amz.close()


# -- d. stock ------------------------------------------------------------------------------------

def test_stock_is_pushed_absolute_one_patch_per_sku_with_errors_per_sku() -> None:
    # Listings at 20 rps, burst 1 on the fake while the client believes the documented 5/5; the
    # fake's clock moves 30 ms a call, so every other call finds the bucket empty.
    with FakeAmazon(clock=Clock(ticking=False), limits={"patchListingsItem": (20.0, 1)}, apply_delay=0.1) as fake:
        assert isinstance(fake, FakeAmazon)
        fake.on_request.append(lambda req: fake.clock.advance(0.03) if req.method == "PATCH" else None)
        for sku in ("S1", "S2", "S3"):
            fake.set_listing(sku, qty=4)
        fake.set_listing("LUG 1/A", qty=4, product_type="LUGGAGE")
        amz = Amazon("amz", _settings(fake), sleep=_quick)
        results = amz.push_stock([StockLevel("S1", 7), StockLevel("S2", 0), StockLevel("NOT-LISTED", 3),
                                  StockLevel("S1", 9), StockLevel("LUG 1/A", 2, {"productType": "LUGGAGE"})])
        by_sku = {r.sku: r for r in results}
        assert [(r.sku, r.accepted, r.qty) for r in results] == [
            ("S1", True, 9), ("S2", True, 0), ("NOT-LISTED", False, 3), ("LUG 1/A", True, 2)]
        assert "NOT-LISTED does not match any listing" in str(by_sku["NOT-LISTED"].error)
        assert by_sku["S1"].ref["productType"] == "PRODUCT" and by_sku["S1"].ref["submissionId"]
        patches = [c for c in fake.calls if c.method == "PATCH"]
        assert len(patches) - fake.throttled["patchListingsItem"] == 4  # one per SKU, the latest level
        assert fake.throttled["patchListingsItem"] > 0 and amz.api.throttled == fake.throttled["patchListingsItem"]
        assert json.loads(patches[-1].body)["productType"] == "LUGGAGE"
        deadline = time.monotonic() + 10
        shown = lambda: [fake.quantity(s) for s in ("S1", "S2", "S3", "LUG 1/A")]  # noqa: E731
        while shown() != [9, 0, 4, 2] and time.monotonic() < deadline:  # applied a moment after ACCEPTED
            time.sleep(0.02)
        assert shown() == [9, 0, 4, 2]
        assert [q for _, q in fake.accepted_at("S1")] == [9]
        amz.close()


def test_accepted_is_not_applied_and_a_failing_api_leaves_the_rest_unsent() -> None:
    with FakeAmazon(apply_delay=3600) as fake:
        assert isinstance(fake, FakeAmazon)
        for sku in ("S1", "S2", "S3"):
            fake.set_listing(sku, qty=4)
        amz = Amazon("amz", _settings(fake), sleep=_quick)
        assert [r.accepted for r in amz.push_stock([StockLevel("S1", 1)])] == [True]
        assert fake.quantity("S1") == 4  # ACCEPTED: Amazon applies it later
        fake.fail_next(amz.api.tries, status=503, path="/listings/")
        results = amz.push_stock([StockLevel("S2", 1), StockLevel("S3", 1)])
        assert [(r.sku, r.accepted) for r in results] == [("S2", False), ("S3", False)]
        assert "503" in str(results[0].error) and str(results[1].error).startswith("not sent:")
        assert not any(c.path.endswith("/S3") for c in fake.calls)
        amz.close()


# -- e. Amazon's own rules -----------------------------------------------------------------------

def test_windows_end_two_minutes_behind_amazons_clock_even_when_ours_runs_ahead(catalog: Store) -> None:
    # Amazon's clock is 10 minutes behind ours: a window ending at our now less 150 s would be
    # in Amazon's future, and refused.
    with FakeAmazon(clock=Clock(dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=10))) as fake:
        assert isinstance(fake, FakeAmazon)
        ids = _seed(fake, 120, hours=2, seed=5)
        amz = Amazon("amz", _settings(fake, lookback_days=1))
        pull(catalog, amz)
        assert not fake.refused
        assert set(_stored(catalog)) == set(ids)
        for call in _search_calls(fake):
            before = dt.datetime.fromisoformat(str(call.arg("lastUpdatedBefore")).replace("Z", "+00:00"))
            assert before <= fake.clock.now() - dt.timedelta(minutes=2)
        # What the rule protects against: the fake answers Amazon's 400 to a window too recent.
        with pytest.raises(Rejected, match="400"):
            amz.list_orders(SyncWindow(fake.clock.now() - dt.timedelta(hours=1), fake.clock.now() - dt.timedelta(seconds=60)),
                            None)
        assert fake.refused[-1][2] == "lastUpdatedBefore must be at least 2 minutes before the time of the request"
        amz.close()
        with pytest.raises(ConnectorError, match="at least 120"):
            Amazon("amz", _settings(fake, safety_lag_seconds=60))


def test_page_tokens_go_back_with_the_same_parameters(fake: FakeAmazon) -> None:
    _seed(fake, 30, hours=1, seed=9)
    amz = Amazon("amz", _settings(fake, page_size=10))
    window = SyncWindow(fake.clock.now() - dt.timedelta(hours=2), fake.clock.now() - dt.timedelta(minutes=3))
    first = amz.list_orders(window, None)
    assert first.next_cursor is not None and len(first.orders) == 10
    second = amz.list_orders(window, first.next_cursor)
    assert {o.order.external_id for o in second.orders}.isdisjoint(o.order.external_id for o in first.orders)
    calls = _search_calls(fake)
    assert [{k: v for k, v in c.query.items() if k != "paginationToken"} for c in calls[1:]] == [
        {k: v for k, v in calls[0].query.items()}]
    # A token sent with another window is refused by Amazon: the sync reads the window again.
    with pytest.raises(CursorExpired):
        amz.list_orders(SyncWindow(window.start + dt.timedelta(seconds=1), window.end), second.next_cursor)
    assert fake.refused[-1][2].startswith("paginationToken must be sent with the same parameters")
    amz.close()


def test_access_tokens_are_refreshed_before_and_after_they_expire(fake: FakeAmazon) -> None:
    fake.add_order({"S1": 1})
    amz = Amazon("amz", _settings(fake))
    oid = next(iter(fake.orders))
    assert len(amz.get_orders([oid])) == 1 and fake.token_grants == 1
    fake.expire_tokens()  # revoked early: SP-API's 403, a new token, the call again
    assert len(amz.get_orders([oid])) == 1
    assert (fake.token_grants, amz.token_retries) == (2, 1)
    assert fake.refused[-1][1:] == (403, "The access token you provided has expired.")
    fake.clock.advance(3600 - 30)  # Amazon's clock (its Date header) says the token is nearly spent
    amz.get_orders([oid])
    amz.get_orders([oid])
    assert (fake.token_grants, amz.token_retries) == (3, 1)  # renewed ahead of time, no 403
    amz.close()


def test_orders_map_to_canonical_orders(fake: FakeAmazon) -> None:
    t = fake.clock.now() - dt.timedelta(minutes=30)
    plain = fake.add_order([("S1", 2), ("", 1)], updated_at=t, unit_price="49.99",
                           ship_to={"name": "Ada Lovelace", "addressLine2": "Suite 4", "addressLine3": "Floor 2"})
    pending = fake.add_order({"S2": 1}, updated_at=t, status="PENDING")
    yen = fake.add_order({"S3": 3}, updated_at=t, unit_price="1200", currency="JPY")
    gone = fake.add_order({"S4": 1}, updated_at=t)
    fake.touch(gone, cancel=True)
    fake.clock.advance(600)
    amz = Amazon("amz", _settings(fake))
    by_id = {o.order.external_id: o for o in amz.get_orders([plain, pending, yen, gone, "999-0000000-0000000"])}
    assert set(by_id) == {plain, pending, yen, gone}
    o = by_id[plain].order
    assert (o.currency, o.version, o.placed_at) == ("USD", fake.version(plain), t.replace(microsecond=t.microsecond // 1000 * 1000))
    assert [(ln.item, ln.item_kind, ln.qty, ln.unit_price_minor, ln.line_ref) for ln in o.lines] == [
        ("S1", "sku", 2, 4999, fake.orders[plain].items[0]["orderItemId"]),
        (fake.orders[plain].items[1]["asin"], "channel_item_id", 1, 4999, fake.orders[plain].items[1]["orderItemId"])]
    assert (o.ship_to.name, o.ship_to.address2, o.ship_to.country) == ("Ada Lovelace", "Suite 4, Floor 2", "US")
    assert [ln.unit_price_minor for ln in by_id[pending].order.lines] == [0]  # no price until it is placed
    assert (by_id[yen].order.currency, by_id[yen].order.lines[0].unit_price_minor) == ("JPY", 1200)
    assert by_id[gone].cancelled and not by_id[plain].cancelled
    amz.close()


def test_an_order_that_cannot_be_mapped_is_reported_and_the_rest_of_the_page_kept(fake: FakeAmazon) -> None:
    t = fake.clock.now() - dt.timedelta(minutes=30)
    good = fake.add_order({"S1": 1}, updated_at=t)
    bad = fake.add_order({"S2": 1}, updated_at=t, unit_price="1.999")  # more decimals than USD has
    amz = Amazon("amz", _settings(fake))
    page = amz.list_orders(SyncWindow(t - dt.timedelta(minutes=1), fake.clock.now() - dt.timedelta(minutes=3)), None)
    assert [o.order.external_id for o in page.orders] == [good]
    assert page.problems == [(bad, "item 1: unit price 1.999 has more decimals than USD")]
    assert bad.encode() in page.body  # the page is kept as it came
    amz.close()


def test_the_fake_refuses_what_amazon_refuses(fake: FakeAmazon) -> None:
    amz = Amazon("amz", _settings(fake))
    headers = amz.auth.headers(amz.api.http)
    old = (fake.clock.now() - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    cases = {
        "createdAfter and lastUpdatedAfter": {"createdAfter": old, "lastUpdatedAfter": old},
        "neither": {"marketplaceIds": fake.marketplace_id},
        "page of 101": {"lastUpdatedAfter": old, "maxResultsPerPage": "101"},
        "an offset": {"lastUpdatedAfter": old.replace("Z", "+09:00")},
        "unknown token": {"lastUpdatedAfter": old, "paginationToken": "nope"},
    }
    for why, params in cases.items():
        r = httpx.get(fake.url + SEARCH, params=params, headers=headers)
        assert r.status_code == 400 and r.json()["errors"][0]["code"] == "InvalidInput", why
        assert "x-amzn-RateLimit-Limit" in r.headers, why
    r = httpx.get(fake.url + SEARCH, params={"lastUpdatedAfter": old})
    assert r.status_code == 403 and r.json()["errors"][0]["message"] == "Access to requested resource is denied."
    fake.spend_quota("searchOrders")
    r = httpx.get(fake.url + SEARCH, params={"lastUpdatedAfter": old}, headers=headers)
    assert (r.status_code, r.json()["errors"][0]["code"], r.headers["x-amzn-RateLimit-Limit"]) == (429, "QuotaExceeded", "0.0056")
    with pytest.raises(WebhookRejected, match="SQS"):
        amz.verify_webhook({}, b"{}")
    amz.close()
