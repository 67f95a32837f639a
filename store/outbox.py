"""The outbox, worked by the gateway's dispatcher (invariant 5).

    for msg in claim(store, kinds=("edi_997", "edi_856"), limit=20, holder="host:pid"):
        try: send(msg); sent(store, msg.id)
        except Exception as exc: failed(store, msg.id, str(exc))

`claim` moves due rows (pending, or failed and due for a retry, or `sending` rows whose claim
expired because their dispatcher died) to `sending`, with `FOR UPDATE SKIP LOCKED` on
PostgreSQL so two dispatchers never take the same row. A claim lasts `claim_seconds`: a
dispatcher killed mid-send leaves the row to be claimed again later, so a crash sends late,
never never. Sending must therefore be idempotent at the receiver (an SFTP upload of the same
file name, an API call with the idempotency key).

A failure is retried with exponential backoff (30 s, 1 min, 2 min, ... capped at 1 h); after
`max_attempts` the row is `dead` and waits for an operator, with its last error. `retry` (an
operator's) puts a dead, failed or sent row back as due now: sent again by the next pass.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select, update

from .db import Store
from .errors import NotFound, StoreError
from .journal import audit
from .models import OutboxMessage
from .types import utcnow

__all__ = ["Claimed", "claim", "claimants", "sent", "settled_elsewhere", "failed", "depth", "retry", "MAX_ATTEMPTS"]

MAX_ATTEMPTS = 12
_FIRST_RETRY = 30.0
_MAX_RETRY = 3600.0


@dataclass(frozen=True, slots=True)
class Claimed:
    id: int
    kind: str
    target: str
    idempotency_key: str
    payload: dict[str, Any]
    attempts: int  # including this one


def claim(
    store: Store, *, kinds: Collection[str], limit: int = 20, claim_seconds: float = 300.0,
    targets: Collection[str] | None = None, now: dt.datetime | None = None, holder: str | None = None,
    reclaim_from: Collection[str] = (),
) -> list[Claimed]:
    """Take up to `limit` due messages of `kinds` (and `targets`, if given), oldest first, for
    `holder`. Rows still `sending` for a claimant in `reclaim_from` (a dispatcher known to be
    dead) are taken back at once instead of when their claim expires."""

    def _do(conn: Connection) -> list[Claimed]:
        at = now or utcnow()
        due = or_(
            and_(OutboxMessage.state.in_(("pending", "failed")), OutboxMessage.next_attempt_at <= at),
            and_(OutboxMessage.state == "sending", OutboxMessage.next_attempt_at <= at),  # its claim expired
            and_(OutboxMessage.state == "sending", OutboxMessage.claimed_by.in_(list(reclaim_from))),
        )
        stmt = select(
            OutboxMessage.id, OutboxMessage.kind, OutboxMessage.target, OutboxMessage.idempotency_key,
            OutboxMessage.payload, OutboxMessage.attempts,
        ).where(OutboxMessage.kind.in_(list(kinds)), due)
        if targets is not None:
            stmt = stmt.where(OutboxMessage.target.in_(list(targets)))
        stmt = stmt.order_by(OutboxMessage.id).limit(limit)
        if conn.dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        rows = conn.execute(stmt).all()
        if not rows:
            return []
        conn.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_([r.id for r in rows]))
            .values(state="sending", attempts=OutboxMessage.attempts + 1, claimed_by=holder,
                    next_attempt_at=at + dt.timedelta(seconds=claim_seconds))
        )
        return [Claimed(r.id, r.kind, r.target, r.idempotency_key, dict(r.payload), r.attempts + 1) for r in rows]

    return store.run(_do)


def claimants(store: Store) -> list[str]:
    """Who holds rows in `sending` now (to find dispatchers that died holding some)."""
    with store.read() as conn:
        rows = conn.execute(select(OutboxMessage.claimed_by).where(
            OutboxMessage.state == "sending", OutboxMessage.claimed_by.is_not(None)).distinct())
        return [str(r[0]) for r in rows]


def sent(store: Store, message_id: int) -> None:
    store.run(lambda conn: conn.execute(
        update(OutboxMessage).where(OutboxMessage.id == message_id)
        .values(state="sent", sent_at=utcnow(), last_error=None)))


def settled_elsewhere(store: Store, *, kinds: Collection[str], targets: Collection[str], actor: str,
                      reason: str) -> int:
    """Mark every unsent message of `kinds` to `targets` as sent without sending it (what it
    says already happened at the other end, e.g. history imported with its confirmations).
    Audited `outbox.settled_elsewhere` with the count and `reason`; returns the count."""

    def _do(conn: Connection) -> int:
        changed = conn.execute(
            update(OutboxMessage)
            .where(OutboxMessage.kind.in_(list(kinds)), OutboxMessage.target.in_(list(targets)),
                   OutboxMessage.state != "sent")
            .values(state="sent", sent_at=utcnow())
        ).rowcount
        audit(conn, actor, "outbox", None, "outbox.settled_elsewhere",
              {"kinds": sorted(kinds), "targets": sorted(targets), "count": changed, "reason": reason})
        return int(changed)

    return store.run(_do)


def failed(store: Store, message_id: int, error: str, *, max_attempts: int = MAX_ATTEMPTS,
           now: dt.datetime | None = None) -> str:
    """Record a failed send; returns the new state: failed (retry later) or dead. A message
    no longer `sending` (sent meanwhile) is left as it is and its state returned."""

    def _do(conn: Connection) -> str:
        at = now or utcnow()
        attempts, current = conn.execute(
            select(OutboxMessage.attempts, OutboxMessage.state).where(OutboxMessage.id == message_id)).one()
        if current != "sending":
            return str(current)
        state = "dead" if attempts >= max_attempts else "failed"
        delay = min(_FIRST_RETRY * 2 ** max(attempts - 1, 0), _MAX_RETRY)
        conn.execute(update(OutboxMessage).where(OutboxMessage.id == message_id).values(
            state=state, last_error=error[:4000], next_attempt_at=at + dt.timedelta(seconds=delay)))
        return state

    return store.run(_do)


def depth(store: Store, kinds: Collection[str] | None = None) -> dict[str, int]:
    """Messages not yet sent, by state (pending, sending, failed, dead)."""
    with store.read() as conn:
        stmt = select(OutboxMessage.state, func.count()).where(OutboxMessage.state != "sent")
        if kinds is not None:
            stmt = stmt.where(OutboxMessage.kind.in_(list(kinds)))
        return {state: int(n) for state, n in conn.execute(stmt.group_by(OutboxMessage.state))}


def retry(store: Store, message_id: int, *, actor: str, now: dt.datetime | None = None) -> str:
    """Put a dead, failed or sent message back as pending, due now and with its attempts
    counted from 0, so the dispatcher sends it again (a resend: same idempotency key, same
    bytes). Audited `outbox.retried` with the state it was in, which is returned. A message
    still pending or being sent is refused (StoreError): it is on its way already."""

    def _do(conn: Connection) -> str:
        row = conn.execute(
            select(OutboxMessage.state, OutboxMessage.kind, OutboxMessage.target, OutboxMessage.order_id,
                   OutboxMessage.attempts, OutboxMessage.last_error).where(OutboxMessage.id == message_id)
        ).first()
        if row is None:
            raise NotFound(f"no outbox message {message_id}")
        if row.state not in ("dead", "failed", "sent"):
            raise StoreError(f"outbox message {message_id} is {row.state}: it is on its way already")
        # Only if it is still in the state read: a dispatcher may have claimed it since (the
        # read takes no lock on PostgreSQL), and that send must not be doubled.
        changed = conn.execute(
            update(OutboxMessage).where(OutboxMessage.id == message_id, OutboxMessage.state == row.state)
            .values(state="pending", attempts=0, next_attempt_at=now or utcnow(), claimed_by=None)
        ).rowcount
        if changed != 1:
            raise StoreError(f"outbox message {message_id} was claimed meanwhile: it is on its way already")
        audit(conn, actor, "outbox", message_id, "outbox.retried",
              {"kind": row.kind, "target": row.target, "order_id": row.order_id, "was": row.state,
               "attempts": row.attempts, "last_error": row.last_error})
        return str(row.state)

    return store.run(_do)
