"""Pulling a channel's orders: windows and cursors that never skip and never duplicate.

    report = pull(store, connector)                 # read up to now - safety lag, page by page
    refetch(store, connector, ["1001", "1002"])     # a webhook said these changed

A window is [start, end) over the channel's "updated at":
  - start is the watermark (everything updated before it is in) less `overlap`, so an order
    the channel stamped late is read again rather than missed; the first sync starts
    `lookback` ago;
  - end is frozen when the window opens: the channel's clock (its Date header) less
    `safety_lag` (Amazon refuses anything closer than 2 minutes), at most `max_span` on.
Each page is stored raw, then its orders and the new cursor are committed in one
transaction (store.channel_sync.commit_page): a crash resumes at the next page, and pages
read twice are no-ops (orders are unique per channel, an older version never wins). The
watermark moves to `end` only when the whole window is in.

Keyset APIs (Shopify cursors, Amazon page tokens) follow the cursor to the window's end; an
expired token restarts the window. Offset APIs (WooCommerce, eBay) page over a live result
set, where an order changing mid-read shifts the others and one is skipped; so the window is
split in halves until each part fits one page (the API's own total says whether it does),
and only a part that cannot be split (one second) is paged by offset, then counted again
and read again if the count moved.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from store import Store
from store.channel_sync import SyncState, commit_page, load_sync, pause_channel, save_sync
from store.documents import DocumentProblem, finish, store_payload
from store.intake import IngestReport

from .channel import Connector, OrderPage, RemoteOrder, SyncWindow
from .errors import ApiError, CursorExpired, QuotaExhausted

__all__ = ["PullReport", "pull", "refetch"]

log = logging.getLogger("oms.connectors.sync")

_ONE_SECOND = dt.timedelta(seconds=1)


@dataclass
class PullReport:
    channel: str
    pages: int = 0
    orders: int = 0  # order copies read (an order read twice counts twice)
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    windows: int = 0  # windows finished
    splits: int = 0  # windows split in half to fit a page
    restarts: int = 0  # windows read again (expired cursor, count moved under offset paging)
    paused_until: dt.datetime | None = None
    problems: list[str] = field(default_factory=list)

    def summary(self) -> str:
        text = (f"{self.pages} pages, {self.orders} orders ({self.created} new, {self.updated} updated"
                + (f", {self.rejected} rejected" if self.rejected else "") + ")")
        if self.paused_until is not None:
            text += f"; paused until {self.paused_until:%Y-%m-%d %H:%M} UTC"
        return text


def _open_window(connector: Connector, state: SyncState, now: dt.datetime) -> SyncState | None:
    start = state.watermark - connector.overlap if state.watermark is not None else now - connector.lookback
    latest = now - connector.safety_lag
    # A span no longer than the overlap would move the watermark back: always gain a minute.
    end = min(latest, start + max(connector.max_span, connector.overlap + dt.timedelta(minutes=1)))
    if end <= start + _ONE_SECOND:
        return None
    end = end.replace(microsecond=0)
    pending = ((start, end),) if connector.paging == "offset" else ()
    # "last": this window reaches the channel's now; once it is in, the pull has caught up.
    return state.replace(window=(start, end), cursor=None, pending=pending,
                         extra={**state.extra, "last": end >= latest.replace(microsecond=0)})


def pull(
    store: Store, connector: Connector, *, stop: Callable[[], bool] = lambda: False, max_pages: int | None = None,
    actor: str = "gateway",
) -> PullReport:
    """Read the channel's changed orders up to its now less the safety lag (or until `stop()`,
    or `max_pages`), committing each page with the cursor."""
    channel = connector.channel
    report = PullReport(channel)
    state = load_sync(store, channel)
    if state.paused_until is not None:
        if state.paused_until > connector.now():
            report.paused_until = state.paused_until
            return report
        state = state.replace(paused_until=None, pause_reason=None)
    try:
        while not stop() and (max_pages is None or report.pages < max_pages):
            if state.window is None:
                opened = _open_window(connector, state, connector.now())
                if opened is None:
                    break
                state = opened
            state = _step(store, connector, state, report, actor)
            if state.window is None and state.extra.get("last"):
                break  # caught up
    except QuotaExhausted as exc:
        pause_channel(store, channel, exc.until, str(exc))
        report.paused_until = exc.until
    return report


def _step(store: Store, connector: Connector, state: SyncState, report: PullReport, actor: str) -> SyncState:
    """Read one page of the window in hand and commit it; returns the state after it."""
    assert state.window is not None
    offset = connector.paging == "offset"
    part = state.pending[0] if offset else state.window
    window = SyncWindow(*part)
    try:
        page = connector.list_orders(window, state.cursor)
    except CursorExpired as exc:
        log.info("cursor expired, window read again", extra={"channel": connector.channel, "error": str(exc)})
        report.restarts += 1
        state = state.replace(cursor=None)
        save_sync(store, connector.channel, state)
        return state
    except ApiError as exc:
        if exc.body is not None:  # the channel sent something we cannot read: keep it for an operator
            doc = store_payload(store, exc.body, kind="api_page", source=f"{connector.channel}:{window.start:%Y-%m-%dT%H:%M:%S}", actor=actor)
            finish(store, doc.id, problems=[DocumentProblem(None, str(exc))], accepted=0, actor=actor)
        raise
    if offset and state.cursor is None and page.total is not None and page.total > len(page.orders):
        if window.span > _ONE_SECOND:  # does not fit one page: read each half instead
            first, second = window.halves()
            report.splits += 1
            state = state.replace(pending=((first.start, first.end), (second.start, second.end), *state.pending[1:]))
            save_sync(store, connector.channel, state)
            return state
        state = state.replace(extra={**state.extra, "count": page.total})
    if page.next_cursor is not None:
        nxt = state.replace(cursor=page.next_cursor)
    else:
        nxt = _part_done(connector, state, window, page, report)
    _commit(store, connector, page, nxt, report, actor, window)
    return nxt


def _part_done(connector: Connector, state: SyncState, window: SyncWindow, page: OrderPage, report: PullReport) -> SyncState:
    """The state once the part in hand is fully read."""
    if connector.paging == "offset":
        counted = state.extra.get("count")
        if counted is not None:
            again = connector.list_orders(window, None).total  # paged by offset: did the set move?
            extra = {k: v for k, v in state.extra.items() if k != "count"}
            if again is not None and again != counted:
                report.restarts += 1
                return state.replace(cursor=None, extra=extra)
            state = state.replace(extra=extra)
        rest = state.pending[1:]
        if rest:
            return state.replace(pending=rest, cursor=None)
    report.windows += 1
    assert state.window is not None
    return state.replace(watermark=state.window[1], window=None, cursor=None, pending=())


def _commit(
    store: Store, connector: Connector, page: OrderPage, state: SyncState, report: PullReport, actor: str,
    window: SyncWindow,
) -> None:
    doc_id = None
    if page.body:
        source = f"{connector.channel}:{window.start.isoformat()}..{window.end.isoformat()}"
        doc_id = store_payload(store, page.body, kind="api_page", source=source, actor=actor).id
    r = commit_page(store, connector.channel, [o.order for o in page.orders],
                    [o.order.external_id for o in page.orders if o.cancelled], state, document_id=doc_id, actor=actor)
    _count(report, page.orders, r)
    report.pages += 1
    if doc_id is not None:
        problems = [DocumentProblem(None, f"order {ref}: {why}") for ref, why in page.problems]
        problems += [DocumentProblem(o.index, f"order {o.external_id}: {o.reason}") for o in r.rejected]
        finish(store, doc_id, problems=problems, accepted=len(page.orders) - len(r.rejected), actor=actor)
    report.problems += [f"{ref}: {why}" for ref, why in page.problems]


def _count(report: PullReport, orders: Sequence[RemoteOrder], r: IngestReport) -> None:
    report.orders += len(orders)
    report.created += r.count("created")
    report.updated += r.count("updated")
    report.unchanged += r.count("unchanged")
    report.rejected += len(r.rejected)


def refetch(store: Store, connector: Connector, external_ids: Sequence[str], *, actor: str = "gateway") -> PullReport:
    """Fetch these orders now (a webhook said they changed) and take them like a page; the
    sync's own state is left as it is."""
    report = PullReport(connector.channel)
    ids = list(dict.fromkeys(external_ids))
    if not ids:
        return report
    try:
        orders = connector.get_orders(ids)
    except QuotaExhausted as exc:
        pause_channel(store, connector.channel, exc.until, str(exc))
        report.paused_until = exc.until
        return report
    r = commit_page(store, connector.channel, [o.order for o in orders],
                    [o.order.external_id for o in orders if o.cancelled], None, actor=actor)
    _count(report, orders, r)
    return report
