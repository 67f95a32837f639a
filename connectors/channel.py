"""The one interface every marketplace and cart connector implements, and the values it trades.

    class Shopify:                         # connectors/shopify.py, and amazon, woocommerce, ebay
        paging = "keyset"                  # or "offset": the sync bisects windows to fit a page
        def list_orders(self, window, cursor) -> OrderPage
        def get_orders(self, external_ids) -> list[RemoteOrder]
        def confirm_shipment(self, notice) -> str            # idempotent at the channel
        def push_stock(self, levels) -> list[PushResult]     # absolute levels, one per SKU
        def verify_webhook(self, headers, body) -> WebhookHint

A connector is a thin httpx client (connectors.api.ApiClient) plus the mapping of its
channel's order to a `CanonicalOrder`. It holds no state the store does not hold: where a
sync got to lives in `sync_cursors`, committed with each page (connectors.sync), so a
connector can be thrown away and built again at any time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from store.canonical import CanonicalOrder

__all__ = [
    "Cursor",
    "SyncWindow",
    "RemoteOrder",
    "OrderPage",
    "ShippedLine",
    "ShipmentNotice",
    "StockLevel",
    "PushResult",
    "WebhookHint",
    "Connector",
    "Windows",
    "utc",
]

# Opaque to the sync, JSON-serialisable: a page token, an end cursor, an offset.
Cursor = dict[str, Any]


def utc(value: dt.datetime) -> dt.datetime:
    """`value` in UTC; a naive value is taken as UTC already (WooCommerce `*_gmt` fields)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc)


@dataclass(frozen=True, slots=True)
class Windows:
    """How a connector's sync opens windows: settings `lookback_days`, `safety_lag_seconds`,
    `overlap_seconds`, `max_span_seconds`, over the connector's own defaults."""

    lookback: dt.timedelta
    safety_lag: dt.timedelta
    overlap: dt.timedelta
    max_span: dt.timedelta

    @classmethod
    def of(cls, settings: Mapping[str, Any], *, lag: float, overlap: float, span: float,
           lookback_days: float = 30) -> Windows:
        def get(key: str, default: float) -> float:
            value = settings.get(key)
            return float(default if value is None else value)

        return cls(dt.timedelta(days=get("lookback_days", lookback_days)),
                   dt.timedelta(seconds=get("safety_lag_seconds", lag)),
                   dt.timedelta(seconds=get("overlap_seconds", overlap)),
                   dt.timedelta(seconds=get("max_span_seconds", span)))


@dataclass(frozen=True, slots=True)
class SyncWindow:
    """Orders updated in [start, end), UTC. `end` is frozen for the whole window."""

    start: dt.datetime
    end: dt.datetime

    def halves(self) -> tuple[SyncWindow, SyncWindow]:
        mid = self.start + (self.end - self.start) / 2
        mid = mid.replace(microsecond=0) if mid.replace(microsecond=0) > self.start else mid
        return SyncWindow(self.start, mid), SyncWindow(mid, self.end)

    @property
    def span(self) -> dt.timedelta:
        return self.end - self.start


@dataclass(frozen=True, slots=True)
class RemoteOrder:
    """One order as the channel has it now: mapped, plus what the mapping cannot carry.

    `order.version` is the channel's own version (its updated-at in microseconds), so an
    older copy delivered late never overwrites a newer one. `cancelled` is true when the
    channel cancelled the whole order. `raw` is the channel's JSON for this order, kept
    with the stored page."""

    order: CanonicalOrder
    updated_at: dt.datetime
    cancelled: bool = False
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class OrderPage:
    """One page of a window. `next_cursor` None: the window (or this sub-window) is done.
    `total`: how many orders the whole window holds, for offset-paged APIs (X-WP-Total,
    eBay `total`) so the sync can split a window that does not fit in one page. `body` is the
    page exactly as it came over the wire, stored before it is parsed."""

    orders: Sequence[RemoteOrder]
    next_cursor: Cursor | None
    body: bytes = b""
    total: int | None = None
    # Orders on the page the mapping could not take: (the channel's id or "#n", reason). They
    # are recorded against the stored page for an operator; the rest of the page goes in.
    problems: Sequence[tuple[str, str]] = ()


@dataclass(frozen=True, slots=True)
class ShippedLine:
    line_ref: str | None  # the channel's id for the order line, as it came in
    sku: str  # our SKU code
    item: str  # the identifier the channel sent for the line
    qty: int


@dataclass(frozen=True, slots=True)
class ShipmentNotice:
    """A shipment to confirm at the channel. `key` is ours and stable across retries (the
    outbox idempotency key); connectors use it, or read back what the channel holds, so a
    retry after a timeout never creates a second fulfilment."""

    key: str
    external_id: str  # the channel's order id
    carrier: str
    tracking: str
    shipped_at: dt.datetime
    lines: tuple[ShippedLine, ...]
    service: str | None = None


@dataclass(frozen=True, slots=True)
class StockLevel:
    """The quantity the channel should show for a SKU (absolute). `ref` is what the connector
    cached about the listing last time (inventory item id, product id, offer id)."""

    sku: str
    qty: int
    ref: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PushResult:
    sku: str
    accepted: bool
    qty: int
    ref: Mapping[str, Any] = field(default_factory=dict)  # kept for the next push
    error: str | None = None  # why the channel refused it, for an operator


@dataclass(frozen=True, slots=True)
class WebhookHint:
    """A verified webhook: which orders to fetch again. Never the order itself: deliveries
    are late, duplicated and out of order, so the sync fetches the current version."""

    event_id: str
    topic: str
    external_ids: tuple[str, ...]


class Connector(Protocol):
    channel: str  # our channel code
    paging: Literal["keyset", "offset"]
    page_size: int
    # How far behind "now" a window may end (Amazon wants 2 minutes), how much of the last
    # window the next one reads again, and the longest window asked for in one go.
    safety_lag: dt.timedelta
    overlap: dt.timedelta
    max_span: dt.timedelta
    lookback: dt.timedelta  # how far back the very first sync starts

    def now(self) -> dt.datetime:
        """The channel's clock as best known (its Date header, else ours)."""
        ...

    def list_orders(self, window: SyncWindow, cursor: Cursor | None) -> OrderPage: ...

    def get_orders(self, external_ids: Sequence[str]) -> list[RemoteOrder]: ...

    def confirm_shipment(self, notice: ShipmentNotice) -> str: ...

    def push_stock(self, levels: Sequence[StockLevel]) -> list[PushResult]: ...

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookHint: ...

    def close(self) -> None: ...
