"""The gateway's work for marketplace and cart channels: orders in, shipments and stock out.

    poll_orders(store, connector)          the sync (connectors.sync.pull), one window at a time
    push_stock(store, connector)           what the stock-push outbox owes the channel, absolute
    confirm_shipments(store, connector)    shipment_confirm rows of the channel's orders
    Hints / WebhookServer                  verified webhooks become "fetch these orders again"

A channel paused by a spent daily quota is left alone by all three until the pause ends.
Nothing here decides anything: the store computes what each channel is shown, the connector
knows how to say it to its API.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from connectors.channel import Connector, ShipmentNotice, ShippedLine, StockLevel
from connectors.errors import ApiError, AuthRejected, QuotaExhausted, Rejected, WebhookRejected
from connectors.sync import PullReport, pull, refetch
from store import Store
from store.channel_sync import channel_alert, load_sync, pause_channel
from store.documents import store_payload
from store.outbox import Claimed, claim, failed, sent
from store.stock_sync import Pushed, stock_done, stock_due

__all__ = ["Hints", "WebhookServer", "confirm_shipments", "paused", "poll_orders", "push_stock", "notice_of"]

log = logging.getLogger("oms.gateway.channels")

_MAX_WEBHOOK_BYTES = 2 * 1024 * 1024


def paused(store: Store, connector: Connector) -> dt.datetime | None:
    until = load_sync(store, connector.channel).paused_until
    return until if until is not None and until > connector.now() else None


def poll_orders(store: Store, connector: Connector, *, stop: Any = lambda: False) -> PullReport:
    return pull(store, connector, stop=stop)


def push_stock(store: Store, connector: Connector, *, limit: int = 250) -> int:
    """Push what the channel is owed; returns how many quantities it accepted."""
    if paused(store, connector) is not None:
        return 0
    due = stock_due(store, connector.channel, limit=limit)
    if not due:
        return 0
    refused: ApiError | None = None
    try:
        results = {r.sku: r for r in connector.push_stock([StockLevel(d.sku, d.qty, d.ref) for d in due])}
    except QuotaExhausted as exc:
        pause_channel(store, connector.channel, exc.until, str(exc))
        results = {}
        error = str(exc)
    except ApiError as exc:
        results = {}
        error = str(exc)
        if isinstance(exc, (AuthRejected, Rejected)):
            refused = exc  # an operator must look: the worker says so, not "0 accepted"
    else:
        error = "the channel did not answer for this SKU"
    done = []
    for d in due:
        r = results.get(d.sku)
        if r is None:
            done.append(Pushed(d.sku_id, d.changes, False, d.qty, d.ref, error))
        else:
            done.append(Pushed(d.sku_id, d.changes, r.accepted, r.qty, r.ref or d.ref, r.error))
    stock_done(store, connector.channel, done)
    not_taken = [p for p in done if not p.accepted]
    if not_taken:
        log.warning("stock not accepted", extra={"channel": connector.channel, "skus": len(not_taken),
                                                 "error": not_taken[0].error})
    if refused is not None:
        raise refused
    return sum(1 for p in done if p.accepted)


def notice_of(msg: Claimed) -> ShipmentNotice:
    """The outbox row's payload (store.shipping) as the connector's notice."""
    p = msg.payload
    lines = tuple(
        ShippedLine(line_ref=ln.get("line_ref"), sku=str(ln.get("sku") or ln.get("item") or ""),
                    item=str(ln.get("item") or ln.get("sku") or ""), qty=int(ln["qty"]))
        for ln in p.get("lines", ())
    )
    shipped = p.get("shipped_at")
    return ShipmentNotice(
        key=msg.idempotency_key, external_id=str(p["external_id"]), carrier=str(p.get("carrier") or ""),
        tracking=str(p.get("tracking") or ""), lines=lines, service=p.get("service"),
        shipped_at=dt.datetime.fromisoformat(shipped) if shipped else dt.datetime.now(dt.timezone.utc),
    )


@dataclass
class ConfirmReport:
    sent: int = 0
    failed: int = 0
    errors: tuple[str, ...] = ()


def confirm_shipments(store: Store, connector: Connector, *, holder: str | None = None, limit: int = 20) -> ConfirmReport:
    """Confirm the channel's shipments; each row on its own (one refused shipment does not
    hold up the others). The connector's confirmation is idempotent at the channel, so a row
    whose answer was lost (a timeout, a crash) is sent again safely."""
    report = ConfirmReport()
    if paused(store, connector) is not None:
        return report
    errors: list[str] = []
    claimed = claim(store, kinds=("shipment_confirm",), targets=[connector.channel], limit=limit, holder=holder)
    for msg in claimed:
        try:
            if msg.payload.get("pickup"):  # collected in store: nothing to ship at the channel
                sent(store, msg.id)
                continue
            notice = notice_of(msg)
            remote = connector.confirm_shipment(notice)
        except QuotaExhausted as exc:
            pause_channel(store, connector.channel, exc.until, str(exc))
            report.failed += 1
            errors.append(str(exc))
            # This row and the rest claimed with it wait for the pause to end (not for their
            # claim to expire).
            for rest in claimed[claimed.index(msg):]:
                if failed(store, rest.id, str(exc)) == "dead":
                    channel_alert(store, connector.channel, "shipment_confirm_dead",
                                  f"shipment {rest.payload.get('shipment_id')} of order "
                                  f"{rest.payload.get('external_id')} was not confirmed at {connector.channel}: {exc}")
            break
        except (ApiError, KeyError, ValueError) as exc:
            state = failed(store, msg.id, f"{type(exc).__name__}: {exc}")
            report.failed += 1
            errors.append(f"shipment {msg.payload.get('shipment_id')}: {exc}")
            if state == "dead":
                channel_alert(store, connector.channel, "shipment_confirm_dead",
                              f"shipment {msg.payload.get('shipment_id')} of order {msg.payload.get('external_id')} "
                              f"was not confirmed at {connector.channel}: {exc}")
            continue
        sent(store, msg.id)
        report.sent += 1
        log.info("shipment confirmed", extra={"channel": connector.channel, "order": notice.external_id,
                                              "remote": remote})
    report.errors = tuple(errors)
    return report


class Hints:
    """Orders webhooks said changed, per channel, waiting for the channel's hint worker; and the
    event ids already taken (a webhook delivered twice is taken once)."""

    def __init__(self, remember: int = 10_000) -> None:
        self._ids: dict[str, dict[str, None]] = {}
        self._events: dict[str, None] = {}
        self._remember = remember
        self._lock = threading.Lock()

    def add(self, channel: str, event_id: str, external_ids: tuple[str, ...]) -> bool:
        """False when the event was taken before."""
        with self._lock:
            key = f"{channel}:{event_id}"
            if event_id and key in self._events:
                return False
            self._events[key] = None
            while len(self._events) > self._remember:
                self._events.pop(next(iter(self._events)))
            self._ids.setdefault(channel, {}).update(dict.fromkeys(external_ids))
            return True

    def take(self, channel: str) -> list[str]:
        with self._lock:
            return list(self._ids.pop(channel, {}))


def refetch_hinted(store: Store, connector: Connector, hints: Hints) -> PullReport | None:
    ids = hints.take(connector.channel)
    if not ids:
        return None
    if paused(store, connector) is not None:  # kept for when the pause ends
        for ext in ids:
            hints.add(connector.channel, "", (ext,))
        return None
    try:
        return refetch(store, connector, ids)
    except ApiError:
        for ext in ids:  # fetched on the next pass (and by the poll in any case)
            hints.add(connector.channel, "", (ext,))
        raise


class WebhookServer:
    """`POST /webhooks/<channel>`: verified against the channel's secret, stored, then answered
    at once (Shopify gives up after 5 s); the orders it names are fetched again by the channel's
    hint worker. A bad signature gets 401 and is not stored; an unknown channel 404."""

    def __init__(self, store: Store, connectors: Mapping[str, Connector], hints: Hints, listen: str) -> None:
        self.store, self.connectors, self.hints = store, dict(connectors), hints
        host, _, port = listen.rpartition(":")
        self.address = (host or "127.0.0.1", int(port))
        self._server: ThreadingHTTPServer | None = None
        self.received = 0

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> WebhookServer:
        hook = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self._body()
                if body is None:  # not read: the connection cannot be used again
                    self.close_connection = True
                status, text = hook.handle(self.path, {k: v for k, v in self.headers.items()}, body)
                body = json.dumps({"result": text}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _body(self) -> bytes | None:
                try:
                    length = int(self.headers.get("Content-Length") or 0)
                except ValueError:
                    return None
                if length > _MAX_WEBHOOK_BYTES or length < 0:
                    return None
                return self.rfile.read(length) if length else b""

        self._server = ThreadingHTTPServer(self.address, Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="webhooks", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def handle(self, path: str, headers: Mapping[str, str], body: bytes | None) -> tuple[int, str]:
        parts = path.split("?", 1)[0].strip("/").split("/")
        if len(parts) != 2 or parts[0] != "webhooks":
            return 404, "POST /webhooks/<channel>"
        connector = self.connectors.get(parts[1])
        if connector is None:
            return 404, f"no channel {parts[1]!r} takes webhooks here"
        if body is None:
            return 413, "body too large or its length unreadable"
        try:
            hint = connector.verify_webhook(headers, body)
        except WebhookRejected as exc:
            log.warning("webhook refused", extra={"channel": connector.channel, "error": str(exc)})
            return 401, str(exc)
        # Kept like any inbound payload (a delivery repeated byte for byte is stored once).
        store_payload(self.store, body, kind="webhook", source=f"{connector.channel}:{hint.topic}:{hint.event_id}")
        self.received += 1
        if not self.hints.add(connector.channel, hint.event_id, hint.external_ids):
            return 200, "duplicate delivery, already taken"
        return 200, f"{len(hint.external_ids)} orders to fetch again"
