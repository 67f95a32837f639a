"""The outbox dispatcher: EDI documents to partners' mailboxes, exactly once at the receiver.

    dispatch_edi(store, specs)       claim edi_* rows → upload "<set>_<ISA13>.x12" → sent | failed
    edi_for_shipments(store, codes)  shipment_confirm rows of EDI orders → 856 and 810 rows
    edi_for_dropship(store, codes)   dropship_po rows (a PO to an EDI vendor) → 850 rows

The file name is fixed by the interchange's control number, and an upload of a name that
already holds the same bytes is a no-op, so a dispatcher that dies between the upload and
marking the row sent re-sends harmlessly. Rows for partners without a mailbox wait. An 850
uploaded marks its dropship PO sent in the same transaction as its outbox row; an 850 built
before its order was put on hold waits (failed, tried again) until the hold ends.

One row that cannot be turned into its document (its order or shipment gone, a store or EDI
error) is marked failed with the reason (retried with backoff, dead after the outbox's
attempts) and logged; the rows after it are still turned. A dropship PO whose order is on hold
is put back with the reason that it waits for the hold (tried again later, for weeks);
one that is cancelled, or whose vendor takes no EDI, stops (dead) at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field

from connectors.errors import MailboxError
from connectors.mailbox import Mailbox
from edi_maps.errors import EdiError, MappingError
from edi_maps.outgoing import HeldOrder, queue_810, queue_850, queue_855, queue_856
from store import Store
from store.dropship import DROPSHIP_PO, mark_sent, waits_for_hold
from store.errors import NotFound, StoreError
from store.outbox import Claimed, claim, failed, sent

from .partners import alert, open_mailbox
from .settings import MailboxSpec

__all__ = ["EDI_KINDS", "DispatchReport", "dispatch_edi", "file_name", "edi_for_cancellations", "edi_for_dropship",
           "edi_for_shipments"]

EDI_KINDS = ("edi_997", "edi_ta1", "edi_855", "edi_856", "edi_810", "edi_846", "edi_850")
log = logging.getLogger("oms.gateway.dispatch")
# A held order's PO is tried again until the hold ends (at most an hour apart, the outbox's
# backoff cap), for some 40 days; only then is its row dead (`oms dropship send` queues it).
_HELD_ATTEMPTS = 1_000
# What one row's turning can raise that is about that row: the store or the EDI mapping
# refusing it, or a payload without what it should hold.
_ROW_ERRORS = (EdiError, StoreError, KeyError, TypeError, ValueError)


@dataclass
class DispatchReport:
    sent: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def file_name(msg: Claimed) -> str:
    """`997_000000012.x12`: the set and our ISA13, unique per partner (control numbers never repeat)."""
    data = str(msg.payload.get("data", ""))
    isa13 = data[90:99] if data.startswith("ISA") and len(data) >= 99 and data[90:99].isdigit() else f"m{msg.id}"
    return f"{msg.kind.removeprefix('edi_')}_{isa13}.x12"


def dispatch_edi(
    store: Store, specs: Mapping[str, MailboxSpec], *, opener: Callable[[MailboxSpec], Mailbox] = open_mailbox,
    limit: int = 50, holder: str | None = None, reclaim_from: Collection[str] = (),
) -> DispatchReport:
    """Deliver what is due for the partners in `specs`; one connection per partner per pass.
    Rows a dead dispatcher (`reclaim_from`) was sending are sent again (same file name: no-op
    when it got there)."""
    report = DispatchReport()
    batch = claim(store, kinds=EDI_KINDS, targets=list(specs), limit=limit, holder=holder, reclaim_from=reclaim_from)
    by_partner: dict[str, list[Claimed]] = {}
    for msg in batch:
        by_partner.setdefault(msg.target, []).append(msg)
    for partner, msgs in by_partner.items():
        spec = specs[partner]
        try:
            with opener(spec) as box:
                for msg in msgs:
                    if msg.kind == "edi_850" and (held := _held(store, msg)) is not None:
                        failed(store, msg.id, held, max_attempts=_HELD_ATTEMPTS)  # built before the hold
                        log.info("850 waits for a hold", extra={"worker": "dispatcher", "partner": partner,
                                                                "file": file_name(msg), "error": held})
                        continue
                    box.upload(file_name(msg), str(msg.payload["data"]).encode("latin-1"))
                    if msg.kind == "edi_850":  # the dropship PO reached its vendor
                        mark_sent(store, int(msg.payload["dropship_id"]), actor="gateway", outbox_id=msg.id)
                    else:
                        sent(store, msg.id)
                    report.sent += 1
                    log.info("sent", extra={"worker": "dispatcher", "partner": partner, "file": file_name(msg)})
        except MailboxError as exc:
            for msg in msgs:
                state = failed(store, msg.id, f"{type(exc).__name__}: {exc}")
                if state in ("failed", "dead"):  # those sent before the connection dropped stay sent
                    report.failed += 1
                    log.warning("not sent", extra={"worker": "dispatcher", "partner": partner, "state": state,
                                                   "error": str(exc)})
            report.errors.append(f"{partner}: {exc}")
    return report



def edi_for_shipments(store: Store, partners: list[str], *, limit: int = 50, holder: str | None = None,
                      reclaim_from: Collection[str] = ()) -> int:
    """A shipment of an EDI partner's order (its `shipment_confirm` outbox row) becomes an 856
    ship notice and an 810 invoice in the outbox. Returns how many shipments were turned."""
    done = 0
    for msg in claim(store, kinds=["shipment_confirm"], targets=partners, limit=limit, holder=holder,
                     reclaim_from=reclaim_from):
        try:
            shipment = int(msg.payload["shipment_id"])
            results = [queue_856(store, shipment, actor="gateway"), queue_810(store, shipment, actor="gateway")]
        except _ROW_ERRORS as exc:
            _row_failed(store, msg, exc)
            continue
        # invalid: the order went to the edi_invalid queue (an operator fixes it and re-queues);
        # not_exchanged: the partner takes neither. Either way this row's work is done.
        sent(store, msg.id)
        done += 1
        for r in results:
            if r.status == "invalid":
                log.warning("document not sent", extra={"worker": "dispatcher", "partner": msg.target, "key": r.key,
                                                        "error": "; ".join(r.reasons)})
    return done


def edi_for_cancellations(store: Store, partners: list[str], *, limit: int = 50, holder: str | None = None,
                          reclaim_from: Collection[str] = ()) -> int:
    """A cancellation on an EDI partner's order (its `order_cancel` outbox row) becomes an 855
    showing the order as it now is (the cancelled lines IR, or IQ with what is left), for a
    partner that takes 855s. Returns how many cancellations were turned."""
    done = 0
    for msg in claim(store, kinds=["order_cancel"], targets=partners, limit=limit, holder=holder,
                     reclaim_from=reclaim_from):
        try:
            result = queue_855(store, int(msg.payload["order_id"]), actor="gateway", occasion=msg.idempotency_key)
        except _ROW_ERRORS as exc:
            _row_failed(store, msg, exc)
            continue
        # not_exchanged: the partner takes no 855; invalid: the order went to edi_invalid. Done either way.
        sent(store, msg.id)
        done += 1
        if result.status == "invalid":
            log.warning("document not sent", extra={"worker": "dispatcher", "partner": msg.target, "key": result.key,
                                                    "error": "; ".join(result.reasons)})
    return done


def edi_for_dropship(store: Store, partners: list[str], *, limit: int = 50, holder: str | None = None,
                     reclaim_from: Collection[str] = ()) -> int:
    """A dropship PO to a vendor that is an EDI partner (its `dropship_po` outbox row) becomes an
    850 in the outbox. Returns how many POs were turned into an 850 or refused."""
    done = 0
    for msg in claim(store, kinds=[DROPSHIP_PO], targets=partners, limit=limit, holder=holder,
                     reclaim_from=reclaim_from):
        number = str(msg.payload.get("number", msg.payload.get("dropship_id")))
        try:
            r = queue_850(store, int(msg.payload["dropship_id"]), actor="gateway")
        except HeldOrder as exc:  # not now: the row comes back after the retry delay
            state = failed(store, msg.id, str(exc), max_attempts=_HELD_ATTEMPTS)
            log.info("dropship PO waits for a hold", extra={"worker": "dispatcher", "partner": msg.target,
                                                            "po": number, "state": state, "error": str(exc)})
            continue
        except (MappingError, NotFound) as exc:
            # Cancelled since, or its location no longer names an EDI vendor: nothing to build;
            # the row stops (dead, with the reason) for an operator to see.
            failed(store, msg.id, str(exc), max_attempts=msg.attempts)
            log.warning("dropship PO not sent", extra={"worker": "dispatcher", "partner": msg.target, "po": number,
                                                       "error": str(exc)})
            continue
        except _ROW_ERRORS as exc:
            _row_failed(store, msg, exc)
            continue
        sent(store, msg.id)
        done += 1
        if r.status == "invalid":  # the order is in the edi_invalid queue with the reasons
            log.warning("document not sent", extra={"worker": "dispatcher", "partner": msg.target, "key": r.key,
                                                    "error": "; ".join(r.reasons)})
        elif r.status == "not_exchanged":  # the PO stays open: an operator sends it another way
            alert(store, msg.target, "850_not_exchanged", f"dropship PO {number} stays open: {r.reasons[0]}")
            log.warning("dropship PO not sent", extra={"worker": "dispatcher", "partner": msg.target, "po": number,
                                                       "error": r.reasons[0]})
    return done


def _held(store: Store, msg: Claimed) -> str | None:
    """Why an 850 must wait (its order is on hold), or None."""
    with store.read() as conn:
        return waits_for_hold(conn, int(msg.payload["dropship_id"]))


def _row_failed(store: Store, msg: Claimed, exc: Exception) -> None:
    """One row could not be turned: it fails with the reason (retried later, dead after the
    outbox's attempts), and the pass goes on with the next row."""
    state = failed(store, msg.id, f"{type(exc).__name__}: {exc}")
    log.warning("row not turned", extra={"worker": "dispatcher", "partner": msg.target, "kind": msg.kind,
                                         "key": msg.idempotency_key, "state": state, "error": str(exc)})
