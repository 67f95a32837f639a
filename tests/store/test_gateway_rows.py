"""Leases, heartbeats and the outbox as the gateway uses them, on both databases."""

from __future__ import annotations

import datetime as dt
import threading

from store import Store
from store.heartbeats import beat, beats
from store.journal import enqueue
from store.leases import acquire, holder_of, release
from store.outbox import claim, depth, failed, sent
from store.types import utcnow

T0 = dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.timezone.utc)


def test_a_lease_has_one_holder_until_it_expires_or_is_released(store: Store) -> None:
    assert acquire(store, "sftp:acme", "a", seconds=60, now=T0)
    assert not acquire(store, "sftp:acme", "b", seconds=60, now=T0 + dt.timedelta(seconds=30))
    assert acquire(store, "sftp:acme", "a", seconds=60, now=T0 + dt.timedelta(seconds=30))  # renewal
    assert holder_of(store, "sftp:acme", now=T0 + dt.timedelta(seconds=80)) == "a"
    # a dies: its lease runs out, b takes over
    assert acquire(store, "sftp:acme", "b", seconds=60, now=T0 + dt.timedelta(seconds=91))
    release(store, "sftp:acme", "a")  # a stale holder cannot release b's lease
    assert holder_of(store, "sftp:acme", now=T0 + dt.timedelta(seconds=92)) == "b"
    release(store, "sftp:acme", "b")
    assert holder_of(store, "sftp:acme") is None


def test_racing_processes_get_a_free_lease_exactly_once(store: Store) -> None:
    wins: list[str] = []
    start = threading.Barrier(6)

    def contend(who: str) -> None:
        start.wait()
        if acquire(store, "folder:/drop", who, seconds=60):
            wins.append(who)

    threads = [threading.Thread(target=contend, args=(f"p{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1 and holder_of(store, "folder:/drop") == wins[0]


def test_heartbeats_keep_the_latest_state_per_worker(store: Store) -> None:
    beat(store, "sftp:acme", host="h", pid=1, state="starting")
    beat(store, "sftp:acme", host="h", pid=1, state="failing", detail="connection refused")
    beat(store, "dispatcher", host="h", pid=1, state="idle")
    assert [(b.worker, b.state, b.detail) for b in beats(store)] == [
        ("dispatcher", "idle", None), ("sftp:acme", "failing", "connection refused")]


def _queue(store: Store, n: int, kind: str = "edi_997") -> None:
    with store.write() as conn:
        for i in range(n):
            enqueue(conn, kind, "acme", f"{kind}:{i}", {"n": i})


def test_claimed_messages_are_not_claimed_again_until_their_claim_expires(store: Store) -> None:
    _queue(store, 3)
    first = claim(store, kinds=["edi_997"], limit=2, claim_seconds=60)
    assert [m.payload["n"] for m in first] == [0, 1] and all(m.attempts == 1 for m in first)
    assert [m.payload["n"] for m in claim(store, kinds=["edi_997"], limit=5)] == [2]
    assert claim(store, kinds=["edi_997"]) == []
    sent(store, first[0].id)
    # The dispatcher holding the second one died: after its claim runs out, it is taken again.
    later = claim(store, kinds=["edi_997"], now=utcnow() + dt.timedelta(minutes=10))
    assert [(m.payload["n"], m.attempts) for m in later] == [(1, 2), (2, 2)]
    assert depth(store) == {"sending": 2}


def test_a_failed_send_is_retried_with_backoff_then_dead(store: Store) -> None:
    _queue(store, 1)
    now = utcnow()
    [m] = claim(store, kinds=["edi_997"], now=now)
    assert failed(store, m.id, "connection reset", now=now, max_attempts=2) == "failed"
    assert claim(store, kinds=["edi_997"], now=now + dt.timedelta(seconds=10)) == []  # not due yet
    [again] = claim(store, kinds=["edi_997"], now=now + dt.timedelta(seconds=31))
    assert failed(store, again.id, "connection reset", now=now, max_attempts=2) == "dead"
    assert claim(store, kinds=["edi_997"], now=now + dt.timedelta(days=1)) == []
    assert depth(store) == {"dead": 1}


def test_concurrent_dispatchers_never_send_the_same_message_twice(store: Store) -> None:
    _queue(store, 40)
    taken: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(4)

    def dispatch() -> None:
        start.wait()
        while batch := claim(store, kinds=["edi_997"], limit=3):
            with lock:
                taken.extend(m.id for m in batch)
            for m in batch:
                sent(store, m.id)

    threads = [threading.Thread(target=dispatch) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(taken) == 40 and len(set(taken)) == 40
