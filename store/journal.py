"""Audit events and outbox rows, written inside the caller's transaction (invariants 1 and 5)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, select

from .bulk import insert_rows
from .models import AuditEvent, OutboxMessage
from .types import utcnow

__all__ = ["audit", "audit_many", "enqueue", "enqueue_many"]


def audit(
    conn: Connection,
    actor: str,
    entity: str,
    entity_id: int | None,
    action: str,
    detail: Mapping[str, Any] | None = None,
) -> None:
    audit_many(conn, [dict(actor=actor, entity=entity, entity_id=entity_id, action=action, detail=dict(detail or {}))])


def audit_many(conn: Connection, events: Sequence[dict[str, Any]], at: dt.datetime | None = None) -> None:
    if not events:
        return
    at = at or utcnow()
    insert_rows(conn, AuditEvent, [{"at": at, **e} for e in events])


def enqueue(
    conn: Connection,
    kind: str,
    target: str,
    key: str,
    payload: Mapping[str, Any],
    order_id: int | None = None,
) -> bool:
    """Queue outbound work once per idempotency key; False if the key was already queued."""
    exists = conn.execute(select(OutboxMessage.id).where(OutboxMessage.idempotency_key == key)).first()
    if exists:
        return False
    enqueue_many(conn, [dict(kind=kind, target=target, idempotency_key=key, payload=dict(payload), order_id=order_id)])
    return True


def enqueue_many(conn: Connection, messages: Sequence[dict[str, Any]], at: dt.datetime | None = None) -> None:
    """Queue messages whose keys are known to be new (e.g. they name a just-created row)."""
    if not messages:
        return
    at = at or utcnow()
    rows = [
        {"state": "pending", "attempts": 0, "next_attempt_at": at, "created_at": at, "last_error": None, "sent_at": None,
         "order_id": None, **m}
        for m in messages
    ]
    insert_rows(conn, OutboxMessage, rows)
