"""The gateway: every worker on its own thread, each pass under a lease, each pass a heartbeat.

    gw = Gateway(store, settings)
    gw.run_once()          # one pass of every worker, then return (exit code: 0 ok, 1 a pass failed)
    gw.serve(stop)         # until `stop` is set (SIGTERM): each worker finishes the unit in hand

Workers (../shared/ARCHITECTURE.md, Gateway):
    partner:<code>    poll the partner's mailbox (SFTP or folder) every `poll_seconds`
    folder:<path>     a CSV drop folder: rescan at start, then watchdog events
    dispatcher        deliver queued EDI documents to partners' mailboxes (shipments of EDI
                      orders become 856/810 first, dropship POs to EDI vendors 850s)
    channel:<code>    a marketplace or cart: pull orders changed since the last window
    stock:<code>      push the stock the channel is owed (every `stock_seconds`, under a lease)
    confirm:<code>    confirm the channel's shipments (rows claimed, no lease)
    hints:<code>      fetch again the orders a verified webhook named (with a webhook receiver)
    schedules         jobs due on the clock (gateway.schedules: overdue 997s, 846 stock advice)

A pass that fails on a connection is retried with backoff (doubling, with jitter) up to
`retries` times, then waits for the next pass; a refused host key is not retried (an operator
must look). Two gateway processes on one PostgreSQL store share the work through leases: a
partner or folder is worked by one of them at a time, and the other takes over when the
holder's lease runs out. The dispatcher needs no lease (its rows are claimed with SKIP LOCKED).
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from connectors.channel import Connector
from connectors.errors import ApiError, AuthRejected, Rejected
from connectors.mailbox import Mailbox
from connectors.registry import build
from store import Store
from store.heartbeats import beat
from store.leases import acquire, holder_of, release
from store.outbox import claimants

from .channels import Hints, WebhookServer, confirm_shipments, poll_orders, push_stock, refetch_hinted
from .csv_folder import DropFolder
from .dispatch import dispatch_edi, edi_for_cancellations, edi_for_dropship, edi_for_shipments
from .errors import WorkerFailed
from .partners import KeptOpen, is_retryable, open_mailbox, poll_partner
from .schedules import JOBS, Job, intervals, run_due
from .settings import ApiChannelSpec, FolderSpec, GatewaySettings, MailboxSpec

__all__ = ["Gateway", "Worker", "holder_id"]

log = logging.getLogger("oms.gateway")


def holder_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class Worker:
    name: str
    interval: float
    run: Callable[[], str]  # one pass; returns what the heartbeat shows
    lease: bool = True
    retryable: Callable[[BaseException], bool] = is_retryable
    on_stop: Callable[[], None] | None = None


class Gateway:
    def __init__(
        self, store: Store, settings: GatewaySettings, *, holder: str | None = None,
        opener: Callable[[MailboxSpec], Mailbox] = open_mailbox, jobs: Mapping[str, Job] = JOBS,
        connector: Callable[[ApiChannelSpec], Connector] | None = None,
    ) -> None:
        self.store, self.settings, self.opener, self.jobs = store, settings, opener, jobs
        self._connector = connector or (lambda spec: build(spec.connector, spec.channel, spec.settings))
        self.connectors: dict[str, Connector] = {}
        self.hints = Hints()
        self.webhooks: WebhookServer | None = None
        self.holder = holder or holder_id()
        self.stop = threading.Event()
        self._folders: dict[str, DropFolder] = {}
        self._watching: set[str] = set()
        self._renew_at: dict[str, float] = {}  # worker -> when (monotonic) its lease is renewed
        self._last_beat: dict[str, tuple[str, str | None, float]] = {}

    # ------------------------------------------------------------------------- workers

    def workers(self) -> list[Worker]:
        out = [self._partner(spec) for spec in self.settings.mailboxes]
        out += [self._folder(spec) for spec in self.settings.folders]
        if self.settings.mailboxes:
            specs = {m.partner: m for m in self.settings.mailboxes}

            def dispatch() -> str:
                dead = [c for c in claimants(self.store) if _dead_here(c)]
                turned = edi_for_shipments(self.store, list(specs), holder=self.holder, reclaim_from=dead)
                cancelled = edi_for_cancellations(self.store, list(specs), holder=self.holder, reclaim_from=dead)
                ordered = edi_for_dropship(self.store, list(specs), holder=self.holder, reclaim_from=dead)
                r = dispatch_edi(self.store, specs, opener=self.opener, holder=self.holder, reclaim_from=dead)
                if r.errors:
                    raise _PassFailed("; ".join(r.errors))
                return (f"sent {r.sent}" + (f", {turned} shipments turned into 856/810" if turned else "")
                        + (f", {cancelled} cancellations turned into 855" if cancelled else "")
                        + (f", {ordered} dropship POs turned into 850" if ordered else ""))

            out.append(Worker("dispatcher", self.settings.dispatch_seconds, dispatch, lease=False,
                              retryable=lambda exc: isinstance(exc, _PassFailed)))
        for spec in self.settings.channels:
            out += self._channel(spec)
        every = [s for s in intervals(self.settings, self.jobs).values() if s is not None]
        if every:
            out.append(Worker("schedules", min(60.0, *every), self._schedules, retryable=lambda exc: False))
        return out

    def _schedules(self) -> str:
        """One pass of the schedules worker: every due job, each failure logged and the rest run."""
        runs = run_due(self.store, self.settings, jobs=self.jobs, stop=self.stop.is_set)
        text = "; ".join(f"{r.job}: {r.detail}" if r.ok else f"{r.job} failed: {r.detail}" for r in runs)
        if any(not r.ok for r in runs):
            raise WorkerFailed(text)
        return text or "nothing due"

    def _channel(self, spec: ApiChannelSpec) -> list[Worker]:
        """The workers of one marketplace or cart account, sharing one connector (one set of
        token buckets, so together they stay inside the API's limits)."""
        if spec.channel not in self.connectors:
            self.connectors[spec.channel] = self._connector(spec)
        c = self.connectors[spec.channel]
        retry = _api_retryable

        def poll() -> str:
            # A long catch-up stops when the lease is lost: another gateway has the channel now.
            return poll_orders(self.store, c, stop=lambda: self.stop.is_set() or not self._holds(workers[0])).summary()

        def stock() -> str:
            return f"{push_stock(self.store, c)} quantities accepted"

        def confirm() -> str:
            r = confirm_shipments(self.store, c, holder=self.holder)
            if r.errors:
                raise _PassFailed("; ".join(r.errors))
            return f"{r.sent} shipments confirmed"

        def hinted() -> str:
            r = refetch_hinted(self.store, c, self.hints)
            return "nothing hinted" if r is None else f"webhook: {r.summary()}"

        workers = [
            Worker(spec.worker, spec.poll_seconds, poll, retryable=retry),
            Worker(f"stock:{spec.channel}", spec.stock_seconds, stock, retryable=retry),
            Worker(f"confirm:{spec.channel}", self.settings.dispatch_seconds, confirm, lease=False,
                   retryable=lambda exc: False),
        ]
        if self.settings.webhooks_listen is not None:
            workers.append(Worker(f"hints:{spec.channel}", 0.5, hinted, lease=False, retryable=retry))
        return workers

    def _partner(self, spec: MailboxSpec) -> Worker:
        kept = KeptOpen(spec, self.opener)  # one connection across polls while it works

        def run() -> str:
            r = poll_partner(self.store, spec, opener=kept, stop=self.stop.is_set)
            text = f"{r.files} files, {r.orders} orders"
            if r.again:
                text += f", {r.again} seen before"
            if r.refused:
                text += f", {len(r.refused)} names refused"
            return text

        return Worker(spec.worker, spec.poll_seconds, run, on_stop=kept.close)

    def _folder(self, spec: FolderSpec) -> Worker:
        folder = DropFolder(self.store, spec.path, profile=spec.profile, channel=spec.channel, columns=spec.columns,
                            settle_seconds=spec.settle_seconds)
        self._folders[spec.worker] = folder

        def run() -> str:
            results = folder.scan_once()
            return f"{len(results)} files, {folder.pending()} waiting"

        def stop() -> None:
            if spec.worker in self._watching:
                folder.stop()
                self._watching.discard(spec.worker)

        return Worker(spec.worker, max(spec.settle_seconds, 5.0), run, retryable=lambda exc: False, on_stop=stop)

    # --------------------------------------------------------------------------- running

    def run_once(self) -> int:
        """One pass of every worker (under its lease); 0 when every pass succeeded, else 1."""
        failed = 0
        try:
            for w in self.workers():
                try:
                    if not self._pass(w):
                        failed += 1
                finally:
                    if w.on_stop is not None:
                        w.on_stop()  # connections closed, nothing left running
        finally:
            self._close_connectors()
        return 1 if failed else 0

    def _close_connectors(self) -> None:
        for c in self.connectors.values():
            c.close()
        self.connectors.clear()

    def serve(self, stop: threading.Event | None = None) -> None:
        """Run every worker on its own thread until `stop` (or `self.stop`) is set."""
        if stop is not None:
            self.stop = stop
        threads = [threading.Thread(target=self._loop, args=(w,), name=w.name, daemon=True) for w in self.workers()]
        if self.settings.webhooks_listen is not None and self.connectors:
            self.webhooks = WebhookServer(self.store, self.connectors, self.hints, self.settings.webhooks_listen).start()
            log.info("webhooks received", extra={"url": self.webhooks.url})
        log.info("gateway started", extra={"holder": self.holder, "workers": len(threads)})
        for t in threads:
            t.start()
        try:
            for t in threads:
                t.join()
        finally:
            if self.webhooks is not None:
                self.webhooks.stop()
            self._close_connectors()
        log.info("gateway stopped", extra={"holder": self.holder})

    def _loop(self, w: Worker) -> None:
        try:
            while not self.stop.is_set():
                self._pass(w)
                if w.name in self._folders and w.name not in self._watching and self._holds(w):
                    self._folders[w.name].start()  # after the rescan: events from now on
                    self._watching.add(w.name)
                self.stop.wait(w.interval)
        finally:
            if w.on_stop is not None:
                w.on_stop()
            if w.lease:
                release(self.store, w.name, self.holder)
                self._renew_at.pop(w.name, None)
            self._beat(w, "stopped", None)

    def _holds(self, w: Worker) -> bool:
        """Whether this process holds the worker's lease; renewed once half of it has run,
        not on every pass (a poll every second would otherwise write every second)."""
        if not w.lease:
            return True
        if time.monotonic() < self._renew_at.get(w.name, 0.0):
            return True
        if self._take(w):
            self._renew_at[w.name] = time.monotonic() + self.settings.lease_seconds / 2
            return True
        self._renew_at.pop(w.name, None)
        return False

    def _take(self, w: Worker) -> bool:
        if acquire(self.store, w.name, self.holder, seconds=self.settings.lease_seconds):
            return True
        # A gateway on this host that died (kill -9, a crash) leaves its lease behind until it
        # expires; a restart on the same host sees the process is gone and takes over at once.
        holder = holder_of(self.store, w.name)
        if holder is not None and _dead_here(holder):
            log.info("lease of a dead process taken over", extra={"worker": w.name, "was": holder})
            release(self.store, w.name, holder)
            return acquire(self.store, w.name, self.holder, seconds=self.settings.lease_seconds)
        return False

    def _pass(self, w: Worker) -> bool:
        """One pass with retries; True when it succeeded (or another process holds the lease)."""
        try:
            if not self._holds(w):
                self._beat(w, "standby", "another gateway holds the lease")
                if w.name in self._watching and w.on_stop is not None:
                    w.on_stop()
                return True
        except Exception as exc:  # the store itself is unreachable
            log.error("lease not taken", extra={"worker": w.name, "error": str(exc)})
            return False
        delay = self.settings.backoff_seconds
        for attempt in range(1, self.settings.retries + 1):
            try:
                detail = w.run()
            except Exception as exc:
                retry = w.retryable(exc) and attempt < self.settings.retries and not self.stop.is_set()
                log.warning("pass failed", extra={"worker": w.name, "attempt": attempt, "error": f"{type(exc).__name__}: {exc}",
                                                  "retry": retry})
                self._beat(w, "failing", f"{type(exc).__name__}: {exc}")
                if not retry:
                    return False
                self.stop.wait(min(delay, 60.0) * random.uniform(0.8, 1.2))
                delay *= 2
                continue
            self._beat(w, "idle", detail)
            log.debug("pass done", extra={"worker": w.name, "detail": detail})
            return True
        return False

    def _beat(self, w: Worker, state: str, detail: str | None) -> None:
        """Write the worker's heartbeat when what it says changed or `heartbeat_seconds` passed."""
        now = time.monotonic()
        last = self._last_beat.get(w.name)
        if last is not None and last[:2] == (state, detail) and now - last[2] < self.settings.heartbeat_seconds:
            return
        self._last_beat[w.name] = (state, detail, now)
        try:
            beat(self.store, w.name, host=socket.gethostname(), pid=os.getpid(), state=state, detail=detail)
        except Exception as exc:  # a heartbeat never stops the work
            log.warning("heartbeat not written", extra={"worker": w.name, "error": str(exc)})


def _dead_here(holder: str) -> bool:
    """Whether `holder` ("host:pid") is a process of this host that no longer runs."""
    host, _, pid = holder.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class _PassFailed(Exception):
    pass


def _api_retryable(exc: BaseException) -> bool:
    """A channel that did not answer is tried again; one that refused us is not (an operator
    must look at the credentials or the request)."""
    return isinstance(exc, ApiError) and not isinstance(exc, (AuthRejected, Rejected))

