"""The eBay connector: orders from the Sell Fulfillment API, shipments confirmed as shipping
fulfillments, stock pushed through the Sell Inventory API's bulk price/quantity update.

    ebay = Ebay("ebay-us", {"client_id": ..., "client_secret": ..., "refresh_token": ...})
    page = ebay.list_orders(SyncWindow(start, end), None)   # offset-paged: the sync bisects
    ebay.confirm_shipment(notice)                           # reads back before it creates
    ebay.push_stock([StockLevel("S1", 4)])                  # 25 SKUs a call, offer ids cached

Settings (oms.toml `[channels.api]`):
    url                 API host, default https://api.ebay.com (sandbox: https://api.sandbox.ebay.com)
    token_url           default <url>/identity/v1/oauth2/token
    client_id, client_secret, refresh_token   the app keyset and the seller's refresh token
    scopes              default the sell.fulfillment and sell.inventory scopes
    marketplace_id      default EBAY_US: sent as X-EBAY-C-MARKETPLACE-ID, and picks the offers
    page_size           orders a page, at most 200 (default 200)
    timeout             seconds a call may take (default 30)
    limits              {"fulfillment"|"inventory": {"rate": r, "burst": b}} over the seeds below
    lookback_days (30), safety_lag_seconds (120), overlap_seconds (600), max_span_seconds (86400)

eBay publishes daily call quotas per API, not rates (REPORT §3: about 100,000 a day for
Fulfillment and 2,000,000 for Inventory, unverified): the buckets spread the quota over the
day with a small burst. A 429 with errorId 2001 and no Retry-After is the daily quota spent:
it raises QuotaExhausted until the next midnight Pacific time (eBay's call-limit day, and the
fake's), and connectors.sync pauses the channel with an alert; a 429 that says Retry-After is a
burst and is waited out.

getOrders pages by offset over a live set, so `paging = "offset"`: `total` tells the sync
whether a window fits one page, and windows are split until it does. Windows are [start, end)
and eBay's filter is inclusive [a..b] at millisecond grain, so the filter asks for
[ceil(start)..ceil(end) - 1 ms].

A shipping fulfillment POST is not idempotent (every call creates one), so confirm_shipment
first lists the order's fulfillments and returns the one with the same tracking number; a
POST that timed out raises Unreachable, and the retry's read-back finds it if eBay made it.

eBay notifications are signed with ECDSA keys from the Notification API; they are not
received here (polling covers them), so verify_webhook refuses everything.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import time
import zoneinfo
from collections.abc import Callable, Mapping, Sequence
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any, Literal
from urllib.parse import quote

import httpx

from store.canonical import Address, CanonicalLine, CanonicalOrder
from store.money import currency_exponent

from .api import ApiClient, OAuthToken, Verdict
from .channel import (
    Cursor, OrderPage, PushResult, RemoteOrder, ShipmentNotice, StockLevel, SyncWindow, WebhookHint, Windows, utc,
)
from .errors import ConnectorError, Rejected, WebhookRejected
from .throttle import seeded

__all__ = ["Ebay", "quota_reset", "SCOPES"]

SCOPES = (
    "https://api.ebay.com/oauth/api_scope/sell.fulfillment",
    "https://api.ebay.com/oauth/api_scope/sell.inventory",
)
_PACIFIC = zoneinfo.ZoneInfo("America/Los_Angeles")
_ORDER = "/sell/fulfillment/v1/order"
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
_MS = dt.timedelta(milliseconds=1)
_MAX_PAGE = 200  # a larger limit is an error (31100), not clamped
_MAX_IDS = 50  # orderIds per getOrders call
_MAX_BULK = 25  # requests per bulk_update_price_quantity
_QUOTA_ERROR = 2001
# Daily quotas spread over the day (calls per second), with room for a short burst.
_SEEDS = {"fulfillment": (100_000 / 86_400, 20.0), "inventory": (2_000_000 / 86_400, 50.0)}
_CARRIERS = {"ups": "UPS", "usps": "USPS", "fedex": "FedEx", "dhl": "DHL", "ontrac": "OnTrac"}


def quota_reset(at: dt.datetime) -> dt.datetime:
    """When a daily quota spent at `at` comes back: the next midnight Pacific time, in UTC."""
    day = at.astimezone(_PACIFIC).date() + dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(0), tzinfo=_PACIFIC).astimezone(dt.timezone.utc)


def _ebay_time(value: dt.datetime) -> str:
    v = utc(value)
    return v.strftime("%Y-%m-%dT%H:%M:%S.") + f"{v.microsecond // 1000:03d}Z"


def _ceil_ms(value: dt.datetime) -> dt.datetime:
    v = utc(value)
    whole = v.replace(microsecond=v.microsecond // 1000 * 1000)
    return whole if whole == v else whole + _MS


def _parse_time(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"date {text!r} has no zone")
    return utc(value)


def _micros(value: dt.datetime) -> int:
    # Exact: a float timestamp can land a microsecond short.
    return (value - _EPOCH) // dt.timedelta(microseconds=1)


def _inspect(group: str, r: httpx.Response) -> Verdict | None:
    """A 429 errorId 2001 without Retry-After is the daily quota: pause until Pacific midnight."""
    if r.status_code != 429 or r.headers.get("retry-after"):
        return None
    try:
        errors = r.json().get("errors") or []
    except (ValueError, AttributeError):
        return None
    for e in errors:
        if isinstance(e, dict) and e.get("errorId") == _QUOTA_ERROR:
            why = e.get("longMessage") or e.get("message")
            return Verdict(quota_until=quota_reset(_their_now(r)), reason=f"{group}: {why}")
    return None


def _their_now(r: httpx.Response) -> dt.datetime:
    """The answer's Date header (eBay's clock decides which day it is), else ours."""
    try:
        when = email.utils.parsedate_to_datetime(r.headers.get("date", ""))
    except (TypeError, ValueError):
        when = None
    if when is None or when.tzinfo is None:
        return dt.datetime.now(dt.timezone.utc)
    return utc(when)


class Ebay:
    paging: Literal["keyset", "offset"] = "offset"

    def __init__(
        self, channel: str, settings: Mapping[str, Any], *, transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.channel = channel
        url = str(settings.get("url") or "https://api.ebay.com").rstrip("/")
        for key in ("client_id", "client_secret", "refresh_token"):
            if not settings.get(key):
                raise ConnectorError(f"channel {channel}: eBay needs {key} in [channels.api]")
        scopes = settings.get("scopes") or SCOPES
        scope = scopes if isinstance(scopes, str) else " ".join(scopes)
        self.marketplace = str(settings.get("marketplace_id") or "EBAY_US")
        self.page_size = max(1, min(_MAX_PAGE, int(settings.get("page_size") or _MAX_PAGE)))
        w = Windows.of(settings, lag=120, overlap=600, span=86_400)
        self.lookback, self.safety_lag, self.overlap, self.max_span = w.lookback, w.safety_lag, w.overlap, w.max_span
        buckets = seeded(settings.get("limits"), _SEEDS)
        self.auth = OAuthToken(
            str(settings.get("token_url") or f"{url}/identity/v1/oauth2/token"),
            {"grant_type": "refresh_token", "refresh_token": str(settings["refresh_token"]), "scope": scope},
            basic=(str(settings["client_id"]), str(settings["client_secret"])),
        )
        self.api = ApiClient(
            url, channel=channel, buckets=buckets, auth=self.auth, inspect=_inspect,
            headers={"X-EBAY-C-MARKETPLACE-ID": self.marketplace, "Accept": "application/json"},
            timeout=float(settings.get("timeout") or 30.0), sleep=sleep, transport=transport,
        )

    # -- the Connector protocol ------------------------------------------------------------

    def now(self) -> dt.datetime:
        return self.api.now()

    def close(self) -> None:
        self.api.close()

    def list_orders(self, window: SyncWindow, cursor: Cursor | None) -> OrderPage:
        offset = int((cursor or {}).get("offset", 0))
        first, last = _ceil_ms(window.start), _ceil_ms(window.end) - _MS
        criteria = f"lastmodifieddate:[{_ebay_time(first)}..{_ebay_time(last)}]"
        # eBay wants [ ] { | } percent-encoded; httpx would leave some of them as they are.
        query = f"filter={quote(criteria, safe=':.,')}&limit={self.page_size}&offset={offset}"
        r = self.api.request("fulfillment", "GET", f"{_ORDER}?{query}")
        body = r.json()
        orders, problems = self._map_all(body.get("orders") or [])
        total = body.get("total")
        more = bool(body.get("next")) and bool(body.get("orders"))
        return OrderPage(orders, {"offset": offset + self.page_size} if more else None, body=r.content,
                         total=int(total) if total is not None else None, problems=problems)

    def get_orders(self, external_ids: Sequence[str]) -> list[RemoteOrder]:
        ids = list(dict.fromkeys(external_ids))
        found: list[RemoteOrder] = []
        for i in range(0, len(ids), _MAX_IDS):
            chunk = ",".join(quote(x, safe="-") for x in ids[i:i + _MAX_IDS])
            r = self.api.request("fulfillment", "GET", f"{_ORDER}?orderIds={chunk}")
            orders, _ = self._map_all(r.json().get("orders") or [])
            found += orders
        return found

    def confirm_shipment(self, notice: ShipmentNotice) -> str:
        oid = quote(notice.external_id, safe="-")
        path = f"{_ORDER}/{oid}/shipping_fulfillment"
        lines = self._line_items(oid, notice)
        held = self._fulfillment_with(path, notice.tracking, lines)
        if held is not None:
            return held
        payload = {
            "lineItems": lines,
            "shippedDate": _ebay_time(notice.shipped_at),
            "shippingCarrierCode": _CARRIERS.get(notice.carrier.strip().lower(), notice.carrier.strip()),
            "trackingNumber": notice.tracking.strip(),
        }
        # Not retried here: a POST that timed out may have created the fulfillment, and only
        # the read-back above (on the outbox's retry) can tell.
        r = self.api.request("fulfillment", "POST", path, json=payload, ok=(201,),
                             headers={"Content-Language": "en-US"})
        location = r.headers.get("location", "")
        if location:
            return location.rstrip("/").rsplit("/", 1)[-1]
        again = self._fulfillment_with(path, notice.tracking, lines)
        if again is None:
            raise Rejected(f"{self.channel}: eBay created a fulfillment for order {notice.external_id} "
                           "but named none and lists none", status=r.status_code)
        return again

    def push_stock(self, levels: Sequence[StockLevel]) -> list[PushResult]:
        latest = {lv.sku: lv for lv in levels}  # the last level for a SKU wins
        results: dict[str, PushResult] = {}
        ready: list[tuple[StockLevel, list[str]]] = []
        for lv in latest.values():
            offers = [str(o) for o in (lv.ref.get("offer_ids") or [])]
            if not offers:
                offers = self._offers(lv.sku)
            if not offers:
                why = f"eBay has no {self.marketplace} offer for SKU {lv.sku}"
                results[lv.sku] = PushResult(lv.sku, False, lv.qty, {}, why)
                continue
            ready.append((lv, offers))
        for i in range(0, len(ready), _MAX_BULK):
            for res in self._bulk(ready[i:i + _MAX_BULK]):
                results[res.sku] = res
        return [results[sku] for sku in latest]

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookHint:
        raise WebhookRejected("ebay notifications are not received; polling covers them")

    # -- orders ---------------------------------------------------------------------------

    def _map_all(self, raw: Sequence[Any]) -> tuple[list[RemoteOrder], list[tuple[str, str]]]:
        orders: list[RemoteOrder] = []
        problems: list[tuple[str, str]] = []
        for n, o in enumerate(raw, 1):
            ref = str(o.get("orderId") or f"#{n}") if isinstance(o, dict) else f"#{n}"
            try:
                orders.append(self._map(o))
            except (KeyError, TypeError, ValueError, InvalidOperation, AttributeError) as exc:
                problems.append((ref, f"cannot be read: {type(exc).__name__}: {exc}"))
        return orders, problems

    def _map(self, o: Mapping[str, Any]) -> RemoteOrder:
        updated = _parse_time(o["lastModifiedDate"])
        placed = _parse_time(o["creationDate"]) if o.get("creationDate") else None
        money = (o.get("pricingSummary") or {}).get("total") or {}
        items = o.get("lineItems") or []
        currency = str(money.get("currency") or (items[0]["lineItemCost"]["currency"] if items else ""))
        lines = tuple(self._line(li, currency) for li in items if int(li.get("quantity") or 0) > 0)
        steps = [s for s in (o.get("fulfillmentStartInstructions") or []) if isinstance(s, dict)]
        ship = ((steps[0].get("shippingStep") or {}).get("shipTo") or {}) if steps else {}
        addr = ship.get("contactAddress") or {}
        buyer = o.get("buyer") or {}
        order = CanonicalOrder(
            channel=self.channel, external_id=str(o["orderId"]), lines=lines, currency=currency,
            version=_micros(updated), updated_at=updated, placed_at=placed,
            buyer_name=ship.get("fullName") or (buyer.get("buyerRegistrationAddress") or {}).get("fullName"),
            buyer_ref=buyer.get("username"),
            ship_to=Address(
                name=ship.get("fullName"), address1=addr.get("addressLine1"), address2=addr.get("addressLine2"),
                city=addr.get("city"), region=addr.get("stateOrProvince"), postal_code=addr.get("postalCode"),
                country=addr.get("countryCode"),
            ),
        )
        cancelled = (o.get("cancelStatus") or {}).get("cancelState") == "CANCELED"
        return RemoteOrder(order, updated, cancelled, o)

    @staticmethod
    def _line(li: Mapping[str, Any], currency: str) -> CanonicalLine:
        qty = int(li["quantity"])
        cost = li["lineItemCost"]
        if cost.get("currency") and cost["currency"] != currency:
            raise ValueError(f"line {li.get('lineItemId')} is in {cost['currency']}, the order in {currency}")
        # lineItemCost is the line's price (unit x quantity): the unit price is its share.
        unit = (Decimal(str(cost["value"])) / qty).scaleb(currency_exponent(currency))
        minor = int(unit.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
        sku = str(li.get("sku") or "").strip()
        item_id = str(li.get("legacyItemId") or "")
        if sku:
            kind, item, ids = "sku", sku, ({"channel_item_id": item_id} if item_id else {})
        else:
            kind, item, ids = "channel_item_id", item_id, {}
        return CanonicalLine(item=item, qty=qty, unit_price_minor=minor, item_kind=kind, item_ids=ids,
                             description=li.get("title"), line_ref=str(li["lineItemId"]))

    # -- shipments ----------------------------------------------------------------------------

    def _fulfillment_with(self, path: str, tracking: str, lines: Sequence[Mapping[str, Any]]) -> str | None:
        """The id of the order's fulfillment with this tracking number and these lines, if eBay
        has one (one parcel number may carry two of our shipments of different lines)."""
        want = "".join(tracking.split()).upper()
        refs = {str(li["lineItemId"]) for li in lines}
        r = self.api.request("fulfillment", "GET", path)
        for f in r.json().get("fulfillments") or []:
            if "".join(str(f.get("shipmentTrackingNumber") or "").split()).upper() != want:
                continue
            if refs <= {str(li.get("lineItemId")) for li in f.get("lineItems") or []}:
                return str(f["fulfillmentId"])
        return None

    def _line_items(self, oid: str, notice: ShipmentNotice) -> list[dict[str, Any]]:
        """eBay line ids and quantities, one entry per line (eBay refuses a line twice)."""
        by_ref: dict[str, int] = {}
        missing = [ln for ln in notice.lines if not ln.line_ref]
        lookup: dict[str, str] = {}
        if missing:  # a line that came in without eBay's id: find it on the order by SKU or item
            r = self.api.request("fulfillment", "GET", f"{_ORDER}/{oid}")
            for li in r.json().get("lineItems") or []:
                for key in (li.get("sku"), li.get("legacyItemId")):
                    if key:
                        lookup.setdefault(str(key), str(li["lineItemId"]))
        for ln in notice.lines:
            ref = ln.line_ref or lookup.get(ln.item) or lookup.get(ln.sku)
            if ref is None:
                raise Rejected(f"{self.channel}: order {notice.external_id} has no line for {ln.sku} ({ln.item})")
            by_ref[ref] = by_ref.get(ref, 0) + ln.qty
        return [{"lineItemId": ref, "quantity": qty} for ref, qty in by_ref.items() if qty > 0]

    # -- stock ------------------------------------------------------------------------------

    def _offers(self, sku: str) -> list[str]:
        try:
            r = self.api.request("inventory", "GET", "/sell/inventory/v1/offer",
                                 params={"sku": sku, "marketplace_id": self.marketplace})
        except Rejected as exc:
            if exc.status in (400, 404):  # no inventory item or offer for this SKU
                return []
            raise
        return [str(o["offerId"]) for o in r.json().get("offers") or []
                if o.get("offerId") and o.get("marketplaceId", self.marketplace) == self.marketplace]

    def _bulk(self, batch: Sequence[tuple[StockLevel, list[str]]]) -> list[PushResult]:
        payload = {"requests": [
            {"sku": lv.sku, "shipToLocationAvailability": {"quantity": max(0, lv.qty)},
             "offers": [{"offerId": o, "availableQuantity": max(0, lv.qty)} for o in offers]}
            for lv, offers in batch
        ]}
        try:
            # Absolute quantities: sending them again is harmless, so a timeout may retry.
            r = self.api.request("inventory", "POST", "/sell/inventory/v1/bulk_update_price_quantity",
                                 json=payload, retry_write=True, headers={"Content-Language": "en-US"})
        except Rejected as exc:
            return [PushResult(lv.sku, False, lv.qty, {}, str(exc)) for lv, _ in batch]
        answers: dict[str, list[Mapping[str, Any]]] = {}
        for row in r.json().get("responses") or []:
            answers.setdefault(str(row.get("sku")), []).append(row)
        out = []
        for lv, offers in batch:
            rows = answers.get(lv.sku)
            if not rows:
                out.append(PushResult(lv.sku, False, lv.qty, {"offer_ids": offers}, "eBay did not answer for this SKU"))
                continue
            bad = [row for row in rows if int(row.get("statusCode") or 0) != 200]
            if not bad:
                out.append(PushResult(lv.sku, True, lv.qty, {"offer_ids": offers}))
                continue
            why = "; ".join(_why(row) for row in bad)
            # Refused: look the offers up again next time (the item may have been relisted).
            out.append(PushResult(lv.sku, False, lv.qty, {}, why))
        return out


def _why(row: Mapping[str, Any]) -> str:
    errors = [e for e in (row.get("errors") or []) if isinstance(e, dict)]
    text = "; ".join(f"{e.get('errorId')}: {e.get('longMessage') or e.get('message')}" for e in errors)
    offer = f" offer {row['offerId']}" if row.get("offerId") else ""
    return f"eBay {row.get('statusCode')}{offer}: {text or json.dumps(row)[:200]}"
