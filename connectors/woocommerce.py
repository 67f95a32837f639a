"""WooCommerce (REST API v3 and the Shipment Tracking extension): orders in, shipments and stock out.

    woo = WooCommerce("web", {"url": "https://shop.example", "consumer_key": "ck_...",
                              "consumer_secret": "cs_...", "webhook_secret": "..."})
    pull(store, woo)                       # connectors.sync: windows bisected to fit a page

Settings (oms.toml `[channels.api]`):
    url               the store's site root (https://shop.example, or .../shop for a WordPress
                      in a folder); required, WooCommerce has no central host
    consumer_key, consumer_secret   a REST API key pair (read/write)
    auth              "basic" (default: HTTP Basic over HTTPS) or "query" (the key pair in the
                      query string, for hosts that strip the Authorization header)
    webhook_secret    the secret the store's webhooks are signed with
    page_size         orders per page, 1..100 (default 100; WooCommerce refuses more)
    timeout           seconds per call (default 30)
    limits            {"api": {"rate": r, "burst": b}}: WooCommerce has no limit of its own,
                      the host has; the seed is 5 calls a second, 5 at once
    lookback_days (30), safety_lag_seconds (60), overlap_seconds (600), max_span_seconds (86400)
    backoff_base      seconds, the first backoff after a 5xx (default 1)

Orders: `GET /orders?modified_after&modified_before&dates_are_gmt=true&status=any&orderby=id`.
WooCommerce cannot sort by date modified and pages by offset over a live set, so this
connector says `paging = "offset"` and returns `total` (X-WP-Total): the sync splits a window
until each part fits one page. Its filter is exclusive at both ends in whole seconds, so the
window [start, end) is sent as (ceil(start) - 1 s, ceil(end)). Times come from the `*_gmt`
fields (UTC without a zone); the site-local ones are never read.

Status: cancelled, refunded (all the money went back: shipping it would give the goods away)
and trash (the merchant deleted it) are cancelled orders; pending, on-hold and failed come in
as they are (unpaid orders are the store's to hold, not a cancellation: a failed payment can
still be paid).

Shipments: the tracking numbers already on the order are read first, and one already there is
not added again (a POST that timed out may have been carried out); then the order is set to
`completed` (absolute, so safe to send twice). Stock: products and variations are found by
SKU (`GET /products?sku=A,B,...`, cached in the listing's ref) and set absolutely in batches
of 100 (`/products/batch`, `/products/{id}/variations/batch`).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any, Literal
from urllib.parse import parse_qs

import httpx

from store.canonical import Address, CanonicalLine, CanonicalOrder
from store.money import currency_exponent

from .api import ApiClient, Verdict, retry_after
from .channel import (
    Cursor, OrderPage, PushResult, RemoteOrder, ShipmentNotice, StockLevel, SyncWindow, WebhookHint, Windows, utc,
)
from .errors import ConnectorError, Rejected, WebhookRejected
from .throttle import seeded

__all__ = ["WooCommerce", "CANCELLED_STATUSES"]

_API = "/wp-json/wc/v3"
_TRACKING = "/wp-json/wc-shipment-tracking/v3"
_MAX_PAGE = 100
_BATCH = 100
CANCELLED_STATUSES = frozenset({"cancelled", "refunded", "trash"})
_INVALID_ID = ("woocommerce_rest_product_invalid_id", "woocommerce_rest_product_variation_invalid_id")


def _verdict(group: str, r: httpx.Response) -> Verdict | None:
    """Hosts in front of WordPress shed load with 503 + Retry-After: that is a throttle, not a
    fault (a 502 may come after WordPress did the work, so it is not waited out and sent again)."""
    if r.status_code == 503 and "retry-after" in r.headers:
        return Verdict(wait=retry_after(r), reason=f"host answered {r.status_code}")
    return None


def _gmt(value: Any) -> dt.datetime:
    """A `*_gmt` field: UTC without a zone."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"date {value!r} is missing")
    return utc(dt.datetime.fromisoformat(value))


