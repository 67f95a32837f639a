"""Intake: every source's orders enter the store here, exactly once.

`ingest` takes canonical orders and, one transaction per batch, resolves SKUs through
aliases, creates or updates each order idempotently on (channel, external id), reserves
stock, and writes audit events and outbox rows with the change (invariants 1, 3, 4, 5).

- the same order again, or an older version of it: nothing changes;
- a newer version: the order is updated; if its lines changed after stock was promised
  to it, it goes to the `version_conflict` queue for an operator instead;
- an item no alias resolves: the order waits in the `unknown_item` queue with the raw
  identifier shown, never dropped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, and_, bindparam, delete, or_, select, update
from sqlalchemy.exc import IntegrityError

from .canonical import CanonicalLine, CanonicalOrder, order_to_dict
from .db import Store
from .errors import ConflictError, OrderInvalid
from .bulk import insert_rows
from .ids import allocate_ids
from .journal import audit_many, enqueue_many
from .cancellations import cancel_units_in
from .orders import _load, clear_exception_text, flag_exception, move, status_from_lines
from .models import (
    Backorder,
    Channel,
    Order,
    OrderLine,
    Reservation,
    Shipment,
    Sku,
    SkuAlias,
    TradingPartner,
)
from .routing.engine import Decision, LineFacts, OrderFacts
from .routing.live import Router
from .types import utcnow

__all__ = ["Outcome", "IngestReport", "SkuResolver", "ingest", "ingest_in", "reprocess_unknown_items",
           "reprocess_unknown_items_in", "route_open_units"]

# Orders whose lines may still be replaced by a newer version: nothing promised yet.
_REPLACEABLE = ("received", "on_hold")


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one inbound order; `index` is its position in the input."""

    index: int
    channel: str
    external_id: str
    action: str  # created | updated | unchanged | conflict | rejected
    order_id: int | None = None
    status: str | None = None
    reason: str | None = None


@dataclass
class IngestReport:
    outcomes: list[Outcome] = field(default_factory=list)

    def count(self, action: str) -> int:
        return sum(1 for o in self.outcomes if o.action == action)

    @property
    def rejected(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.action == "rejected"]

    @property
    def unknown_items(self) -> int:
        """Orders taken in (created or updated) that wait in the `unknown_item` queue."""
        return sum(1 for o in self.outcomes if o.action in ("created", "updated") and o.status == "received")

    def summary(self) -> dict[str, int]:
        keys = ("created", "updated", "unchanged", "conflict", "rejected")
        return {k: self.count(k) for k in keys}


@dataclass(frozen=True, slots=True)
class _Channel:
    id: int
    code: str
    partner_id: int | None


def ingest(
    store: Store,
    orders: Iterable[CanonicalOrder],
    *,
    actor: str = "intake",
    document_id: int | None = None,
    batch_size: int = 500,
) -> IngestReport:
    """Take orders into the store; one transaction per batch of up to `batch_size` orders.

    A crash loses at most the batch in hand, and running the same input again completes it
    without duplicates. Orders that break a rule come back as `rejected` outcomes and are
    not written; the others still go in.
    """
    report = IngestReport()
    valid = _validated(orders, report)

    pending = valid
    while pending:
        # A key may appear once per batch; later deliveries of it wait for the next batch.
        batch: list[tuple[int, CanonicalOrder]] = []
        rest: list[tuple[int, CanonicalOrder]] = []
        seen: set[tuple[str, str]] = set()
        for item in pending:
            key = (item[1].channel, item[1].external_id)
            if key in seen or len(batch) >= batch_size:
                rest.append(item)
            else:
                seen.add(key)
                batch.append(item)
        report.outcomes.extend(store.run(lambda conn: _Batch(conn, batch, actor, document_id).run()))
        pending = rest

    report.outcomes.sort(key=lambda o: o.index)
    return report


