"""A store for the EDI, gateway and dashboard screens, made with the real store and EDI
functions, every timestamp then set to a fixed value so the screens are the same each run.

    partner acme (documents in and out) and globex (none); channels web (cart), amz and
    ebay (marketplaces); ebay paused; three gateway workers beating; an 855 dead in the
    outbox, an amz shipment confirmation failing; 40 web/amz/ebay orders over ten days, most
    shipped (some late) for the KPIs.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

from sqlalchemy import select, update

from edi_maps.inbound import receive_x12
from edi_maps.outgoing import queue_855, queue_856
from store import Store, ingest, open_store
from store.catalog import NewSku, add_channel, add_location, add_partner, add_skus
from store.channel_sync import channel_alert, pause_channel
from store.control import apply_group_ack
from store.documents import DocumentProblem, finish, store_payload
from store.fulfilment import ship_reserved
from store.heartbeats import beat
from store.inventory import receive
from store.journal import enqueue
from store.models import AuditEvent, Document, Heartbeat, Interchange, Order, OutboxMessage, Shipment
from store.outbox import claim, failed, sent
from store.stock_sync import list_skus
from tests.edi_maps.x12text import interchange, order
from tests.factories import order as web_order

__all__ = ["FIXED", "build", "document_id", "message_id", "order_id"]

# The clock of every test on these screens (a Tuesday noon, UTC).
FIXED = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.timezone.utc)
MINUTE = dt.timedelta(minutes=1)
DAY = dt.timedelta(days=1)

GOOD_850 = interchange(order("PO-1001", 2), control="000000123")
PARTIAL_850 = interchange(order("PO-2001", 1, st02="0001"), order("PO-2002", 2, st02="0002", se01=99),
                          control="000000124", gs06="8")
UNKNOWN_SENDER = interchange(order("PO-9", 1), sender="STRANGER", control="000000125")
CSV_FILE = b"order,sku,qty\nC-1,SKU1,1\nC-1,NO-SUCH,2\n"


def build(template: Path, path: Path) -> None:
    """Make the store at `path` from an empty migrated `template`."""
    shutil.copy(template, path)
    store = open_store(f"sqlite:///{path}")
    try:
        _fill(store)
        _fix_times(store)
    finally:
        store.dispose()


def _fill(store: Store) -> None:
    add_channel(store, "web", "Web shop", "cart")
    add_channel(store, "amz", "Amazon", "marketplace")
    add_channel(store, "ebay", "eBay", "marketplace")
    add_partner(store, "acme", "ACME Retail", isa_qualifier="ZZ", isa_id="SENDER", gs_id="SENDER",
                our_isa_qualifier="ZZ", our_isa_id="RECEIVER", our_gs_id="RECEIVER")
    add_partner(store, "globex", "Globex Wholesale", isa_qualifier="ZZ", isa_id="GLOBEX", gs_id="GLOBEX",
                our_isa_qualifier="ZZ", our_isa_id="RECEIVER", our_gs_id="RECEIVER")
    add_location(store, "DAL", "Dallas", priority=1)
    add_skus(store, [NewSku(f"SKU{i}", f"Thing {i}", 999, "USD") for i in range(1, 4)])
    for i in range(1, 4):
        receive(store, f"SKU{i}", "DAL", 500)

    # EDI in: an 850 taken in, one half rejected, one from nobody we know, a CSV with a bad line.
    receive_x12(store, GOOD_850.encode(), source="sftp://acme/in/po1001.x12")
    receive_x12(store, PARTIAL_850.encode(), source="sftp://acme/in/po2001.x12")
    receive_x12(store, UNKNOWN_SENDER.encode(), source="sftp://acme/in/stranger.x12")
    doc = store_payload(store, CSV_FILE, kind="csv", source="/drop/web/orders-0310.csv")
    finish(store, doc.id, problems=[DocumentProblem(3, "no SKU NO-SUCH", "C-1,NO-SUCH,2")], accepted=1)

    # EDI out: the 997 for the first file sent; an 855 that died; an 856 the partner accepted.
    po1001 = order_id(store, "PO-1001")
    queue_855(store, po1001)
    [shipment] = ship_reserved(store, po1001, carrier="UPS", tracking="1Z0001")
    queue_856(store, shipment)
    with store.write() as conn:
        pid = conn.execute(select(Interchange.partner_id).where(Interchange.direction == "out")).scalars().first()
        group = conn.execute(
            select(OutboxMessage.payload).where(OutboxMessage.kind == "edi_856")).scalar_one()["interchange"]
        gs = conn.execute(select(Interchange.group_control).where(Interchange.control_number == group,
                                                                    Interchange.direction == "out")).scalar_one()
        apply_group_ack(conn, int(pid), str(gs), "accepted")
    first_997 = message_id(store, "edi_997", 0)
    edi_855 = message_id(store, "edi_855", 0)
    claim(store, kinds=["edi_997", "edi_855", "edi_856"], now=FIXED + 365 * DAY)
    sent(store, first_997)
    sent(store, message_id(store, "edi_856", 0))
    failed(store, edi_855, "MailboxError: sftp://acme: permission denied on /in", max_attempts=1)

    # Marketplace and cart orders over ten days, most shipped; one amz confirmation failing.
    orders = [web_order(f"{ch[0].upper()}{n:03d}", ("SKU1", 1 + n % 2), channel=ch)
              for n in range(40) for ch in (("web", "amz", "ebay")[n % 3],)]
    report = ingest(store, orders)
    ids = [o.order_id for o in report.outcomes if o.order_id is not None]
    for n, oid in enumerate(ids):
        if n % 5 != 4:
            ship_reserved(store, oid, carrier="UPS", tracking=f"1Z{oid:06d}")
    with store.write() as conn:
        for n, oid in enumerate(ids):
            received = FIXED - (9 - n // 4) * DAY - dt.timedelta(hours=2 + n % 4)
            conn.execute(update(Order).where(Order.id == oid).values(received_at=received))
            conn.execute(update(Shipment).where(Shipment.order_id == oid)
                         .values(shipped_at=received + dt.timedelta(hours=6 + 20 * (n % 4))))
        conn.execute(update(Order).where(Order.external_id.in_(["PO-1001", "PO-2001"]))
                     .values(received_at=FIXED - 2 * dt.timedelta(hours=1)))
        conn.execute(update(Shipment).where(Shipment.order_id == po1001).values(shipped_at=FIXED - MINUTE * 30))
    confirm = claim(store, kinds=["shipment_confirm"], targets=["amz"], limit=1, now=FIXED + 365 * DAY)
    failed(store, confirm[0].id, "HTTP 500 from Amazon: InternalFailure")

    # The gateway: workers, a paused channel, alerts, stock pushes owed.
    beat(store, "dispatcher", host="gw1", pid=4242, state="idle", detail="sent 3 documents")
    beat(store, "poll:acme", host="gw1", pid=4242, state="working", detail="reading po2001.x12")
    beat(store, "orders:ebay", host="gw2", pid=977, state="failing", detail="HTTP 503 from eBay; retrying in 60 s")
    pause_channel(store, "ebay", FIXED + 6 * dt.timedelta(hours=1), "daily quota spent")
    channel_alert(store, "amz", "throttled", "429 from Amazon; backing off 60 s")
    list_skus(store, "amz", ["SKU1", "SKU2"])
    list_skus(store, "ebay", ["SKU3"])
    store.run(lambda conn: enqueue(conn, "stock_push", "ebay", "manual:1", {"sku": "SKU3"}))


def order_id(store: Store, external_id: str) -> int:
    with store.read() as conn:
        return int(conn.execute(select(Order.id).where(Order.external_id == external_id)).scalar_one())


def message_id(store: Store, kind: str, n: int) -> int:
    """The id of the `n`th outbox message of `kind`."""
    with store.read() as conn:
        ids = conn.execute(select(OutboxMessage.id).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id)).scalars()
        return int(list(ids)[n])


def document_id(store: Store, source_end: str) -> int:
    with store.read() as conn:
        return int(conn.execute(select(Document.id).where(Document.source.like(f"%{source_end}"))).scalar_one())


def _fix_times(store: Store) -> None:
    """Every time the screens show, as a fixed offset before FIXED."""
    with store.write() as conn:
        # Documents from an hour and a half ago, five minutes apart; processed a second later.
        for did, processed in conn.execute(select(Document.id, Document.processed_at)).all():
            at = FIXED - 90 * MINUTE + 5 * did * MINUTE
            conn.execute(update(Document).where(Document.id == did).values(
                received_at=at, processed_at=None if processed is None else at + dt.timedelta(seconds=1)))
        for iid in conn.execute(select(Interchange.id)).scalars().all():
            conn.execute(update(Interchange).where(Interchange.id == iid)
                         .values(created_at=FIXED - 60 * MINUTE + 3 * iid * MINUTE))
        for mid, was_sent in conn.execute(select(OutboxMessage.id, OutboxMessage.sent_at)).all():
            at = FIXED - 60 * MINUTE + (mid % 50) * MINUTE
            conn.execute(update(OutboxMessage).where(OutboxMessage.id == mid).values(
                created_at=at, next_attempt_at=at + 70 * MINUTE, sent_at=None if was_sent is None else at + MINUTE))
        for eid in conn.execute(select(AuditEvent.id).where(AuditEvent.action.like("alert.%"))).scalars().all():
            conn.execute(update(AuditEvent).where(AuditEvent.id == eid)
                         .values(at=FIXED - 20 * MINUTE + (eid % 19) * MINUTE))
        for worker, seconds in (("dispatcher", 4), ("poll:acme", 12), ("orders:ebay", 600)):
            conn.execute(update(Heartbeat).where(Heartbeat.worker == worker)
                         .values(beat_at=FIXED - dt.timedelta(seconds=seconds)))