def _ceil(value: dt.datetime) -> dt.datetime:
    whole = value.replace(microsecond=0)
    return whole if whole == value else whole + dt.timedelta(seconds=1)


def _param(value: dt.datetime) -> str:
    return value.astimezone(dt.timezone.utc).replace(tzinfo=None).isoformat(timespec="seconds")


def _minor(amount: Decimal, currency: str) -> int:
    return int(amount.scaleb(currency_exponent(currency)).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def _text(value: Any) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None


def _address(raw: Mapping[str, Any]) -> Address:
    name = " ".join(p for p in (_text(raw.get("first_name")), _text(raw.get("last_name"))) if p)
    return Address(name=name or _text(raw.get("company")), address1=_text(raw.get("address_1")),
                   address2=_text(raw.get("address_2")), city=_text(raw.get("city")), region=_text(raw.get("state")),
                   postal_code=_text(raw.get("postcode")), country=_text(raw.get("country")))


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


class WooCommerce:
    paging: Literal["keyset", "offset"] = "offset"

    def __init__(
        self, channel: str, settings: Mapping[str, Any], *, transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.channel = channel
        url = str(settings.get("url") or "").rstrip("/")
        if not url:
            raise ConnectorError(f"channel {channel}: WooCommerce needs the store's url in [channels.api]")
        for suffix in (_API, "/wp-json"):  # a url given with the API path: the site root is wanted
            if url.endswith(suffix):
                url = url[: -len(suffix)]
        self.url = url
        self.page_size = int(settings.get("page_size") or _MAX_PAGE)
        if not 1 <= self.page_size <= _MAX_PAGE:
            raise ConnectorError(f"woocommerce channel {channel}: page_size must be 1..{_MAX_PAGE}")
        w = Windows.of(settings, lag=60, overlap=600, span=86400)
        self.lookback, self.safety_lag, self.overlap, self.max_span = w.lookback, w.safety_lag, w.overlap, w.max_span
        self.webhook_secret = str(settings.get("webhook_secret") or "")
        key, secret = str(settings.get("consumer_key") or ""), str(settings.get("consumer_secret") or "")
        self._query_auth = {"consumer_key": key, "consumer_secret": secret} if settings.get("auth") == "query" else {}
        self.api = ApiClient(
            url, channel=channel, buckets=seeded(settings.get("limits"), {"api": (5.0, 5.0)}, sleep=sleep), basic=None if self._query_auth else (key, secret),
            inspect=_verdict, timeout=float(settings.get("timeout", 30.0)),
            backoff_base=float(settings.get("backoff_base", 1.0)), sleep=sleep, transport=transport,
            headers={"Accept": "application/json"},
        )

    # -- plumbing ----------------------------------------------------------------------------

    def now(self) -> dt.datetime:
        return self.api.now()

    def close(self) -> None:
        self.api.close()

    def _call(self, method: str, path: str, *, params: Mapping[str, Any] | None = None, **kwargs: Any) -> httpx.Response:
        return self.api.request("api", method, path, params={**(params or {}), **self._query_auth}, **kwargs)

    # -- orders ------------------------------------------------------------------------------

    def list_orders(self, window: SyncWindow, cursor: Cursor | None) -> OrderPage:
        page = int((cursor or {}).get("page", 1))
        params = {
            "modified_after": _param(_ceil(window.start) - dt.timedelta(seconds=1)),
            "modified_before": _param(_ceil(window.end)),
            "dates_are_gmt": "true", "status": "any", "orderby": "id", "order": "asc",
            "per_page": self.page_size, "page": page,
        }
        r = self._call("GET", f"{_API}/orders", params=params, ok=(200, 400))
        if r.status_code == 400:
            if page > 1 and _code(r) == "rest_post_invalid_page_number":
                # The set shrank under us (orders left the window): nothing more here; the sync
                # counts the part again and reads it again if the count moved.
                return OrderPage((), None, r.content)
            raise Rejected(f"{self.channel}: GET orders refused (400): {_code(r)}: {_message(r)}", status=400,
                           body=r.content)
        rows = _json_list(r, self.channel)
        orders, problems = self._map_all(rows)
        total = _int_header(r, "x-wp-total")
        pages = _int_header(r, "x-wp-totalpages")
        full = len(rows) >= self.page_size
        if pages is not None:
            more = page < pages
        else:  # a cache or proxy that drops WordPress's headers: Link, else a full page, says more
            more = 'rel="next"' in r.headers.get("link", "") or full
        if total is None and full:
            total = len(rows) + 1  # unknown, at least one more: the sync splits the window rather than trust it
        return OrderPage(orders, {"page": page + 1} if more else None, r.content, total, problems)

    def _map_all(self, rows: Sequence[Any]) -> tuple[list[RemoteOrder], list[tuple[str, str]]]:
        orders: list[RemoteOrder] = []
        problems: list[tuple[str, str]] = []
        for n, raw in enumerate(rows, 1):
            ref = str(raw.get("id")) if isinstance(raw, dict) and raw.get("id") is not None else f"#{n}"
            try:
                orders.append(self._remote(raw))
            except (KeyError, TypeError, ValueError, InvalidOperation) as exc:
                problems.append((ref, f"{type(exc).__name__}: {exc}"))
        return orders, problems

    def _remote(self, raw: Mapping[str, Any]) -> RemoteOrder:
        currency = str(raw["currency"]).upper()
        updated = _gmt(raw.get("date_modified_gmt"))
        placed = _gmt(raw.get("date_created_gmt")) if raw.get("date_created_gmt") else None
        lines = []
        for item in raw.get("line_items") or []:
            qty = int(item["quantity"])
            # A variation's own id names it; a simple product's id otherwise.
            channel_id = str(item.get("variation_id") or item.get("product_id") or "") or None
            sku = _text(item.get("sku"))
            if sku is None and channel_id is None:
                raise ValueError(f"line {item.get('id')} has neither a SKU nor a product id")
            amount = Decimal(str(item.get("subtotal") or "0"))
            unit = _minor(amount / qty, currency) if qty else _minor(Decimal(str(item.get("price") or 0)), currency)
            lines.append(CanonicalLine(
                item=sku or str(channel_id), qty=qty, unit_price_minor=unit,
                item_kind="sku" if sku else "channel_item_id",
                item_ids={"channel_item_id": channel_id} if sku and channel_id else {},
                description=_text(item.get("name")), line_ref=str(item["id"]),
            ))
        shipping = raw.get("shipping") or {}
        billing = raw.get("billing") or {}
        # Virtual goods have no shipping address; the billing one is then the customer's.
        ship_to = _address(shipping if _text(shipping.get("address_1")) else billing)
        buyer = " ".join(p for p in (_text(billing.get("first_name")), _text(billing.get("last_name"))) if p)
        order = CanonicalOrder(
            channel=self.channel, external_id=str(raw["id"]), lines=tuple(lines), currency=currency,
            version=int(updated.timestamp() * 1_000_000), updated_at=updated, placed_at=placed,
            buyer_name=buyer or None, buyer_ref=_text(billing.get("email")), ship_to=ship_to,
        )
        return RemoteOrder(order, updated, str(raw.get("status")) in CANCELLED_STATUSES, raw)

    def get_orders(self, external_ids: Sequence[str]) -> list[RemoteOrder]:
        ids = [i for i in dict.fromkeys(str(x) for x in external_ids) if i.isdigit()]
        found: dict[str, RemoteOrder] = {}
        for chunk in _chunks(ids, _MAX_PAGE):
            params = {"include": ",".join(chunk), "status": "any", "orderby": "id", "order": "asc",
                      "per_page": _MAX_PAGE}
            orders, _ = self._map_all(_json_list(self._call("GET", f"{_API}/orders", params=params), self.channel))
            found.update((o.order.external_id, o) for o in orders)
        for missing in (i for i in ids if i not in found):
            # status=any leaves out the trash; a trashed order is still there by its id.
            r = self._call("GET", f"{_API}/orders/{missing}", ok=(200, 404))
            if r.status_code == 200:
                orders, _ = self._map_all([r.json()])
                found.update((o.order.external_id, o) for o in orders)
        return [found[i] for i in ids if i in found]

    # -- shipments ---------------------------------------------------------------------------

    def confirm_shipment(self, notice: ShipmentNotice) -> str:
        oid = notice.external_id
        order = self._call("GET", f"{_API}/orders/{oid}").json()
        status = str(order.get("status"))
        if status in CANCELLED_STATUSES:
            raise Rejected(f"{self.channel}: order {oid} is {status} at the store; not marked shipped")
        path = f"{_TRACKING}/orders/{oid}/shipment-trackings"
        held = {str(t.get("tracking_number")): t for t in _json_list(self._call("GET", path), self.channel)}
        tracking = held.get(notice.tracking)
        if tracking is None:
            # Not retried on a timeout: it may have been carried out. The caller's retry reads back first.
            body = {"tracking_provider": notice.carrier, "tracking_number": notice.tracking,
                    "date_shipped": notice.shipped_at.astimezone(dt.timezone.utc).date().isoformat()}
            tracking = self._call("POST", path, json=body, ok=(200, 201)).json()
        if status != "completed":
            self._call("PUT", f"{_API}/orders/{oid}", json={"status": "completed"}, retry_write=True)
        return str(tracking.get("tracking_id") or notice.tracking)

    # -- stock -------------------------------------------------------------------------------

    def push_stock(self, levels: Sequence[StockLevel]) -> list[PushResult]:
        latest = {lv.sku: lv for lv in levels}  # absolute: only the last level per SKU matters
        refs = {sku: dict(lv.ref) for sku, lv in latest.items() if lv.ref.get("id")}
        refs.update(self._lookup([s for s in latest if s not in refs]))
        results = self._set(latest, refs)
        # A cached id the store no longer knows (product deleted, SKU moved): look it up once more.
        stale = [sku for sku, r in results.items() if r.error and r.error.startswith("stale:")]
        if stale:
            fresh = self._lookup(stale)
            results.update(self._set({s: latest[s] for s in stale}, fresh))
        for sku, r in list(results.items()):
            if r.error and r.error.startswith("stale:"):
                results[sku] = PushResult(sku, False, r.qty, {}, self._unknown(sku))
        return [results[sku] for sku in latest]

    def _unknown(self, sku: str) -> str:
        return f"no product with SKU {sku} at {self.url}"

    def _lookup(self, skus: Sequence[str]) -> dict[str, dict[str, Any]]:
        """{sku: {"id", "parent_id"}} for the SKUs the store has (products and variations)."""
        found: dict[str, dict[str, Any]] = {}
        # A comma would split the SKU in WooCommerce's list: such SKUs are asked alone.
        plain = [s for s in skus if "," not in s]
        asks = [list(c) for c in _chunks(plain, _MAX_PAGE)] + [[s] for s in skus if "," in s]
        for chunk in asks:
            params = {"sku": ",".join(chunk), "per_page": _MAX_PAGE}
            for p in _json_list(self._call("GET", f"{_API}/products", params=params), self.channel):
                sku = str(p.get("sku") or "")
                if sku in chunk and sku not in found:
                    found[sku] = {"id": int(p["id"]), "parent_id": int(p.get("parent_id") or 0)}
        return found

    def _set(self, levels: Mapping[str, StockLevel], refs: Mapping[str, Mapping[str, Any]]) -> dict[str, PushResult]:
        results: dict[str, PushResult] = {}
        groups: dict[int, list[str]] = {}  # parent product id (0: simple products) -> SKUs
        for sku, lv in levels.items():
            ref = refs.get(sku)
            if ref is None:
                results[sku] = PushResult(sku, False, lv.qty, {}, self._unknown(sku))
            else:
                groups.setdefault(int(ref.get("parent_id") or 0), []).append(sku)
        for parent, skus in groups.items():
            path = f"{_API}/products/{parent}/variations/batch" if parent else f"{_API}/products/batch"
            for chunk in _chunks(skus, _BATCH):
                by_id = {int(refs[s]["id"]): s for s in chunk}
                body = {"update": [{"id": int(refs[s]["id"]), "manage_stock": True,
                                    "stock_quantity": max(0, int(levels[s].qty))} for s in chunk]}
                r = self._call("POST", path, json=body, retry_write=True)  # absolute: safe to send again
                answered: set[str] = set()
                for item in (r.json() or {}).get("update") or []:
                    hit = by_id.get(int(item.get("id") or 0))
                    if hit is None:
                        continue
                    answered.add(hit)
                    ref, qty = dict(refs[hit]), max(0, int(levels[hit].qty))
                    err = item.get("error")
                    if err:
                        code = str(err.get("code") or "")
                        why = f"stale:{code}" if code in _INVALID_ID else f"{code}: {err.get('message')}"
                        results[hit] = PushResult(hit, False, qty, ref, why)
                    elif item.get("stock_quantity") != qty:
                        results[hit] = PushResult(hit, False, qty, ref,
                                                  f"the store shows {item.get('stock_quantity')}, not {qty}")
                    else:
                        results[hit] = PushResult(hit, True, qty, ref)
                for sku in chunk:
                    if sku not in answered:
                        results[sku] = PushResult(sku, False, levels[sku].qty, dict(refs[sku]),
                                                  "the store's batch answer left this product out")
        return results

    # -- webhooks ----------------------------------------------------------------------------

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookHint:
        h = {k.lower(): v for k, v in headers.items()}
        signature = h.get("x-wc-webhook-signature")
        ping = _ping(body)
        if signature is None:
            if ping is not None:  # sent once when the webhook is created, unsigned: names no order
                return WebhookHint(f"ping:{ping}", "ping", ())
            raise WebhookRejected(f"{self.channel}: webhook without X-WC-Webhook-Signature")
        if not self.webhook_secret:
            raise WebhookRejected(f"{self.channel}: no webhook_secret configured to verify webhooks with")
        expected = base64.b64encode(hmac.new(self.webhook_secret.encode(), body, hashlib.sha256).digest())
        if not hmac.compare_digest(expected, signature.strip().encode()):
            raise WebhookRejected(f"{self.channel}: webhook signature does not match")
        topic = h.get("x-wc-webhook-topic") or ""
        event_id = h.get("x-wc-webhook-delivery-id") or "sha256:" + hashlib.sha256(body).hexdigest()[:32]
        if ping is not None:
            return WebhookHint(event_id, topic or "ping", ())
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise WebhookRejected(f"{self.channel}: webhook body is not JSON") from exc
        resource = h.get("x-wc-webhook-resource") or topic.partition(".")[0]
        ids: tuple[str, ...] = ()
        if resource == "order" and isinstance(data, dict) and data.get("id") is not None:
            ids = (str(data["id"]),)
        return WebhookHint(event_id, topic, ids)


def _ping(body: bytes) -> str | None:
    """The webhook id of WooCommerce's creation ping (`webhook_id=142`), else None."""
    if not body.startswith(b"webhook_id="):
        return None
    values = parse_qs(body.decode("ascii", "replace")).get("webhook_id") or []
    return values[0] if values and values[0].isdigit() else None


def _json_list(r: httpx.Response, channel: str) -> list[Any]:
    try:
        data = r.json()
    except ValueError as exc:
        raise Rejected(f"{channel}: {r.request.method} {r.request.url.path} answered something not JSON",
                       status=r.status_code, body=r.content) from exc
    if not isinstance(data, list):
        raise Rejected(f"{channel}: {r.request.method} {r.request.url.path} answered no list",
                       status=r.status_code, body=r.content)
    return data


def _code(r: httpx.Response) -> str:
    try:
        return str(r.json().get("code") or "")
    except (ValueError, AttributeError):
        return ""


def _message(r: httpx.Response) -> str:
    try:
        return str(r.json().get("message") or "")[:300]
    except (ValueError, AttributeError):
        return r.text[:300]


def _int_header(r: httpx.Response, name: str) -> int | None:
    value = r.headers.get(name)
    return int(value) if value is not None and value.strip().isdigit() else None
