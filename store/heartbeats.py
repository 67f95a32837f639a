"""Heartbeats: each gateway worker says it is alive, and how it is doing, for the TUI."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection, select

from .bulk import upsert_insert
from .db import Store
from .models import Heartbeat
from .types import utcnow

__all__ = ["WorkerBeat", "beat", "beats", "beats_in"]


@dataclass(frozen=True, slots=True)
class WorkerBeat:
    worker: str
    host: str
    pid: int
    state: str  # starting | idle | working | failing | stopped
    detail: str | None
    beat_at: dt.datetime


def beat(store: Store, worker: str, *, host: str, pid: int, state: str, detail: str | None = None) -> None:
    """Record (upsert) the worker's state now."""

    def _do(conn: Connection) -> None:
        values = {"worker": worker, "host": host, "pid": pid, "state": state,
                  "detail": (detail or "")[:2000] or None, "beat_at": utcnow()}
        stmt = upsert_insert(conn, Heartbeat).values(**values)
        conn.execute(stmt.on_conflict_do_update(index_elements=[Heartbeat.worker],
                                                set_={k: v for k, v in values.items() if k != "worker"}))

    store.run(_do)


def beats(store: Store) -> list[WorkerBeat]:
    with store.read() as conn:
        return beats_in(conn)


def beats_in(conn: Connection) -> list[WorkerBeat]:
    """Every worker's latest beat, by worker name."""
    rows = conn.execute(select(Heartbeat).order_by(Heartbeat.worker)).all()
    return [WorkerBeat(r.worker, r.host, int(r.pid), r.state, r.detail, r.beat_at) for r in rows]
