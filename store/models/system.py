"""Plumbing shared by every worker: raw documents, outbox, control numbers, cursors,
audit events, heartbeats and leases."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..types import BigID, UTCDateTime, utcnow
from .base import Base, JSONType

__all__ = [
    "Document",
    "DocumentError",
    "Interchange",
    "OutboxMessage",
    "ControlNumber",
    "SyncCursor",
    "AuditEvent",
    "Heartbeat",
    "Lease",
    "Counter",
]


class Document(Base):
    """An inbound payload exactly as received, stored before it is parsed (invariant 2)."""

    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(32))  # jsonl, x12, csv, api_page, webhook
    source: Mapped[str] = mapped_column(String(500))
    size: Mapped[int] = mapped_column(Integer)
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    # received -> accepted | partial | rejected
    state: Mapped[str] = mapped_column(String(12), default="received")
    reject_reason: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_documents_state", "state"),)


class DocumentError(Base):
    """One problem found in a document, where it is (line or segment number) and why."""

    __tablename__ = "document_errors"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    position: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    excerpt: Mapped[str | None] = mapped_column(String(500))


class Interchange(Base):
    """An X12 interchange in or out; inbound ones are unique on (sender, receiver, ISA13)."""

    __tablename__ = "interchanges"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    direction: Mapped[str] = mapped_column(String(3))  # in | out
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("trading_partners.id"))
    sender: Mapped[str] = mapped_column(String(18))
    receiver: Mapped[str] = mapped_column(String(18))
    control_number: Mapped[str] = mapped_column(String(9))
    # GS06 of the (one) group we sent in it, as a plain number: what a partner's 997 names in AK102.
    group_control: Mapped[str | None] = mapped_column(String(9))
    # pending_ack -> accepted | accepted_with_errors | rejected | overdue
    ack_status: Mapped[str | None] = mapped_column(String(24))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("direction", "sender", "receiver", "control_number"),
        Index("ix_interchanges_partner_group", "partner_id", "direction", "group_control"),
        Index("ix_interchanges_document_id", "document_id"),
    )


class OutboxMessage(Base):
    """Outbound work written in the same transaction as the change that caused it."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # order_ack, edi_997, edi_856, stock_push, ...
    target: Mapped[str] = mapped_column(String(64))  # channel or partner code
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    # pending -> sending -> sent | failed (retrying) | dead
    state: Mapped[str] = mapped_column(String(8), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(128))  # the dispatcher sending it ("host:pid")

    __table_args__ = (
        Index("ix_outbox_state_next", "state", "next_attempt_at"),
        Index("ix_outbox_order_id", "order_id"),
    )


class ControlNumber(Base):
    """The next outbound ISA13/GS06/ST02 per partner, allocated here, never from the clock."""

    __tablename__ = "control_numbers"

    partner_id: Mapped[int] = mapped_column(ForeignKey("trading_partners.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)  # isa | gs | st
    next_value: Mapped[int] = mapped_column(BigInteger, default=1)


class SyncCursor(Base):
    """Where a poller got to: committed with each page it ingests."""

    __tablename__ = "sync_cursors"

    source: Mapped[str] = mapped_column(String(128), primary_key=True)
    cursor: Mapped[str | None] = mapped_column(Text)
    window_end: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuditEvent(Base):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(24))  # order, stock, document, sku, ...
    entity_id: Mapped[int | None] = mapped_column(BigInteger)
    action: Mapped[str] = mapped_column(String(48))
    detail: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)

    __table_args__ = (Index("ix_audit_events_entity", "entity", "entity_id"),)


class Heartbeat(Base):
    __tablename__ = "heartbeats"

    worker: Mapped[str] = mapped_column(String(128), primary_key=True)
    host: Mapped[str] = mapped_column(String(128))
    pid: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str | None] = mapped_column(Text)
    beat_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Lease(Base):
    """One holder at a time polls a partner or channel, across gateway processes."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class Counter(Base):
    """Numbers we hand out ourselves: SSCC serials, RMA and dropship PO numbers."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    next_value: Mapped[int] = mapped_column(BigInteger, default=1)
