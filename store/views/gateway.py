"""What the gateway screen reads: worker heartbeats, what is waiting to go out, what failed,
the operator alerts the workers raised and which channels are paused.

    workers(conn)        one row per worker heartbeat, by worker name
    queues(conn)         outbox messages not sent by kind and state; stock pushes owed per
                         channel; inbound documents stored but not yet processed
    failures(conn)       outbox messages failed (retrying) or dead, newest first, with the error
    alerts(conn)         `alert.*` audit events (a channel paused, a partner's 850 not sent, a
                         cancellation refused), newest first
    channel_syncs(conn)  each marketplace or cart channel: its watermark and pause
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select

from ..channel_sync import CURSOR_PREFIX, SyncState
from ..models import AuditEvent, Channel, Document, OutboxMessage, SyncCursor
from ..models.listings import StockSync

# Every outbox state but sent: listed, so the query can use the (state, next_attempt_at) index.
UNSENT = ("pending", "sending", "failed", "dead")

__all__ = [
    "AlertRow",
    "ChannelSyncRow",
    "FailureRow",
    "QueueDepths",
    "alerts",
    "channel_syncs",
    "failures",
    "queues",
]

# How far back (in audit events) alerts on other entities than channels and partners are looked for.
_ALERT_WINDOW = 20_000


@dataclass(frozen=True, slots=True)
class QueueDepths:
    outbox: tuple[tuple[str, str, int], ...]  # (kind, state, messages) not yet sent, by kind
    stock_pushes: tuple[tuple[str, int], ...]  # (channel, SKUs owed a push), by channel
    documents_waiting: int  # stored, not yet processed

    def outbox_total(self, state: str | None = None) -> int:
        return sum(n for _, s, n in self.outbox if state is None or s == state)


@dataclass(frozen=True, slots=True)
class FailureRow:
    id: int
    kind: str
    target: str
    state: str  # failed | dead
    attempts: int
    last_error: str | None
    next_attempt_at: dt.datetime
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class AlertRow:
    id: int
    at: dt.datetime
    what: str  # the action without "alert."
    about: str  # the channel or partner (or order id) it concerns
    detail: str


@dataclass(frozen=True, slots=True)
class ChannelSyncRow:
    channel: str
    kind: str
    watermark: dt.datetime | None
    paused_until: dt.datetime | None
    pause_reason: str | None


def queues(conn: Connection) -> QueueDepths:
    outbox = conn.execute(
        select(OutboxMessage.kind, OutboxMessage.state, func.count()).where(OutboxMessage.state.in_(UNSENT))
        .group_by(OutboxMessage.kind, OutboxMessage.state).order_by(OutboxMessage.kind, OutboxMessage.state)
    ).all()
    pushes = conn.execute(
        select(Channel.code, func.count()).join(StockSync, StockSync.channel_id == Channel.id)
        .group_by(Channel.code).order_by(Channel.code)
    ).all()
    waiting = conn.execute(select(func.count()).select_from(Document).where(Document.state == "received")).scalar_one()
    return QueueDepths(
        tuple((str(k), str(s), int(n)) for k, s, n in outbox),
        tuple((str(c), int(n)) for c, n in pushes),
        int(waiting),
    )


def failures(conn: Connection, *, limit: int = 200) -> list[FailureRow]:
    rows = conn.execute(
        select(OutboxMessage.id, OutboxMessage.kind, OutboxMessage.target, OutboxMessage.state, OutboxMessage.attempts,
               OutboxMessage.last_error, OutboxMessage.next_attempt_at, OutboxMessage.created_at)
        .where(OutboxMessage.state.in_(("failed", "dead"))).order_by(OutboxMessage.id.desc()).limit(limit)
    ).all()
    return [FailureRow(int(r[0]), *r[1:4], int(r[4]), *r[5:]) for r in rows]


def _alert(row: Any) -> AlertRow:
    detail = dict(row.detail or {})
    about = detail.get("channel") or detail.get("partner") or (f"{row.entity} {row.entity_id}" if row.entity_id else row.entity)
    return AlertRow(int(row.id), row.at, str(row.action).removeprefix("alert."), str(about), str(detail.get("detail", "")))


def alerts(conn: Connection, *, limit: int = 50) -> list[AlertRow]:
    """The newest alerts: those on channels and partners found by their index, the others
    among the latest audit events."""
    cols = (AuditEvent.id, AuditEvent.at, AuditEvent.action, AuditEvent.entity, AuditEvent.entity_id, AuditEvent.detail)
    alert = AuditEvent.action.like("alert.%")
    rows = list(conn.execute(
        select(*cols).where(AuditEvent.entity.in_(("channel", "partner")), AuditEvent.entity_id.is_(None), alert)
        .order_by(AuditEvent.id.desc()).limit(limit)
    ))
    newest = conn.execute(select(func.coalesce(func.max(AuditEvent.id), 0))).scalar_one()
    rows += conn.execute(
        select(*cols).where(AuditEvent.id > int(newest) - _ALERT_WINDOW, AuditEvent.entity_id.is_not(None), alert)
        .order_by(AuditEvent.id.desc()).limit(limit)
    )
    rows.sort(key=lambda r: r.id, reverse=True)
    return [_alert(r) for r in rows[:limit]]


def channel_syncs(conn: Connection) -> list[ChannelSyncRow]:
    """Every active marketplace and cart channel, by code, with its sync's pause."""
    rows = conn.execute(
        select(Channel.code, Channel.kind, SyncCursor.cursor, SyncCursor.window_end)
        .outerjoin(SyncCursor, SyncCursor.source == CURSOR_PREFIX + Channel.code)
        .where(Channel.kind.in_(("marketplace", "cart")), Channel.active.is_(True)).order_by(Channel.code)
    ).all()
    out = []
    for r in rows:
        state = SyncState.from_row(r.cursor, r.window_end) if r.cursor is not None or r.window_end else SyncState()
        out.append(ChannelSyncRow(r.code, r.kind, state.watermark, state.paused_until, state.pause_reason))
    return out
