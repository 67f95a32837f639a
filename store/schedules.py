"""When each of the gateway's scheduled jobs last ran, kept in the store so that a restart, a
cron `oms gateway --once` or another gateway taking over does not run a job before it is due.

One `sync_cursors` row per job, source "schedule:<job>", `window_end` the time of the pass
that ran it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from sqlalchemy import Connection, select

from .bulk import upsert_insert
from .db import Store
from .models import SyncCursor
from .types import utcnow

__all__ = ["last_runs", "mark_ran"]

_PREFIX = "schedule:"


def last_runs(store: Store, jobs: Collection[str]) -> dict[str, dt.datetime]:
    """When each of `jobs` last ran; a job that never ran is absent."""
    with store.read() as conn:
        rows = conn.execute(
            select(SyncCursor.source, SyncCursor.window_end)
            .where(SyncCursor.source.in_([_PREFIX + j for j in jobs]), SyncCursor.window_end.is_not(None))
        ).all()
    return {str(source).removeprefix(_PREFIX): at for source, at in rows if at is not None}


def mark_ran(store: Store, job: str, at: dt.datetime) -> None:
    """Record that `job` ran in the pass that started at `at`."""

    def _do(conn: Connection) -> None:
        stmt = upsert_insert(conn, SyncCursor).values(source=_PREFIX + job, cursor=None, window_end=at,
                                                      updated_at=utcnow())
        conn.execute(stmt.on_conflict_do_update(index_elements=[SyncCursor.source],
                                                set_={"window_end": at, "updated_at": utcnow()}))

    store.run(_do)
