"""Raw payloads, stored content-addressed before anything parses them (invariant 2)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, delete, insert, select, update

from .db import Store
from .errors import NotFound
from .journal import audit
from .models import Document, DocumentError
from .types import utcnow

__all__ = ["StoredDocument", "DocumentProblem", "store_payload", "finish", "errors_of", "FINAL_STATES"]

FINAL_STATES = ("accepted", "partial", "rejected")


@dataclass(frozen=True, slots=True)
class StoredDocument:
    id: int
    sha256: str
    state: str
    new: bool  # False: these exact bytes were stored before (a re-delivery)


@dataclass(frozen=True, slots=True)
class DocumentProblem:
    position: int | None
    reason: str
    excerpt: str | None = None


def store_payload(store: Store, payload: bytes, *, kind: str, source: str, actor: str = "intake") -> StoredDocument:
    """Commit the bytes (once per sha256) and return where they are. Call before parsing."""
    digest = hashlib.sha256(payload).hexdigest()

    def _do(conn: Connection) -> StoredDocument:
        row = conn.execute(select(Document.id, Document.state).where(Document.sha256 == digest)).first()
        if row is not None:
            return StoredDocument(row.id, digest, row.state, new=False)
        doc_id = conn.execute(
            insert(Document)
            .values(sha256=digest, kind=kind, source=source[:500], size=len(payload), payload=payload,
                    state="received", received_at=utcnow())
            .returning(Document.id)
        ).scalar_one()
        audit(conn, actor, "document", doc_id, "document.received", {"kind": kind, "source": source, "size": len(payload)})
        return StoredDocument(int(doc_id), digest, "received", new=True)

    return store.run(_do)


def finish(
    store: Store,
    doc_id: int,
    *,
    problems: Sequence[DocumentProblem] = (),
    accepted: int,
    actor: str = "intake",
) -> str:
    """Record what parsing found; the state follows: accepted, partial or rejected."""
    state = "accepted" if not problems else ("partial" if accepted else "rejected")
    reason = None
    if problems:
        shown = "; ".join(
            (f"line {p.position}: " if p.position is not None else "") + p.reason for p in problems[:5]
        )
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        reason = f"{len(problems)} rejected: {shown}{more}"

    def _do(conn: Connection) -> str:
        conn.execute(delete(DocumentError).where(DocumentError.document_id == doc_id))
        if problems:
            conn.execute(
                insert(DocumentError),
                [{"document_id": doc_id, "position": p.position, "reason": p.reason,
                  "excerpt": (p.excerpt or "")[:500] or None} for p in problems],
            )
        result = conn.execute(
            update(Document).where(Document.id == doc_id).values(state=state, reject_reason=reason, processed_at=utcnow())
        )
        if result.rowcount != 1:
            raise NotFound(f"no document {doc_id}")
        audit(conn, actor, "document", doc_id, f"document.{state}", {"accepted": accepted, "rejected": len(problems)})
        return state

    return store.run(_do)


def errors_of(conn: Connection, doc_id: int) -> list[DocumentProblem]:
    rows = conn.execute(
        select(DocumentError.position, DocumentError.reason, DocumentError.excerpt)
        .where(DocumentError.document_id == doc_id)
        .order_by(DocumentError.position, DocumentError.id)
    ).all()
    return [DocumentProblem(*r) for r in rows]
