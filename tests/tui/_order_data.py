"""A small store for the order, route and ship screens: a few orders in known states, with
fixed timestamps so snapshots do not depend on when tests run."""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select, update

from store import Address, CanonicalLine, CanonicalOrder, Store, ingest, open_store
from store.catalog import NewSku, add_channel, add_location, add_skus, limit_channel_locations
from store.inventory import receive
from store.models import AuditEvent, Document, Order, Reservation, RoutingDecision
from store.documents import store_payload

FIXED = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.timezone.utc)

X12 = (b"ISA*00*          *00*          *ZZ*ACME           *ZZ*US             *240501*1200*U*00401*000000001*0*P*>~"
       b"GS*PO*ACME*US*20240501*1200*1*X*004010~ST*850*0001~BEG*00*SA*PO-7**20240501~"
       b"PO1*1*2*EA*12.99**BP*ACME-1~CTT*1~SE*5*0001~GE*1*1~IEA*1*000000001~")


@dataclass(frozen=True)
class Orders:
    allocated: int  # W1: 2 x S1 reserved at A
    unknown: int  # W2: a channel item id no alias matches
    short: int  # W3: 4 x S2; web routes to A only, which has 1 (lines are not split): backordered 4; B has 5
    edi: int  # W4: from an X12 document, allocated


def _order(ext: str, *lines: tuple[str, int, str], document_id: int | None = None) -> CanonicalOrder:
    return CanonicalOrder(
        channel="web", external_id=ext, currency="USD", version=1, buyer_name="Ada Lovelace",
        ship_to=Address(name="Ada Lovelace", address1="1 Analytical Way", city="London", postal_code="N1",
                        country="GB"),
        lines=tuple(CanonicalLine(item, qty, 1299, item_kind=kind) for item, qty, kind in lines),
        placed_at=FIXED - dt.timedelta(hours=2),
    )


def build(path: Path, template: Path) -> tuple[Store, Orders]:
    shutil.copy(template, path)
    store = open_store(f"sqlite:///{path}")
    add_channel(store, "web", "Web shop", "cart")
    add_location(store, "A", "Alpha DC", priority=1)
    add_location(store, "B", "Beta DC", priority=2)
    add_skus(store, [NewSku("S1", "Widget", 1299, "USD"), NewSku("S2", "Gadget", 1299, "USD")])
    receive(store, "S1", "A", 10)
    receive(store, "S2", "A", 1)
    receive(store, "S2", "B", 5)
    limit_channel_locations(store, "web", ["A"])
    doc = store_payload(store, X12, kind="x12", source="sftp://acme/in/po7.x12")
    ingest(store, [_order("W1", ("S1", 2, "sku"))])
    ingest(store, [_order("W2", ("ZZ-TOP-9", 1, "channel_item_id"))])
    ingest(store, [_order("W3", ("S2", 4, "sku"))])
    ingest(store, [_order("W4", ("S1", 1, "sku"))], document_id=doc.id)
    with store.write() as conn:
        ids = {ext: oid for oid, ext in conn.execute(select(Order.id, Order.external_id))}
        conn.execute(update(Order).values(received_at=FIXED, updated_at=FIXED))
        conn.execute(update(AuditEvent).values(at=FIXED))
        conn.execute(update(RoutingDecision).values(at=FIXED))
        conn.execute(update(Reservation).values(created_at=FIXED))
        conn.execute(update(Document).values(received_at=FIXED))
    return store, Orders(ids["W1"], ids["W2"], ids["W3"], ids["W4"])