def _validated(orders: Iterable[CanonicalOrder], report: IngestReport) -> list[tuple[int, CanonicalOrder]]:
    """(index, order) of the orders that pass `validate`; the others go in the report as rejected."""
    valid: list[tuple[int, CanonicalOrder]] = []
    for idx, order in enumerate(orders):
        try:
            order.validate()
        except OrderInvalid as exc:
            report.outcomes.append(Outcome(idx, order.channel, order.external_id, "rejected", reason=str(exc)))
            continue
        valid.append((idx, order))
    return valid


def _load_channels(conn: Connection, codes: set[str]) -> dict[str, _Channel]:
    rows = conn.execute(
        select(Channel.id, Channel.code, TradingPartner.id)
        .outerjoin(TradingPartner, TradingPartner.channel_id == Channel.id)
        .where(Channel.code.in_(codes), Channel.active.is_(True))
    ).all()
    return {code: _Channel(cid, code, pid) for cid, code, pid in rows}


def _header(order: CanonicalOrder, version: int) -> dict[str, Any]:
    st = order.ship_to
    return {
        "version": version,
        "buyer_name": order.buyer_name,
        "buyer_ref": order.buyer_ref,
        "ship_to_name": st.name,
        "ship_to_address1": st.address1,
        "ship_to_address2": st.address2,
        "ship_to_city": st.city,
        "ship_to_region": st.region,
        "ship_to_postal_code": st.postal_code,
        "ship_to_country": st.country,
        "ship_to_latitude": st.latitude,
        "ship_to_longitude": st.longitude,
        "fulfilment": order.fulfilment,
        "currency": order.currency,
        "total_minor": sum(ln.qty * ln.unit_price_minor for ln in order.lines),
        "priority": order.priority,
        "placed_at": order.placed_at,
        "requested_ship_date": order.requested_ship_date,
        "cancel_after": order.cancel_after,
    }


def _line_key(line: CanonicalLine) -> tuple[str, int, int]:
    return (line.item, line.qty, line.unit_price_minor)


class SkuResolver:
    """Maps a line's identifiers to a SKU, for a whole batch in two queries."""

    def __init__(self, conn: Connection, lines: Sequence[tuple[int, CanonicalLine]]) -> None:
        values = {v for _, ln in lines for _, v in ln.identifiers()}
        channels = {ch for ch, _ in lines}
        self.codes: dict[str, int] = {}
        self.aliases: dict[tuple[int | None, str, str], int] = {}
        if not values:
            return
        for chunk in _chunks(sorted(values), 900):
            for sid, code in conn.execute(select(Sku.id, Sku.code).where(Sku.code.in_(chunk), Sku.active.is_(True))):
                self.codes[code] = sid
            for sid, ch, kind, value in conn.execute(
                select(SkuAlias.sku_id, SkuAlias.channel_id, SkuAlias.kind, SkuAlias.value).where(
                    SkuAlias.value.in_(chunk),
                    or_(SkuAlias.channel_id.in_(channels), SkuAlias.channel_id.is_(None)),
                )
            ):
                self.aliases[(ch, kind, value)] = sid

    def resolve(self, channel: int, line: CanonicalLine) -> int | None:
        for kind, value in line.identifiers():
            if kind in ("sku", "vendor_part") and value in self.codes:
                return self.codes[value]
            hit = self.aliases.get((channel, kind, value)) or self.aliases.get((None, kind, value))
            if hit is not None:
                return hit
        return None


@dataclass
class _PlannedLine:
    line_no: int
    line: CanonicalLine
    sku_id: int | None
    # Where the line's units are reserved: (location, qty) pairs from routing, or one whole-line
    # `location_id` from a change's allocator.
    location_id: int | None = None
    placements: list[tuple[int, int]] = field(default_factory=list)
    # Units not reserved are backordered; False leaves them unallocated (held, unroutable, cancelled).
    backorder: bool = True

    def spots(self) -> list[tuple[int, int]]:
        if self.placements:
            return self.placements
        return [(self.location_id, self.line.qty)] if self.location_id is not None else []

    @property
    def reserved_qty(self) -> int:
        return sum(q for _, q in self.spots())

    @property
    def backordered_qty(self) -> int:
        if self.sku_id is None or not self.backorder:
            return 0
        return max(0, self.line.qty - self.reserved_qty)


