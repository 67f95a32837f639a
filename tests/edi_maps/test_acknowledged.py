"""Our outbound documents learn what the partner's 997 said about them, or that it is late."""

from __future__ import annotations

import datetime as dt
import itertools

from sqlalchemy import select, update

from edi_maps import check, read
from edi_maps.ack import acknowledge
from edi_maps.inbound import receive_x12
from edi_maps.outgoing import queue_855
from store import Store
from store.control import mark_overdue
from store.models import Interchange
from tests.edi_maps.test_outgoing import _order, _outbox, acme  # noqa: F401  (fixture)


def _out_status(store: Store) -> list[str | None]:
    with store.read() as conn:
        return list(conn.execute(
            select(Interchange.ack_status).where(Interchange.direction == "out").order_by(Interchange.id)).scalars())


_PARTNER_NUMBERS = itertools.count(500)


def _partner_997(data: str, *, reject: bool = False) -> bytes:
    """The 997 the partner sends back for one of our documents (built as they would)."""
    if reject:  # they count one segment fewer than we wrote
        data = data.replace("SE*", "SE*1", 1)
    tm = read(data.encode("latin-1"))
    ic = tm.interchanges[0]

    def numbers(kind: str, n: int) -> list[int]:  # the partner's own counters
        return [next(_PARTNER_NUMBERS) for _ in range(n)]

    return acknowledge(ic, check(tm), None, interchange_index=0, numbers=numbers,
                       now=dt.datetime(2026, 1, 11, tzinfo=dt.UTC)).data


def test_a_partners_997_marks_our_855_accepted_or_rejected(acme: Store) -> None:  # noqa: F811
    queue_855(acme, _order(acme, "PO-1", ("SKU1", 1)))
    queue_855(acme, _order(acme, "PO-2", ("SKU1", 1)))
    first, second = (str(p["data"]) for p in _outbox(acme, "edi_855"))
    assert _out_status(acme) == ["pending_ack", "pending_ack"]

    result = receive_x12(acme, _partner_997(first), source="sftp://acme/in/997-1")
    assert [s.status for ic in result.interchanges for s in ic.sets] == ["acknowledgment"]
    assert _out_status(acme) == ["accepted", "pending_ack"]
    receive_x12(acme, _partner_997(second, reject=True), source="sftp://acme/in/997-2")
    assert _out_status(acme) == ["accepted", "rejected"]
    # A 997 is never answered with a 997.
    assert _outbox(acme, "edi_997") == []


def test_documents_without_a_997_in_time_become_overdue(acme: Store) -> None:  # noqa: F811
    queue_855(acme, _order(acme, "PO-3", ("SKU1", 1)))
    assert mark_overdue(acme, older_than=dt.timedelta(hours=24)) == 0
    with acme.write() as conn:
        conn.execute(update(Interchange).values(created_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=25)))
    assert mark_overdue(acme, older_than=dt.timedelta(hours=24)) == 1
    assert _out_status(acme) == ["overdue"]
