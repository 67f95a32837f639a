"""A fake eBay: OAuth user tokens, Sell Fulfillment orders and shipping fulfillments, and the
Sell Inventory offers and bulk price/quantity update, over real HTTP on loopback.

    ebay = FakeEbay(clock=Clock(start), daily_quota=5_000, rate=5, burst=25).start()
    oid = ebay.add_order({"S1": 2})                 # "01-00000-00001"
    ebay.touch(oid, note="leave at the door")       # lastModifiedDate moves to the fake's now
    ebay.set_listing("S1", qty=0)                   # an inventory item with one published offer
    ebay.quantity("S1")                             # what the listing shows: min(item, offer)

What it holds to (REPORT §3, §12):
  - POST /identity/v1/oauth2/token: Basic client id:secret, grant_type=refresh_token, the
    refresh token and sell scopes; the access token lasts `token_ttl` seconds of the fake clock,
    then every call answers 401 (errorId 1001) until a new one is minted;
  - GET /sell/fulfillment/v1/order: `filter` with creationdate:[a..b] and lastmodifieddate:[a..b]
    (inclusive, open end allowed; when both are sent only creationdate is applied, as eBay
    documents), orderfulfillmentstatus:{A|B}; no date filter means the last 90 days of
    creation; limit 1..200 (above 200: 400 errorId 31100), offset; the answer is
    {href,total,limit,offset,next,prev,orders} over the set as it is *now*, ordered by creation
    date: an order changed between two pages leaves a frozen window and the rows after it move
    up one, so naive offset paging skips one. `orderIds` (at most 50) overrides everything;
  - POST .../order/{id}/shipping_fulfillment creates a new fulfillment on every call (201 +
    Location), it is not idempotent; GET lists them (`shipmentTrackingNumber`, as eBay names it);
  - GET /sell/inventory/v1/offer?sku= and POST /sell/inventory/v1/bulk_update_price_quantity
    (at most 25 requests; HTTP 200 with a statusCode per offer, so partial failures);
  - throttles: a per-second ServerBucket for bursts answers 429 with Retry-After; a daily call
    quota per API (fulfillment, inventory), counted on the fake clock's day in
    America/Los_Angeles (eBay's day starts at midnight Pacific time), answers 429 errorId 2001
    with no Retry-After once spent, until the next Pacific midnight.

Error ids other than 31100 (limit) and 2001 (quota) and 1001 (token) are the fake's own
choice; the shapes ({"errors":[{errorId,domain,category,message,longMessage}]}) are eBay's.
"""

from __future__ import annotations

import base64
import datetime as dt
import math
import threading
import time
import zlib
import zoneinfo
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qs, urlencode

from .server import Clock, FakeApi, Request, Response, Route, ServerBucket, json_response

__all__ = ["FakeEbay", "PACIFIC", "next_pacific_midnight", "ebay_time"]

PACIFIC = zoneinfo.ZoneInfo("America/Los_Angeles")
SCOPES = (
    "https://api.ebay.com/oauth/api_scope/sell.fulfillment",
    "https://api.ebay.com/oauth/api_scope/sell.inventory",
)
_ORDER = "/sell/fulfillment/v1/order"
_SHIP = _ORDER + r"/(?P<oid>[^/]+)/shipping_fulfillment"
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
_LIMIT_REACHED = "The request limit has been reached for the resource."


def ebay_time(value: dt.datetime) -> str:
    """ISO 8601 UTC with milliseconds, as eBay writes dates: 2024-01-01T00:00:00.000Z."""
    v = value.astimezone(dt.timezone.utc)
    return v.strftime("%Y-%m-%dT%H:%M:%S.") + f"{v.microsecond // 1000:03d}Z"


def _ms(value: dt.datetime) -> dt.datetime:
    """Truncated to the millisecond: eBay's dates carry no finer grain."""
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def _parse_time(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"{text} has no zone")
    return value.astimezone(dt.timezone.utc)


def next_pacific_midnight(at: dt.datetime) -> dt.datetime:
    """The next start of an eBay call-limit day after `at`, in UTC."""
    local = at.astimezone(PACIFIC).date() + dt.timedelta(days=1)
    return dt.datetime.combine(local, dt.time(0), tzinfo=PACIFIC).astimezone(dt.timezone.utc)


