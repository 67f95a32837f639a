"""A fake WooCommerce store (REST API v3 plus the Shipment Tracking extension), over real HTTP.

    with FakeWooCommerce(clock=Clock(start), rate=20, burst=3) as woo:
        oid = woo.add_order({"S1": 2}, updated_at=start)     # "1000"
        woo.touch(oid, note="leave at the door")             # date_modified moves to now
        woo.set_listing("S1", qty=0)                         # a simple product; variation=True for one
        headers, body = woo.webhook(oid, "order.updated")    # signed as WooCommerce signs

What it holds to, from the REST API docs and what users ran into (REPORT §4, §9, §12):
  - auth: HTTP Basic consumer_key:consumer_secret, or both as query parameters (hosts that
    strip Authorization); anything else is 401 `woocommerce_rest_cannot_view`;
  - GET /orders: `modified_after`/`modified_before` are exclusive, whole seconds, read as UTC
    only with `dates_are_gmt=true` and in the site's time otherwise (the fake's site is at
    `site_offset`, -05:00 by default, so a client that forgets gets the wrong orders);
    `per_page` 1..100 (default 10) else 400 `rest_invalid_param`; `orderby` date|id|include|
    title|slug; `status=any` leaves out trash; X-WP-Total, X-WP-TotalPages and Link headers;
    a page past the last is 400 `rest_post_invalid_page_number`. The result set is computed on
    every request, so an order touched mid-read leaves the window and the orders after it
    shift up one place: page-by-page reading skips one;
  - `date_*` fields in site time without a zone, `*_gmt` in UTC without a zone, whole seconds
    (an order touched twice in one second gets the next second, so versions stay apart);
  - money as decimal strings; a line's `sku` may be "" (then product_id/variation_id say it);
  - products: GET /products?sku=A,B (variations included, with `parent_id`), POST
    /products/batch and /products/{id}/variations/batch with at most 100 updates (else 413);
  - Shipment Tracking: GET/POST /wp-json/wc-shipment-tracking/v3/orders/{id}/shipment-trackings
    (a POST always adds one, even a number already there: the client must read back first);
  - throttling: WooCommerce has none, but hosts answer 429 (or 503, `throttle_status`) with
    Retry-After; `rate`/`burst` turn on such a host limit (a ServerBucket on the fake clock);
    `fail_next` gives 5xx bursts; `strip_totals` plays a cache that drops the paging headers.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import itertools
import json
import math
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from .server import Clock, FakeApi, Request, Response, Route, ServerBucket, json_response

__all__ = ["FakeWooCommerce", "WooOrder", "WooProduct"]

_API = "/wp-json/wc/v3"
_TRACKING = "/wp-json/wc-shipment-tracking/v3"
_ORDERBY = ("date", "id", "include", "title", "slug")
_STATUSES = ("pending", "processing", "on-hold", "completed", "cancelled", "refunded", "failed", "trash")
_BATCH_MAX = 100


@dataclass
class WooProduct:
    id: int
    sku: str
    parent_id: int = 0  # a variation's product; 0 for a simple product
    stock_quantity: int | None = None
    manage_stock: bool = False
    price: str = "10.00"


@dataclass
class WooOrder:
    id: int
    status: str
    currency: str
    created: dt.datetime  # UTC, whole seconds
    modified: dt.datetime  # UTC, whole seconds
    shipping: dict[str, str]
    billing: dict[str, str]
    lines: list[dict[str, Any]]
    customer_note: str = ""
    trackings: list[dict[str, str]] = field(default_factory=list)


def _secs(value: dt.datetime) -> dt.datetime:
    return value.astimezone(dt.timezone.utc).replace(microsecond=0)


def _naive(value: dt.datetime) -> str:
    return value.replace(tzinfo=None).isoformat(timespec="seconds")


def _error(code: str, message: str, status: int, **data: Any) -> Response:
    return json_response({"code": code, "message": message, "data": {"status": status, **data}}, status)


class FakeWooCommerce(FakeApi):
    def __init__(
        self, *, clock: Clock | None = None, consumer_key: str = "ck_test", consumer_secret: str = "cs_test",
        webhook_secret: str = "woo-webhook-secret", site_offset: dt.timedelta = dt.timedelta(hours=-5),
        rate: float | None = None, burst: float | None = None, whole_retry_after: bool = True,
        throttle_status: int = 429, strip_totals: bool = False, currency: str = "USD",
    ) -> None:
        super().__init__(clock=clock)
        self.consumer_key, self.consumer_secret, self.webhook_secret = consumer_key, consumer_secret, webhook_secret
        self.site_tz = dt.timezone(site_offset)
        self.currency = currency
        # A host's limit (WooCommerce has none of its own). Hosts send whole seconds; a test
        # may ask for the exact fraction to stay fast.
        self.bucket = ServerBucket(self.clock, rate=rate, burst=burst or 1) if rate else None
        self.whole_retry_after = whole_retry_after
        self.throttle_status = throttle_status  # some hosts shed load with 503 + Retry-After
        self.strip_totals = strip_totals  # a caching proxy that drops X-WP-Total(Pages) and Link
        self.throttled = 0  # 429s answered
        self.orders: dict[str, WooOrder] = {}
        self.listings: dict[str, WooProduct] = {}
        self._accepted: dict[str, list[tuple[dt.datetime, int]]] = {}
        self._order_ids = itertools.count(1000)
        self._line_ids = itertools.count(5000)
        self._product_ids = itertools.count(90)
        self._deliveries = itertools.count(1)
        self.webhook_id = 142

    def __enter__(self) -> FakeWooCommerce:
        super().__enter__()
        return self

    # -- the Python side, for tests, the demo and the bench ------------------------------

    def _stamp(self, previous: dt.datetime | None = None) -> dt.datetime:
        now = _secs(self.clock.now())
        if previous is not None and now <= previous:
            now = previous + dt.timedelta(seconds=1)
        return now

    def _product(self, sku: str) -> WooProduct:
        p = self.listings.get(sku)
        if p is None:  # sold but not listed for stock: a product all the same
            p = WooProduct(next(self._product_ids), sku)
            self.listings[sku] = p
        return p

    def add_order(
        self, sku_qty: Mapping[str, int] | Sequence[tuple[str, int]], *, external_id: str | None = None,
        ship_to: Mapping[str, str] | None = None, updated_at: dt.datetime | None = None, status: str = "processing",
    ) -> str:
        """A new order (status processing, as after payment); returns its id. `ship_to` in
        WooCommerce's `shipping` shape (first_name, address_1, city, state, postcode, country)."""
        items = list(sku_qty.items()) if isinstance(sku_qty, Mapping) else list(sku_qty)
        with self.lock:
            oid = int(external_id) if external_id is not None else next(self._order_ids)
            while external_id is None and str(oid) in self.orders:
                oid = next(self._order_ids)
            stamp = _secs(updated_at) if updated_at is not None else self._stamp()
            lines = []
            for sku, qty in items:
                p = self._product(sku)
                lines.append({
                    "id": next(self._line_ids), "name": f"Product {sku}",
                    "product_id": p.parent_id or p.id, "variation_id": p.id if p.parent_id else 0,
                    "quantity": int(qty), "sku": sku, "price": p.price,
                })
            shipping = {"first_name": "Ada", "last_name": "Lovelace", "company": "", "address_1": "969 Market",
                        "address_2": "", "city": "San Francisco", "state": "CA", "postcode": "94103",
                        "country": "US"}
            shipping.update(ship_to or {})
            billing = {**shipping, "email": "ada@example.com", "phone": "(555) 555-5555"}
            self.orders[str(oid)] = WooOrder(oid, status, self.currency, stamp, stamp, shipping, billing, lines)
            return str(oid)

    def touch(self, order_id: str, **changes: Any) -> None:
        """The order changes at the store: `cancel=True`, `status=`, `note=` (customer note),
        `ship_to={...}` (merged into shipping); date_modified moves to now."""
        with self.lock:
            o = self.orders[str(order_id)]
            if changes.pop("cancel", False):
                o.status = "cancelled"
            if "status" in changes:
                o.status = str(changes.pop("status"))
            if "note" in changes:
                o.customer_note = str(changes.pop("note"))
            if "ship_to" in changes:
                o.shipping.update(changes.pop("ship_to"))
            if changes:
                raise TypeError(f"touch() cannot change {', '.join(changes)}")
            o.modified = self._stamp(o.modified)

    def updated_at(self, order_id: str) -> dt.datetime:
        with self.lock:
            return self.orders[str(order_id)].modified

    def fulfillments(self, order_id: str) -> list[dict[str, str]]:
        """The tracking items the Shipment Tracking extension holds for the order."""
        with self.lock:
            return [dict(t) for t in self.orders[str(order_id)].trackings]

    def set_listing(self, sku: str, qty: int | None = 0, *, variation: bool = False) -> WooProduct:
        """The store sells `sku`: a simple product, or a variation of a new variable product."""
        with self.lock:
            parent = next(self._product_ids) if variation else 0
            p = WooProduct(next(self._product_ids), sku, parent, qty, qty is not None)
            self.listings[sku] = p
            return p

    def quantity(self, sku: str) -> int | None:
        with self.lock:
            p = self.listings.get(sku)
            return p.stock_quantity if p is not None and p.manage_stock else None

    def accepted_at(self, sku: str) -> list[tuple[dt.datetime, int]]:
        with self.lock:
            return list(self._accepted.get(sku, ()))

    def webhook(self, order_id: str, topic: str = "order.updated") -> tuple[dict[str, str], bytes]:
        """One delivery as WooCommerce sends it: the order's JSON, signed with the secret."""
        with self.lock:
            body = json.dumps(self._order_json(self.orders[str(order_id)])).encode()
            delivery = next(self._deliveries)
        resource, _, event = topic.partition(".")
        return {
            "Content-Type": "application/json",
            "X-WC-Webhook-Source": "http://example.com/",
            "X-WC-Webhook-Topic": topic,
            "X-WC-Webhook-Resource": resource,
            "X-WC-Webhook-Event": event,
            "X-WC-Webhook-Signature": self.sign(body),
            "X-WC-Webhook-ID": str(self.webhook_id),
            "X-WC-Webhook-Delivery-ID": str(delivery),
        }, body

    def webhook_ping(self) -> tuple[dict[str, str], bytes]:
        """What WooCommerce posts once when a webhook is created: a form body, no signature."""
        return {"Content-Type": "application/x-www-form-urlencoded"}, f"webhook_id={self.webhook_id}".encode()

    def heal(self) -> None:
        """The host is back: injected faults still queued are dropped."""
        with self.lock:
            self._faults.clear()

    def sign(self, body: bytes) -> str:
        return base64.b64encode(hmac.new(self.webhook_secret.encode(), body, hashlib.sha256).digest()).decode()

    # -- HTTP ------------------------------------------------------------------------------

    def routes(self) -> Sequence[Route]:
        return (
            ("GET", _API + r"/orders", self._list_orders),
            ("GET", _API + r"/orders/(\d+)", self._get_order),
            ("PUT", _API + r"/orders/(\d+)", self._update_order),
            ("POST", _API + r"/orders/(\d+)", self._update_order),
            ("GET", _API + r"/products", self._list_products),
            ("POST", _API + r"/products/batch", self._batch_products),
            ("POST", _API + r"/products/(\d+)/variations/batch", self._batch_variations),
            ("GET", _TRACKING + r"/orders/(\d+)/shipment-trackings", self._list_trackings),
            ("POST", _TRACKING + r"/orders/(\d+)/shipment-trackings", self._add_tracking),
        )

    def dispatch(self, req: Request) -> Response:
        if self.bucket is not None and not self.bucket.try_take():
            self.throttled += 1
            wait = self.bucket.seconds_until()
            after = str(max(1, math.ceil(wait))) if self.whole_retry_after else f"{max(wait, 0.001):.3f}"
            return json_response({"code": "too_many_requests", "message": "Too Many Requests"},
                                 self.throttle_status, {"Retry-After": after})
        if not self._authorised(req):
            return _error("woocommerce_rest_cannot_view", "Sorry, you cannot list resources.", 401)
        return super().dispatch(req)

    def _authorised(self, req: Request) -> bool:
        value = req.headers.get("authorization", "")
        if value.lower().startswith("basic "):
            try:
                user, _, password = base64.b64decode(value[6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return False
            return hmac.compare_digest(user, self.consumer_key) and hmac.compare_digest(password, self.consumer_secret)
        key, secret = req.arg("consumer_key"), req.arg("consumer_secret")
        return key == self.consumer_key and secret == self.consumer_secret

    def _order_json(self, o: WooOrder) -> dict[str, Any]:
        local = self.site_tz
        lines = []
        for ln in o.lines:
            subtotal = Decimal(ln["price"]) * ln["quantity"]
            lines.append({
                "id": ln["id"], "name": ln["name"], "product_id": ln["product_id"], "variation_id": ln["variation_id"],
                "quantity": ln["quantity"], "tax_class": "", "subtotal": f"{subtotal:.2f}", "subtotal_tax": "0.00",
                "total": f"{subtotal:.2f}", "total_tax": "0.00", "taxes": [], "meta_data": [], "sku": ln["sku"],
                "price": float(ln["price"]),
            })
        total = sum((Decimal(ln["subtotal"]) for ln in lines), Decimal("0"))
        return {
            "id": o.id, "parent_id": 0, "number": str(o.id), "order_key": f"wc_order_{o.id:x}", "created_via": "checkout",
            "version": "9.4.0", "status": o.status, "currency": o.currency,
            "date_created": _naive(o.created.astimezone(local)), "date_created_gmt": _naive(o.created),
            "date_modified": _naive(o.modified.astimezone(local)), "date_modified_gmt": _naive(o.modified),
            "discount_total": "0.00", "discount_tax": "0.00", "shipping_total": "0.00", "shipping_tax": "0.00",
            "cart_tax": "0.00", "total": f"{total:.2f}", "total_tax": "0.00", "prices_include_tax": False,
            "customer_id": 0, "customer_note": o.customer_note, "billing": dict(o.billing),
            "shipping": dict(o.shipping), "payment_method": "bacs", "payment_method_title": "Direct Bank Transfer",
            "transaction_id": "", "meta_data": [], "line_items": lines, "tax_lines": [], "shipping_lines": [],
            "fee_lines": [], "coupon_lines": [], "refunds": [],
        }

    def _when(self, text: str, gmt: bool) -> dt.datetime | None:
        """A filter date as WordPress reads it: in UTC with dates_are_gmt, else in site time."""
        try:
            value = dt.datetime.fromisoformat(text)
        except ValueError:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc if gmt else self.site_tz)
        return value.astimezone(dt.timezone.utc)

    def _list_orders(self, req: Request) -> Response:
        per_page_text, page_text = req.arg("per_page", "10") or "10", req.arg("page", "1") or "1"
        if not per_page_text.isdigit() or not 1 <= int(per_page_text) <= 100:
            return _error("rest_invalid_param", "Invalid parameter(s): per_page", 400,
                          params={"per_page": "per_page must be between 1 (inclusive) and 100 (inclusive)"})
        if not page_text.isdigit() or int(page_text) < 1:
            return _error("rest_invalid_param", "Invalid parameter(s): page", 400,
                          params={"page": "page must be greater than or equal to 1"})
        orderby, order = req.arg("orderby", "date") or "date", req.arg("order", "desc") or "desc"
        if orderby not in _ORDERBY:
            return _error("rest_invalid_param", "Invalid parameter(s): orderby", 400,
                          params={"orderby": "orderby is not one of date, id, include, title, and slug."})
        if order not in ("asc", "desc"):
            return _error("rest_invalid_param", "Invalid parameter(s): order", 400,
                          params={"order": "order is not one of asc and desc."})
        gmt = (req.arg("dates_are_gmt") or "").lower() in ("1", "true")
        bounds: dict[str, dt.datetime | None] = {}
        for name in ("modified_after", "modified_before", "after", "before"):
            text = req.arg(name)
            if text:
                bounds[name] = self._when(text, gmt)
                if bounds[name] is None:
                    return _error("rest_invalid_param", f"Invalid parameter(s): {name}", 400,
                                  params={name: "Invalid date."})
        statuses = {s for v in req.query.get("status", ["any"]) for s in v.split(",") if s} or {"any"}
        if statuses - {"any", *_STATUSES}:
            return _error("rest_invalid_param", "Invalid parameter(s): status", 400,
                          params={"status": "status[0] is not one of any, " + ", ".join(_STATUSES) + "."})
        include = {int(i) for v in req.query.get("include", []) for i in v.split(",") if i.strip().isdigit()}
        per_page, page = int(per_page_text), int(page_text)
        with self.lock:
            rows = []
            for o in self.orders.values():
                if "any" in statuses and o.status == "trash" and "trash" not in statuses:
                    continue
                if "any" not in statuses and o.status not in statuses:
                    continue
                if include and o.id not in include:
                    continue
                # WP_Date_Query: after and before are both exclusive.
                ma, mb = bounds.get("modified_after"), bounds.get("modified_before")
                ca, cb = bounds.get("after"), bounds.get("before")
                if (ma and not o.modified > ma) or (mb and not o.modified < mb):
                    continue
                if (ca and not o.created > ca) or (cb and not o.created < cb):
                    continue
                rows.append(o)
            key = (lambda o: (o.created, o.id)) if orderby == "date" else (lambda o: (0, o.id))
            rows.sort(key=key, reverse=order == "desc")
            total = len(rows)
            pages = math.ceil(total / per_page)
            if page > pages and total > 0:
                return _error("rest_post_invalid_page_number",
                              "The page number requested is larger than the number of pages available.", 400)
            chosen = [self._order_json(o) for o in rows[(page - 1) * per_page: page * per_page]]
        headers = {"X-WP-Total": str(total), "X-WP-TotalPages": str(pages)}
        links = []
        base = {k: v[0] for k, v in req.query.items() if k not in ("page", "consumer_key", "consumer_secret")}
        if page > 1:
            links.append(f'<{self.url}{req.path}?{urlencode({**base, "page": page - 1})}>; rel="prev"')
        if page < pages:
            links.append(f'<{self.url}{req.path}?{urlencode({**base, "page": page + 1})}>; rel="next"')
        if links:
            headers["Link"] = ", ".join(links)
        return json_response(chosen, headers={} if self.strip_totals else headers)

    def _get_order(self, req: Request) -> Response:
        assert req.match is not None
        with self.lock:
            o = self.orders.get(req.match.group(1))
            if o is None:
                return _error("woocommerce_rest_shop_order_invalid_id", "Invalid ID.", 404)
            return json_response(self._order_json(o))

    def _update_order(self, req: Request) -> Response:
        assert req.match is not None
        body = req.json() or {}
        with self.lock:
            o = self.orders.get(req.match.group(1))
            if o is None:
                return _error("woocommerce_rest_shop_order_invalid_id", "Invalid ID.", 400)
            status = body.get("status")
            if status is not None:
                if status not in _STATUSES:
                    return _error("rest_invalid_param", "Invalid parameter(s): status", 400)
                if status != o.status:
                    o.status = status
                    o.modified = self._stamp(o.modified)
            return json_response(self._order_json(o))

    def _product_json(self, p: WooProduct) -> dict[str, Any]:
        return {"id": p.id, "name": f"Product {p.sku}", "type": "variation" if p.parent_id else "simple",
                "parent_id": p.parent_id, "sku": p.sku, "price": p.price, "manage_stock": p.manage_stock,
                "stock_quantity": p.stock_quantity,
                "stock_status": "instock" if (p.stock_quantity or 0) > 0 else "outofstock"}

    def _list_products(self, req: Request) -> Response:
        per_page = int(req.arg("per_page", "10") or "10")
        if not 1 <= per_page <= 100:
            return _error("rest_invalid_param", "Invalid parameter(s): per_page", 400,
                          params={"per_page": "per_page must be between 1 (inclusive) and 100 (inclusive)"})
        wanted = {s for s in (req.arg("sku") or "").split(",") if s}
        with self.lock:
            rows = [self._product_json(p) for p in self.listings.values() if not wanted or p.sku in wanted]
        rows.sort(key=lambda r: r["id"])
        pages = math.ceil(len(rows) / per_page)
        return json_response(rows[:per_page], headers={"X-WP-Total": str(len(rows)), "X-WP-TotalPages": str(pages)})

    def _batch(self, req: Request, parent: int | None) -> Response:
        body = req.json() or {}
        updates = body.get("update") or []
        if len(updates) + len(body.get("create") or []) + len(body.get("delete") or []) > _BATCH_MAX:
            return _error("woocommerce_rest_request_entity_too_large",
                          f"Unable to accept more than {_BATCH_MAX} items for this request.", 413)
        out: list[dict[str, Any]] = []
        with self.lock:
            by_id = {p.id: p for p in self.listings.values()}
            for u in updates:
                p = by_id.get(int(u.get("id") or 0))
                # A variation only through its product's variations route, and only that product's.
                if p is None or (p.parent_id != 0) != (parent is not None) or (parent is not None and p.parent_id != parent):
                    code = "woocommerce_rest_product_variation_invalid_id" if parent else "woocommerce_rest_product_invalid_id"
                    out.append({"id": u.get("id"), "error": {"code": code, "message": "Invalid ID.",
                                                             "data": {"status": 400}}})
                    continue
                if "manage_stock" in u:
                    p.manage_stock = bool(u["manage_stock"])
                if "stock_quantity" in u:
                    qty = u["stock_quantity"]
                    if not isinstance(qty, int) or isinstance(qty, bool):
                        out.append({"id": p.id, "error": {"code": "rest_invalid_param",
                                                          "message": "stock_quantity is not of type integer.",
                                                          "data": {"status": 400}}})
                        continue
                    p.stock_quantity = qty
                    if p.manage_stock:
                        real = dt.datetime.fromtimestamp(time.time(), dt.timezone.utc)
                        self._accepted.setdefault(p.sku, []).append((real, qty))
                out.append(self._product_json(p))
        return json_response({"update": out})

    def _batch_products(self, req: Request) -> Response:
        return self._batch(req, None)

    def _batch_variations(self, req: Request) -> Response:
        assert req.match is not None
        return self._batch(req, int(req.match.group(1)))

    def _list_trackings(self, req: Request) -> Response:
        assert req.match is not None
        with self.lock:
            o = self.orders.get(req.match.group(1))
            if o is None:
                return _error("woocommerce_rest_order_invalid_id", "Invalid order ID.", 404)
            return json_response([dict(t) for t in o.trackings])

    def _add_tracking(self, req: Request) -> Response:
        assert req.match is not None
        body = req.json() or {}
        number = str(body.get("tracking_number") or "")
        if not number:
            return _error("rest_missing_callback_param", "Missing parameter(s): tracking_number", 400)
        with self.lock:
            o = self.orders.get(req.match.group(1))
            if o is None:
                return _error("woocommerce_rest_order_invalid_id", "Invalid order ID.", 404)
            item = {
                "tracking_id": uuid.uuid4().hex, "tracking_provider": str(body.get("tracking_provider") or ""),
                "tracking_link": "", "tracking_number": number,
                "date_shipped": str(body.get("date_shipped") or self.clock.now().date().isoformat()),
            }
            o.trackings.append(item)  # never deduplicated: WooCommerce adds whatever it is sent
            return json_response(item, 201)
