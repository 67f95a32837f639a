"""Where a marketplace or cart sync got to, committed with the orders of each page.

    state = load_sync(store, "shopify-main")           # SyncState (watermark, window, cursor)
    commit_page(store, "shopify-main", orders, cancelled, state.replace(cursor=next), doc_id)
    pause_channel(store, "ebay-us", until, "daily quota spent")   # and an operator alert

One `sync_cursors` row per channel, source "channel:<code>": `window_end` is the watermark
(every order updated before it is in), `cursor` the JSON of the window in hand:

    {"window": [start, end],    the frozen window being read, or null between windows
     "cursor": {...},           the connector's page cursor inside it (opaque)
     "pending": [[s, e], ...],  sub-windows still to read (an offset-paged API's window split
                                so each part fits one page), read before "window" is done
     "paused_until": ts, "pause_reason": text}

`commit_page` writes the page's orders and the state in one transaction: a crash after it
resumes after that page, a crash before it reads the page again, and intake makes the second
reading a no-op (orders are unique on channel and external id; an older version never
overwrites a newer one).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select

from .bulk import upsert_insert
from .canonical import CanonicalOrder
from .cancellations import cancel_units_in
from .db import Store
from .errors import TransitionError
from .intake import IngestReport, ingest_in
from .journal import audit
from .models import Channel, Order, SyncCursor
from .types import utcnow

__all__ = [
    "CURSOR_PREFIX", "SyncState", "load_sync", "commit_page", "save_sync", "pause_channel", "resume_channel",
    "channel_alert",
]

CURSOR_PREFIX = "channel:"  # a channel's sync_cursors row is "channel:<code>"


def _ts(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _dt(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


Span = tuple[dt.datetime, dt.datetime]


@dataclass(frozen=True, slots=True)
class SyncState:
    watermark: dt.datetime | None = None
    window: Span | None = None
    cursor: dict[str, Any] | None = None
    pending: tuple[Span, ...] = ()
    paused_until: dt.datetime | None = None
    pause_reason: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # a connector's own notes (e.g. a skew seen)

    def replace(self, **changes: Any) -> SyncState:
        return dataclasses.replace(self, **changes)

    def to_json(self) -> str:
        return json.dumps({
            "window": [_ts(t) for t in self.window] if self.window else None,
            "cursor": self.cursor,
            "pending": [[_ts(a), _ts(b)] for a, b in self.pending],
            "paused_until": _ts(self.paused_until),
            "pause_reason": self.pause_reason,
            "extra": self.extra,
        })

    @classmethod
    def from_row(cls, cursor: str | None, watermark: dt.datetime | None) -> SyncState:
        data = json.loads(cursor) if cursor else {}
        window = data.get("window")
        return cls(
            watermark=watermark,
            window=(_dt(window[0]), _dt(window[1])) if window else None,  # type: ignore[arg-type]
            cursor=data.get("cursor"),
            pending=tuple((_dt(a), _dt(b)) for a, b in data.get("pending", ())),  # type: ignore[misc]
            paused_until=_dt(data.get("paused_until")),
            pause_reason=data.get("pause_reason"),
            extra=data.get("extra") or {},
        )


def load_sync(store: Store, channel: str) -> SyncState:
    with store.read() as conn:
        return load_sync_in(conn, channel)


def load_sync_in(conn: Connection, channel: str) -> SyncState:
    row = conn.execute(
        select(SyncCursor.cursor, SyncCursor.window_end).where(SyncCursor.source == CURSOR_PREFIX + channel)
    ).first()
    return SyncState.from_row(row.cursor, row.window_end) if row is not None else SyncState()


def save_sync_in(conn: Connection, channel: str, state: SyncState) -> None:
    now = utcnow()
    values = {"cursor": state.to_json(), "window_end": state.watermark, "updated_at": now}
    stmt = upsert_insert(conn, SyncCursor).values(source=CURSOR_PREFIX + channel, **values)
    conn.execute(stmt.on_conflict_do_update(index_elements=[SyncCursor.source], set_=values))


def save_sync(store: Store, channel: str, state: SyncState) -> None:
    store.run(lambda conn: save_sync_in(conn, channel, state))


def commit_page(
    store: Store, channel: str, orders: Sequence[CanonicalOrder], cancelled: Sequence[str], state: SyncState | None, *,
    document_id: int | None = None, actor: str = "gateway",
) -> IngestReport:
    """Take a page's orders, cancel the orders the channel cancelled (`cancelled`: external
    ids, each also in `orders`), and save `state`, in one transaction. Within a page the latest
    copy of an order wins. `state` None leaves the sync's state alone (a webhook's refetch)."""
    latest: dict[str, CanonicalOrder] = {}
    for o in orders:
        held = latest.get(o.external_id)
        if held is None or o.effective_version() >= held.effective_version():
            latest[o.external_id] = o

    def _do(conn: Connection) -> IngestReport:
        report = ingest_in(conn, list(latest.values()), actor=actor, document_id=document_id)
        # A copy read again (the overlap, a webhook) changes nothing: only a new or newer one
        # cancels, so a refusal (it shipped) is said once.
        fresh = {o.external_id for o in report.outcomes if o.action in ("created", "updated", "conflict")}
        for ext in dict.fromkeys(cancelled):
            if ext in fresh:
                _cancel_from_channel(conn, channel, ext, actor)
        if state is not None:
            save_sync_in(conn, channel, state)
        return report

    return store.run(_do)


def _cancel_from_channel(conn: Connection, channel: str, external_id: str, actor: str) -> None:
    """The channel cancelled the order: release what it holds, unless it has shipped (then an
    operator must look: the units left already)."""
    row = conn.execute(
        select(Order.id, Order.status).join(Channel, Channel.id == Order.channel_id)
        .where(Channel.code == channel, Order.external_id == external_id)
    ).first()
    if row is None or row.status == "cancelled":
        return
    try:
        cancel_units_in(conn, row.id, None, reason=f"cancelled at {channel}", actor=actor, notify=False)
    except TransitionError as exc:
        audit(conn, actor, "order", row.id, "alert.channel_cancel_refused",
              {"channel": channel, "detail": f"{channel} cancelled order {external_id}, but {exc}"})


def pause_channel(store: Store, channel: str, until: dt.datetime, reason: str, *, actor: str = "gateway") -> None:
    """Stop calling the channel until `until` (a spent daily quota) and tell an operator."""

    def _do(conn: Connection) -> None:
        state = load_sync_in(conn, channel)
        save_sync_in(conn, channel, state.replace(paused_until=until, pause_reason=reason))
        _alert_in(conn, channel, "channel_paused", f"{channel} paused until {until:%Y-%m-%d %H:%M} UTC: {reason}", actor)

    store.run(_do)


def resume_channel(store: Store, channel: str, *, actor: str = "system") -> None:
    """Call the channel again now (an operator knows the quota is back); audited
    `channel.resumed` with the pause it ended, if there was one."""

    def _do(conn: Connection) -> None:
        state = load_sync_in(conn, channel)
        save_sync_in(conn, channel, state.replace(paused_until=None, pause_reason=None))
        audit(conn, actor, "channel", None, "channel.resumed",
              {"channel": channel, "paused_until": _ts(state.paused_until), "pause_reason": state.pause_reason})

    store.run(_do)


def _alert_in(conn: Connection, channel: str, what: str, detail: str, actor: str) -> None:
    audit(conn, actor, "channel", None, f"alert.{what}", {"channel": channel, "detail": detail})


def channel_alert(store: Store, channel: str, what: str, detail: str, *, actor: str = "gateway") -> None:
    """An operator alert about a channel: an audit event the TUI's gateway screen lists."""
    store.run(lambda conn: _alert_in(conn, channel, what, detail, actor))
