"""Inbound X12: raw bytes in the store first, then read, envelope checks, duplicate check,
pyx12 validation, 850 mapping and intake. The same path serves `oms edi ingest` and the
gateway's SFTP poller.

    bytes ──store_payload──> document (sha256)          a re-delivered file is a no-op
      └─ read ─> interchanges ─ envelope.check ─> findings (TA1/AK9/AK5 codes)
           └─ per interchange: partner by ISA sender, (sender, receiver, ISA13) seen before
              (in another document, or earlier in this one)?
                └─ per set: pyx12 findings, then by ST01:
                     850 → canonical order → store.ingest (and an 855 if the partner requires one,
                           also for an order already in: a crash may have come before its 855)
                     860 → order change → store.changes.apply_change (after the 850s of the file)
                     997 → the status of our own outbound group it answers
                └─ interchange recorded after its orders, so a crash in between
                   re-runs as "unchanged" instead of losing the orders; then the 997 (or, for
                   an interchange received before, a TA1 R 025 alone) goes to the outbox.
                   A document re-run after a crash finds its own interchanges recorded: they
                   are not duplicates, and are not answered again
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from store import ConfigError, Store, ingest
from store.catalog import PartnerRef, find_partner
from store.changes import apply_change
from store.control import apply_group_ack, record_interchange, take_control_numbers
from store.documents import FINAL_STATES, DocumentProblem, finish, store_payload
from store.journal import enqueue
from store.models import Interchange as InterchangeRow
from store.types import utcnow

from . import envelope
from .ack import Acknowledgment, acknowledge, read_997
from .errors import MappingError, ParseError
from .findings import Ack, Finding
from .outgoing import queue_855
from .po850 import MappedOrder, order_from_850
from .po860 import MappedChange, change_from_860
from .pyx12_validate import Pyx12InputError, SetReport, ValidationReport, validate
from .reader import interchange_texts, read
from .segments import Interchange, InterchangeKey, TransactionSet, Transmission

__all__ = ["SetOutcome", "InterchangeOutcome", "InboundResult", "receive_x12"]


@dataclass(frozen=True, slots=True)
class SetOutcome:
    group: str  # GS06
    control_number: str  # ST02
    set_id: str  # ST01
    status: str  # ingested | unchanged | changed | conflict | rejected | not_an_order | duplicate | acknowledgment
    external_id: str | None = None
    order_id: int | None = None
    reason: str | None = None


@dataclass
class InterchangeOutcome:
    index: int
    sender: str
    receiver: str
    control_number: str
    partner: str | None
    duplicate: bool = False
    findings: list[Finding] = field(default_factory=list)
    validation: ValidationReport | None = None
    sets: list[SetOutcome] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    ack: Acknowledgment | None = None  # the 997/TA1 queued in the outbox for the partner


@dataclass
class InboundResult:
    document_id: int
    state: str
    duplicate_document: bool = False
    interchanges: list[InterchangeOutcome] = field(default_factory=list)
    problems: list[DocumentProblem] = field(default_factory=list)
    transmission: Transmission | None = None


def _set_rejected(findings: list[Finding], ic: int, gi: int, si: int, report: ValidationReport | None) -> str | None:
    """Why a set is not taken in, or None if it may be. The 997 says the same: a set with AK5
    errors or in a group with AK9 errors is rejected; faults of the interchange alone (ISA/IEA)
    are answered TA1 E, accepted with errors, and its sound groups are taken in."""
    codes = envelope.ak5_codes(findings, ic, gi, si)
    if codes:
        return f"envelope errors (AK5 codes {', '.join(codes)})"
    faults = [f for f in envelope.errors(findings) if f.ack is Ack.AK9 and f.interchange == ic and f.group == gi]
    if faults:
        return f"the group envelope is unsound (AK9 {faults[0].code}: {faults[0].message})"
    if report is not None and gi < len(report.groups):
        group = report.groups[gi]
        if si < len(group.sets) and group.sets[si].ack_code == "R":
            return _explain(group.sets[si])
    return None


def _explain(report: SetReport) -> str:
    parts = [f"AK5 R {','.join(report.codes)}".strip(), *report.messages]
    for seg in report.segments[:3]:
        parts.append(f"{seg.segment_id} at {seg.position}: {'; '.join(seg.messages) or 'AK3 ' + ','.join(seg.codes)}")
    return "; ".join(parts)


def _apply_997(store: Store, partner: PartnerRef, gs06: str, ts: TransactionSet) -> SetOutcome:
    """A partner's 997: the status of each of our groups it answers goes onto our outbound
    interchange (accepted, accepted_with_errors, rejected)."""
    try:
        acks = read_997(ts)
    except MappingError as exc:
        return SetOutcome(gs06, ts.control_number, "997", "rejected", reason=str(exc))
    said = []
    with store.write() as conn:
        for ack in acks:
            found = apply_group_ack(conn, partner.id, ack.control_number, ack.status.value)
            said.append(f"our {ack.functional_id} group {ack.control_number}: {ack.status.value}"
                        + ("" if found else " (no such group sent to this partner)"))
    return SetOutcome(gs06, ts.control_number, "997", "acknowledgment", reason="; ".join(said))


def receive_x12(
    store: Store, payload: bytes, *, source: str, partner: str | None = None, actor: str = "edi"
) -> InboundResult:
    """Take one inbound file. Never raises for bad content: problems are recorded on the
    stored document (its state says accepted, partial or rejected) and returned."""
    doc = store_payload(store, payload, kind="x12", source=source, actor=actor)
    if not doc.new and doc.state in FINAL_STATES:
        return InboundResult(doc.id, doc.state, duplicate_document=True)
    result = InboundResult(doc.id, "received")
    try:
        tm = read(payload)
    except ParseError as exc:
        result.problems.append(DocumentProblem(None, f"not readable as X12: {exc}"))
        result.state = finish(store, doc.id, problems=result.problems, accepted=0, actor=actor)
        return result
    result.transmission = tm
    findings = envelope.check(tm)
    for f in findings:
        if f.interchange is None:
            result.problems.append(DocumentProblem(f.segment_index or None, f.message))
    accepted = 0
    handled: set[InterchangeKey] = set()  # interchange keys taken in by this run
    for i, (ic, text) in enumerate(zip(tm.interchanges, interchange_texts(payload, tm))):
        outcome = _interchange(store, i, ic, text, [f for f in findings if f.interchange == i], partner, doc.id, actor,
                               handled)
        result.interchanges.append(outcome)
        for s in outcome.sets:
            if s.status in ("ingested", "unchanged", "changed", "conflict", "acknowledgment", "not_an_order"):
                accepted += 1
            elif s.status in ("rejected", "duplicate"):
                result.problems.append(DocumentProblem(None, f"ST {s.set_id} {s.control_number}: {s.reason}"))
        result.problems += [DocumentProblem(None, n) for n in outcome.notes]
    result.state = finish(store, doc.id, problems=result.problems, accepted=accepted, actor=actor)
    return result


def _interchange(
    store: Store, i: int, ic: Interchange, text: str, findings: list[Finding], partner_code: str | None,
    document_id: int, actor: str, handled: set[InterchangeKey],
) -> InterchangeOutcome:
    sender, receiver, isa13 = ic.key
    out = InterchangeOutcome(i, sender, receiver, isa13, None, findings=findings)
    with store.read() as conn:
        partner: PartnerRef | None = (
            find_partner(conn, code=partner_code) if partner_code
            else find_partner(conn, isa_qualifier=ic.sender_qualifier, isa_id=ic.sender_id)
        )
        seen = conn.execute(
            select(InterchangeRow.document_id).where(
                InterchangeRow.direction == "in", InterchangeRow.sender == sender,
                InterchangeRow.receiver == receiver, InterchangeRow.control_number == isa13,
            )
        ).first()
    if partner is None:
        who = partner_code or f"ISA sender {ic.sender_qualifier}/{ic.sender_id}"
        out.notes.append(f"interchange {isa13}: no trading partner for {who}; nothing taken in (add the partner, then re-run)")
        return out
    out.partner = partner.code
    # This document's own row is left by a crash before finish(): a re-run, not a duplicate
    # (record_interchange below then says "seen" and nothing is answered twice).
    if seen is not None and (seen[0] != document_id or ic.key in handled):
        out.duplicate = True
        for g in ic.groups:
            for ts in g.sets:
                out.sets.append(SetOutcome(g.control_number, ts.control_number, ts.id, "duplicate",
                                           reason=f"interchange {isa13} from {sender} was received before (document {seen[0]})"))
        with store.write() as conn:
            ack = acknowledge(ic, findings, None, interchange_index=i, now=utcnow(), duplicate=True,
                              numbers=lambda kind, n: take_control_numbers(conn, partner.id, kind, n))
            enqueue(conn, "edi_ta1", partner.code, f"edi_ta1:{document_id}:{i}",
                    {"data": ack.data.decode("latin-1"), "answers": isa13, "summary": ack.summary})
        out.ack = ack
        return out
    handled.add(ic.key)
    try:
        out.validation = validate(text)
    except Pyx12InputError as exc:
        out.notes.append(f"interchange {isa13}: not validated: {exc}")

    mapped: list[tuple[str, str, MappedOrder]] = []
    changes: list[tuple[str, str, MappedChange]] = []
    for gi, g in enumerate(ic.groups):
        for si, ts in enumerate(g.sets):
            reason = _set_rejected(findings, i, gi, si, out.validation)
            if reason is None and ts.id == "997":
                out.sets.append(_apply_997(store, partner, g.control_number, ts))
                continue
            if reason is None and ts.id not in ("850", "860"):
                out.sets.append(SetOutcome(g.control_number, ts.control_number, ts.id, "not_an_order"))
                continue
            if reason is None:
                try:
                    if ts.id == "850":
                        mapped.append((g.control_number, ts.control_number,
                                       order_from_850(ts, g, channel=partner.code, currency=partner.currency)))
                    else:
                        changes.append((g.control_number, ts.control_number,
                                        change_from_860(ts, channel=partner.code, currency=partner.currency)))
                    continue
                except MappingError as exc:
                    reason = str(exc)
            out.sets.append(SetOutcome(g.control_number, ts.control_number, ts.id, "rejected", reason=reason))
    if mapped:
        report = ingest(store, [m.order for _, _, m in mapped], actor=actor, document_id=document_id)
        for (gs06, st02, m), o in zip(mapped, report.outcomes):
            status = {"created": "ingested", "updated": "ingested", "unchanged": "unchanged"}.get(o.action, "rejected")
            out.sets.append(SetOutcome(gs06, st02, "850", status, m.order.external_id, o.order_id, o.reason))
            out.notes += [f"PO {m.order.external_id}: {n}" for n in m.notes]
            # "unchanged" too: a crash between the intake and the 855 re-runs as unchanged, and
            # an 855 already queued for this order version makes the call a no-op.
            if o.action in ("created", "unchanged") and o.order_id is not None and partner.config.get("require_855"):
                queued = queue_855(store, o.order_id, actor=actor)
                if queued.status not in ("queued", "already_queued"):
                    out.notes.append(f"PO {m.order.external_id}: 855 not queued ({queued.status}): {'; '.join(queued.reasons)}")
    for gs06, st02, c in changes:
        done = apply_change(store, c.change, actor=actor, document_id=document_id)
        status = {"applied": "changed", "conflict": "conflict"}.get(done.status, "rejected")
        why = done.reason or "; ".join(done.done)
        out.sets.append(SetOutcome(gs06, st02, "860", status, c.change.external_id, done.order_id, why))
        out.notes += [f"PO {c.change.external_id}: {n}" for n in c.notes]
        if done.status == "conflict":
            out.notes.append(f"PO {c.change.external_id}: 860 {st02} waits for an operator: {done.reason}")
    for f in envelope.errors(findings):
        if f.ack is Ack.TA1 and f.interchange == i:
            out.notes.append(f"interchange {isa13}: {f.message} (answered TA1 E; its sound groups were taken in)")
    # Never acknowledge acknowledgments; a partner that takes no 997s gets one only if it asked.
    # A faulty envelope is still answered by a TA1 alone.
    try:
        takes_997 = partner.sends("997")
    except ConfigError as exc:
        out.notes.append(f"interchange {isa13}: no 997 sent: {exc}")
        takes_997 = False
    answer_997 = not all(g.functional_id == "FA" for g in ic.groups) and takes_997
    ta1_only = not answer_997 and envelope.needs_ta1(ic, findings, i)
    with store.write() as conn:
        new = record_interchange(conn, direction="in", sender=sender, receiver=receiver, control_number=isa13,
                                 document_id=document_id, partner_id=partner.id)
        if new is not None and (answer_997 or ta1_only):
            ack = acknowledge(
                ic, findings, out.validation, interchange_index=i, now=utcnow(), answer_groups=answer_997,
                numbers=lambda kind, n: take_control_numbers(conn, partner.id, kind, n),
            )
            kind = "edi_997" if answer_997 else "edi_ta1"
            enqueue(conn, kind, partner.code, f"{kind}:{document_id}:{i}",
                    {"data": ack.data.decode("latin-1"), "answers": isa13, "summary": ack.summary})
            out.ack = ack
    return out