def _error(status: int, error_id: int, message: str, *, long: str | None = None, domain: str = "API_FULFILLMENT",
           category: str = "REQUEST", headers: Mapping[str, str] | None = None) -> Response:
    err = {"errorId": error_id, "domain": domain, "category": category, "message": message,
           "longMessage": long or message}
    return json_response({"errors": [err]}, status, headers)


class _Listing:
    def __init__(self, sku: str, item_id: str, qty: int) -> None:
        self.sku, self.item_id, self.qty = sku, item_id, qty
        self.offers: dict[str, int] = {}  # offerId -> availableQuantity
        self.revisions: dict[dt.date, int] = {}


class FakeEbay(FakeApi):
    def __init__(
        self, *, clock: Clock | None = None, client_id: str = "oms-app-PRD", client_secret: str = "PRD-secret",
        refresh_token: str = "v^1.1#i^1#refresh", token_ttl: float = 7200.0, rate: float = 5.0, burst: float = 25.0,
        daily_quota: int | None = None, currency: str = "USD", marketplace: str = "EBAY_US",
        revise_limit: int = 250,
    ) -> None:
        super().__init__(clock=clock)
        self.client_id, self.client_secret, self.refresh_token = client_id, client_secret, refresh_token
        self.token_ttl, self.currency, self.marketplace = token_ttl, currency, marketplace
        self.daily_quota, self.revise_limit = daily_quota, revise_limit
        self.bucket = ServerBucket(self.clock, rate=rate, burst=burst)
        self.orders: dict[str, dict[str, Any]] = {}  # orderId -> the order as getOrders returns it
        self.prices: dict[str, str] = {}  # sku -> unit price; "19.99" when not set
        self._fulfillments: dict[str, list[dict[str, Any]]] = {}
        self._listings: dict[str, _Listing] = {}
        self._accepted: dict[str, list[tuple[dt.datetime, int]]] = {}
        self._tokens: dict[str, dt.datetime] = {}  # access token -> expiry (fake clock)
        self._used: dict[tuple[str, dt.date], int] = {}  # (api, Pacific day) -> calls
        self._seq = 0
        self._seq_lock = threading.Lock()
        self.tokens_issued = 0
        self.unauthorised = 0  # calls refused for an expired or unknown token
        self.throttled = 0  # 429s of either kind

    # -- the Python side: what tests, the demo and the bench use ---------------------------

    def _next(self) -> int:
        with self._seq_lock:
            self._seq += 1
            return self._seq

    def _item_id(self, sku: str) -> str:
        listing = self._listings.get(sku)
        if listing is not None:
            return listing.item_id
        return f"11{zlib.crc32(sku.encode()):010d}"

    def add_order(
        self, sku_qty: Mapping[str, int] | Sequence[tuple[str, int]], *, external_id: str | None = None,
        ship_to: Mapping[str, str] | None = None, updated_at: dt.datetime | None = None,
    ) -> str:
        """An order that completed checkout; `updated_at` stamps both its creation and its last
        change (the fake's now when not given). A SKU of "" is a listing without a SKU."""
        pairs = list(sku_qty.items()) if isinstance(sku_qty, Mapping) else list(sku_qty)
        n = self._next()
        oid = external_id or f"{n // 10**10 % 100:02d}-{n // 10**5 % 10**5:05d}-{n % 10**5:05d}"
        at = _ms(updated_at.astimezone(dt.timezone.utc) if updated_at is not None else self.clock.now())
        lines = []
        subtotal = Decimal(0)
        for sku, qty in pairs:
            unit = Decimal(self.prices.get(sku, "19.99"))
            cost = unit * qty
            subtotal += cost
            line: dict[str, Any] = {
                "lineItemId": f"1{self._next():013d}", "legacyItemId": self._item_id(sku or f"#{n}"),
                "title": f"Item {sku or 'without SKU'}",
                "lineItemCost": {"value": f"{cost:.2f}", "currency": self.currency}, "quantity": qty,
                "soldFormat": "FIXED_PRICE", "listingMarketplaceId": self.marketplace,
                "purchaseMarketplaceId": self.marketplace, "lineItemFulfillmentStatus": "NOT_STARTED",
                "total": {"value": f"{cost:.2f}", "currency": self.currency},
            }
            if sku:
                line["sku"] = sku
            lines.append(line)
        to = dict(ship_to or {})
        order = {
            "orderId": oid, "legacyOrderId": f"2{n:011d}", "creationDate": ebay_time(at),
            "lastModifiedDate": ebay_time(at), "orderFulfillmentStatus": "NOT_STARTED", "orderPaymentStatus": "PAID",
            "sellerId": "oms-seller", "buyer": {"username": f"buyer{n}"},
            "pricingSummary": {
                "priceSubtotal": {"value": f"{subtotal:.2f}", "currency": self.currency},
                "deliveryCost": {"value": "0.0", "currency": self.currency},
                "total": {"value": f"{subtotal:.2f}", "currency": self.currency},
            },
            "cancelStatus": {"cancelState": "NONE_REQUESTED", "cancelRequests": []},
            "fulfillmentStartInstructions": [{
                "fulfillmentInstructionsType": "SHIP_TO", "ebaySupportedFulfillment": False,
                "shippingStep": {"shipTo": _ship_to(to, n), "shippingCarrierCode": "USPS",
                                 "shippingServiceCode": "USPSPriority"},
            }],
            "fulfillmentHrefs": [], "lineItems": lines, "salesRecordReference": str(n),
        }
        with self.lock:
            self.orders[oid] = order
            self._fulfillments.setdefault(oid, [])
        return oid

    def touch(self, order_id: str, **changes: Any) -> dt.datetime:
        """The order changes at eBay now: `note` (buyer checkout notes), `ship_to` (our Address
        field names), `cancel=True`. Returns its new lastModifiedDate."""
        with self.lock:
            order = self.orders[order_id]
            for key, value in changes.items():
                if key == "note":
                    order["buyerCheckoutNotes"] = str(value)
                elif key == "ship_to":
                    step = order["fulfillmentStartInstructions"][0]["shippingStep"]
                    step["shipTo"] = _ship_to(dict(value), 0)
                elif key == "cancel":
                    if value:
                        order["cancelStatus"] = {"cancelState": "CANCELED", "cancelRequests": [],
                                                 "cancelledDate": ebay_time(self.clock.now())}
                else:
                    raise TypeError(f"touch() knows note, ship_to and cancel, not {key!r}")
            return self._stamp(order)

    def _stamp(self, order: dict[str, Any]) -> dt.datetime:
        # Strictly later than before, so every change is a new version even within a millisecond.
        before = _parse_time(order["lastModifiedDate"])
        at = max(_ms(self.clock.now()), before + dt.timedelta(milliseconds=1))
        order["lastModifiedDate"] = ebay_time(at)
        return at

    def updated_at(self, order_id: str) -> dt.datetime:
        with self.lock:
            return _parse_time(self.orders[order_id]["lastModifiedDate"])

    def version(self, order_id: str) -> int:
        """The order's lastModifiedDate in microseconds since the epoch (our Order.version)."""
        return (self.updated_at(order_id) - _EPOCH) // dt.timedelta(microseconds=1)

    def fulfillments(self, order_id: str) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(f) for f in self._fulfillments.get(order_id, [])]

    def set_listing(self, sku: str, qty: int = 0, *, offers: int = 1, relist: bool = False) -> list[str]:
        """The seller lists `sku` (an inventory item and `offers` published offers) at `qty`.
        `relist=True` replaces the offers with new ones (a cached offer id goes stale). Returns
        the offer ids."""
        with self.lock:
            listing = self._listings.get(sku)
            if listing is None:
                listing = self._listings[sku] = _Listing(sku, f"11{self._next():010d}", qty)
            listing.qty = qty
            if relist or not listing.offers:
                listing.offers = {f"5{self._next():011d}": qty for _ in range(offers)}
            else:
                listing.offers = {k: qty for k in listing.offers}
            return list(listing.offers)

    @property
    def listings(self) -> dict[str, dict[str, Any]]:
        with self.lock:
            return {s: {"item_id": x.item_id, "quantity": x.qty, "offers": dict(x.offers)}
                    for s, x in self._listings.items()}

    def quantity(self, sku: str) -> int | None:
        """What the listing shows: the least of the item's and its offers' quantities."""
        with self.lock:
            listing = self._listings.get(sku)
            if listing is None:
                return None
            return min([listing.qty, *listing.offers.values()])

    def accepted_at(self, sku: str) -> list[tuple[dt.datetime, int]]:
        with self.lock:
            return list(self._accepted.get(sku, []))

    def spend_burst(self) -> None:
        """Another client of the same app takes every token there is: the next call gets a 429."""
        self.bucket.seconds_until()  # brings the bucket up to now first
        self.bucket.available = 0.0

    def quota_used(self, api: str = "fulfillment") -> int:
        with self.lock:
            return self._used.get((api, self.clock.now().astimezone(PACIFIC).date()), 0)

    # -- HTTP ---------------------------------------------------------------------------

    def routes(self) -> Sequence[Route]:
        return (
            ("POST", r"/identity/v1/oauth2/token", self._token),
            ("GET", _ORDER, self._guard("fulfillment", self._get_orders)),
            ("GET", _ORDER + r"/(?P<oid>[^/]+)", self._guard("fulfillment", self._get_order)),
            ("GET", _SHIP, self._guard("fulfillment", self._list_fulfillments)),
            ("POST", _SHIP, self._guard("fulfillment", self._create_fulfillment)),
            ("GET", r"/sell/inventory/v1/offer", self._guard("inventory", self._get_offers)),
            ("POST", r"/sell/inventory/v1/bulk_update_price_quantity", self._guard("inventory", self._bulk_update)),
        )

    def _token(self, req: Request) -> Response:
        auth = req.headers.get("authorization", "")
        expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        if auth != f"Basic {expected}":
            return json_response({"error": "invalid_client", "error_description": "client authentication failed"}, 401)
        form = {k: v[0] for k, v in _form(req.body).items()}
        if form.get("grant_type") != "refresh_token":
            return _oauth_error("unsupported_grant_type", "grant type in request is not supported by the authorization server")
        if form.get("refresh_token") != self.refresh_token:
            return _oauth_error("invalid_grant",
                                "the provided authorization refresh token is invalid or was issued to another client")
        scopes = set((form.get("scope") or "").split())
        if not scopes or not scopes <= set(SCOPES) | {s + ".readonly" for s in SCOPES}:
            return _oauth_error("invalid_scope", "the requested scope is invalid, unknown, malformed, "
                                "or exceeds the scope granted to the client")
        token = f"v^1.1#i^1#access{self._next()}"
        with self.lock:
            self._tokens[token] = self.clock.now() + dt.timedelta(seconds=self.token_ttl)
            self.tokens_issued += 1
        return json_response({"access_token": token, "expires_in": int(self.token_ttl),
                              "token_type": "User Access Token"})

    def _guard(self, api: str, handler: Any) -> Any:
        """Token, daily quota, then the burst bucket, in front of a handler."""

        def guarded(req: Request) -> Response:
            auth = req.headers.get("authorization", "")
            token = auth[7:] if auth.startswith("Bearer ") else None
            now = self.clock.now()
            with self.lock:
                expiry = self._tokens.get(token) if token else None
                if expiry is None or expiry <= now:
                    self.unauthorised += 1
                    return _error(401, 1001, "Invalid access token", domain="OAuth", headers={"WWW-Authenticate": "Bearer"},
                                  long="Invalid access token. Check the value of the Authorization HTTP request header.")
                day = (api, now.astimezone(PACIFIC).date())
                if self.daily_quota is not None and self._used.get(day, 0) >= self.daily_quota:
                    self.throttled += 1
                    return _error(429, 2001, "Too many requests.", long=_LIMIT_REACHED, domain="ACCESS")
            if not self.bucket.try_take():
                with self.lock:
                    self.throttled += 1
                # HTTP's Retry-After is whole seconds; a burst clears within one.
                wait = max(1, math.ceil(self.bucket.seconds_until()))
                return _error(429, 2001, "Too many requests.", long=_LIMIT_REACHED, domain="ACCESS",
                              headers={"Retry-After": str(wait)})
            with self.lock:
                self._used[day] = self._used.get(day, 0) + 1
            result: Response = handler(req)
            return result

        return guarded

    # -- orders -------------------------------------------------------------------------

    def _get_orders(self, req: Request) -> Response:
        ids = req.arg("orderIds")
        if ids is not None:
            wanted = [i for i in ids.split(",") if i]
            if len(wanted) > 50:
                return _error(400, 30850, "Too many order ids", long="The orderIds parameter accepts at most 50 ids.")
            with self.lock:
                found = [_copy(self.orders[i]) for i in wanted if i in self.orders]
                missing = [i for i in wanted if i not in self.orders]
            body: dict[str, Any] = {"href": self._href(req), "total": len(found), "limit": len(wanted), "offset": 0,
                                    "orders": found}
            if missing:
                body["warnings"] = [{"errorId": 32100, "domain": "API_FULFILLMENT", "category": "REQUEST",
                                     "message": f"Invalid order ID: {m}"} for m in missing]
            return json_response(body)
        try:
            limit = int(req.arg("limit", "50") or "50")
            offset = int(req.arg("offset", "0") or "0")
        except ValueError:
            return _error(400, 30700, "Invalid limit or offset", long="limit and offset must be integers.")
        if limit > 200 or limit < 1:
            return _error(400, 31100, "Invalid limit", long="The limit must be between 1 and 200.")
        if offset < 0:
            return _error(400, 30700, "Invalid offset", long="The offset must not be negative.")
        try:
            created, modified, statuses = _parse_filter(req.arg("filter") or "")
        except ValueError as exc:
            return _error(400, 30600, "Invalid filter", long=str(exc))
        if created is None and modified is None:
            created = (self.clock.now() - dt.timedelta(days=90), None)
        # eBay: when both date filters are given, only creationdate is used.
        field, span = ("creationDate", created) if created is not None else ("lastModifiedDate", modified)
        assert span is not None
        lo, hi = span
        with self.lock:
            hits = []
            for o in self.orders.values():
                at = _parse_time(o[field])
                if at < lo or (hi is not None and at > hi):
                    continue
                if statuses and o["orderFulfillmentStatus"] not in statuses:
                    continue
                hits.append(o)
            hits.sort(key=lambda o: (o["creationDate"], o["orderId"]))
            page = [_copy(o) for o in hits[offset:offset + limit]]
        total = len(hits)
        body = {"href": self._href(req), "total": total, "limit": limit, "offset": offset, "orders": page}
        if offset + limit < total:
            body["next"] = self._href(req, offset=offset + limit)
        if offset > 0:
            body["prev"] = self._href(req, offset=max(0, offset - limit))
        return json_response(body)

    def _href(self, req: Request, **override: Any) -> str:
        query = {k: v[0] for k, v in req.query.items()}
        query.update({k: str(v) for k, v in override.items()})
        return f"{self.url}{req.path}?{urlencode(query, safe=':,')}"

    def _get_order(self, req: Request) -> Response:
        assert req.match is not None
        with self.lock:
            order = self.orders.get(req.match["oid"])
            if order is None:
                return _error(404, 32100, "Invalid order ID", long=f"Invalid order ID: {req.match['oid']}")
            return json_response(_copy(order))

    def _list_fulfillments(self, req: Request) -> Response:
        assert req.match is not None
        oid = req.match["oid"]
        with self.lock:
            if oid not in self.orders:
                return _error(404, 32100, "Invalid order ID", long=f"Invalid order ID: {oid}")
            found = [_copy(f) for f in self._fulfillments.get(oid, [])]
        return json_response({"fulfillments": found, "total": len(found)})

    def _create_fulfillment(self, req: Request) -> Response:
        assert req.match is not None
        oid = req.match["oid"]
        try:
            body = req.json()
            lines = body["lineItems"]
            carrier, tracking, shipped = body["shippingCarrierCode"], body["trackingNumber"], body["shippedDate"]
            when = _parse_time(shipped)
        except (ValueError, KeyError, TypeError) as exc:
            need = "lineItems, shippedDate, shippingCarrierCode and trackingNumber are required"
            return _error(400, 32300, "Invalid shipment", long=f"{need} ({exc})")
        if not carrier or not tracking:
            return _error(400, 32300, "Invalid tracking number or carrier")
        with self.lock:
            order = self.orders.get(oid)
            if order is None:
                return _error(404, 32100, "Invalid order ID", long=f"Invalid order ID: {oid}")
            known = {li["lineItemId"]: li for li in order["lineItems"]}
            seen: set[str] = set()
            for li in lines:
                lid = li.get("lineItemId")
                if lid in seen:
                    return _error(400, 32210, "Duplicate line item",
                                  long=f"Line item {lid} appears twice in the request.")
                seen.add(lid)
                if lid not in known or int(li.get("quantity", 0)) < 1:
                    return _error(400, 32100, "Invalid line item", long=f"Line item {lid} is not in order {oid}.")
            fid = f"9{self._next():021d}"
            self._fulfillments[oid].append({
                "fulfillmentId": fid, "lineItems": [{"lineItemId": li["lineItemId"], "quantity": int(li["quantity"])}
                                                    for li in lines],
                "shipmentTrackingNumber": tracking, "shippingCarrierCode": carrier, "shippedDate": ebay_time(when),
            })
            for li in lines:
                known[li["lineItemId"]]["lineItemFulfillmentStatus"] = "FULFILLED"
            done = all(li["lineItemFulfillmentStatus"] == "FULFILLED" for li in order["lineItems"])
            order["orderFulfillmentStatus"] = "FULFILLED" if done else "IN_PROGRESS"
            href = f"{self.url}{_ORDER}/{oid}/shipping_fulfillment/{fid}"
            order["fulfillmentHrefs"].append(href)
            self._stamp(order)
        return json_response({}, 201, {"Location": href})

    # -- inventory ------------------------------------------------------------------------

    def _get_offers(self, req: Request) -> Response:
        sku = req.arg("sku")
        if not sku:
            return _error(400, 25707, "Invalid SKU", long="The sku query parameter is required.",
                          domain="API_INVENTORY")
        market = req.arg("marketplace_id")
        with self.lock:
            listing = self._listings.get(sku)
            if listing is None or (market is not None and market != self.marketplace):
                return _error(404, 25713, "This Offer is not available.", domain="API_INVENTORY")
            offers = [{"offerId": k, "sku": sku, "marketplaceId": self.marketplace, "format": "FIXED_PRICE",
                       "availableQuantity": q, "status": "PUBLISHED", "listing": {"listingId": listing.item_id}}
                      for k, q in listing.offers.items()]
        return json_response({"href": self._href(req), "limit": 100, "offers": offers, "size": len(offers),
                              "total": len(offers)})

    def _bulk_update(self, req: Request) -> Response:
        try:
            requests = req.json()["requests"]
            if not isinstance(requests, list):
                raise TypeError("requests is not a list")
        except (ValueError, KeyError, TypeError) as exc:
            return _error(400, 25709, "Invalid request", long=str(exc), domain="API_INVENTORY")
        if not requests or len(requests) > 25:
            return _error(400, 25709, "Invalid request", long="requests holds 1 to 25 items.", domain="API_INVENTORY")
        out: list[dict[str, Any]] = []
        with self.lock:
            for r in requests:
                out += self._update_one(r)
        return json_response({"responses": out})

    def _update_one(self, r: Mapping[str, Any]) -> list[dict[str, Any]]:
        sku = str(r.get("sku") or "")
        listing = self._listings.get(sku)
        offers = list(r.get("offers") or [])

        def fail(status: int, error_id: int, message: str, offer: str | None = None) -> dict[str, Any]:
            row: dict[str, Any] = {"statusCode": status, "sku": sku, "errors": [
                {"errorId": error_id, "domain": "API_INVENTORY", "category": "REQUEST", "message": message}],
                "warnings": []}
            if offer:
                row["offerId"] = offer
            return row

        if listing is None:
            return [fail(404, 25702, f"SKU {sku} is not available in the system.")]
        try:
            item_qty = r.get("shipToLocationAvailability", {}).get("quantity")
            item_qty = None if item_qty is None else int(item_qty)
            wanted = {str(o["offerId"]): int(o["availableQuantity"]) for o in offers}
        except (KeyError, TypeError, ValueError, AttributeError, InvalidOperation):
            return [fail(400, 25709, "Invalid value for quantity.")]
        bad = [k for k in wanted if k not in listing.offers]
        if bad:
            return [fail(404, 25713, "This Offer is not available.", k) for k in bad]
        if (item_qty is not None and item_qty < 0) or any(q < 0 for q in wanted.values()):
            return [fail(400, 25709, "Invalid value for quantity. It must be 0 or more.")]
        today = self.clock.now().astimezone(PACIFIC).date()
        if listing.revisions.get(today, 0) >= self.revise_limit:
            return [fail(400, 25019, f"The listing was revised {self.revise_limit} times today; try tomorrow.", k)
                    for k in wanted or [""]]
        listing.revisions[today] = listing.revisions.get(today, 0) + 1
        if item_qty is not None:
            listing.qty = item_qty
        listing.offers.update(wanted)
        shown = min([listing.qty, *listing.offers.values()])
        self._accepted.setdefault(sku, []).append((dt.datetime.fromtimestamp(time.time(), dt.timezone.utc), shown))
        if not wanted:
            return [{"statusCode": 200, "sku": sku, "errors": [], "warnings": []}]
        return [{"statusCode": 200, "sku": sku, "offerId": k, "errors": [], "warnings": []} for k in wanted]


