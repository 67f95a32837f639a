"""Shopify through the Admin GraphQL API (2026-07): orders in, fulfilments and stock out, webhooks as hints.

    shop = Shopify("shopify-main", {"url": "https://example.myshopify.com", "access_token": "shpat_...",
                                    "webhook_secret": "...", "location_id": "905684977"})
    page = shop.list_orders(window, None)            # orders updated in the window, by UPDATED_AT
    shop.confirm_shipment(notice)                    # fulfillmentCreate on the fulfillment orders
    shop.push_stock([StockLevel("S1", 7)])           # inventorySetQuantities @idempotent

Settings (oms.toml `[channels.api]`):
    url               https://{shop}.myshopify.com (or `shop`: "example" / "example.myshopify.com")
    access_token      the app's Admin API token (X-Shopify-Access-Token)
    webhook_secret    the app's client secret, which signs webhooks
    location_id       the Shopify location whose `available` quantity is pushed (gid or number)
    page_size         orders per page, default 20; lowered to keep a page under 1000 cost points
    line_items        line items read with each order, default 10 (more are read after)
    notify_customer   Shopify emails the customer when a fulfilment is created, default true
    timeout           seconds per call, default 30
    limits            {"graphql": {"rate": 100, "burst": 1000}}: the cost bucket's seed (Standard
                      plan, per app and store); every answer's throttleStatus corrects it
    lookback_days (30), safety_lag_seconds (60), overlap_seconds (300), max_span_seconds (86400)

Ids: an order's external id is its numeric `legacyResourceId` ("450789469"), the same number as
the `id` of the REST-shaped webhook bodies; a line's `line_ref` is the line item's gid, which
is what fulfilment orders point at. A line without a SKU is taken by its variant's number
(item_kind channel_item_id), or by its name when it has no variant (a custom item). Quantities
are the line's `currentQuantity` (what is left after an order edit), else its `quantity`.

Throttling: every call takes its calculated cost from a token bucket before it is sent, and
the bucket is set from `extensions.cost.throttleStatus` on every answer. Shopify says
"throttled" with HTTP 200 and errors[0].extensions.code THROTTLED; `_inspect` turns that into
a wait of (requested - available) / restoreRate. An injected `sleep` (tests, the demo's fast
clock) stands for time passing: the bucket counts what it slept as elapsed.

Errors: GraphQL `errors` (other than THROTTLED) raise Rejected with Shopify's message and code
(the page's body kept for the sync); userErrors of a mutation are per SKU for stock and one
Rejected for a fulfilment. Transport errors and 401s are ApiClient's (Unreachable, AuthRejected).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import logging
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

import httpx

from store.canonical import Address, CanonicalLine, CanonicalOrder
from store.money import currency_exponent

from .api import ApiClient, Verdict
from .channel import (
    Cursor, OrderPage, PushResult, RemoteOrder, ShipmentNotice, StockLevel, SyncWindow, WebhookHint, Windows, utc,
)
from .errors import ApiError, ConnectorError, Rejected, WebhookRejected
from .throttle import TokenBucket

__all__ = ["Shopify", "ShopifyRefused", "API_VERSION"]

log = logging.getLogger("oms.connectors.shopify")

API_VERSION = "2026-07"
_MAX_COST = 1000  # the most one query may ask for
_MAX_INPUT = 250  # input arrays and page sizes
_MUTATION_COST = 10
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
_STALE = "CHANGE_FROM_QUANTITY_STALE"
_RETRY_WITH_NEW_KEY = frozenset({"IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED", "IDEMPOTENCY_CONCURRENT_REQUEST"})


class ShopifyRefused(Rejected):
    """GraphQL `errors` other than THROTTLED: `code` is errors[0].extensions.code."""

    def __init__(self, message: str, *, code: str | None, body: bytes | None = None) -> None:
        super().__init__(message, status=200, body=body)
        self.code = code


def _line_fields() -> str:
    return ("id sku name quantity currentQuantity originalUnitPriceSet { shopMoney { amount currencyCode } } "
            "variant { id }")


# A line costs 4 (itself, the price set, its shopMoney, the variant); an order 1, its address 1
# and the line connection 2 + n lines. Kept next to the query it prices.
_LINE_COST = 4


def _order_fields(lines: int) -> str:
    return ("id legacyResourceId name createdAt updatedAt cancelledAt currencyCode "
            "shippingAddress { name address1 address2 city provinceCode zip countryCodeV2 latitude longitude } "
            f"lineItems(first: {lines}) {{ pageInfo {{ hasNextPage endCursor }} nodes {{ {_line_fields()} }} }}")


def _order_cost(lines: int) -> int:
    return 1 + 1 + 2 + lines * _LINE_COST


_FULFILMENT_STATE = """query FulfilmentState($id: ID!) { order(id: $id) { id cancelledAt
  fulfillments(first: 10) { id trackingInfo(first: 5) { company number }
    fulfillmentLineItems(first: 10) { nodes { quantity lineItem { id } } } }
  fulfillmentOrders(first: 5) { nodes { id status
    lineItems(first: 50) { pageInfo { hasNextPage } nodes { id remainingQuantity lineItem { id sku } } } } } } }"""
# order 1 + fulfillments 10 x (1 + tracking 5 + line items 2 + 10 x 2) + fulfillment orders 2 + 5 x (1 + 2 + 50 x 2)
_FULFILMENT_STATE_COST = 1 + 10 * (1 + 5 + 2 + 10 * 2) + 2 + 5 * (1 + 2 + 50 * 2)

_FULFILMENT_CREATE = """mutation FulfilmentCreate($fulfillment: FulfillmentInput!) {
  fulfillmentCreate(fulfillment: $fulfillment) { fulfillment { id status } userErrors { field message } } }"""

_SET_QUANTITIES = """mutation SetQuantities($input: InventorySetQuantitiesInput!, $key: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $key) {
    inventoryAdjustmentGroup { id } userErrors { code field message } } }"""

_VARIANTS = """query Variants($q: String!, $first: Int!, $after: String) {
  productVariants(first: $first, after: $after, query: $q) {
    pageInfo { hasNextPage endCursor } nodes { sku inventoryItem { id } } } }"""
_VARIANTS_PAGE = 100
_SKUS_PER_LOOKUP = 50

_LEVELS = """query Levels($ids: [ID!]!, $location: ID!) { nodes(ids: $ids) { ... on InventoryItem { id
  inventoryLevel(locationId: $location) { quantities(names: ["available"]) { name quantity } } } } }"""
_LEVEL_COST = 3  # the item, its level, its quantities list


class _CostBucket(TokenBucket):
    """The cost bucket. After a THROTTLED answer it already holds what Shopify said is available
    (throttleStatus), so waiting for the query's cost is exactly the wait Shopify asks for; the
    client's blanket hold (which empties the bucket) would wait the cost a second time."""

    corrected = False

    def hold(self, seconds: float) -> None:
        if self.corrected:
            self.corrected = False
            return
        super().hold(seconds)


