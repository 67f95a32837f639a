"""A fake Amazon Selling Partner API: LWA tokens, Orders 2026-01-01, v0 confirmShipment, Listings PATCH.

    with FakeAmazon(limits={"searchOrders": (5.0, 2)}) as amz:     # rate, burst on the fake clock
        oid = amz.add_order({"S1": 2}, ship_to={"name": "Ada", "city": "Austin"})
        amz.touch(oid, cancel=True)                                # the buyer cancelled
        amz.set_listing("S1", qty=0)
        ... connector pointed at amz.url (settings url and token_url) ...
        amz.fulfillments(oid)   # packages recorded by confirmShipment
        amz.quantity("S1")      # what the listing shows once the ACCEPTED patch is applied

What it reproduces (../shared/reference/marketplaces/REPORT.md §2 and §12):
  - POST /auth/o2/token (grant_type=refresh_token): an access token that expires after
    `token_ttl` seconds of the fake clock; a stale or unknown token in `x-amz-access-token` gets
    403 Unauthorized "Access to requested resource is denied." (SP-API answers 403, not 401,
    for an expired token: selling-partner-api-models#4122);
  - GET /orders/2026-01-01/orders (searchOrders): exactly one of createdAfter/lastUpdatedAfter,
    never the created and lastUpdated pairs together, UTC ISO 8601 only, `*Before` at least
    2 minutes before the request (the observed 400 InvalidInput), maxResultsPerPage 1..100,
    includedData choosing the optional parts; `pagination.nextToken` to send back as
    paginationToken with identical other parameters (only maxResultsPerPage and includedData may
    change), unusable after 24 h of fake time. Pages are keyset-ordered on (updated, id), so an
    order that changes mid-read leaves the window (the next window has it) and none is skipped;
  - GET /orders/2026-01-01/orders/{orderId} (getOrder);
  - POST /orders/v0/orders/{orderId}/shipmentConfirmation: 204; shipDate ISO 8601, carrierCode
    required (carrierName with "Other"), packageReferenceId numeric; the same packageReferenceId
    again edits that package, a new one adds a package;
  - PATCH /listings/2021-08-01/items/{sellerId}/{sku}: ACCEPTED with a submissionId, the quantity
    applied `apply_delay` real seconds later; an unknown SKU is INVALID with issues (the
    operation documents no 404);
  - a token bucket per operation on the fake clock seeded from the documented usage plans
    (`limits` overrides), 429 QuotaExceeded when empty, and `x-amzn-RateLimit-Limit` (the rate)
    on every answer.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import secrets
import time
import uuid
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qs, unquote

from .server import Clock, FakeApi, Request, Response, Route, ServerBucket, json_response

__all__ = ["FakeAmazon", "FakeOrder", "FakeListing", "USAGE_PLANS"]

# The documented default usage plans (rate per second, burst) of the operations faked here.
USAGE_PLANS: Mapping[str, tuple[float, float]] = {
    "searchOrders": (0.0056, 20),
    "getOrder": (0.5, 30),
    "confirmShipment": (2.0, 10),
    "patchListingsItem": (5.0, 5),
}

_ORDERS = "/orders/2026-01-01/orders"
_INCLUDED = frozenset({"BUYER", "RECIPIENT", "FULFILLMENT", "PROCEEDS", "EXPENSE", "PROMOTION", "CANCELLATION",
                       "PACKAGES"})
_STATUSES = frozenset({"PENDING_AVAILABILITY", "PENDING", "UNSHIPPED", "PARTIALLY_SHIPPED", "SHIPPED", "CANCELLED",
                       "UNFULFILLABLE"})
# Only these may differ between the request that got a nextToken and the one sending it back.
_FREE_WITH_TOKEN = frozenset({"paginationToken", "maxResultsPerPage", "includedData"})
_MS = dt.timedelta(milliseconds=1)


def _iso(t: dt.datetime) -> str:
    t = t.astimezone(dt.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def _ms(t: dt.datetime) -> dt.datetime:
    """Amazon's timestamps carry milliseconds at most."""
    return t.replace(microsecond=t.microsecond // 1000 * 1000)


def _error(status: int, code: str, message: str, details: str = "", headers: Mapping[str, str] | None = None) -> Response:
    return json_response({"errors": [{"code": code, "message": message, "details": details}]}, status, headers)


def _invalid(details: str, headers: Mapping[str, str] | None = None) -> Response:
    # The words Amazon uses for a refused parameter (samples/amazon_spapi_400_createdBefore_too_recent.json);
    # `details` says which, as the sandbox's error bodies do.
    return _error(400, "InvalidInput", "The input you have submitted is not valid. Please check your input and try again.",
                  details, headers)


class _Bad(Exception):
    """A request the fake refuses with 400 InvalidInput."""


def _parse_time(name: str, value: str) -> dt.datetime:
    try:
        t = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise _Bad(f"{name} {value!r} is not an ISO 8601 date-time") from None
    # Offsets other than UTC are refused (selling-partner-api-docs#3324).
    if t.tzinfo is None or t.utcoffset() != dt.timedelta(0):
        raise _Bad(f"{name} {value!r} is not in UTC")
    return t.astimezone(dt.timezone.utc)


@dataclass
class FakeOrder:
    """One order as the fake holds it; `json()` is what the API shows."""

    order_id: str
    created: dt.datetime
    updated: dt.datetime
    items: list[dict[str, Any]]  # {"orderItemId", "sku", "asin", "title", "qty", "price"}
    ship_to: dict[str, str]
    currency: str = "USD"
    status: str = "UNSHIPPED"
    packages: dict[str, dict[str, Any]] = field(default_factory=dict)  # packageReferenceId -> packageDetail
    notes: dict[str, Any] = field(default_factory=dict)  # touch() changes the API does not show

    def json(self, included: frozenset[str] = _INCLUDED, marketplace_id: str = "ATVPDKIKX0DER") -> dict[str, Any]:
        shipped: dict[str, int] = {}
        for p in self.packages.values():
            for it in p.get("orderItems", ()):
                shipped[it["orderItemId"]] = shipped.get(it["orderItemId"], 0) + int(it["quantity"])
        items = []
        total = Decimal(0)
        for it in self.items:
            line: dict[str, Any] = {
                "orderItemId": it["orderItemId"],
                "quantityOrdered": it["qty"],
                "product": {"asin": it["asin"], "title": it["title"], "sellerSku": it["sku"],
                            "condition": {"conditionType": "NEW", "conditionSubtype": "NEW"}},
            }
            if self.status not in ("PENDING", "PENDING_AVAILABILITY"):  # pending orders carry no prices
                line["product"]["price"] = {"unitPrice": {"amount": it["price"], "currencyCode": self.currency}}
                total += Decimal(it["price"]) * it["qty"]
            if "FULFILLMENT" in included:
                done = shipped.get(it["orderItemId"], 0)
                line["fulfillment"] = {"quantityFulfilled": done, "quantityUnfulfilled": max(0, it["qty"] - done)}
            items.append(line)
        out: dict[str, Any] = {
            "orderId": self.order_id,
            "createdTime": _iso(self.created),
            "lastUpdatedTime": _iso(self.updated),
            "programs": [],
            "salesChannel": {"channelName": "AMAZON", "marketplaceId": marketplace_id},
        }
        if "RECIPIENT" in included:
            out["recipient"] = {"deliveryAddress": dict(self.ship_to)}
        if "PROCEEDS" in included and self.status not in ("PENDING", "PENDING_AVAILABILITY"):
            out["proceeds"] = {"grandTotal": {"amount": f"{total:.2f}", "currencyCode": self.currency}}
        if "FULFILLMENT" in included:
            out["fulfillment"] = {"fulfillmentStatus": self.status, "fulfilledBy": "MERCHANT",
                                  "fulfillmentServiceLevel": "STANDARD"}
        out["orderItems"] = items
        if "PACKAGES" in included:
            out["packages"] = [
                {"packageReferenceId": ref, "createdTime": p["createdTime"], "carrier": p.get("carrierName") or p["carrierCode"],
                 "shipTime": p["shipDate"], "shippingService": p.get("shippingMethod"), "trackingNumber": p["trackingNumber"],
                 "packageItems": [{"orderItemId": i["orderItemId"], "quantity": i["quantity"]} for i in p["orderItems"]]}
                for ref, p in self.packages.items()
            ]
        return out


@dataclass
class FakeListing:
    sku: str
    product_type: str = "PRODUCT"
    qty: int = 0  # what the listing shows (applied)
    pending: list[tuple[float, int]] = field(default_factory=list)  # (wall time due, qty), accepted not applied
    applied: list[tuple[dt.datetime, int]] = field(default_factory=list)  # (wall time applied, qty)
    submissions: int = 0


@dataclass
class _PageToken:
    fingerprint: tuple[tuple[str, str], ...]
    after: dt.datetime
    before: dt.datetime
    key: tuple[dt.datetime, str]  # the last (updated-or-created, orderId) served
    issued: dt.datetime  # fake clock


class FakeAmazon(FakeApi):
    def __init__(
        self, *, clock: Clock | None = None, seller_id: str = "A2FAKESELLER01", marketplace_id: str = "ATVPDKIKX0DER",
        client_id: str = "amzn1.application-oa2-client.fake", client_secret: str = "fake-client-secret",
        refresh_token: str = "Atzr|fake-refresh-token", token_ttl: float = 3600.0, page_token_ttl: float = 86400.0,
        min_lag: float = 120.0, limits: Mapping[str, tuple[float, float]] | None = None, apply_delay: float = 0.2,
    ) -> None:
        super().__init__(clock=clock)
        self.seller_id, self.marketplace_id = seller_id, marketplace_id
        self.client_id, self.client_secret, self.refresh_token = client_id, client_secret, refresh_token
        self.token_ttl, self.page_token_ttl, self.min_lag, self.apply_delay = token_ttl, page_token_ttl, min_lag, apply_delay
        plans = {**USAGE_PLANS, **(limits or {})}
        self.buckets = {op: ServerBucket(self.clock, rate=r, burst=b) for op, (r, b) in plans.items()}
        self.orders: dict[str, FakeOrder] = {}
        self.listings: dict[str, FakeListing] = {}
        self.tokens: dict[str, dt.datetime] = {}  # access token -> expiry on the fake clock
        self.token_grants = 0
        self.throttled: dict[str, int] = dict.fromkeys(plans, 0)
        self.refused: list[tuple[str, int, str]] = []  # (path, status, details): what the fake said no to
        self._page_tokens: dict[str, _PageToken] = {}
        self._seq = itertools.count(1)

    def routes(self) -> Sequence[Route]:
        return (
            ("POST", r"/auth/o2/token", self._token),
            ("GET", _ORDERS, self._search_orders),
            ("GET", _ORDERS + r"/(?P<order_id>[^/]+)", self._get_order),
            ("POST", r"/orders/v0/orders/(?P<order_id>[^/]+)/shipmentConfirmation", self._confirm_shipment),
            ("PATCH", r"/listings/2021-08-01/items/(?P<seller_id>[^/]+)/(?P<sku>[^/]+)", self._patch_listing),
        )

    # -- the Python API for tests, the demo and the bench -------------------------------

    def add_order(
        self, sku_qty: Mapping[str, int] | Sequence[tuple[str, int]], *, external_id: str | None = None,
        ship_to: Mapping[str, str] | None = None, updated_at: dt.datetime | None = None, unit_price: str = "19.99",
        currency: str = "USD", status: str = "UNSHIPPED",
    ) -> str:
        """A new order (created and updated at `updated_at`, else now); returns its orderId."""
        pairs = list(sku_qty.items()) if isinstance(sku_qty, Mapping) else list(sku_qty)
        with self.lock:
            n = next(self._seq)
            oid = external_id or f"113-{n:07d}-{(n * 7919) % 10_000_000:07d}"
            when = _ms(updated_at.astimezone(dt.timezone.utc) if updated_at else self.clock.now())
            items = [{"orderItemId": f"{n:08d}{k:06d}", "sku": sku, "asin": f"B0{zlib.crc32(sku.encode()) % 10**8:08d}",
                      "title": f"Item {sku}", "qty": int(q), "price": unit_price} for k, (sku, q) in enumerate(pairs, 1)]
            address = {"name": "Jane Buyer", "addressLine1": "1 Main Street", "city": "Seattle", "stateOrRegion": "WA",
                       "postalCode": "98101", "countryCode": "US"}
            address.update(ship_to or {})
            self.orders[oid] = FakeOrder(oid, when, when, items, address, currency=currency, status=status)
            return oid

    def touch(self, order_id: str, **changes: Any) -> dt.datetime:
        """The order changes at Amazon now: `cancel=True`, `status=...`, `ship_to={...}`, or any
        other change (kept in `notes`). Returns its new lastUpdatedTime (always later than before)."""
        with self.lock:
            o = self.orders[order_id]
            if changes.pop("cancel", False):
                o.status = "CANCELLED"
            if "status" in changes:
                status = str(changes.pop("status"))
                if status not in _STATUSES:
                    raise ValueError(f"unknown fulfillmentStatus {status}")
                o.status = status
            if "ship_to" in changes:
                o.ship_to.update(changes.pop("ship_to"))
            o.notes.update(changes)
            self._bump(o)
            return o.updated

    def _bump(self, o: FakeOrder) -> None:
        o.updated = max(_ms(self.clock.now()), o.updated + _MS)

    def version(self, order_id: str) -> int:
        """The order's lastUpdatedTime in microseconds since the epoch (what a connector stores)."""
        t = self.orders[order_id].updated
        return (t - dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)) // dt.timedelta(microseconds=1)

    def fulfillments(self, order_id: str) -> list[dict[str, Any]]:
        """The packages confirmed for the order (each a packageDetail as last sent)."""
        with self.lock:
            return [dict(p) for p in self.orders[order_id].packages.values()]

    def set_listing(self, sku: str, qty: int = 0, *, product_type: str = "PRODUCT") -> None:
        with self.lock:
            self.listings[sku] = FakeListing(sku, product_type, qty)

    def quantity(self, sku: str) -> int | None:
        """What the listing shows now (ACCEPTED patches apply `apply_delay` seconds later)."""
        with self.lock:
            listing = self.listings.get(sku)
            if listing is None:
                return None
            self._settle(listing)
            return listing.qty

    def accepted_at(self, sku: str) -> list[tuple[dt.datetime, int]]:
        """Every quantity applied to the listing, with the real (wall clock, UTC) time it was applied."""
        with self.lock:
            listing = self.listings.get(sku)
            if listing is None:
                return []
            self._settle(listing)
            return list(listing.applied)

    def spend_quota(self, op: str) -> None:
        """Another application of this seller spends `op`'s tokens: the next call is throttled."""
        bucket = self.buckets[op]
        while bucket.try_take():
            pass

    def expire_tokens(self) -> None:
        """Every access token handed out so far is stale from now on."""
        with self.lock:
            now = self.clock.now()
            self.tokens = {t: min(exp, now) for t, exp in self.tokens.items()}

    @staticmethod
    def _settle(listing: FakeListing) -> None:
        now = time.time()
        while listing.pending and listing.pending[0][0] <= now:
            due, qty = listing.pending.pop(0)
            listing.qty = qty
            listing.applied.append((dt.datetime.fromtimestamp(due, dt.timezone.utc), qty))

    # -- auth, throttle ---------------------------------------------------------------------

    def _token(self, req: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs(req.body.decode(), keep_blank_values=True).items()}
        if form.get("grant_type") != "refresh_token":
            return json_response({"error": "unsupported_grant_type",
                                  "error_description": "The authorization grant type is not supported"}, 400)
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            return json_response({"error": "invalid_client", "error_description": "Client authentication failed"}, 401)
        if form.get("refresh_token") != self.refresh_token:
            return json_response({"error": "invalid_grant",
                                  "error_description": "The request has an invalid grant parameter : refresh_token"}, 400)
        token = "Atza|" + secrets.token_urlsafe(24)
        with self.lock:
            self.tokens[token] = self.clock.now() + dt.timedelta(seconds=self.token_ttl)
            self.token_grants += 1
        return json_response({"access_token": token, "token_type": "bearer", "expires_in": int(self.token_ttl),
                              "refresh_token": self.refresh_token})

    def _gate(self, req: Request, op: str) -> tuple[Response | None, dict[str, str]]:
        """(a refusal, or None to go on; the headers every answer of `op` carries)."""
        token = req.headers.get("x-amz-access-token")
        request_id = {"x-amzn-RequestId": str(uuid.uuid4())}
        with self.lock:
            expires = self.tokens.get(token or "")
        if expires is None or expires <= self.clock.now():
            details = ("The access token you provided has expired." if expires is not None
                       else "The access token you provided is revoked, malformed or invalid.")
            return self._refuse(req, _error(403, "Unauthorized", "Access to requested resource is denied.", details,
                                            request_id)), request_id
        bucket = self.buckets[op]
        headers = {**request_id, "x-amzn-RateLimit-Limit": f"{bucket.rate:g}"}
        if not bucket.try_take():
            with self.lock:
                self.throttled[op] += 1
            return _error(429, "QuotaExceeded", "You exceeded your quota for the requested resource.",
                          headers=headers), headers
        return None, headers

    def _refuse(self, req: Request, resp: Response) -> Response:
        detail = ""
        try:
            detail = json.loads(resp.body)["errors"][0].get("details", "")
        except (ValueError, KeyError, IndexError):
            pass
        with self.lock:
            self.refused.append((req.path, resp.status, detail))
        return resp

    # -- orders -----------------------------------------------------------------------------

    def _search_orders(self, req: Request) -> Response:
        refusal, headers = self._gate(req, "searchOrders")
        if refusal is not None:
            return refusal
        try:
            return json_response(self._search(req), headers=headers)
        except _Bad as exc:
            return self._refuse(req, _invalid(str(exc), headers))

    def _search(self, req: Request) -> dict[str, Any]:
        q = {k: v[-1] for k, v in req.query.items()}
        now = self.clock.now()
        size_text = q.get("maxResultsPerPage", "100")
        if not size_text.isdigit() or not 1 <= int(size_text) <= 100:
            raise _Bad("maxResultsPerPage must be between 1 and 100")
        size = int(size_text)
        included = frozenset(x for x in q.get("includedData", "").split(",") if x)
        if included - _INCLUDED:
            raise _Bad(f"includedData {','.join(sorted(included - _INCLUDED))} is not a dataset")
        marketplace_ok = "marketplaceIds" not in q or self.marketplace_id in q["marketplaceIds"].split(",")
        statuses = frozenset(x for x in q.get("fulfillmentStatuses", "").split(",") if x)
        if statuses - _STATUSES:
            raise _Bad(f"fulfillmentStatuses {','.join(sorted(statuses - _STATUSES))} is not a status")
        created = "createdAfter" in q or "createdBefore" in q
        updated = "lastUpdatedAfter" in q or "lastUpdatedBefore" in q
        if created and updated:
            raise _Bad("createdAfter/createdBefore cannot be combined with lastUpdatedAfter/lastUpdatedBefore")
        which = "created" if created else "lastUpdated"
        if f"{which}After" not in q:
            raise _Bad("exactly one of createdAfter and lastUpdatedAfter is required")
        after = _parse_time(f"{which}After", q[f"{which}After"])
        latest = now - dt.timedelta(seconds=self.min_lag)
        token_text = q.get("paginationToken")
        fingerprint = tuple(sorted((k, v) for k, v in q.items() if k not in _FREE_WITH_TOKEN))
        if token_text is not None:
            with self.lock:
                token = self._page_tokens.get(token_text)
            if token is None:
                raise _Bad("paginationToken is not valid")
            if (now - token.issued).total_seconds() > self.page_token_ttl:
                raise _Bad("paginationToken has expired")
            if token.fingerprint != fingerprint:
                raise _Bad("paginationToken must be sent with the same parameters as the request that returned it")
            before, key = token.before, token.key
        else:
            if f"{which}Before" in q:
                before = _parse_time(f"{which}Before", q[f"{which}Before"])
                if before > latest:
                    raise _Bad(f"{which}Before must be at least 2 minutes before the time of the request")
                if before < after:
                    raise _Bad(f"{which}Before must be equal to or after {which}After")
            else:
                before = _ms(latest)
            key = None
        stamp = (lambda o: o.created) if which == "created" else (lambda o: o.updated)
        with self.lock:
            rows = sorted(
                ((stamp(o), o.order_id, o) for o in self.orders.values()
                 if marketplace_ok and after <= stamp(o) <= before and (not statuses or o.status in statuses)),
                key=lambda r: (r[0], r[1]),
            )
            if key is not None:
                rows = [r for r in rows if (r[0], r[1]) > key]
            page = rows[:size]
            out: dict[str, Any] = {"orders": [o.json(included, self.marketplace_id) for _, _, o in page]}
            if len(rows) > size:
                nxt = secrets.token_urlsafe(24)
                last = page[-1]
                self._page_tokens[nxt] = _PageToken(fingerprint, after, before, (last[0], last[1]), now)
                out["pagination"] = {"nextToken": nxt}
        out[f"{which}Before"] = _iso(before)
        return out

    def _get_order(self, req: Request) -> Response:
        refusal, headers = self._gate(req, "getOrder")
        if refusal is not None:
            return refusal
        assert req.match is not None
        included = frozenset(x for x in (req.arg("includedData") or "").split(",") if x)
        with self.lock:
            o = self.orders.get(unquote(req.match["order_id"]))
            if o is None:
                return _error(404, "NotFound", f"Order {req.match['order_id']} not found", headers=headers)
            return json_response({"order": o.json(included, self.marketplace_id)}, headers=headers)

    # -- shipments --------------------------------------------------------------------------

    def _confirm_shipment(self, req: Request) -> Response:
        refusal, headers = self._gate(req, "confirmShipment")
        if refusal is not None:
            return refusal
        assert req.match is not None
        try:
            body = req.json()
        except ValueError:
            return self._refuse(req, _error(400, "InvalidInput", "Invalid Input", "body is not JSON", headers))
        with self.lock:
            o = self.orders.get(unquote(req.match["order_id"]))
            if o is None:
                return _error(404, "NotFound", f"Order {req.match['order_id']} not found", headers=headers)
            try:
                ref, detail = self._package(o, body)
            except _Bad as exc:
                # The sandbox's own 400 body for a bad confirmation: code and message "Invalid Input".
                return self._refuse(req, _error(400, "InvalidInput", "Invalid Input", str(exc), headers))
            old = o.packages.get(ref)
            detail["createdTime"] = old["createdTime"] if old else _iso(self.clock.now())
            o.packages[ref] = detail  # the same packageReferenceId edits that package
            shipped = {i["orderItemId"]: 0 for i in o.items}
            for p in o.packages.values():
                for it in p["orderItems"]:
                    shipped[it["orderItemId"]] += it["quantity"]
            o.status = "SHIPPED" if all(shipped[i["orderItemId"]] >= i["qty"] for i in o.items) else "PARTIALLY_SHIPPED"
            self._bump(o)
        return Response(204, b"", headers)

    def _package(self, o: FakeOrder, body: Any) -> tuple[str, dict[str, Any]]:
        if not isinstance(body, dict) or not isinstance(body.get("packageDetail"), dict):
            raise _Bad("packageDetail is required")
        if body.get("marketplaceId") != self.marketplace_id:
            raise _Bad(f"marketplaceId {body.get('marketplaceId')!r} is not the order's marketplace")
        p = body["packageDetail"]
        for name in ("packageReferenceId", "carrierCode", "trackingNumber", "shipDate", "orderItems"):
            if not p.get(name):
                raise _Bad(f"{name} is required")
        ref = str(p["packageReferenceId"])
        if not ref.isdigit() or int(ref) <= 0:
            raise _Bad("packageReferenceId must be a positive number")
        if p["carrierCode"] == "Other" and not p.get("carrierName"):
            raise _Bad("carrierName is required when carrierCode is Other")
        try:
            ship_date = dt.datetime.fromisoformat(str(p["shipDate"]).replace("Z", "+00:00"))
        except ValueError:
            raise _Bad(f"shipDate {p['shipDate']!r} is not ISO 8601") from None
        if ship_date.tzinfo is None:
            raise _Bad(f"shipDate {p['shipDate']!r} has no time zone")
        if o.status == "CANCELLED":
            raise _Bad(f"order {o.order_id} is cancelled")
        ordered = {i["orderItemId"]: i["qty"] for i in o.items}
        elsewhere: dict[str, int] = {}
        for other_ref, other in o.packages.items():
            if other_ref != ref:
                for it in other["orderItems"]:
                    elsewhere[it["orderItemId"]] = elsewhere.get(it["orderItemId"], 0) + it["quantity"]
        items = []
        for it in p["orderItems"]:
            item_id, qty = str(it.get("orderItemId") or ""), it.get("quantity")
            if item_id not in ordered:
                raise _Bad(f"orderItemId {item_id!r} is not in order {o.order_id}")
            if not isinstance(qty, int) or qty <= 0:
                raise _Bad(f"quantity of {item_id} must be a positive integer")
            if elsewhere.get(item_id, 0) + qty > ordered[item_id]:
                raise _Bad(f"orderItemId {item_id}: {qty} more than the {ordered[item_id] - elsewhere.get(item_id, 0)} left to ship")
            items.append({"orderItemId": item_id, "quantity": qty})
        detail = {k: v for k, v in p.items() if k != "orderItems"}
        detail["packageReferenceId"] = ref
        detail["orderItems"] = items
        return ref, detail

    # -- listings ---------------------------------------------------------------------------

    def _patch_listing(self, req: Request) -> Response:
        refusal, headers = self._gate(req, "patchListingsItem")
        if refusal is not None:
            return refusal
        assert req.match is not None
        if req.match["seller_id"] != self.seller_id:
            return self._refuse(req, _error(403, "Unauthorized", "Access to requested resource is denied.",
                                            f"seller {req.match['seller_id']} is not the token's seller", headers))
        sku = unquote(req.match["sku"])
        if self.marketplace_id not in (req.arg("marketplaceIds") or "").split(","):
            return self._refuse(req, _error(400, "InvalidInput", "Invalid input", "marketplaceIds is required", headers))
        try:
            qty = self._quantity_patch(req.json())
        except _Bad as exc:
            return self._refuse(req, _error(400, "InvalidInput", "Invalid input", str(exc), headers))
        submission = str(uuid.uuid4())
        with self.lock:
            listing = self.listings.get(sku)
            if listing is None:
                # The operation documents no 404: a submission it cannot take is INVALID with issues
                # (the issue code here is the fake's own).
                return json_response({"sku": sku, "status": "INVALID", "submissionId": submission, "issues": [
                    {"code": "4000001", "message": f"The SKU {sku} does not match any listing of this seller.",
                     "severity": "ERROR", "attributeNames": [], "categories": []}]}, headers=headers)
            listing.submissions += 1
            if qty is not None:
                self._settle(listing)
                listing.pending.append((time.time() + self.apply_delay, qty))
                self._settle(listing)
        return json_response({"sku": sku, "status": "ACCEPTED", "submissionId": submission, "issues": []}, headers=headers)

    @staticmethod
    def _quantity_patch(body: Any) -> int | None:
        """The MFN quantity the patches set (None: they set something else)."""
        if not isinstance(body, dict) or not isinstance(body.get("productType"), str) or not body["productType"]:
            raise _Bad("productType is required")
        patches = body.get("patches")
        if not isinstance(patches, list) or not patches:
            raise _Bad("patches must hold at least one operation")
        qty = None
        for patch in patches:
            if not isinstance(patch, dict) or patch.get("op") not in ("add", "replace", "merge", "delete") \
                    or not isinstance(patch.get("path"), str):
                raise _Bad("each patch needs an op (add, replace, merge, delete) and a path")
            if patch["path"] != "/attributes/fulfillment_availability" or patch["op"] == "delete":
                continue
            for value in patch.get("value") or ():
                if not isinstance(value, dict) or value.get("fulfillment_channel_code") != "DEFAULT":
                    continue  # an FBA channel's quantity is Amazon's to set
                raw = value.get("quantity")
                try:
                    number = Decimal(str(raw))
                except InvalidOperation:
                    raise _Bad(f"quantity {raw!r} is not a number") from None
                if isinstance(raw, bool) or number != number.to_integral_value() or number < 0:
                    raise _Bad(f"quantity {raw!r} is not a whole number of 0 or more")
                qty = int(number)
        return qty