def _ship_to(to: Mapping[str, str], n: int) -> dict[str, Any]:
    address = {
        "addressLine1": to.get("address1", f"{n} Main St"), "city": to.get("city", "San Jose"),
        "stateOrProvince": to.get("region", "CA"), "postalCode": to.get("postal_code", "95125"),
        "countryCode": to.get("country", "US"),
    }
    if to.get("address2"):
        address["addressLine2"] = to["address2"]
    return {"fullName": to.get("name", f"Buyer {n}"), "contactAddress": address, "primaryPhone": {},
            "email": f"buyer{n}@example.com"}


def _oauth_error(error: str, description: str) -> Response:
    return json_response({"error": error, "error_description": description}, 400)


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def _form(body: bytes) -> dict[str, list[str]]:
    return parse_qs(body.decode(), keep_blank_values=True)


Range = tuple[dt.datetime, dt.datetime | None]


def _parse_filter(text: str) -> tuple[Range | None, Range | None, set[str]]:
    """creationdate:[a..b], lastmodifieddate:[a..], orderfulfillmentstatus:{A|B}, comma-separated
    (already percent-decoded)."""
    created: Range | None = None
    modified: Range | None = None
    statuses: set[str] = set()
    for part in (p.strip() for p in text.split(",") if p.strip()):
        name, sep, value = part.partition(":")
        if not sep:
            raise ValueError(f"filter {part!r} is not name:value")
        name = name.strip().lower()
        if name in ("creationdate", "lastmodifieddate"):
            if not (value.startswith("[") and value.endswith("]") and ".." in value):
                raise ValueError(f"{name} takes a range [start..end] or [start..], not {value!r}")
            a, _, b = value[1:-1].partition("..")
            rng = (_parse_time(a), _parse_time(b) if b else None)
            if rng[1] is not None and rng[1] < rng[0]:
                raise ValueError(f"{name}: the end is before the start")
            if name == "creationdate":
                created = rng
            else:
                modified = rng
        elif name == "orderfulfillmentstatus":
            if not (value.startswith("{") and value.endswith("}")):
                raise ValueError(f"orderfulfillmentstatus takes {{A|B}}, not {value!r}")
            statuses = set(value[1:-1].split("|"))
            if statuses not in ({"NOT_STARTED", "IN_PROGRESS"}, {"FULFILLED", "IN_PROGRESS"}):
                raise ValueError("orderfulfillmentstatus is {NOT_STARTED|IN_PROGRESS} or {FULFILLED|IN_PROGRESS}")
        else:
            raise ValueError(f"unknown filter {name!r}")
    return created, modified, statuses
