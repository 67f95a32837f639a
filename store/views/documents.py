"""What the EDI screen reads: partners with their document counts, the documents in and out,
and one document in full.

Inbound documents are the `documents` rows (every payload as received: X12, CSV, API pages);
an X12 one names its partner through the interchanges it carried. Outbound EDI is the outbox
(`edi_997`, `edi_855`, ...: the text is the payload's `data`), joined to the outbound
`interchanges` row of the same partner and ISA13 for the partner's 997 status (`ack_status`).
A 997 or TA1 we send back names the inbound document it answers in its key
(`edi_997:<document>:<interchange index>`).

Lists show the newest `LIMIT` rows of a choice; the counts are of every row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, and_, exists, func, literal, or_, select

from ..errors import NotFound
from ..models import Channel, Document, DocumentError, Interchange, Order, OutboxMessage, TradingPartner
from .common import IN_CHUNK

__all__ = [
    "ACK_WAITING",
    "CHOICES",
    "EDI_KINDS",
    "LIMIT",
    "AckRow",
    "DocumentDetail",
    "DocumentRow",
    "ErrorRow",
    "InterchangeRow",
    "MessageDetail",
    "OriginOrder",
    "PartnerRow",
    "document_counts",
    "document_detail",
    "document_rows",
    "message_detail",
    "partner_rows",
    "x12_segments",
]

EDI_KINDS = ("edi_997", "edi_ta1", "edi_855", "edi_856", "edi_810", "edi_846", "edi_850")
# The filter choices, in the order the screen offers them.
CHOICES = ("all", "inbound", "outbound", "rejected", "awaiting_ack", "undelivered")
# Outbound interchanges whose 997 has not come: still expected, or late.
ACK_WAITING = ("pending_ack", "overdue")
_REJECTED_STATES = ("rejected",)  # as the Queue counts "EDI rejected"; partial ones are under Inbound
LIMIT = 500
_ORDERS_SHOWN = 20
_ACK_KEYS_PER_DOCUMENT = 4


@dataclass(frozen=True, slots=True)
class PartnerRow:
    code: str
    name: str
    active: bool
    inbound: int  # documents that carried an interchange from the partner
    rejected: int  # of those, rejected in whole or in part
    outbound: int  # EDI messages queued for the partner
    awaiting_ack: int  # outbound interchanges without the partner's 997 yet (or overdue)


@dataclass(frozen=True, slots=True)
class DocumentRow:
    """One line of the list: an inbound document (`direction` "in", `id` the document's) or
    an outbound EDI message ("out", `id` the outbox message's)."""

    direction: str
    id: int
    at: dt.datetime
    kind: str  # x12, csv, api_page, ... in; 997, 855, 856 ... out
    partner: str | None
    state: str  # received/accepted/partial/rejected in; pending/sending/sent/failed/dead out
    control: str | None  # ISA13 of the outbound interchange
    ack: str | None  # out: the partner's 997 status; in: our 997 (or TA1) answer's outbox state
    detail: str  # the source, or why it was rejected / not sent


@dataclass(frozen=True, slots=True)
class ErrorRow:
    position: int | None
    reason: str
    excerpt: str | None


@dataclass(frozen=True, slots=True)
class OriginOrder:
    id: int
    channel: str
    external_id: str
    status: str


@dataclass(frozen=True, slots=True)
class InterchangeRow:
    direction: str
    partner: str | None
    sender: str
    receiver: str
    control_number: str
    group_control: str | None
    ack_status: str | None
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class AckRow:
    """A 997 or TA1 we queued in answer to an inbound document."""

    message_id: int
    kind: str
    state: str
    summary: str | None
    sent_at: dt.datetime | None
    last_error: str | None


@dataclass(frozen=True, slots=True)
class DocumentDetail:
    id: int
    kind: str
    source: str
    state: str
    sha256: str
    size: int
    received_at: dt.datetime
    processed_at: dt.datetime | None
    reject_reason: str | None
    errors: tuple[ErrorRow, ...]
    orders: tuple[OriginOrder, ...]  # the first few orders taken in from it
    order_count: int
    interchanges: tuple[InterchangeRow, ...]
    acks: tuple[AckRow, ...]
    text: str  # the payload decoded (latin-1 for X12, else UTF-8 with replacements)


@dataclass(frozen=True, slots=True)
class MessageDetail:
    id: int
    kind: str
    target: str
    state: str
    attempts: int
    created_at: dt.datetime
    next_attempt_at: dt.datetime
    sent_at: dt.datetime | None
    last_error: str | None
    idempotency_key: str
    order: OriginOrder | None
    interchange: InterchangeRow | None
    answers_document: int | None  # a 997/TA1: the inbound document it answers
    text: str


# -- partners -----------------------------------------------------------------------------


def _pairs(result: Any) -> dict[Any, int]:
    return {key: int(n) for key, n in result}


def partner_rows(conn: Connection) -> list[PartnerRow]:
    """Every trading partner, by code, with its documents counted."""
    partners = conn.execute(
        select(TradingPartner.id, TradingPartner.code, TradingPartner.name, TradingPartner.active)
        .order_by(TradingPartner.code)
    ).all()
    ic = Interchange
    inbound = _pairs(conn.execute(
        select(ic.partner_id, func.count(func.distinct(ic.document_id)))
        .where(ic.direction == "in", ic.document_id.is_not(None)).group_by(ic.partner_id)
    ))
    rejected = _pairs(conn.execute(
        select(ic.partner_id, func.count(func.distinct(ic.document_id)))
        .join(Document, Document.id == ic.document_id)
        .where(ic.direction == "in", Document.state.in_(_REJECTED_STATES)).group_by(ic.partner_id)
    ))
    outbound = _pairs(conn.execute(
        select(OutboxMessage.target, func.count()).where(OutboxMessage.kind.in_(EDI_KINDS))
        .group_by(OutboxMessage.target)
    ))
    waiting = _pairs(conn.execute(
        select(ic.partner_id, func.count()).where(ic.direction == "out", ic.ack_status.in_(ACK_WAITING))
        .group_by(ic.partner_id)
    ))
    return [
        PartnerRow(p.code, p.name, bool(p.active), int(inbound.get(p.id, 0)), int(rejected.get(p.id, 0)),
                   int(outbound.get(p.code, 0)), int(waiting.get(p.id, 0)))
        for p in partners
    ]


def _partner_id(conn: Connection, code: str) -> int:
    pid = conn.execute(select(TradingPartner.id).where(TradingPartner.code == code)).scalar_one_or_none()
    if pid is None:
        raise NotFound(f"no trading partner {code!r}")
    return int(pid)


# -- the list -----------------------------------------------------------------------------


def _in_filter(choice: str, partner_id: int | None) -> ColumnElement[bool] | None:
    """Which documents `choice` shows (None: none of them)."""
    if choice not in ("all", "inbound", "rejected"):
        return None
    cond: ColumnElement[bool] = literal(True)
    if choice == "rejected":
        cond = Document.state.in_(_REJECTED_STATES)
    if partner_id is not None:
        cond = and_(cond, exists().where(
            Interchange.document_id == Document.id, Interchange.direction == "in", Interchange.partner_id == partner_id))
    return cond


def _out_join(stmt: Select[Any]) -> Select[Any]:
    """The message's partner and the outbound interchange it carries (same partner, ISA13)."""
    return stmt.outerjoin(TradingPartner, TradingPartner.code == OutboxMessage.target).outerjoin(
        Interchange,
        and_(Interchange.direction == "out", Interchange.partner_id == TradingPartner.id,
             Interchange.control_number == OutboxMessage.payload["interchange"].as_string()),
    )


def _out_filter(choice: str, partner: str | None) -> ColumnElement[bool] | None:
    if choice not in ("all", "outbound", "awaiting_ack", "undelivered"):
        return None
    cond: ColumnElement[bool] = OutboxMessage.kind.in_(EDI_KINDS)
    if choice == "awaiting_ack":
        cond = and_(cond, Interchange.ack_status.in_(ACK_WAITING))
    elif choice == "undelivered":
        cond = and_(cond, or_(OutboxMessage.state.in_(("failed", "dead")), Interchange.ack_status == "rejected"))
    if partner is not None:
        cond = and_(cond, OutboxMessage.target == partner)
    return cond


def document_counts(conn: Connection, partner: str | None = None) -> dict[str, int]:
    """How many rows each choice of `CHOICES` holds (of one partner, if given)."""
    pid = _partner_id(conn, partner) if partner is not None else None
    counts: dict[str, int] = {}
    for choice in CHOICES:
        if choice == "all":
            continue
        n = 0
        cond = _in_filter(choice, pid)
        if cond is not None:
            n += int(conn.execute(select(func.count()).select_from(Document).where(cond)).scalar_one())
        out = _out_filter(choice, partner)
        if out is not None:
            stmt = select(func.count()).select_from(OutboxMessage)
            if choice != "outbound":  # the plain count needs no join
                stmt = _out_join(stmt)
            n += int(conn.execute(stmt.where(out)).scalar_one())
        counts[choice] = n
    counts["all"] = counts["inbound"] + counts["outbound"]
    return counts


def document_rows(conn: Connection, choice: str, partner: str | None = None, *, limit: int = LIMIT) -> list[DocumentRow]:
    """The newest `limit` rows of `choice` (one of `CHOICES`), newest first."""
    if choice not in CHOICES:
        raise ValueError(f"choice {choice!r} is not one of {', '.join(CHOICES)}")
    pid = _partner_id(conn, partner) if partner is not None else None
    rows: list[DocumentRow] = []
    cond = _in_filter(choice, pid)
    if cond is not None:
        rows += _inbound(conn, cond, limit)
    out = _out_filter(choice, partner)
    if out is not None:
        rows += _outbound(conn, out, limit)
    rows.sort(key=lambda r: (r.at, r.direction == "out", r.id), reverse=True)
    return rows[:limit]


def _inbound(conn: Connection, cond: ColumnElement[bool], limit: int) -> list[DocumentRow]:
    partner = (
        select(TradingPartner.code).join(Interchange, Interchange.partner_id == TradingPartner.id)
        .where(Interchange.document_id == Document.id, Interchange.direction == "in")
        .order_by(Interchange.id).limit(1).scalar_subquery()
    )
    found = conn.execute(
        select(Document.id, Document.received_at, Document.kind, partner.label("partner"), Document.state,
               Document.reject_reason, Document.source)
        .where(cond).order_by(Document.id.desc()).limit(limit)
    ).all()
    answers = _answers(conn, [r.id for r in found if r.kind == "x12"])
    return [
        DocumentRow("in", int(r.id), r.received_at, r.kind, r.partner, r.state, None, answers.get(int(r.id)),
                    r.reject_reason or r.source)
        for r in found
    ]


def _answer_keys(document_id: int) -> list[str]:
    return [f"{kind}:{document_id}:{i}" for kind in ("edi_997", "edi_ta1") for i in range(_ACK_KEYS_PER_DOCUMENT)]


def _answers(conn: Connection, document_ids: Sequence[int]) -> dict[int, str]:
    """For each inbound document, how our 997/TA1 answer is doing: "997 sent", "TA1 dead" ..."""
    keys = [k for d in document_ids for k in _answer_keys(d)]
    found: dict[int, str] = {}
    for start in range(0, len(keys), IN_CHUNK):
        for key, kind, state in conn.execute(
            select(OutboxMessage.idempotency_key, OutboxMessage.kind, OutboxMessage.state)
            .where(OutboxMessage.idempotency_key.in_(keys[start:start + IN_CHUNK])).order_by(OutboxMessage.id)
        ):
            doc = int(str(key).split(":")[1])
            found.setdefault(doc, f"{str(kind).removeprefix('edi_').upper()} {state}")
    return found


def _outbound(conn: Connection, cond: ColumnElement[bool], limit: int) -> list[DocumentRow]:
    found = conn.execute(
        _out_join(select(
            OutboxMessage.id, OutboxMessage.created_at, OutboxMessage.kind, OutboxMessage.target,
            OutboxMessage.state, OutboxMessage.payload["interchange"].as_string().label("control"),
            Interchange.ack_status, OutboxMessage.last_error, OutboxMessage.idempotency_key,
        )).where(cond).order_by(OutboxMessage.id.desc()).limit(limit)
    ).all()
    return [
        DocumentRow("out", int(r.id), r.created_at, str(r.kind).removeprefix("edi_"), r.target, r.state, r.control,
                    r.ack_status, r.last_error or r.idempotency_key)
        for r in found
    ]


# -- one document -------------------------------------------------------------------------


def _interchanges(conn: Connection, *where: ColumnElement[bool]) -> tuple[InterchangeRow, ...]:
    rows = conn.execute(
        select(Interchange.direction, TradingPartner.code, Interchange.sender, Interchange.receiver,
               Interchange.control_number, Interchange.group_control, Interchange.ack_status, Interchange.created_at)
        .outerjoin(TradingPartner, TradingPartner.id == Interchange.partner_id)
        .where(*where).order_by(Interchange.id)
    ).all()
    return tuple(InterchangeRow(*r) for r in rows)


def _text(payload: bytes, kind: str) -> str:
    if kind == "x12":
        return payload.decode("latin-1")
    return payload.decode("utf-8", errors="replace")


def document_detail(conn: Connection, document_id: int) -> DocumentDetail:
    """One inbound document: what it is, what went wrong, what came of it, and its text."""
    doc = conn.execute(select(Document).where(Document.id == document_id)).first()
    if doc is None:
        raise NotFound(f"no document {document_id}")
    errors = conn.execute(
        select(DocumentError.position, DocumentError.reason, DocumentError.excerpt)
        .where(DocumentError.document_id == document_id).order_by(DocumentError.position, DocumentError.id)
    ).all()
    orders = conn.execute(
        select(Order.id, Channel.code, Order.external_id, Order.status).join(Channel, Channel.id == Order.channel_id)
        .where(Order.document_id == document_id).order_by(Order.id).limit(_ORDERS_SHOWN)
    ).all()
    order_count = len(orders)
    if order_count == _ORDERS_SHOWN:
        order_count = int(conn.execute(
            select(func.count()).select_from(Order).where(Order.document_id == document_id)).scalar_one())
    acks = conn.execute(
        select(OutboxMessage.id, OutboxMessage.kind, OutboxMessage.state, OutboxMessage.payload["summary"].as_string(),
               OutboxMessage.sent_at, OutboxMessage.last_error)
        .where(OutboxMessage.idempotency_key.in_(_answer_keys(document_id))).order_by(OutboxMessage.id)
    ).all()
    return DocumentDetail(
        id=int(doc.id), kind=doc.kind, source=doc.source, state=doc.state, sha256=doc.sha256, size=int(doc.size),
        received_at=doc.received_at, processed_at=doc.processed_at, reject_reason=doc.reject_reason,
        errors=tuple(ErrorRow(*e) for e in errors),
        orders=tuple(OriginOrder(int(o.id), o.code, o.external_id, o.status) for o in orders),
        order_count=order_count,
        interchanges=_interchanges(conn, Interchange.document_id == document_id),
        acks=tuple(AckRow(int(a[0]), str(a[1]).removeprefix("edi_").upper(), a[2], a[3], a[4], a[5]) for a in acks),
        text=_text(bytes(doc.payload), doc.kind),
    )


def message_detail(conn: Connection, message_id: int) -> MessageDetail:
    """One outbound EDI message: its delivery, its interchange's 997 status, and its text."""
    m = conn.execute(select(OutboxMessage).where(OutboxMessage.id == message_id)).first()
    if m is None:
        raise NotFound(f"no outbox message {message_id}")
    payload = dict(m.payload or {})
    order = None
    if m.order_id is not None:
        o = conn.execute(
            select(Order.id, Channel.code, Order.external_id, Order.status).join(Channel, Channel.id == Order.channel_id)
            .where(Order.id == m.order_id)
        ).first()
        order = OriginOrder(int(o.id), o.code, o.external_id, o.status) if o is not None else None
    interchange = None
    control = payload.get("interchange")
    if isinstance(control, str):
        found = _interchanges(
            conn, Interchange.direction == "out", Interchange.control_number == control,
            Interchange.partner_id == select(TradingPartner.id).where(TradingPartner.code == m.target).scalar_subquery(),
        )
        interchange = found[0] if found else None
    answers = None
    parts = str(m.idempotency_key).split(":")
    if m.kind in ("edi_997", "edi_ta1") and len(parts) == 3 and parts[1].isdigit():
        answers = int(parts[1])
    return MessageDetail(
        id=int(m.id), kind=str(m.kind).removeprefix("edi_"), target=m.target, state=m.state, attempts=int(m.attempts),
        created_at=m.created_at, next_attempt_at=m.next_attempt_at, sent_at=m.sent_at, last_error=m.last_error,
        idempotency_key=m.idempotency_key, order=order, interchange=interchange, answers_document=answers,
        text=str(payload.get("data", "")),
    )


# -- X12 as segments ----------------------------------------------------------------------


def x12_segments(text: str) -> list[list[str]] | None:
    """The segments of an X12 text, each as its elements (the tag first), with the delimiters
    read from its ISA (element separator after "ISA", terminator after ISA16); None when the
    text does not start with an ISA. Line breaks around segments are dropped."""
    body = text.lstrip("\ufeff\r\n\t ")
    if not body.startswith("ISA") or len(body) < 4:
        return None
    sep = body[3]
    # ISA has 16 elements: the terminator follows the component separator (ISA16).
    at = -1
    for _ in range(16):
        at = body.find(sep, at + 1)
        if at < 0:
            return None
    if at + 2 >= len(body):
        return None
    term = body[at + 2]
    segments = []
    for raw in body.split(term):
        seg = raw.strip("\r\n")
        if seg.strip():
            segments.append(seg.split(sep))
    return segments
