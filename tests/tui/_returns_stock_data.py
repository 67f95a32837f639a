"""A small store for the returns and stock screens, built with the store's own functions.

    channels web, amz; locations A (first choice), B; SKUs S1..S5 (S1 listed on web)
    W1: 3 x S1 + 1 x S2, shipped from A      W2: 2 x S1, shipped from A      W3: 1 x S2, not shipped
    RMA-000001  W1 line 1, 2 units "too small", received at A          (open: received)
    RMA-000002  W2 line 1, 1 unit "changed mind"                        (open: authorised)
    RMA-000003  W1 line 2, 1 unit "arrived broken", scrapped, refunded   (closed)

Timestamps are set to fixed values, so screens look the same whenever the tests run.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

from sqlalchemy import select, update

from store import Store, ingest, open_store
from store.catalog import NewSku, add_channel, add_location, add_skus
from store.inventory import receive as receive_stock
from store.models import AuditEvent, Order, Return, StockMovement
from store.returns import Disposition, Receipt, RmaLine, authorise, inspect, receive, resolve
from store.shipping import ship
from store.stock_sync import list_skus
from tests.factories import order

NOW = dt.datetime(2024, 5, 10, 12, 0, tzinfo=dt.timezone.utc)
EPOCH = dt.datetime(2024, 5, 1, 9, 0, tzinfo=dt.timezone.utc)


def order_id(store: Store, external_id: str) -> int:
    with store.read() as conn:
        return int(conn.execute(select(Order.id).where(Order.external_id == external_id)).scalar_one())


def shipped(store: Store, external_id: str, *lines: tuple[str, int]) -> int:
    oid = ingest(store, [order(external_id, *lines)]).outcomes[0].order_id
    assert oid is not None
    ship(store, oid, "A", carrier="UPS", tracking=f"1Z{external_id}")
    return oid


def build(sqlite_template: Path, path: Path) -> Store:
    shutil.copy(sqlite_template, path)
    store = open_store(f"sqlite:///{path}")
    add_channel(store, "web", "Web shop", "cart")
    add_channel(store, "amz", "Amazon", "marketplace")
    add_location(store, "A", "Alpha DC", priority=1)
    add_location(store, "B", "Beta DC", priority=2)
    add_skus(store, [NewSku(f"S{i}", name, 1000 * i, "USD")
                     for i, name in enumerate(("Widget", "Gadget", "Sprocket", "Flange", "Gasket"), start=1)])
    list_skus(store, "web", ["S1"])
    receive_stock(store, "S1", "A", 10, reference="PO-1")
    receive_stock(store, "S2", "A", 5, reference="PO-1")
    receive_stock(store, "S3", "B", 7, reference="PO-2")
    w1 = shipped(store, "W1", ("S1", 3), ("S2", 1))
    w2 = shipped(store, "W2", ("S1", 2))
    ingest(store, [order("W3", ("S2", 1))])
    authorise(store, w1, [RmaLine(1, 2, "too small")])
    receive(store, "RMA-000001", "A", [Receipt(1, 2, "opened")])
    authorise(store, w2, [RmaLine(1, 1, "changed mind")])
    authorise(store, w1, [RmaLine(2, 1, "arrived broken")])
    receive(store, "RMA-000003", "A", [Receipt(2, 1, "damaged")])
    inspect(store, "RMA-000003", [Disposition(2, scrap=1)])
    resolve(store, "RMA-000003", resolution="refund", refund_minor=1000)
    fix_times(store)
    return store


def fix_times(store: Store) -> None:
    """Every timestamp the screens show, at fixed minutes after EPOCH (by row id)."""
    with store.write() as conn:
        for rid in conn.execute(select(Return.id)).scalars().all():
            at = EPOCH + dt.timedelta(hours=rid)
            conn.execute(update(Return).where(Return.id == rid).values(created_at=at))
            conn.execute(update(Return).where(Return.id == rid, Return.received_at.is_not(None))
                         .values(received_at=at + dt.timedelta(minutes=30)))
            conn.execute(update(Return).where(Return.id == rid, Return.closed_at.is_not(None))
                         .values(closed_at=at + dt.timedelta(minutes=45)))
        for oid in conn.execute(select(Order.id)).scalars().all():
            conn.execute(update(Order).where(Order.id == oid).values(received_at=EPOCH - dt.timedelta(hours=oid)))
        for mid in conn.execute(select(StockMovement.id)).scalars().all():
            conn.execute(update(StockMovement).where(StockMovement.id == mid)
                         .values(at=EPOCH + dt.timedelta(minutes=10 * mid)))


def last_actor(store: Store, action: str) -> str | None:
    """Who did the newest audit event `action` (None: nobody did)."""
    with store.read() as conn:
        return conn.execute(select(AuditEvent.actor).where(AuditEvent.action == action)
                            .order_by(AuditEvent.id.desc()).limit(1)).scalar_one_or_none()
