"""What an admin does from the gateway and EDI screens: send an outbox message again, resume a
paused channel; on both databases, each audited with the admin's name."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from store import Store, StoreError
from store.catalog import add_channel
from store.channel_sync import load_sync, pause_channel, resume_channel
from store.journal import enqueue
from store.models import AuditEvent, OutboxMessage
from store.outbox import claim, failed, retry, sent
from store.types import utcnow

def _soon() -> dt.datetime:
    """A minute ahead of now: rows queued now are due then (read per test, not at import:
    a long test session would leave a module-level time behind the rows it queues)."""
    return utcnow() + dt.timedelta(minutes=1)


def _queue(store: Store, key: str) -> int:
    store.run(lambda conn: enqueue(conn, "edi_856", "acme", key, {"data": "ISA..."}))
    with store.read() as conn:
        return int(conn.execute(select(OutboxMessage.id).where(OutboxMessage.idempotency_key == key)).scalar_one())


def _row(store: Store, message_id: int) -> tuple[str, int]:
    with store.read() as conn:
        row = conn.execute(select(OutboxMessage.state, OutboxMessage.attempts).where(OutboxMessage.id == message_id)).one()
    return row.state, row.attempts


def test_a_dead_message_retried_is_claimed_again_and_the_admin_is_on_the_audit_trail(store: Store) -> None:
    t0 = _soon()
    mid = _queue(store, "edi_856:1")
    claim(store, kinds=["edi_856"], now=t0)
    assert failed(store, mid, "mailbox refused", max_attempts=1, now=t0) == "dead"
    assert claim(store, kinds=["edi_856"], now=t0 + dt.timedelta(days=1)) == []

    assert retry(store, mid, actor="alice", now=t0) == "dead"
    assert _row(store, mid) == ("pending", 0)
    assert [c.id for c in claim(store, kinds=["edi_856"], now=t0)] == [mid]
    with store.read() as conn:
        event = conn.execute(select(AuditEvent).where(AuditEvent.action == "outbox.retried")).one()
    assert (event.actor, event.entity, event.entity_id) == ("alice", "outbox", mid)
    assert event.detail["was"] == "dead" and event.detail["last_error"] == "mailbox refused"


def test_a_sent_message_is_sent_again_but_one_on_its_way_is_refused(store: Store) -> None:
    t0 = _soon()
    mid = _queue(store, "edi_856:2")
    with pytest.raises(StoreError, match="on its way"):
        retry(store, mid, actor="alice")  # pending
    claim(store, kinds=["edi_856"], now=t0)
    with pytest.raises(StoreError, match="on its way"):
        retry(store, mid, actor="alice")  # sending
    sent(store, mid)
    assert retry(store, mid, actor="alice") == "sent"
    assert _row(store, mid)[0] == "pending"
    with pytest.raises(StoreError, match="no outbox message"):
        retry(store, 999_999, actor="alice")


def test_resuming_a_paused_channel_clears_the_pause_and_names_who(store: Store) -> None:
    t0 = _soon()
    add_channel(store, "ebay-us", "eBay", "marketplace")
    pause_channel(store, "ebay-us", t0 + dt.timedelta(hours=6), "daily quota spent")
    assert load_sync(store, "ebay-us").paused_until is not None
    resume_channel(store, "ebay-us", actor="alice")
    state = load_sync(store, "ebay-us")
    assert (state.paused_until, state.pause_reason) == (None, None)
    with store.read() as conn:
        event = conn.execute(select(AuditEvent).where(AuditEvent.action == "channel.resumed")).one()
    assert event.actor == "alice"
    assert event.detail["channel"] == "ebay-us" and event.detail["pause_reason"] == "daily quota spent"


def test_messages_settled_elsewhere_are_never_sent_and_the_trail_says_why(store: Store) -> None:
    from store.outbox import settled_elsewhere

    store.run(lambda conn: enqueue(conn, "shipment_confirm", "shop", "confirm:1", {"order": 1}))
    store.run(lambda conn: enqueue(conn, "shipment_confirm", "edi-partner", "confirm:2", {"order": 2}))
    done = settled_elsewhere(store, kinds=["shipment_confirm"], targets=["shop"], actor="demo", reason="history")
    assert done == 1
    assert claim(store, kinds=["shipment_confirm"], now=_soon()) != []  # the other target's row is still due
    with store.read() as conn:
        states = dict(conn.execute(select(OutboxMessage.idempotency_key, OutboxMessage.state)).all())
        event = conn.execute(select(AuditEvent).where(AuditEvent.action == "outbox.settled_elsewhere")).one()
    assert states["confirm:1"] == "sent"
    assert (event.actor, event.detail["count"], event.detail["reason"]) == ("demo", 1, "history")
