"""X12 control numbers and inbound interchange uniqueness (invariants 3 and 6).

Outbound ISA13, GS06 and ST02 come from one counter row per partner and kind, taken by an
atomic UPDATE ... RETURNING, never from the clock: two writers can never get the same
number, on SQLite or PostgreSQL. Inbound interchanges are unique on (sender, receiver,
ISA13); a second delivery is recognised before anything is parsed into orders.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, update

from .bulk import upsert_insert
from .db import Store
from .errors import StoreError
from .models import ControlNumber, Interchange
from .types import utcnow

__all__ = ["KINDS", "MAX_VALUE", "take_control_numbers", "record_interchange", "apply_group_ack", "mark_overdue"]

KINDS = ("isa", "gs", "st")
# ISA13 and GS06 are at most 9 digits; ST02 too (AN 4-9). After the largest, numbers wrap to 1.
MAX_VALUE = 999_999_999


def take_control_numbers(conn: Connection, partner_id: int, kind: str, count: int = 1) -> list[int]:
    """The next `count` control numbers of `kind` for a partner, in the caller's transaction.

    They are never handed out twice (until the counter wraps past 999,999,999); a rolled-back
    transaction gives its numbers back, which X12 allows as long as none was sent.
    """
    if kind not in KINDS:
        raise StoreError(f"control number kind {kind!r} is not one of {', '.join(KINDS)}")
    if count < 1:
        raise StoreError("take at least one control number")
    conn.execute(
        upsert_insert(conn, ControlNumber)
        .values(partner_id=partner_id, kind=kind, next_value=1)
        .on_conflict_do_nothing(index_elements=["partner_id", "kind"])
    )
    after = conn.execute(
        update(ControlNumber)
        .where(ControlNumber.partner_id == partner_id, ControlNumber.kind == kind)
        .values(next_value=ControlNumber.next_value + count)
        .returning(ControlNumber.next_value)
    ).scalar_one()
    first = int(after) - count
    if first + count - 1 <= MAX_VALUE:
        return list(range(first, first + count))
    # Past the largest number: start again at 1 (we hold the row lock, so this is safe).
    conn.execute(
        update(ControlNumber)
        .where(ControlNumber.partner_id == partner_id, ControlNumber.kind == kind)
        .values(next_value=count + 1)
    )
    return list(range(1, count + 1))


def record_interchange(
    conn: Connection,
    *,
    direction: str,
    sender: str,
    receiver: str,
    control_number: str,
    document_id: int | None = None,
    partner_id: int | None = None,
    ack_status: str | None = None,
    group_control: str | None = None,
) -> int | None:
    """Remember an interchange; returns its id, or None if (direction, sender, receiver,
    ISA13) was seen before: a duplicate delivery."""
    if direction not in ("in", "out"):
        raise StoreError(f"direction must be 'in' or 'out', got {direction!r}")
    stmt = (
        upsert_insert(conn, Interchange)
        .values(
            direction=direction, sender=sender, receiver=receiver, control_number=control_number,
            document_id=document_id, partner_id=partner_id, ack_status=ack_status, created_at=utcnow(),
            group_control=group_control,
        )
        .on_conflict_do_nothing(index_elements=["direction", "sender", "receiver", "control_number"])
        .returning(Interchange.id)
    )
    new = conn.execute(stmt).scalar_one_or_none()
    return int(new) if new is not None else None



def apply_group_ack(conn: Connection, partner_id: int, group_control: str, status: str) -> int:
    """A partner's 997 answered our group GS06 = `group_control`: set the status of the
    outbound interchange that carried it. Returns how many were updated (0: unknown group)."""
    key = str(int(group_control)) if group_control.strip().isdigit() else group_control.strip()
    result = conn.execute(
        update(Interchange)
        .where(Interchange.partner_id == partner_id, Interchange.direction == "out", Interchange.group_control == key)
        .values(ack_status=status)
    )
    return int(result.rowcount or 0)


def mark_overdue(store: Store, *, older_than: dt.timedelta) -> int:
    """Outbound interchanges still waiting for a 997 after `older_than` become `overdue`."""
    cutoff = utcnow() - older_than

    def _do(conn: Connection) -> int:
        result = conn.execute(
            update(Interchange)
            .where(Interchange.direction == "out", Interchange.ack_status == "pending_ack", Interchange.created_at < cutoff)
            .values(ack_status="overdue")
        )
        return int(result.rowcount or 0)

    return store.run(_do)
