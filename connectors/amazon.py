"""Amazon Selling Partner API: orders (Orders 2026-01-01), shipments (v0 confirmShipment), MFN stock (Listings).

    amz = Amazon("amz", {"client_id": ..., "client_secret": ..., "refresh_token": ..., "seller_id": ...})
    page = amz.list_orders(SyncWindow(start, end), None)      # searchOrders, one page
    amz.confirm_shipment(notice)                              # 204; the same notice again edits, never adds
    amz.push_stock([StockLevel("S1", 7)])                     # one Listings PATCH per SKU, absolute

Settings (oms.toml `[channels.api]`):
    url                 SP-API host (default https://sellingpartnerapi-na.amazon.com; -eu, -fe)
    token_url           LWA token endpoint (default https://api.amazon.com/auth/o2/token)
    client_id, client_secret, refresh_token    the LWA app and the seller's authorisation (required)
    seller_id           the merchant token, for Listings (required)
    marketplace_id      default ATVPDKIKX0DER (amazon.com)
    currency            for an order whose lines carry no price yet (default: the marketplace's)
    product_type        the listings' Amazon product type for PATCH (default PRODUCT; a StockLevel's
                        ref["productType"] wins)
    page_size           maxResultsPerPage, 1..100 (default 100)
    timeout             seconds per call (default 30)
    limits              {operation: {"rate": r, "burst": b}} for searchOrders, getOrder,
                        confirmShipment, patchListingsItem, over the documented usage plans
    lookback_days       where the first sync starts (default 30)
    safety_lag_seconds  how far behind Amazon's clock a window ends (default 150, at least 120)
    overlap_seconds     how much of the last window the next reads again (default 600)
    max_span_seconds    the longest window (default 7 days)
    (webhook_secret is not used: Amazon has no HTTP webhooks, see the end of this docstring)

What Amazon asks of a client, and where it is done:
  - an access token from LWA (refresh_token grant), in `x-amz-access-token`, cached until a
    minute before it expires; SP-API answers a stale token with 403 (not 401), so a 403 gets
    one new token and one more try (`_call`);
  - searchOrders' `lastUpdatedBefore` at least 2 minutes before Amazon's now: windows end
    `safety_lag` behind Amazon's clock (its Date header; before the first window the connector
    asks once, so a skewed clock of ours cannot put the window in Amazon's future);
  - `paginationToken` sent with exactly the parameters of the first page (they all come from
    the frozen window), and a token Amazon refuses (expired after 24 h) is CursorExpired, so the
    sync reads the window again;
  - usage plans: a bucket per operation seeded from the docs, its rate corrected from
    `x-amzn-RateLimit-Limit`; a 429 (no Retry-After) waits for the next token at that rate;
  - confirmShipment's packageReferenceId (numeric) is derived from the notice's key, so a
    retry after a timeout edits the same package instead of adding a second;
  - Listings answers ACCEPTED before it applies the quantity; ACCEPTED is what we record.
Amazon's order notifications go to SQS, not to an HTTP endpoint: polling covers them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, Literal
from urllib.parse import quote

import httpx

from store.canonical import Address, CanonicalLine, CanonicalOrder
from store.money import currency_exponent

from .api import ApiClient, OAuthToken, Verdict
from .channel import (
    Cursor, OrderPage, PushResult, RemoteOrder, ShipmentNotice, StockLevel, SyncWindow, WebhookHint, Windows, utc,
)
from .errors import ApiError, AuthRejected, ConnectorError, CursorExpired, QuotaExhausted, Rejected, WebhookRejected
from .throttle import seeded

__all__ = ["Amazon", "USAGE_PLANS", "package_reference"]

# Documented default usage plans (rate per second, burst) of the operations used.
USAGE_PLANS: Mapping[str, tuple[float, float]] = {
    "searchOrders": (0.0056, 20),
    "getOrder": (0.5, 30),
    "confirmShipment": (2.0, 10),
    "patchListingsItem": (5.0, 5),
}

log = logging.getLogger("oms.connectors.amazon")

_ORDERS = "/orders/2026-01-01/orders"
_INCLUDED = "RECIPIENT,FULFILLMENT,PROCEEDS"
_MIN_LAG = dt.timedelta(minutes=2)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
# An order id no seller has: asking for it costs a getOrder token and tells Amazon's clock.
_PROBE_ID = "000-0000000-0000000"

_MARKETPLACE_CURRENCY = {
    "ATVPDKIKX0DER": "USD", "A2EUQ1WTGCTBG2": "CAD", "A1AM78C64UM0Y8": "MXN", "A2Q3Y263D00KWC": "BRL",
    "A1F83G8C2ARO7P": "GBP", "A1PA6795UKMFR9": "EUR", "A13V1IB3VIYZZH": "EUR", "APJ6JRA9NG5V4": "EUR",
    "A1RKKUPIHCS9HS": "EUR", "A1805IZSGTT6HS": "EUR", "A2NODRKZP88ZB9": "SEK", "A1C3SOZRARQ6R3": "PLN",
    "A1VC38T7YXB528": "JPY", "A39IBJ37TRP1C6": "AUD", "A19VAU5U5O7RUS": "SGD", "A21TJRUUN4KGV": "INR",
}

# Amazon's carrier codes for the carriers we name most; anything else goes as "Other" with its name.
_CARRIERS = {
    "ups": "UPS", "usps": "USPS", "fedex": "FedEx", "dhl": "DHL", "dhlecommerce": "DHL eCommerce", "ontrac": "OnTrac",
    "amazonshipping": "Amazon Shipping", "lasership": "LaserShip", "canadapost": "Canada Post", "royalmail": "Royal Mail",
    "dpd": "DPD", "purolator": "Purolator", "gls": "GLS", "hermes": "Hermes", "yamato": "Yamato Transport",
}


def _iso(t: dt.datetime) -> str:
    """UTC with a Z: Amazon refuses other offsets on some endpoints (selling-partner-api-docs#3324)."""
    t = utc(t)
    return t.strftime("%Y-%m-%dT%H:%M:%S") + (f".{t.microsecond // 1000:03d}Z" if t.microsecond else "Z")


def _parse_time(value: Any) -> dt.datetime:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{value!r} is not a date-time")
    return utc(dt.datetime.fromisoformat(value.replace("Z", "+00:00")))


def _micros(t: dt.datetime) -> int:
    # Exact integer arithmetic: a float timestamp times 1e6 can land one microsecond short.
    return (utc(t) - _EPOCH) // dt.timedelta(microseconds=1)


def package_reference(key: str) -> str:
    """The packageReferenceId for a shipment: Amazon takes positive numbers only, so a number
    derived from our idempotency key (the same key, the same package)."""
    return str(int(hashlib.sha256(key.encode()).hexdigest()[:15], 16) + 1)


class _Unmappable(Exception):
    pass


class Amazon:
    paging: Literal["keyset", "offset"] = "keyset"

    def __init__(
        self, channel: str, settings: Mapping[str, Any], *, transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.channel = channel
        missing = [k for k in ("client_id", "client_secret", "refresh_token", "seller_id") if not settings.get(k)]
        if missing:
            raise ConnectorError(f"channel {channel}: the amazon connector needs {', '.join(missing)}")
        self.seller_id = str(settings["seller_id"])
        self.marketplace_id = str(settings.get("marketplace_id") or "ATVPDKIKX0DER")
        self.currency = str(settings.get("currency") or _MARKETPLACE_CURRENCY.get(self.marketplace_id, "USD"))
        self.product_type = str(settings.get("product_type") or "PRODUCT")
        self.page_size = max(1, min(100, int(settings.get("page_size") or 100)))
        w = Windows.of(settings, lag=150, overlap=600, span=7 * 86400)
        self.lookback, self.safety_lag, self.overlap, self.max_span = w.lookback, w.safety_lag, w.overlap, w.max_span
        if self.safety_lag < _MIN_LAG:
            raise ConnectorError(f"channel {channel}: safety_lag_seconds must be at least 120 "
                                 "(Amazon refuses a window ending less than 2 minutes before its now)")
        self.buckets = seeded(settings.get("limits"), USAGE_PLANS, sleep=sleep)
        self.auth = OAuthToken(
            str(settings.get("token_url") or "https://api.amazon.com/auth/o2/token"),
            {"grant_type": "refresh_token", "refresh_token": str(settings["refresh_token"]),
             "client_id": str(settings["client_id"]), "client_secret": str(settings["client_secret"])},
            header="x-amz-access-token", prefix="",
            # Expiry is counted on Amazon's clock (its Date headers), the clock that decides it.
            clock=lambda: self.api.now().timestamp(),
        )
        self.api = ApiClient(
            str(settings.get("url") or "https://sellingpartnerapi-na.amazon.com").rstrip("/"), channel=channel,
            buckets=self.buckets, auth=self.auth, inspect=self._inspect, timeout=float(settings.get("timeout") or 30),
            sleep=sleep, transport=transport,
            headers={"accept": "application/json", "user-agent": "oms-gateway/1.0 (Language=Python)"},
        )
        self.token_retries = 0  # 403s answered with a new token (an expired one, as SP-API reports it)

    # -- calls ------------------------------------------------------------------------------

    def _inspect(self, group: str, r: httpx.Response) -> Verdict | None:
        """Keep the bucket at the rate Amazon says applies; a 429 waits for its next token."""
        bucket = self.buckets[group]
        try:
            rate = float(r.headers.get("x-amzn-ratelimit-limit", ""))
        except ValueError:
            rate = 0.0
        if rate > 0 and abs(rate - bucket.rate) > 1e-9:
            bucket.correct(rate=rate)  # the burst is in no header: it stays as documented
        if r.status_code == 429:
            return Verdict(wait=1.0 / (rate if rate > 0 else bucket.rate), reason="QuotaExceeded")
        return None

    def _call(self, group: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self.api.request(group, method, path, **kwargs)
        except AuthRejected as exc:
            if exc.status != 403:
                raise
            # SP-API says 403 "Access to requested resource is denied." for an expired token
            # (selling-partner-api-models#4122) where ApiClient expects 401: a new token, once.
            # Nothing was carried out, so sending a write again is safe.
            self.auth.invalidate()
            self.token_retries += 1
            return self.api.request(group, method, path, **kwargs)

    def now(self) -> dt.datetime:
        if self.api.calls == 0:
            # Windows end 2 minutes behind Amazon's clock, not ours: hear it once before the
            # first window is frozen. If Amazon cannot be reached, ours stands in (and a window
            # in its future is refused with a 400, never read short).
            try:
                self._call("getOrder", "GET", f"{_ORDERS}/{_PROBE_ID}", ok=(200, 400, 404))
            except ApiError:
                pass
        return self.api.now()

    def close(self) -> None:
        self.api.close()

    # -- orders -----------------------------------------------------------------------------

    def list_orders(self, window: SyncWindow, cursor: Cursor | None) -> OrderPage:
        start = utc(window.start).replace(microsecond=0)  # earlier, never later: nothing is left out
        end = utc(window.end)
        if end.microsecond:
            end = end.replace(microsecond=0) + dt.timedelta(seconds=1)
        # Every parameter but the token comes from the frozen window, so the pages of one window
        # send identical parameters as Amazon demands (after a restart too).
        params = {"lastUpdatedAfter": _iso(start), "lastUpdatedBefore": _iso(end), "marketplaceIds": self.marketplace_id,
                  "maxResultsPerPage": str(self.page_size), "includedData": _INCLUDED,
                  # Orders Amazon fulfils (FBA) are not ours to ship.
                  "fulfilledBy": "MERCHANT"}
        if cursor is not None:
            params["paginationToken"] = str(cursor["token"])
        try:
            r = self._call("searchOrders", "GET", _ORDERS, params=params)
        except Rejected as exc:
            if cursor is not None and exc.status == 400:
                raise CursorExpired(f"{self.channel}: page token refused: {exc}", status=400) from exc
            raise
        try:
            data = r.json()
            raw_orders = data["orders"]
            if not isinstance(raw_orders, list):
                raise TypeError("orders is not a list")
        except (ValueError, KeyError, TypeError) as exc:
            raise Rejected(f"{self.channel}: searchOrders answered what is not an order page: {exc}",
                           status=r.status_code, body=r.content) from exc
        orders, problems = self._map_all(raw_orders)
        token = (data.get("pagination") or {}).get("nextToken")
        return OrderPage(orders, {"token": token} if token else None, body=r.content, problems=problems)

    def get_orders(self, external_ids: Sequence[str]) -> list[RemoteOrder]:
        """The orders as Amazon has them now; ids Amazon does not know are left out."""
        raw: list[Any] = []
        for oid in dict.fromkeys(external_ids):
            r = self._call("getOrder", "GET", f"{_ORDERS}/{quote(oid, safe='')}", params={"includedData": _INCLUDED},
                           ok=(200, 404))
            if r.status_code == 200:
                raw.append(r.json().get("order"))
        orders, problems = self._map_all(raw)
        for ref, why in problems:  # the next pull's page records it against the stored page
            log.warning("order not mapped", extra={"channel": self.channel, "order": ref, "error": why})
        return orders

    def _map_all(self, raw_orders: Sequence[Any]) -> tuple[list[RemoteOrder], list[tuple[str, str]]]:
        orders: list[RemoteOrder] = []
        problems: list[tuple[str, str]] = []
        for n, raw in enumerate(raw_orders, 1):
            if isinstance(raw, dict) and ((raw.get("fulfillment") or {}).get("fulfilledBy") or "MERCHANT") != "MERCHANT":
                continue  # fulfilled by Amazon (a getOrder of an FBA id, or a filter the API ignored)
            ref = str(raw.get("orderId") or f"#{n}") if isinstance(raw, dict) else f"#{n}"
            try:
                if not isinstance(raw, dict):
                    raise _Unmappable("is not an object")
                orders.append(self._map(raw))
            except (_Unmappable, ValueError, TypeError, KeyError) as exc:
                problems.append((ref, str(exc) or type(exc).__name__))
        return orders, problems

    def _map(self, o: Mapping[str, Any]) -> RemoteOrder:
        oid = o.get("orderId")
        if not oid:
            raise _Unmappable("no orderId")
        try:
            updated = _parse_time(o.get("lastUpdatedTime"))
        except ValueError as exc:
            raise _Unmappable(f"lastUpdatedTime: {exc}") from None
        placed = _parse_time(o["createdTime"]) if o.get("createdTime") else None
        currency = self._currency(o)
        lines = tuple(self._line(it, currency, k) for k, it in enumerate(o.get("orderItems") or (), 1))
        if not lines:
            raise _Unmappable("no orderItems")
        fulfillment = o.get("fulfillment") or {}
        ship_by = None
        latest = (fulfillment.get("shipByWindow") or {}).get("latestDateTime")
        if latest:
            ship_by = _parse_time(latest).date()
        buyer = o.get("buyer") or {}
        order = CanonicalOrder(
            channel=self.channel, external_id=str(oid), lines=lines, currency=currency, version=_micros(updated),
            updated_at=updated, placed_at=placed, buyer_name=buyer.get("buyerName") or None,
            buyer_ref=buyer.get("buyerPurchaseOrderNumber") or None,
            ship_to=self._address((o.get("recipient") or {}).get("deliveryAddress") or {}), requested_ship_date=ship_by,
        )
        return RemoteOrder(order, updated, cancelled=fulfillment.get("fulfillmentStatus") == "CANCELLED", raw=o)

    def _currency(self, o: Mapping[str, Any]) -> str:
        for it in o.get("orderItems") or ():
            code = (((it.get("product") or {}).get("price") or {}).get("unitPrice") or {}).get("currencyCode")
            if code:
                return str(code)
        code = ((o.get("proceeds") or {}).get("grandTotal") or {}).get("currencyCode")
        return str(code) if code else self.currency  # a pending order carries no money yet

    @staticmethod
    def _line(it: Mapping[str, Any], currency: str, k: int) -> CanonicalLine:
        product = it.get("product") or {}
        sku, asin = str(product.get("sellerSku") or ""), str(product.get("asin") or "")
        if not sku and not asin:
            raise _Unmappable(f"item {k} has neither sellerSku nor asin")
        price = (product.get("price") or {}).get("unitPrice")
        minor = 0  # pending orders carry no price; the order's next version has it
        if price:
            if price.get("currencyCode") and price["currencyCode"] != currency:
                raise _Unmappable(f"item {k} is priced in {price['currencyCode']}, the order in {currency}")
            try:
                amount = Decimal(str(price["amount"])).scaleb(currency_exponent(currency))
            except (InvalidOperation, KeyError):
                raise _Unmappable(f"item {k}: unit price {price.get('amount')!r} is not an amount") from None
            if amount != amount.to_integral_value():
                raise _Unmappable(f"item {k}: unit price {price['amount']} has more decimals than {currency}")
            minor = int(amount)
        qty = it.get("quantityOrdered")
        if isinstance(qty, bool) or not isinstance(qty, int):
            raise _Unmappable(f"item {k}: quantityOrdered {qty!r} is not a whole number")
        return CanonicalLine(
            item=sku or asin, item_kind="sku" if sku else "channel_item_id",
            item_ids={"channel_item_id": asin} if sku and asin else {}, qty=qty, unit_price_minor=minor,
            description=product.get("title") or None, line_ref=str(it["orderItemId"]) if it.get("orderItemId") else None,
        )

    @staticmethod
    def _address(a: Mapping[str, Any]) -> Address:
        second = ", ".join(str(x) for x in (a.get("addressLine2"), a.get("addressLine3")) if x)
        return Address(name=a.get("name") or None, address1=a.get("addressLine1") or None, address2=second or None,
                       city=a.get("city") or None, region=a.get("stateOrRegion") or None,
                       postal_code=a.get("postalCode") or None, country=a.get("countryCode") or None)

    # -- shipments --------------------------------------------------------------------------

    def confirm_shipment(self, notice: ShipmentNotice) -> str:
        """Confirm the package; returns its packageReferenceId. Sending the same notice again
        (after a timeout) edits the same package, so Amazon never holds two."""
        if not notice.carrier.strip():
            raise Rejected(f"{self.channel}: shipment of order {notice.external_id} names no carrier (Amazon needs one)")
        refs = self._line_refs(notice)
        quantities: dict[str, int] = {}
        for ref, line in zip(refs, notice.lines):
            quantities[ref] = quantities.get(ref, 0) + line.qty
        code = _CARRIERS.get("".join(ch for ch in notice.carrier.lower() if ch.isalnum()), "Other")
        package = package_reference(notice.key)
        detail: dict[str, Any] = {"packageReferenceId": package, "carrierCode": code, "trackingNumber": notice.tracking,
                                  "shipDate": _iso(notice.shipped_at),
                                  "orderItems": [{"orderItemId": r, "quantity": q} for r, q in quantities.items() if q > 0]}
        if code == "Other":
            detail["carrierName"] = notice.carrier.strip()
        if notice.service:
            detail["shippingMethod"] = notice.service
        self._call("confirmShipment", "POST", f"/orders/v0/orders/{quote(notice.external_id, safe='')}/shipmentConfirmation",
                   json={"marketplaceId": self.marketplace_id, "packageDetail": detail}, retry_write=True, ok=(204,))
        return package

    def _line_refs(self, notice: ShipmentNotice) -> list[str]:
        """Each line's orderItemId: as it came in, else looked up by SKU on the order."""
        if all(line.line_ref for line in notice.lines):
            return [str(line.line_ref) for line in notice.lines]
        r = self._call("getOrder", "GET", f"{_ORDERS}/{quote(notice.external_id, safe='')}")
        by_sku: dict[str, str] = {}
        for it in (r.json().get("order") or {}).get("orderItems") or ():
            product = it.get("product") or {}
            for ident in (product.get("sellerSku"), product.get("asin")):
                if ident:
                    by_sku.setdefault(str(ident), str(it["orderItemId"]))
        refs = []
        for line in notice.lines:
            ref = line.line_ref or by_sku.get(line.item) or by_sku.get(line.sku)
            if not ref:
                raise Rejected(f"{self.channel}: order {notice.external_id} has no item {line.item or line.sku}")
            refs.append(str(ref))
        return refs

    # -- stock ------------------------------------------------------------------------------

    def push_stock(self, levels: Sequence[StockLevel]) -> list[PushResult]:
        """One absolute PATCH per SKU (the latest level of a SKU named twice). A SKU Amazon
        refuses is reported and the rest still go; once the API itself fails (unreachable,
        throttled past the retries, credentials), the SKUs not sent yet are reported unsent."""
        latest = {lv.sku: lv for lv in levels}
        results: list[PushResult] = []
        failure: str | None = None
        for sku, lv in latest.items():
            if failure is not None:
                results.append(PushResult(sku, False, lv.qty, lv.ref, f"not sent: {failure}"))
                continue
            product_type = str(lv.ref.get("productType") or self.product_type)
            body = {"productType": product_type, "patches": [{
                "op": "replace", "path": "/attributes/fulfillment_availability",
                "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": max(0, lv.qty)}]}]}
            try:
                r = self._call("patchListingsItem", "PATCH",
                               f"/listings/2021-08-01/items/{quote(self.seller_id, safe='')}/{quote(sku, safe='')}",
                               params={"marketplaceIds": self.marketplace_id}, json=body, retry_write=True)
            except QuotaExhausted:
                raise
            except Rejected as exc:
                results.append(PushResult(sku, False, lv.qty, lv.ref, str(exc)))
                continue
            except ApiError as exc:
                failure = str(exc)
                results.append(PushResult(sku, False, lv.qty, lv.ref, failure))
                continue
            data = r.json()
            ref = {**lv.ref, "productType": product_type, "submissionId": data.get("submissionId")}
            if data.get("status") == "ACCEPTED":
                results.append(PushResult(sku, True, lv.qty, ref))
            else:
                issues = [f"{i.get('code')}: {i.get('message')}" for i in data.get("issues") or ()
                          if isinstance(i, dict) and i.get("severity") == "ERROR"]
                results.append(PushResult(sku, False, lv.qty, ref,
                                          "; ".join(issues) or f"Amazon answered {data.get('status')}"))
        return results

    # -- webhooks ---------------------------------------------------------------------------

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookHint:
        raise WebhookRejected("amazon notifications arrive by SQS; polling covers them")
