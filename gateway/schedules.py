"""Scheduled jobs: work that falls due on the clock rather than on a file or an outbox row.

    run_due(store, settings)    run every job whose interval has passed since it last ran

`JOBS` is the registry, one line a job: name -> Job(default interval, function, what it does).
`[gateway.schedules]` in oms.toml sets a job's interval ("15m", "1h", "1d") or turns it "off";
a job not named there runs at its default. When each job last ran is kept in the store
(`store.schedules`), so a restart or a cron `oms gateway --once` every few minutes runs a job
only when it is due, and of several gateways only the one holding the `schedules` lease runs
any. A job that raises is logged and tried again at the next pass; the others run all the same.

    ack_overdue    every 15m: interchanges we sent whose 997 has not come after
                   `[gateway] ack_overdue_after` (24h) become `overdue` (store.control)
    stock_advice   every 1d: an 846 (available to promise) to each active partner whose
                   `documents` lists "846"; at most one a partner and UTC day (its outbox key)
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from edi_maps.errors import EdiError
from edi_maps.outgoing import queue_846
from store import Store
from store.catalog import list_partners
from store.control import mark_overdue
from store.routing.autocancel import cancel_due
from store.errors import StoreError
from store.schedules import last_runs, mark_ran
from store.types import utcnow

from .errors import JobFailed
from .settings import GatewaySettings

__all__ = ["JOBS", "Job", "JobContext", "JobRun", "intervals", "run_due"]

log = logging.getLogger("oms.gateway.schedules")

MINUTE, HOUR, DAY = 60.0, 3600.0, 86_400.0


@dataclass(frozen=True, slots=True)
class JobContext:
    now: dt.datetime  # when the pass started (UTC)
    settings: GatewaySettings

    @property
    def today(self) -> dt.date:
        return self.now.date()


@dataclass(frozen=True, slots=True)
class Job:
    every: float  # default seconds between runs
    run: Callable[[Store, JobContext], str]  # returns what the heartbeat and the log show
    what: str


@dataclass(frozen=True, slots=True)
class JobRun:
    job: str
    ok: bool
    detail: str


def _ack_overdue(store: Store, ctx: JobContext) -> str:
    n = mark_overdue(store, older_than=dt.timedelta(seconds=ctx.settings.ack_overdue_after))
    return f"{n} interchange(s) newly overdue"


def _stock_advice(store: Store, ctx: JobContext) -> str:
    with store.read() as conn:
        partners = list_partners(conn)
    done: dict[str, int] = {}
    failures: list[str] = []
    for partner in partners:
        try:
            # Stock advice is unsolicited: only for a partner that lists it, not for one with no list.
            if "documents" not in partner.config or not partner.sends("846"):
                continue
            status = queue_846(store, partner.code, actor="gateway").status
        except (StoreError, EdiError) as exc:
            failures.append(f"{partner.code}: {exc}")
            continue
        done[status] = done.get(status, 0) + 1
        if status == "invalid":  # its reasons are on the partner's audit trail
            log.warning("846 not sent", extra={"worker": "schedules", "partner": partner.code})
    text = ", ".join(f"{n} {status}" for status, n in sorted(done.items())) or "no partner takes 846"
    if failures:
        raise JobFailed(f"846 not queued for {'; '.join(failures)} ({text})")
    return f"846: {text}"


def _auto_cancel(store: Store, ctx: JobContext) -> str:
    return f"{len(cancel_due(store, ctx.today))} order(s) had backordered units auto-cancelled"


# The registry. A new job is one line here (and, when it should not run at the default, a key
# under [gateway.schedules]).
JOBS: dict[str, Job] = {
    "ack_overdue": Job(15 * MINUTE, _ack_overdue, "997s we are owed and late become overdue"),
    "stock_advice": Job(DAY, _stock_advice, "846 stock advice to partners whose documents list 846"),
    "auto_cancel": Job(HOUR, _auto_cancel, "backordered units past their routing rule's auto-cancel day"),
}


def intervals(settings: GatewaySettings, jobs: Mapping[str, Job] = JOBS) -> dict[str, float | None]:
    """Seconds between runs of each job (None: off), from the settings, else the job's default."""
    return {name: settings.schedules.get(name, job.every) for name, job in jobs.items()}


def run_due(
    store: Store, settings: GatewaySettings, *, jobs: Mapping[str, Job] = JOBS, now: dt.datetime | None = None,
    stop: Callable[[], bool] = lambda: False,
) -> list[JobRun]:
    """Run each job that is due, in registry order; a failure is logged and the next job runs.
    A job that succeeded is recorded as run at `now`; one that failed is due again next pass."""
    now = now or utcnow()
    every = {name: s for name, s in intervals(settings, jobs).items() if s is not None}
    last = last_runs(store, list(every))
    runs: list[JobRun] = []
    for name, seconds in every.items():
        ran = last.get(name)
        if ran is not None and now < ran + dt.timedelta(seconds=seconds):
            continue
        if stop():  # SIGTERM: the job in hand was finished; the rest wait for the next run
            break
        try:
            detail = jobs[name].run(store, JobContext(now, settings))
        except Exception as exc:  # one job's failure never stops the others
            why = f"{type(exc).__name__}: {exc}"
            log.error("job failed", extra={"worker": "schedules", "job": name, "error": why})
            runs.append(JobRun(name, False, why))
            continue
        mark_ran(store, name, now)
        log.info("job done", extra={"worker": "schedules", "job": name, "detail": detail})
        runs.append(JobRun(name, True, detail))
    return runs
