"""The Gateway screen: is every worker alive, what waits to go out, what failed, which
channels are paused, and what the workers asked an operator to look at."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from sqlalchemy import Connection
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Footer, Header, Static

from store.channel_sync import resume_channel
from store.outbox import retry
from store.heartbeats import WorkerBeat, beats_in
from store.views.gateway import (
    AlertRow,
    ChannelSyncRow,
    FailureRow,
    QueueDepths,
    alerts,
    channel_syncs,
    failures,
    queues,
)

from ..widgets.gateway_table import Column, GatewayTable, Row
from .ask import Confirm
from .base import OmsScreen

__all__ = ["GatewayScreen"]

# The gateway beats every 10 s when nothing changes: a minute without one is a silent worker.
SILENT_AFTER = dt.timedelta(seconds=60)
REFRESH_SECONDS = 5.0
_STATES = ("pending", "sending", "failed", "dead")


def age(now: dt.datetime, then: dt.datetime) -> str:
    """`4s`, `12m`, `3h`, `2d` ago; `now` when not in the past."""
    seconds = int((now - then).total_seconds())
    if seconds <= 0:
        return "now"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def until(now: dt.datetime, then: dt.datetime) -> str:
    return f"in {age(then, now)}" if then > now else "due"


@dataclass(frozen=True, slots=True)
class _Read:
    workers: list[WorkerBeat]
    queues: QueueDepths
    failures: list[FailureRow]
    alerts: list[AlertRow]
    channels: list[ChannelSyncRow]


def _worker_rows(rows: Sequence[WorkerBeat], now: dt.datetime) -> list[Row]:
    out = []
    for w in rows:
        silent = now - w.beat_at > SILENT_AFTER and w.state != "stopped"
        state = Text(w.state + (" (silent)" if silent else ""),
                     style="bold" if silent or w.state == "failing" else "")
        out.append(Row(w.worker, (w.worker, state, age(now, w.beat_at), f"{w.host}:{w.pid}", w.detail or "")))
    return out


def _queue_rows(depths: QueueDepths) -> list[Row]:
    by_kind: dict[str, dict[str, int]] = {}
    for kind, state, n in depths.outbox:
        by_kind.setdefault(kind, {})[state] = n
    rows = []
    for kind, states in sorted(by_kind.items()):
        cells = tuple(f"{states[s]:,}" if states.get(s) else "" for s in _STATES)
        dead = Text(cells[3], style="bold") if cells[3] else cells[3]
        rows.append(Row(f"outbox:{kind}", (kind, *cells[:3], dead)))
    for channel, n in depths.stock_pushes:
        rows.append(Row(f"stock:{channel}", (f"stock to {channel}", f"{n:,}", "", "", "")))
    rows.append(Row("documents", ("documents to read", f"{depths.documents_waiting:,}" if depths.documents_waiting else "",
                                  "", "", "")))
    return rows


def summary(read: _Read, now: dt.datetime) -> Text:
    """A line or two: what waits, what is stuck, which channels are paused, who is silent."""
    q = read.queues
    dead, failed = q.outbox_total("dead"), q.outbox_total("failed")
    text = Text(f"Outbox {q.outbox_total() - dead:,} waiting")
    if failed:
        text.append(f" ({failed:,} failed)")
    if dead:
        text.append(f" · {dead:,} dead", style="bold")
    pushes = sum(n for _, n in q.stock_pushes)
    text.append(f" · stock pushes owed {pushes:,} · documents to read {q.documents_waiting:,}")
    for c in read.channels:
        if c.paused_until is not None and c.paused_until > now:
            text.append(f" · {c.channel} paused until {c.paused_until:%H:%M}", style="bold")
    silent = [w.worker for w in read.workers if now - w.beat_at > SILENT_AFTER and w.state != "stopped"]
    if silent:
        text.append(f" · silent: {', '.join(silent)}", style="bold")
    return text


def _failure_rows(rows: Sequence[FailureRow], now: dt.datetime) -> list[Row]:
    return [
        Row(str(f.id), (f"{f.id}", f.kind, f.target, Text(f.state, style="bold" if f.state == "dead" else ""),
                        str(f.attempts), "–" if f.state == "dead" else until(now, f.next_attempt_at),
                        (f.last_error or "").splitlines()[0][:120] if f.last_error else ""))
        for f in rows
    ]


def _channel_rows(rows: Sequence[ChannelSyncRow], now: dt.datetime) -> list[Row]:
    out = []
    for c in rows:
        paused = c.paused_until is not None and c.paused_until > now
        pause = Text(c.paused_until.strftime("%m-%d %H:%M"), style="bold") if paused and c.paused_until else ""
        watermark = c.watermark.strftime("%m-%d %H:%M") if c.watermark else "–"
        out.append(Row(c.channel, (c.channel, c.kind, watermark, pause, c.pause_reason or "" if paused else "")))
    return out


def _alert_rows(rows: Sequence[AlertRow], now: dt.datetime) -> list[Row]:
    return [Row(str(a.id), (age(now, a.at), a.what.replace("_", " "), a.about, a.detail)) for a in rows]


class GatewayScreen(OmsScreen):
    """Workers, queues, failures, channel pauses and alerts; ages move every few seconds."""

    PALETTE_TITLE = "Gateway"
    AUTO_FOCUS = "#gw-failures"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "retry", "Retry", id="gateway.retry",
                tooltip="Send the failed or dead message under the cursor again now (admin)"),
        Binding("u", "resume", "Resume", id="gateway.resume",
                tooltip="Lift the pause of the channel under the cursor (admin)"),
        Binding("ctrl+r", "reload", "Reload", id="gateway.reload", tooltip="Read everything again now"),
    ]
    NEEDS: ClassVar[dict[str, str]] = {"retry": "admin", "resume": "admin"}

    def __init__(self, refresh_seconds: float | None = REFRESH_SECONDS) -> None:
        super().__init__()
        self._refresh_seconds = refresh_seconds
        self._read: _Read | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="gw-body"):
            yield GatewayTable([Column("worker", "Worker"), Column("state", "State"), Column("beat", "Beat"),
                                Column("host", "Host:PID", 90), Column("detail", "Detail")],
                               empty="No gateway has run yet", id="gw-workers", classes="gateway-table")
            yield Static(id="gw-summary")
            yield GatewayTable([Column("id", "#"), Column("kind", "Kind"), Column("to", "To"), Column("state", "State"),
                                Column("tries", "Tries", 90), Column("next", "Next", 90), Column("error", "Error")],
                               empty="Nothing failed", id="gw-failures", classes="gateway-table")
            yield GatewayTable([Column("channel", "Channel"), Column("kind", "Kind", 90), Column("upto", "Orders to"),
                                Column("paused", "Paused until"), Column("why", "Why")],
                               empty="No marketplace or cart channels", id="gw-channels", classes="gateway-table")
            yield GatewayTable([Column("when", "Ago"), Column("what", "Alert"), Column("about", "About"),
                                Column("detail", "Detail")],
                               empty="No alerts", id="gw-alerts", classes="gateway-table")
            yield GatewayTable([Column("queue", "Queue"), Column("pending", "Waiting"), Column("sending", "Sending"),
                                Column("failed", "Failed"), Column("dead", "Dead")],
                               id="gw-queues", classes="gateway-table")
        yield Footer()

    def on_mount(self) -> None:
        for table_id, title in (("gw-workers", "Workers"), ("gw-failures", "Failed and dead messages"),
                                ("gw-channels", "Channels"), ("gw-alerts", "Alerts"),
                                ("gw-queues", "Waiting to go out")):
            self.query_one(f"#{table_id}", GatewayTable).border_title = title
        self._load()
        if self._refresh_seconds:
            self.set_interval(self._refresh_seconds, self._tick)

    def on_data_changed(self) -> None:
        self._load()

    def _tick(self) -> None:
        """Ages move even when nothing is written; not read while another screen is in front."""
        if self.is_current:
            self._load()

    def action_reload(self) -> None:
        self._load()

    def _load(self) -> None:
        def fetch(conn: Connection) -> _Read:
            return _Read(beats_in(conn), queues(conn), failures(conn), alerts(conn), channel_syncs(conn))

        self.read(fetch, self._loaded, group="gateway-read", title="Cannot read the gateway's state")

    def _loaded(self, read: _Read) -> None:
        self._read = read
        now = self.oms.now()
        self._table("gw-workers").show(_worker_rows(read.workers, now))
        self._table("gw-failures").show(_failure_rows(read.failures, now))
        self._table("gw-queues").show(_queue_rows(read.queues))
        self._table("gw-channels").show(_channel_rows(read.channels, now))
        self._table("gw-alerts").show(_alert_rows(read.alerts, now))
        waiting = read.queues.outbox_total() - read.queues.outbox_total("dead")
        self._table("gw-queues").border_subtitle = f"{waiting:,} messages waiting"
        self.query_one("#gw-summary", Static).update(summary(read, now))

    def _table(self, table_id: str) -> GatewayTable:
        return self.query_one(f"#{table_id}", GatewayTable)

    # -- acting -----------------------------------------------------------------

    def action_retry(self) -> None:
        key = self._table("gw-failures").current_key()
        if key is None or self._read is None:
            self.notify("No failed message to retry.", severity="warning")
            return
        failure = next(f for f in self._read.failures if str(f.id) == key)
        what = f"{failure.kind} message {failure.id} to {failure.target}"

        def answered(yes: bool | None) -> None:
            if yes:
                store = self.store
                self.oms.perform("admin", f"retry the {what}",
                                 lambda actor: retry(store, failure.id, actor=actor),
                                 report=f"The {what} goes out again with the gateway's next pass")

        self.app.push_screen(Confirm("Retry?", f"Send the {what} again now?"), answered)

    def action_resume(self) -> None:
        key = self._table("gw-channels").current_key()
        now = self.oms.now()
        channel = next((c for c in self._read.channels if c.channel == key), None) if self._read else None
        if channel is None or channel.paused_until is None or channel.paused_until <= now:
            self.notify("Put the cursor on a paused channel first.", severity="warning")
            return
        store, code = self.store, channel.channel
        self.oms.perform("admin", f"resume {code}", lambda actor: resume_channel(store, code, actor=actor),
                         report=f"{code} is called again with the gateway's next pass")
