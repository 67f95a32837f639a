"""Leases: one holder at a time works a partner, folder or channel, across gateway processes.

    if acquire(store, "sftp:acme", holder="host-a:1234", seconds=60):
        ...poll acme...; renew with acquire() again; release(store, "sftp:acme", holder) at exit

Taking a lease is one conditional upsert: it succeeds when nobody holds the name, when the
caller already holds it (a renewal), or when the holder's lease has expired (a gateway that
died). Two processes racing for a free lease: the database lets exactly one win.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, delete, or_, select

from .bulk import upsert_insert
from .db import Store
from .models import Lease
from .types import utcnow

__all__ = ["acquire", "release", "holder_of"]


def acquire(store: Store, name: str, holder: str, *, seconds: float, now: dt.datetime | None = None) -> bool:
    """Take or renew the lease `name` for `seconds`; False when another live holder has it."""

    def _do(conn: Connection) -> bool:
        at = now or utcnow()
        stmt = upsert_insert(conn, Lease).values(name=name, holder=holder, expires_at=at + dt.timedelta(seconds=seconds))
        stmt = stmt.on_conflict_do_update(
            index_elements=[Lease.name],
            set_={"holder": stmt.excluded.holder, "expires_at": stmt.excluded.expires_at},
            where=or_(Lease.holder == holder, Lease.expires_at < at),
        ).returning(Lease.holder)
        return conn.execute(stmt).first() is not None

    return store.run(_do)


def release(store: Store, name: str, holder: str) -> None:
    """Give the lease back (only if `holder` still has it), so another process can start at once."""
    store.run(lambda conn: conn.execute(delete(Lease).where(Lease.name == name, Lease.holder == holder)))


def holder_of(store: Store, name: str, *, now: dt.datetime | None = None) -> str | None:
    """Who holds `name` now (an expired lease is held by nobody)."""
    with store.read() as conn:
        row = conn.execute(select(Lease.holder, Lease.expires_at).where(Lease.name == name)).first()
    if row is None or row.expires_at < (now or utcnow()):
        return None
    return str(row.holder)