def _stock_rows(
    placed: Iterable[tuple[int, _PlannedLine]], now: dt.datetime
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The reservation and backorder rows for (line id, placed line) pairs."""
    reservations, backorders = [], []
    for lid, p in placed:
        for loc, qty in p.spots():
            reservations.append({"line_id": lid, "sku_id": p.sku_id, "location_id": loc,
                                 "qty": qty, "state": "active", "created_at": now, "closed_at": None})
        if p.backordered_qty:
            backorders.append({"line_id": lid, "sku_id": p.sku_id, "qty": p.backordered_qty, "state": "open",
                               "created_at": now, "closed_at": None})
    return reservations, backorders


_BOOK = (
    update(OrderLine)
    .where(OrderLine.id == bindparam("b_line"))
    .values(qty_reserved=OrderLine.qty_reserved + bindparam("b_reserved"),
            qty_backordered=OrderLine.qty_backordered + bindparam("b_backordered"))
)


def _book_placed(conn: Connection, placed: Sequence[tuple[int, _PlannedLine]], now: dt.datetime) -> None:
    """Book `p.line.qty` more units on lines that exist already, as routing (or a change) placed them:
    a reservation row and qty_reserved where it reserved stock, else a backorder row and
    qty_backordered. (New lines carry their counts in the row `_Batch._write_lines` inserts.)"""
    reservations, backorders = _stock_rows(placed, now)
    insert_rows(conn, Reservation, reservations)
    insert_rows(conn, Backorder, backorders)
    counts = [
        {"b_line": lid, "b_reserved": p.reserved_qty, "b_backordered": p.backordered_qty}
        for lid, p in placed if p.reserved_qty or p.backordered_qty
    ]
    if counts:
        conn.execute(_BOOK, counts)


class _Batch:
    def __init__(
        self,
        conn: Connection,
        items: Sequence[tuple[int, CanonicalOrder]],
        actor: str,
        document_id: int | None,
    ) -> None:
        self.conn, self.raw_items, self.actor, self.document_id = conn, items, actor, document_id
        self.items: list[tuple[int, CanonicalOrder, _Channel]] = []
        self.now = utcnow()
        self.outcomes: list[Outcome] = []
        self.audits: list[dict[str, Any]] = []
        self.outbox: list[dict[str, Any]] = []
        self.cancels: list[tuple[int, str]] = []  # (order, reason): routing cancelled it as it came in

    def run(self) -> list[Outcome]:
        try:
            return self._run()
        except IntegrityError as exc:
            # Another process created one of these orders between our look-up and insert.
            raise ConflictError(f"order inserted concurrently: {exc.orig}") from exc

    def _run(self) -> list[Outcome]:
        conn = self.conn
        channels = _load_channels(conn, {o.channel for _, o in self.raw_items})
        for idx, order in self.raw_items:
            ch = channels.get(order.channel)
            if ch is None:
                reason = f"unknown channel {order.channel!r}"
                self.outcomes.append(Outcome(idx, order.channel, order.external_id, "rejected", reason=reason))
            else:
                self.items.append((idx, order, ch))
        if not self.items:
            return self.outcomes
        existing = self._existing()
        self.resolver = SkuResolver(conn, [(ch.id, ln) for _, o, ch in self.items for ln in o.lines])
        fresh: list[tuple[int, CanonicalOrder, _Channel]] = []
        for item in self.items:
            idx, order, ch = item
            row = existing.get((ch.id, order.external_id))
            if row is None:
                fresh.append(item)
            else:
                self._revise(idx, order, ch, row)
        if fresh:
            self._create(fresh)
        audit_many(conn, self.audits, self.now)
        enqueue_many(conn, self.outbox, self.now)
        for oid, reason in self.cancels:
            cancel_units_in(conn, oid, None, reason=reason, actor=self.actor)
            for i, o in enumerate(self.outcomes):
                if o.order_id == oid:
                    self.outcomes[i] = Outcome(o.index, o.channel, o.external_id, o.action, oid, "cancelled", reason)
        return self.outcomes

    def _existing(self) -> dict[tuple[int, str], Any]:
        by_channel: dict[int, list[str]] = {}
        for _, order, ch in self.items:
            by_channel.setdefault(ch.id, []).append(order.external_id)
        cond = or_(*(and_(Order.channel_id == c, Order.external_id.in_(ids)) for c, ids in by_channel.items()))
        rows = self.conn.execute(
            select(Order.id, Order.channel_id, Order.external_id, Order.version, Order.status, Order.pending_version).where(cond)
        ).all()
        return {(r.channel_id, r.external_id): r for r in rows}

    def _plan(self, channel: int, order: CanonicalOrder) -> list[_PlannedLine]:
        return [_PlannedLine(n, ln, self.resolver.resolve(channel, ln)) for n, ln in enumerate(order.lines, 1)]

    @staticmethod
    def _status(plan: list[_PlannedLine]) -> str:
        if any(p.sku_id is None for p in plan):
            return "received"  # waits in unknown_item; nothing reserved until every item is known
        return "allocated" if all(p.reserved_qty == p.line.qty for p in plan) else "backordered"

    @staticmethod
    def _reservable(channel: int, plan: list[_PlannedLine]) -> list[tuple[int, _PlannedLine]]:
        if any(p.sku_id is None for p in plan):
            return []
        return [(channel, p) for p in plan if p.line.qty > 0]

    def _create(self, fresh: list[tuple[int, CanonicalOrder, _Channel]]) -> None:
        plans = [self._plan(ch.id, order) for _, order, ch in fresh]
        # Everything that does not depend on the reservations happens before them, so the
        # stock rows they lock are held for as short a time as possible.
        ids = allocate_ids(self.conn, Order, len(fresh))
        line_ids = allocate_ids(self.conn, OrderLine, sum(len(plan) for plan in plans))
        router = Router(self.conn, {p.sku_id for plan in plans for p in plan if p.sku_id is not None}, now=self.now)
        decisions = router.route(
            [(oid, _facts(router, ch, order, plan)) for oid, (_, order, ch), plan in zip(ids, fresh, plans)
             if self._reservable(ch.id, plan)],
            "intake",
        )
        rows, statuses = [], []
        for oid, (idx, order, ch), plan in zip(ids, fresh, plans):
            exception, detail = _unknown_items(plan)
            routed = _apply_decision(decisions[oid], plan) if oid in decisions else {}
            status = routed.pop("status", None) or self._status(plan)
            statuses.append(status)
            rows.append(
                {
                    "id": oid,
                    "channel_id": ch.id,
                    "external_id": order.external_id,
                    "partner_id": ch.partner_id,
                    "status": status,
                    "exception": exception,
                    "exception_detail": detail,
                    "pending_version": None,
                    "pending_payload": None,
                    "hold_reason": None,
                    "hold_kind": None,
                    "auto_cancel_on": None,
                    "pickup_location_id": router.site_id(order.pickup_location),
                    "document_id": self.document_id,
                    "received_at": self.now,
                    "updated_at": self.now,
                    **_header(order, order.effective_version()),
                    **routed,
                    **(_unknown_pickup(router, order) if exception is None else {}),
                }
            )
        insert_rows(self.conn, Order, rows)
        self._write_lines(ids, plans, line_ids)
        router.flush(self.actor)
        for (idx, order, ch), oid, status, plan, row in zip(fresh, ids, statuses, plans, rows):
            self.outcomes.append(Outcome(idx, ch.code, order.external_id, "created", oid, status))
            self.audits.append(self._event(oid, "order.received", order, status, plan, row["exception"]))
            self.outbox.append(
                {
                    "kind": "order_ack",
                    "target": ch.code,
                    "idempotency_key": f"order_ack:{oid}",
                    "payload": {"order_id": oid, "external_id": order.external_id, "status": status},
                    "order_id": oid,
                }
            )
        for oid, d in decisions.items():
            if d.outcome == "cancelled":
                self._cancel_routed(oid, d)

    def _write_lines(
        self, order_ids: Sequence[int], plans: Sequence[list[_PlannedLine]], line_ids: Sequence[int] | None = None
    ) -> None:
        flat = [(oid, p) for oid, plan in zip(order_ids, plans) for p in plan]
        if line_ids is None:
            line_ids = allocate_ids(self.conn, OrderLine, len(flat))
        line_rows = []
        for lid, (oid, p) in zip(line_ids, flat):
            line_rows.append(
                {
                    "id": lid,
                    "order_id": oid,
                    "line_no": p.line_no,
                    "sku_id": p.sku_id,
                    "item": p.line.item,
                    "item_kind": p.line.item_kind,
                    "item_ids": {k: v for k, v in p.line.identifiers()},
                    "description": p.line.description,
                    "line_ref": p.line.line_ref,
                    "uom": p.line.uom,
                    "qty": p.line.qty,
                    "unit_price_minor": p.line.unit_price_minor,
                    "qty_reserved": p.reserved_qty,
                    "qty_backordered": p.backordered_qty,
                    "qty_shipped": 0,
                    "qty_cancelled": 0,
                }
            )
        reservations, backorders = _stock_rows(zip(line_ids, (p for _, p in flat)), self.now)
        insert_rows(self.conn, OrderLine, line_rows)
        insert_rows(self.conn, Reservation, reservations)
        insert_rows(self.conn, Backorder, backorders)

    def _cancel_routed(self, oid: int, d: Decision) -> None:
        """A routing rule cancelled the order as it came in: cancelled like any order, so the
        channel is told in the same words (written after the order's audit event, below)."""
        self.cancels.append((oid, f"routing rule {d.rule!r}: {d.explanation.get('how', '')}"[:500]))
        for msg in self.outbox:  # the channel's acknowledgment says what became of it
            if msg["kind"] == "order_ack" and msg["order_id"] == oid:
                msg["payload"] = {**msg["payload"], "status": "cancelled"}

    def _event(
        self, oid: int, action: str, order: CanonicalOrder, status: str, plan: list[_PlannedLine] | None,
        exception: str | None,
    ) -> dict[str, Any]:
        detail: dict[str, Any] = {
            "external_id": order.external_id,
            "version": order.effective_version(),
            "status": status,
        }
        if plan is not None:
            detail["reserved"] = [[p.line_no, loc, qty] for p in plan for loc, qty in p.spots()]
            detail["backordered"] = [p.line_no for p in plan if p.backordered_qty]
        if exception:
            detail["exception"] = exception
        if self.document_id is not None:
            detail["document_id"] = self.document_id
        return {"actor": self.actor, "entity": "order", "entity_id": oid, "action": action, "detail": detail}

    def _revise(self, idx: int, order: CanonicalOrder, ch: _Channel, row: Any) -> None:
        """A known order delivered again: replay, newer version, or conflict."""
        conn, version = self.conn, order.effective_version()
        if version <= row.version or (row.pending_version is not None and version <= row.pending_version):
            self.outcomes.append(Outcome(idx, ch.code, order.external_id, "unchanged", row.id, row.status))
            return
        stored = conn.execute(
            select(OrderLine.item, OrderLine.qty, OrderLine.unit_price_minor)
            .where(OrderLine.order_id == row.id)
            .order_by(OrderLine.line_no)
        ).all()
        same_lines = [tuple(r) for r in stored] == [_line_key(ln) for ln in order.lines]
        header = {**_header(order, version), "updated_at": self.now}
        if same_lines:
            conn.execute(update(Order).where(Order.id == row.id).values(**header))
            self.audits.append(self._event(row.id, "order.updated", order, row.status, None, None))
            self.outcomes.append(Outcome(idx, ch.code, order.external_id, "updated", row.id, row.status))
            return
        promised = row.status not in _REPLACEABLE or _has_commitments(conn, row.id)
        if promised:
            detail = (
                f"version {version} changes the lines after the order was {row.status}; "
                f"accept or reject it (now {len(stored)} lines, new {len(order.lines)})"
            )
            conn.execute(
                update(Order)
                .where(Order.id == row.id)
                .values(
                    exception="version_conflict",
                    exception_detail=detail,
                    pending_version=version,
                    pending_payload=order_to_dict(order),
                    updated_at=self.now,
                )
            )
            self.audits.append(self._event(row.id, "order.version_conflict", order, row.status, None, "version_conflict"))
            self.outcomes.append(Outcome(idx, ch.code, order.external_id, "conflict", row.id, row.status, detail))
            return
        # Nothing promised yet: replace the lines and take the order through allocation again.
        conn.execute(delete(OrderLine).where(OrderLine.order_id == row.id))
        plan = self._plan(ch.id, order)
        routed: dict[str, Any] = {}
        router: Router | None = None
        if row.status != "on_hold" and self._reservable(ch.id, plan):
            router = Router(conn, {p.sku_id for p in plan if p.sku_id is not None}, now=self.now)
            decision = router.route([(row.id, _facts(router, ch, order, plan))], "intake")[row.id]
            routed = _apply_decision(decision, plan)
        status = "on_hold" if row.status == "on_hold" else (routed.pop("status", None) or self._status(plan))
        exception, exc_detail = _unknown_items(plan)
        conn.execute(
            update(Order)
            .where(Order.id == row.id)
            .values(status=status, exception=exception, exception_detail=exc_detail, **header, **routed)
        )
        self._write_lines([row.id], [plan])
        if router is not None:
            router.flush(self.actor)
            if decision.outcome == "cancelled":
                self._cancel_routed(row.id, decision)
        self.audits.append(self._event(row.id, "order.updated", order, status, plan, exception))
        self.outcomes.append(Outcome(idx, ch.code, order.external_id, "updated", row.id, status))


def _facts(router: Router, ch: _Channel, order: CanonicalOrder, plan: Sequence[_PlannedLine]) -> OrderFacts:
    st = order.ship_to
    return router.facts(
        channel_id=ch.id, channel=ch.code, partner=ch.code if ch.partner_id is not None else None,
        lines=[LineFacts(p.line_no, p.sku_id, p.line.qty, p.line.unit_price_minor) for p in plan
               if p.sku_id is not None],
        priority=order.priority, country=st.country, region=st.region, latitude=st.latitude,
        longitude=st.longitude, ship_by=order.requested_ship_date, fulfilment=order.fulfilment,
        pickup=router.site_id(order.pickup_location), placed_at=order.placed_at, cancel_after=order.cancel_after,
    )


# A cancelled order is written as received, then cancelled through store.cancellations (the
# channel is told the way every cancellation tells it).
_UNROUTABLE_TEXTS = ("no routing rule could place the order; its routing explanation says why",
                     "the pick-up store is not an active location")
_STATUS_OF = {"allocated": "allocated", "split": "allocated", "backordered": "backordered", "held": "on_hold",
              "cancelled": "received", "unroutable": "received"}


def _apply_decision(d: Decision, plan: Sequence[_PlannedLine]) -> dict[str, Any]:
    """Put a routing decision's placements on the planned lines; the order columns it sets."""
    spots: dict[int, list[tuple[int, int]]] = {}
    for line_no, loc, qty in d.placements:
        spots.setdefault(line_no, []).append((loc, qty))
    keeps = d.outcome in ("allocated", "split", "backordered")
    for p in plan:
        p.placements = spots.get(p.line_no, [])
        p.backorder = keeps
    values: dict[str, Any] = {"status": _STATUS_OF[d.outcome], "auto_cancel_on": d.auto_cancel_on}
    if d.outcome == "held":
        values.update(hold_kind="routing", hold_reason=d.hold_reason)
    if d.outcome == "unroutable":
        pickup = d.explanation.get("decided_by") == "pick-up"
        values.update(exception="unroutable", exception_detail=_UNROUTABLE_TEXTS[1 if pickup else 0])
    return values


def _unknown_pickup(router: Router, order: CanonicalOrder) -> dict[str, Any]:
    """A pick-up order naming no active location waits in `unroutable`, the store it named kept."""
    if order.fulfilment != "pickup" or router.site_id(order.pickup_location) is not None:
        return {}
    return {"exception": "unroutable",
            "exception_detail": f"pick-up store {order.pickup_location!r} is not an active location"}


def _unknown_items(plan: Sequence[_PlannedLine]) -> tuple[str | None, str | None]:
    unknown = [p for p in plan if p.sku_id is None]
    if not unknown:
        return None, None
    text = "; ".join(f"line {p.line_no}: {p.line.item_kind} {p.line.item!r} matches no SKU or alias" for p in unknown)
    return "unknown_item", text[:2000]


def _has_commitments(conn: Connection, order_id: int) -> bool:
    lines = select(OrderLine.id).where(OrderLine.order_id == order_id)
    for stmt in (
        select(Reservation.id).where(Reservation.line_id.in_(lines), Reservation.state == "active"),
        select(Backorder.id).where(Backorder.line_id.in_(lines), Backorder.state == "open"),
        select(Shipment.id).where(Shipment.order_id == order_id),
    ):
        if conn.execute(stmt.limit(1)).first():
            return True
    return False


def reprocess_unknown_items(store: Store, order_id: int, *, actor: str = "operator") -> str:
    """Resolve an `unknown_item` order's lines again (after an alias was added) and, if
    every item is now known, reserve what is still open on its lines. Lines are updated in
    place, so reservations an order already holds (a line added by a change) stay.
    Returns the order's status afterwards."""
    return store.run(lambda conn: reprocess_unknown_items_in(conn, order_id, actor=actor))


def reprocess_unknown_items_in(conn: Connection, order_id: int, *, actor: str) -> str:
    """`reprocess_unknown_items` inside the caller's transaction (after an alias it added)."""
    order = _load(conn, order_id)  # locked, so two operators resolving it at once reserve once
    if order.exception != "unknown_item":
        return order.status
    lines = conn.execute(
        select(OrderLine).where(OrderLine.order_id == order_id).order_by(OrderLine.line_no)
    ).all()
    canon = {
        ln.id: CanonicalLine(
            item=ln.item, qty=ln.qty - ln.qty_reserved - ln.qty_backordered - ln.qty_shipped - ln.qty_cancelled,
            unit_price_minor=ln.unit_price_minor, item_kind=ln.item_kind, item_ids=ln.item_ids,
        )
        for ln in lines
    }
    resolver = SkuResolver(conn, [(order.channel_id, c) for c in canon.values()])
    plan = [
        _PlannedLine(ln.line_no, canon[ln.id], ln.sku_id or resolver.resolve(order.channel_id, canon[ln.id]))
        for ln in lines
    ]
    exception, detail = _unknown_items(plan)
    if exception:
        conn.execute(update(Order).where(Order.id == order_id).values(exception_detail=detail))
        return order.status
    now = utcnow()
    for ln, p in zip(lines, plan):
        if ln.sku_id is None:
            conn.execute(update(OrderLine).where(OrderLine.id == ln.id).values(sku_id=p.sku_id))
    conn.execute(update(Order).where(Order.id == order_id).values(exception=None, exception_detail=None,
                                                                  updated_at=now))
    status = order.status
    if order.status != "on_hold":  # a held order is routed when its hold is released
        status = route_open_units(conn, order_id, trigger="items_resolved", actor=actor)
    audit_many(conn, [{"actor": actor, "entity": "order", "entity_id": order_id, "action": "order.items_resolved",
                       "detail": {"status": status}}])
    return status


def route_open_units(conn: Connection, order_id: int, *, trigger: str, actor: str) -> str:
    """Route what is still open on an order's lines (neither reserved, backordered, shipped nor
    cancelled), in the caller's transaction: items just resolved, a hold released on an order
    that had nothing placed. Returns the order's status afterwards."""
    order = _load(conn, order_id)
    lines = conn.execute(select(OrderLine).where(OrderLine.order_id == order_id).order_by(OrderLine.line_no)).all()
    todo = [
        (ln.id, _PlannedLine(ln.line_no, CanonicalLine(item=ln.item, qty=open_qty, unit_price_minor=ln.unit_price_minor),
                             ln.sku_id))
        for ln in lines
        if (open_qty := ln.qty - ln.qty_reserved - ln.qty_backordered - ln.qty_shipped - ln.qty_cancelled) > 0
    ]
    if not todo or any(p.sku_id is None for _, p in todo):
        return order.status
    now = utcnow()
    router = Router(conn, {p.sku_id for _, p in todo if p.sku_id is not None}, now=now)
    facts = router.facts_of_order(order_id, [LineFacts(p.line_no, p.sku_id, p.line.qty, p.line.unit_price_minor)
                                             for _, p in todo if p.sku_id is not None])
    decision = router.route([(order_id, facts)], trigger)[order_id]
    routed = _apply_decision(decision, [p for _, p in todo])
    if decision.outcome in ("allocated", "split", "backordered"):
        _book_placed(conn, todo, now)
    conn.execute(update(Order).where(Order.id == order_id).values(auto_cancel_on=routed["auto_cancel_on"],
                                                                  updated_at=now))
    # The unroutable queue through the one mechanism every order exception uses: an order in
    # another queue keeps it, and the text is listed once.
    for text in _UNROUTABLE_TEXTS:
        clear_exception_text(conn, order_id, "unroutable", text, actor=actor, action="order.routed",
                             detail={"trigger": trigger})
    if decision.outcome == "unroutable":
        flag_exception(conn, order_id, "unroutable", routed["exception_detail"], actor=actor,
                       action="order.unroutable", detail={"trigger": trigger}, replaces=routed["exception_detail"])
    router.flush(actor)
    if decision.outcome == "held":
        if order.status != "on_hold":
            move(conn, order_id, "on_hold", actor=actor, reason=decision.hold_reason, hold_kind="routing")
        return "on_hold"
    if decision.outcome == "cancelled":
        # Only what this routing was for: units already reserved or shipped on other lines stay.
        return cancel_units_in(conn, order_id, {p.line_no: p.line.qty for _, p in todo}, actor=actor,
                               reason=f"routing rule {decision.rule!r}: {decision.explanation.get('how', '')}").status
    dst = status_from_lines(conn, order_id)
    if dst != order.status:
        move(conn, order_id, dst, actor=actor, reason=f"routed ({trigger})")
    return dst


def ingest_in(
    conn: Connection, orders: Sequence[CanonicalOrder], *, actor: str = "intake", document_id: int | None = None,
) -> IngestReport:
    """`ingest` inside the caller's transaction, for the few orders another write makes with
    its own change (an exchange or reship order with its return): one batch, so each
    (channel, external id) may appear once. Taken, allocated and audited like any order."""
    report = IngestReport()
    valid = _validated(orders, report)
    if len({(o.channel, o.external_id) for _, o in valid}) != len(valid):
        raise OrderInvalid("the same (channel, external id) twice in one transaction")
    if valid:
        report.outcomes.extend(_Batch(conn, valid, actor, document_id).run())
    report.outcomes.sort(key=lambda o: o.index)
    return report


def _chunks(seq: Sequence[Any], n: int) -> Iterable[Sequence[Any]]:
    for i in range(0, len(seq), n):
        yield seq[i : i + n]