@dataclass
class _Push:
    level: StockLevel
    item: str  # inventory item gid
    change_from: int | None


class Shopify:
    paging: Literal["keyset", "offset"] = "keyset"

    def __init__(
        self, channel: str, settings: Mapping[str, Any], *, transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.channel = channel
        s = dict(settings)
        url = s.get("url")
        if not url and s.get("shop"):
            shop = str(s["shop"])
            url = f"https://{shop if '.' in shop else shop + '.myshopify.com'}"
        if not url:
            raise ConnectorError(f"channel {channel}: shopify needs `url` (https://<shop>.myshopify.com) or `shop`")
        token = s.get("access_token")
        if not token:
            raise ConnectorError(f"channel {channel}: shopify needs `access_token`")
        self._secret = str(s["webhook_secret"]) if s.get("webhook_secret") else None
        self.location_id = _gid("Location", s["location_id"]) if s.get("location_id") else None
        self.lines_per_order = max(1, min(_MAX_INPUT, int(s.get("line_items", 10))))
        fits = (_MAX_COST - 2) // _order_cost(self.lines_per_order)
        self.page_size = max(1, min(_MAX_INPUT, int(s.get("page_size", 20)), fits))
        self.notify_customer = bool(s.get("notify_customer", True))
        w = Windows.of(s, lag=60, overlap=300, span=86400)
        self.lookback, self.safety_lag, self.overlap, self.max_span = w.lookback, w.safety_lag, w.overlap, w.max_span
        self._slept = 0.0
        clock: Callable[[], float]
        pause: Callable[[float], None]
        if sleep is time.sleep:
            clock, pause = time.monotonic, time.sleep
        else:
            def clock() -> float:
                return time.monotonic() + self._slept

            def pause(seconds: float) -> None:
                self._slept += seconds
                sleep(seconds)

        seed = dict((s.get("limits") or {}).get("graphql") or {})
        self.bucket = _CostBucket(float(seed.get("rate", 100)), float(seed.get("burst", _MAX_COST)),
                                  clock=clock, sleep=pause)
        self.api = ApiClient(
            str(url).rstrip("/"), channel=channel, buckets={"graphql": self.bucket},
            headers={"X-Shopify-Access-Token": str(token), "Accept": "application/json"},
            inspect=self._inspect, timeout=float(s.get("timeout", 30)), sleep=pause, transport=transport,
        )
        self._path = f"/admin/api/{API_VERSION}/graphql.json"
        self._clock_seen = False

    # -- the plumbing ------------------------------------------------------------------------------

    def now(self) -> dt.datetime:
        """Shopify's clock from the Date of its last answer. Before any answer one cheap query is
        made: a first window must not end by our clock when Shopify's differs."""
        if not self._clock_seen:
            try:
                self._call("query Clock { shop { name } }", {}, cost=1)
            except ApiError as exc:  # then ours it is, until an answer says otherwise
                log.warning("Shopify's clock unknown", extra={"channel": self.channel, "error": str(exc)})
        return self.api.now()

    def close(self) -> None:
        self.api.close()

    def _inspect(self, group: str, r: httpx.Response) -> Verdict | None:
        """Sets the bucket from throttleStatus; a 200 that says THROTTLED is a wait."""
        self._clock_seen = self._clock_seen or "date" in r.headers
        if r.status_code != 200:
            return None
        try:
            body = r.json()
        except ValueError:
            return None
        if not isinstance(body, dict):
            return None
        cost = (body.get("extensions") or {}).get("cost") or {}
        status = cost.get("throttleStatus") or {}
        available, rate = status.get("currentlyAvailable"), status.get("restoreRate")
        if status:
            self.bucket.correct(available=available, rate=rate, burst=status.get("maximumAvailable"))
        if _error_code(body) != "THROTTLED":
            return None
        requested = cost.get("requestedQueryCost")
        if requested is not None and available is not None and rate:
            self.bucket.corrected = True
            return Verdict(wait=max(0.0, (float(requested) - float(available)) / float(rate)), reason="THROTTLED")
        return Verdict(wait=1.0, reason="THROTTLED")

    def _call(self, query: str, variables: Mapping[str, Any], *, cost: float, read: bool = True) -> tuple[dict[str, Any], bytes]:
        """One GraphQL call: (data, raw body). Queries are reads (sent again after a timeout);
        a mutation is sent again only when it is safe (`read=True`: an idempotency key)."""
        r = self.api.request("graphql", "POST", self._path, json={"query": query, "variables": dict(variables)},
                             cost=min(cost, _MAX_COST), retry_write=read)
        try:
            body = r.json()
        except ValueError:
            raise Rejected(f"{self.channel}: Shopify answered something that is not JSON", status=r.status_code,
                           body=r.content) from None
        if not isinstance(body, dict):
            raise Rejected(f"{self.channel}: Shopify answered {type(body).__name__}, not an object", body=r.content)
        errors = body.get("errors")
        if errors:
            first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
            code = _error_code(body)
            message = str(first.get("message") or errors)[:300]
            raise ShopifyRefused(f"{self.channel}: Shopify refused the query: {message}" + (f" ({code})" if code else ""),
                                 code=code, body=r.content)
        return dict(body.get("data") or {}), r.content

    # -- orders --------------------------------------------------------------------------------------

    def list_orders(self, window: SyncWindow, cursor: Cursor | None) -> OrderPage:
        # Whole seconds (Shopify's stamps are), widened outwards so nothing at an edge is lost.
        start = _search_time(window.start)
        end = _search_time(window.end + dt.timedelta(microseconds=999_999))
        search = f"updated_at:>='{start}' AND updated_at:<'{end}'"
        after = (cursor or {}).get("after")
        while True:
            query = ("query Orders($first: Int!, $after: String, $q: String!) { "
                     "orders(first: $first, after: $after, sortKey: UPDATED_AT, query: $q) { "
                     f"pageInfo {{ hasNextPage endCursor }} nodes {{ {_order_fields(self.lines_per_order)} }} }} }}")
            try:
                data, raw = self._call(query, {"first": self.page_size, "after": after, "q": search},
                                       cost=2 + self.page_size * _order_cost(self.lines_per_order))
            except ShopifyRefused as exc:
                if exc.code == "MAX_COST_EXCEEDED" and self.page_size > 1:  # Shopify prices it higher than we do
                    self.page_size = max(1, self.page_size // 2)
                    log.warning("query cost over the limit, smaller pages", extra={"channel": self.channel,
                                                                                   "page_size": self.page_size})
                    continue
                raise
            break
        conn = data.get("orders") or {}
        orders, problems = self._map_all(conn.get("nodes") or [])
        info = conn.get("pageInfo") or {}
        nxt = {"after": info["endCursor"]} if info.get("hasNextPage") and info.get("endCursor") else None
        return OrderPage(orders, nxt, body=raw, problems=problems)

    def get_orders(self, external_ids: Sequence[str]) -> list[RemoteOrder]:
        ids = [_gid("Order", e) for e in dict.fromkeys(external_ids)]
        query = ("query Orders($ids: [ID!]!) { nodes(ids: $ids) { ... on Order { "
                 f"{_order_fields(self.lines_per_order)} }} }} }}")
        out: list[RemoteOrder] = []
        for i in range(0, len(ids), self.page_size):
            chunk = ids[i:i + self.page_size]
            data, _ = self._call(query, {"ids": chunk}, cost=len(chunk) * _order_cost(self.lines_per_order))
            orders, problems = self._map_all([n for n in data.get("nodes") or [] if n])
            for ref, why in problems:
                log.warning("order not taken", extra={"channel": self.channel, "order": ref, "error": why})
            out += orders
        return out

    def _map_all(self, nodes: Sequence[Mapping[str, Any]]) -> tuple[list[RemoteOrder], list[tuple[str, str]]]:
        orders: list[RemoteOrder] = []
        problems: list[tuple[str, str]] = []
        for n, node in enumerate(nodes, 1):
            ref = str(node.get("legacyResourceId") or node.get("id") or f"#{n}")
            try:
                node = self._all_lines(node)
                orders.append(self._remote(node))
            except (KeyError, TypeError, ValueError, InvalidOperation) as exc:
                problems.append((ref, f"cannot be read: {type(exc).__name__}: {exc}"))
        return orders, problems

    def _all_lines(self, node: Mapping[str, Any]) -> Mapping[str, Any]:
        """The order with every line item: more than `line_items` are read page by page."""
        items = node.get("lineItems") or {}
        info = items.get("pageInfo") or {}
        if not info.get("hasNextPage"):
            return node
        lines = list(items.get("nodes") or [])
        after = info.get("endCursor")
        query = ("query Lines($id: ID!, $after: String) { order(id: $id) { lineItems(first: 100, after: $after) { "
                 f"pageInfo {{ hasNextPage endCursor }} nodes {{ {_line_fields()} }} }} }} }}")
        while after:
            data, _ = self._call(query, {"id": node["id"], "after": after}, cost=1 + 2 + 100 * _LINE_COST)
            more = ((data.get("order") or {}).get("lineItems")) or {}
            lines += more.get("nodes") or []
            page = more.get("pageInfo") or {}
            after = page.get("endCursor") if page.get("hasNextPage") else None
        return {**node, "lineItems": {"nodes": lines, "pageInfo": {"hasNextPage": False}}}

    def _remote(self, node: Mapping[str, Any]) -> RemoteOrder:
        updated = _time(node["updatedAt"])
        currency = str(node["currencyCode"])
        lines = []
        for ln in (node.get("lineItems") or {}).get("nodes") or []:
            sku = str(ln.get("sku") or "").strip()
            variant = ln.get("variant") or {}
            if sku:
                item, kind = sku, "sku"
            elif variant.get("id"):
                item, kind = _number(variant["id"]), "channel_item_id"
            else:  # a custom item: its name is all there is, for an operator to alias
                item, kind = str(ln.get("name") or ln["id"])[:128], "channel_item_id"
            price = ((ln.get("originalUnitPriceSet") or {}).get("shopMoney") or {})
            lines.append(CanonicalLine(
                # After an order edit Shopify's currentQuantity is what is still wanted: units
                # removed there must not ship here (an allocated order goes to an operator).
                item=item, item_kind=kind,
                qty=int(ln["currentQuantity"] if ln.get("currentQuantity") is not None else ln["quantity"]),
                unit_price_minor=_minor(str(price["amount"]), currency), description=ln.get("name"),
                line_ref=str(ln["id"]),
            ))
        to = node.get("shippingAddress") or {}
        lat, lon = to.get("latitude"), to.get("longitude")
        order = CanonicalOrder(
            channel=self.channel, external_id=str(node.get("legacyResourceId") or _number(node["id"])),
            lines=tuple(lines), currency=currency, version=_micros(updated), updated_at=updated,
            placed_at=_time(node["createdAt"]) if node.get("createdAt") else None,
            buyer_name=to.get("name"), buyer_ref=node.get("name"),
            ship_to=Address(
                name=to.get("name"), address1=to.get("address1"), address2=to.get("address2") or None,
                city=to.get("city"), region=to.get("provinceCode"), postal_code=to.get("zip"),
                country=to.get("countryCodeV2"),
                latitude=float(lat) if lat is not None and lon is not None else None,
                longitude=float(lon) if lat is not None and lon is not None else None,
            ),
        )
        return RemoteOrder(order, updated, cancelled=node.get("cancelledAt") is not None, raw=node)

    # -- shipments -----------------------------------------------------------------------------------

    def confirm_shipment(self, notice: ShipmentNotice) -> str:
        """The fulfilment's gid. What Shopify holds is read first: a fulfilment with this tracking
        number (our earlier attempt, even one whose answer was lost) is returned, not made again;
        otherwise the units still remaining on the order's fulfillment orders are fulfilled."""
        state = self._fulfilment_state(notice)
        done = _already_shipped(state, notice)
        if done is not None:
            return done
        groups = _plan_fulfilment(state, notice)
        if not groups:
            raise Rejected(f"{self.channel}: order {notice.external_id} has nothing left to fulfil for "
                           f"{', '.join(ln.sku for ln in notice.lines)} (shipped or cancelled at Shopify)")
        tracking = {"company": notice.carrier, "number": notice.tracking} if notice.tracking else {}
        fulfillment: dict[str, Any] = {"lineItemsByFulfillmentOrder": groups, "notifyCustomer": self.notify_customer}
        if tracking:
            fulfillment["trackingInfo"] = tracking
        # Not sent again by the client on a timeout: the next attempt reads back first.
        data, _ = self._call(_FULFILMENT_CREATE, {"fulfillment": fulfillment}, cost=_MUTATION_COST, read=False)
        payload = data.get("fulfillmentCreate") or {}
        errors = payload.get("userErrors") or []
        if not errors and payload.get("fulfillment"):
            return str(payload["fulfillment"]["id"])
        done = _already_shipped(self._fulfilment_state(notice), notice)  # someone got there first
        if done is not None:
            return done
        text = "; ".join(str(e.get("message")) for e in errors) or "no fulfilment came back"
        raise Rejected(f"{self.channel}: Shopify refused the fulfilment of order {notice.external_id}: {text}")

    def _fulfilment_state(self, notice: ShipmentNotice) -> Mapping[str, Any]:
        data, _ = self._call(_FULFILMENT_STATE, {"id": _gid("Order", notice.external_id)}, cost=_FULFILMENT_STATE_COST)
        order = data.get("order")
        if not order:
            raise Rejected(f"{self.channel}: Shopify has no order {notice.external_id}")
        return dict(order)

    # -- stock ---------------------------------------------------------------------------------------

    def push_stock(self, levels: Sequence[StockLevel]) -> list[PushResult]:
        """Absolute `available` quantities at `location_id`, 250 per mutation. The inventory item
        id is looked up by SKU once and kept in the ref with the quantity last accepted, which
        goes as changeFromQuantity (a quantity that moved at Shopify since is read and the push
        sent once more)."""
        if self.location_id is None:
            return [PushResult(lv.sku, False, lv.qty, lv.ref, f"{self.channel}: no location_id set") for lv in levels]
        results: dict[str, PushResult] = {}
        latest = list({lv.sku: lv for lv in levels}.values())  # a SKU twice: its last level
        items = {lv.sku: str(lv.ref["inventory_item_id"]) for lv in latest if lv.ref.get("inventory_item_id")}
        found, missing = self._lookup([lv.sku for lv in latest if lv.sku not in items])
        items.update(found)
        pushes: list[_Push] = []
        for lv in latest:
            if lv.sku in missing:
                results[lv.sku] = PushResult(lv.sku, False, lv.qty, lv.ref, missing[lv.sku])
                continue
            same_place = lv.ref.get("location_id") == self.location_id and lv.ref.get("inventory_item_id") == items[lv.sku]
            last = lv.ref.get("qty") if same_place else None
            pushes.append(_Push(lv, items[lv.sku], last if isinstance(last, int) else None))
        for i in range(0, len(pushes), _MAX_INPUT):
            for r in self._set(pushes[i:i + _MAX_INPUT]):
                results[r.sku] = r
        return [results[lv.sku] for lv in levels]

    def _lookup(self, skus: Sequence[str]) -> tuple[dict[str, str], dict[str, str]]:
        """SKU -> inventory item gid, and SKU -> why not (none, or more than one variant)."""
        seen: dict[str, set[str]] = {s: set() for s in skus}
        wanted = list(dict.fromkeys(skus))
        for i in range(0, len(wanted), _SKUS_PER_LOOKUP):
            chunk = wanted[i:i + _SKUS_PER_LOOKUP]
            search = " OR ".join(f'sku:"{_quote(s)}"' for s in chunk)
            after = None
            while True:
                data, _ = self._call(_VARIANTS, {"q": search, "first": _VARIANTS_PAGE, "after": after},
                                     cost=2 + _VARIANTS_PAGE * 2)
                conn = data.get("productVariants") or {}
                for v in conn.get("nodes") or []:
                    sku, item = v.get("sku"), (v.get("inventoryItem") or {}).get("id")
                    if sku in seen and item:  # search matches loosely; only the exact SKU counts
                        seen[sku].add(str(item))
                info = conn.get("pageInfo") or {}
                if not (info.get("hasNextPage") and info.get("endCursor")):
                    break
                after = info["endCursor"]
        found = {s: next(iter(ids)) for s, ids in seen.items() if len(ids) == 1}
        missing = {s: (f"{self.channel}: no Shopify variant has SKU {s}" if not ids else
                       f"{self.channel}: {len(ids)} Shopify variants have SKU {s}; which one to set is unclear")
                   for s, ids in seen.items() if len(ids) != 1}
        return found, missing

    def _set(self, pushes: list[_Push]) -> list[PushResult]:
        """One inventorySetQuantities for the batch; refused entries are reported, stale ones
        read again, and the rest sent once more under a new key."""
        out: list[PushResult] = []
        attempts = 0
        while pushes:
            attempts += 1
            key = str(uuid.uuid4())
            quantities = [{"inventoryItemId": p.item, "locationId": self.location_id, "quantity": p.level.qty,
                           "changeFromQuantity": p.change_from} for p in pushes]
            variables = {"key": key, "input": {
                "name": "available", "reason": "correction", "referenceDocumentUri": f"oms://stock/{self.channel}/{key}",
                "quantities": quantities}}
            try:
                # The key makes a repeat harmless: the client may send it again after a timeout.
                data, _ = self._call(_SET_QUANTITIES, variables, cost=_MUTATION_COST, read=True)
            except ShopifyRefused as exc:
                if exc.code in _RETRY_WITH_NEW_KEY and attempts < 3:
                    continue
                return out + [self._refused(p, str(exc)) for p in pushes]
            payload = data.get("inventorySetQuantities") or {}
            errors = payload.get("userErrors") or []
            if not errors:
                return out + [PushResult(p.level.sku, True, p.level.qty, self._ref(p, p.level.qty)) for p in pushes]
            stale: list[int] = []
            refused: dict[int, str] = {}
            for e in errors:
                at = _index(e.get("field"))
                if at is None or at >= len(pushes):  # about the whole input: every entry fails
                    return out + [self._refused(p, f"Shopify: {e.get('message')} ({e.get('code')})") for p in pushes]
                if e.get("code") == _STALE:
                    stale.append(at)
                else:
                    refused[at] = f"Shopify: {e.get('message')} ({e.get('code')})"
            for at, why in refused.items():
                p = pushes[at]
                ref = dict(p.level.ref)
                if "INVALID_INVENTORY_ITEM" in why:  # the variant is gone: look it up again next time
                    ref.pop("inventory_item_id", None)
                out.append(PushResult(p.level.sku, False, p.level.qty, ref, why))
            if attempts >= 2:
                return out + [self._refused(pushes[i], f"Shopify: {_STALE} again after reading the quantity")
                              if i in stale else self._refused(pushes[i], "not sent again after a second refusal")
                              for i in range(len(pushes)) if i not in refused]
            if stale:
                current = self._levels([pushes[i].item for i in stale])
                for i in stale:
                    pushes[i].change_from = current.get(pushes[i].item)
            pushes = [p for i, p in enumerate(pushes) if i not in refused]
        return out

    def _levels(self, items: Sequence[str]) -> dict[str, int | None]:
        """The `available` quantity Shopify shows now for each inventory item at the location."""
        out: dict[str, int | None] = {}
        step = _MAX_COST // _LEVEL_COST
        for i in range(0, len(items), step):
            chunk = list(items[i:i + step])
            data, _ = self._call(_LEVELS, {"ids": chunk, "location": self.location_id}, cost=len(chunk) * _LEVEL_COST)
            for node in data.get("nodes") or []:
                if not node:
                    continue
                qs = ((node.get("inventoryLevel") or {}).get("quantities")) or []
                out[str(node["id"])] = next((int(q["quantity"]) for q in qs if q.get("name") == "available"), None)
        return out

    def _ref(self, p: _Push, qty: int) -> dict[str, Any]:
        return {**p.level.ref, "inventory_item_id": p.item, "location_id": self.location_id, "qty": qty}

    def _refused(self, p: _Push, why: str) -> PushResult:
        # The lookup is kept; the quantity last accepted stays what it was.
        return PushResult(p.level.sku, False, p.level.qty, {**p.level.ref, "inventory_item_id": p.item}, why)

    # -- webhooks ------------------------------------------------------------------------------------

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookHint:
        """Checks X-Shopify-Hmac-Sha256 (base64 HMAC-SHA256 of the raw body with the app's secret)
        and names the order to fetch again; the event id dedupes Shopify's repeat deliveries."""
        h = {k.lower(): v for k, v in headers.items()}

        def header(name: str) -> str:
            return h.get(f"x-shopify-{name}") or h.get(f"shopify-{name}") or ""

        if not self._secret:
            raise WebhookRejected(f"{self.channel}: no webhook_secret set, so no webhook can be verified")
        given = header("hmac-sha256")
        if not given:
            raise WebhookRejected(f"{self.channel}: webhook without an X-Shopify-Hmac-Sha256 header")
        want = base64.b64encode(hmac.new(self._secret.encode(), body, hashlib.sha256).digest())
        if not hmac.compare_digest(given.strip().encode(), want):
            raise WebhookRejected(f"{self.channel}: webhook signature does not match")
        topic = header("topic")
        event = header("event-id") or header("webhook-id") or hashlib.sha256(body).hexdigest()
        try:
            payload = json.loads(body)
        except ValueError:
            raise WebhookRejected(f"{self.channel}: webhook body is not JSON") from None
        ids: tuple[str, ...] = ()
        if isinstance(payload, dict):
            if topic.startswith("orders/"):
                ref = payload.get("id") or payload.get("admin_graphql_api_id")
            else:  # fulfillments/*, refunds/*, order_transactions/* name their order
                ref = payload.get("order_id")
            if ref:
                ids = (_number(ref),)
        return WebhookHint(event, topic, ids)


# -- helpers ---------------------------------------------------------------------------------------

def _error_code(body: Mapping[str, Any]) -> str | None:
    errors = body.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        code = (errors[0].get("extensions") or {}).get("code")
        return str(code) if code else None
    return None


def _gid(kind: str, ref: Any) -> str:
    text = str(ref)
    return text if text.startswith("gid://") else f"gid://shopify/{kind}/{text}"


def _number(ref: Any) -> str:
    """gid://shopify/Order/450789469 -> "450789469" (a number stays as it is)."""
    return str(ref).rsplit("/", 1)[-1]


def _time(text: str) -> dt.datetime:
    return utc(dt.datetime.fromisoformat(str(text).replace("Z", "+00:00")))


def _micros(t: dt.datetime) -> int:
    return (t - _EPOCH) // dt.timedelta(microseconds=1)


def _search_time(t: dt.datetime) -> str:
    return utc(t).strftime("%Y-%m-%dT%H:%M:%SZ")


def _minor(amount: str, currency: str) -> int:
    """"19.99" USD -> 1999, exactly; an amount finer than the currency's minor unit is refused."""
    value = Decimal(amount).scaleb(currency_exponent(currency))
    if value != value.to_integral_value():
        raise ValueError(f"{amount} {currency} is finer than the currency's minor unit")
    return int(value)


def _quote(sku: str) -> str:
    return sku.replace("\\", "\\\\").replace('"', '\\"')


def _index(field: Any) -> int | None:
    """["input", "quantities", "3", "changeFromQuantity"] -> 3."""
    if isinstance(field, list) and len(field) >= 3 and field[1] == "quantities":
        try:
            return int(field[2])
        except (TypeError, ValueError):
            return None
    return None


def _already_shipped(state: Mapping[str, Any], notice: ShipmentNotice) -> str | None:
    """The fulfilment at Shopify that is this shipment: same tracking number; without one, a
    fulfilment without tracking that holds these lines."""
    for f in state.get("fulfillments") or []:
        numbers = {str(t.get("number")) for t in f.get("trackingInfo") or [] if t.get("number")}
        if notice.tracking:
            if notice.tracking in numbers:
                return str(f["id"])
            continue
        if numbers:
            continue
        held: dict[str, int] = {}
        for x in (f.get("fulfillmentLineItems") or {}).get("nodes") or []:
            ref = str((x.get("lineItem") or {}).get("id"))
            held[ref] = held.get(ref, 0) + int(x.get("quantity") or 0)
        if notice.lines and all(ln.line_ref and held.get(ln.line_ref, 0) >= ln.qty for ln in notice.lines):
            return str(f["id"])
    return None


def _plan_fulfilment(state: Mapping[str, Any], notice: ShipmentNotice) -> list[dict[str, Any]]:
    """lineItemsByFulfillmentOrder for the notice's lines, from what remains on the open
    fulfillment orders (a line by its line item gid, else by SKU)."""
    remaining: list[tuple[str, dict[str, Any]]] = []  # (fulfillment order gid, its line item)
    for fo in (state.get("fulfillmentOrders") or {}).get("nodes") or []:
        if fo.get("status") not in ("OPEN", "IN_PROGRESS"):
            continue
        for x in (fo.get("lineItems") or {}).get("nodes") or []:
            if int(x.get("remainingQuantity") or 0) > 0:
                remaining.append((str(fo["id"]), {**x, "left": int(x["remainingQuantity"])}))
    picks: dict[str, dict[str, int]] = {}
    for ln in notice.lines:
        want = ln.qty
        for fo_id, x in remaining:
            if want <= 0:
                break
            item = x.get("lineItem") or {}
            match = item.get("id") == ln.line_ref if ln.line_ref else item.get("sku") in (ln.item, ln.sku)
            if not match or x["left"] <= 0:
                continue
            take = min(want, x["left"])
            x["left"] -= take
            want -= take
            per_fo = picks.setdefault(fo_id, {})
            per_fo[str(x["id"])] = per_fo.get(str(x["id"]), 0) + take
        if want > 0:
            log.warning("fewer units remain at Shopify than shipped", extra={
                "order": notice.external_id, "sku": ln.sku, "short": want})
    return [{"fulfillmentOrderId": fo_id, "fulfillmentOrderLineItems": [{"id": i, "quantity": q} for i, q in items.items()]}
            for fo_id, items in picks.items()]
