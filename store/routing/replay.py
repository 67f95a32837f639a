"""Replaying past routing decisions against other rules (`oms route --dry-run`).

Each stored decision holds what it saw: the order's facts, the stock at each of its channel's
locations and their load that day. Deciding again on those inputs with other rules shows what
those rules would have done to each order, order by order; with the same rules it gives the
same decision, as long as the locations are configured as they were: they are taken as they
are now (a location since deactivated is no candidate). Each order sees the stock it saw live (the replay does not re-simulate how one changed order would leave different
stock for the next).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

from sqlalchemy import func, select

from ..db import Store
from ..models import Channel, Location, Order, RoutingDecision
from .engine import decide
from .live import facts_from_json, load_sites
from .rules import Rules, rules_from_dict, rules_to_dict

__all__ = ["Totals", "ReplayChange", "ReplayReport", "replay"]


@dataclass
class Totals:
    outcomes: Counter[str] = field(default_factory=Counter)
    backordered_units: int = 0
    cost_minor: int = 0
    cost_known: int = 0

    def merge(self, other: Totals) -> None:
        self.outcomes.update(other.outcomes)
        self.backordered_units += other.backordered_units
        self.cost_minor += other.cost_minor
        self.cost_known += other.cost_known

    def add(self, outcome: str, backordered: int, cost: int | None) -> None:
        self.outcomes[outcome] += 1
        self.backordered_units += backordered
        if cost is not None:
            self.cost_minor += cost
            self.cost_known += 1


@dataclass(frozen=True, slots=True)
class ReplayChange:
    order_id: int
    channel: str
    external_id: str
    before: str
    after: str
    cost_before: int | None
    cost_after: int | None


@dataclass
class ReplayReport:
    orders: int = 0
    unchanged: int = 0
    live: Totals = field(default_factory=Totals)
    replayed: Totals = field(default_factory=Totals)
    changes: list[ReplayChange] = field(default_factory=list)

    @property
    def changed(self) -> int:
        return self.orders - self.unchanged


def _shape(outcome: str, placements: list[list[Any]], backordered: list[list[Any]]) -> str:
    """One order's decision in a line: `split: 1 A x2, 2 B x1; backordered 3 x4`."""
    text = outcome
    if placements:
        text += ": " + ", ".join(f"{n} {loc} x{q}" for n, loc, q in placements)
    if backordered:
        text += "; backordered " + ", ".join(f"{n} x{q}" for n, q in backordered)
    return text


def replay(
    store: Store, rules: Rules, *, since: dt.datetime, until: dt.datetime | None = None, keep: int = 1000,
    progress: Callable[[int], None] | None = None, workers: int = 1,
) -> ReplayReport:
    """Decide again every order first routed at intake in [since, until) under `rules`.
    `keep` caps how many changed orders are listed (all are counted). With `workers` > 1 the
    decisions are split by id range over that many processes, each reading its own range."""
    with store.read() as conn:
        stmt = select(func.min(RoutingDecision.id), func.max(RoutingDecision.id), func.count()).where(
            *_window(since, until))
        low, high, total = conn.execute(stmt).one()
    if not total:
        return ReplayReport()
    if workers <= 1 or total < 5000:
        return _replay_range(store, rules, since, until, low, high, keep, progress)
    url = store.engine.url.render_as_string(hide_password=False)
    step = (high - low) // workers + 1
    ranges = [(low + i * step, min(high, low + (i + 1) * step - 1)) for i in range(workers)]
    context = multiprocessing.get_context("forkserver" if "forkserver" in multiprocessing.get_all_start_methods()
                                          else "spawn")
    report = ReplayReport()
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = [pool.submit(_replay_url, url, rules_to_dict(rules), since, until, a, b, keep) for a, b in ranges]
        for fut in futures:
            part = fut.result()
            report.orders += part.orders
            report.unchanged += part.unchanged
            report.live.merge(part.live)
            report.replayed.merge(part.replayed)
            report.changes.extend(part.changes[: max(0, keep - len(report.changes))])
            if progress is not None:
                progress(report.orders)
    return report


def _window(since: dt.datetime, until: dt.datetime | None) -> list[Any]:
    where = [RoutingDecision.trigger == "intake", RoutingDecision.at >= since]
    if until is not None:
        where.append(RoutingDecision.at < until)
    return where


def _replay_url(url: str, rules: dict[str, Any], since: dt.datetime, until: dt.datetime | None, low: int, high: int,
                keep: int) -> ReplayReport:
    """One worker's share, in its own process and connection."""
    from ..db import open_store

    store = open_store(url)
    try:
        return _replay_range(store, rules_from_dict(rules), since, until, low, high, keep, None)
    finally:
        store.dispose()


def _replay_range(
    store: Store, rules: Rules, since: dt.datetime, until: dt.datetime | None, low: int, high: int, keep: int,
    progress: Callable[[int], None] | None, chunk: int = 2000,
) -> ReplayReport:
    report = ReplayReport()
    with store.read() as conn:
        sites = load_sites(conn)
        names = {int(i): str(c) for i, c in conn.execute(select(Location.id, Location.code))}  # inactive ones too
        stmt = (
            select(RoutingDecision.id, RoutingDecision.order_id, RoutingDecision.outcome, RoutingDecision.cost_minor,
                   RoutingDecision.result, RoutingDecision.inputs, Order.external_id, Channel.code)
            .join(Order, Order.id == RoutingDecision.order_id)
            .join(Channel, Channel.id == Order.channel_id)
            .where(*_window(since, until), RoutingDecision.id.between(low, high))
            .order_by(RoutingDecision.id)
        )
        result = conn.execution_options(stream_results=True, yield_per=chunk).execute(stmt)
        for rows in result.partitions(chunk):
            for r in rows:
                inputs = r.inputs
                facts = facts_from_json(inputs["order"])
                avail = {(s, loc): n for s, loc, n in inputs["avail"]}
                load = {loc: n for loc, n in inputs["load"]}
                d = decide(facts, sites, avail, load, rules)
                was = r.result
                before = _shape(r.outcome, [[n, names.get(loc, f"location {loc}"), q] for n, loc, q in was["placements"]],
                                was["backordered"])
                after = _shape(d.outcome, [[n, names.get(loc, f"location {loc}"), q] for n, loc, q in d.placements],
                               [list(b) for b in d.backordered])
                report.orders += 1
                report.live.add(r.outcome, sum(q for _, q in was["backordered"]), r.cost_minor)
                report.replayed.add(d.outcome, sum(q for _, q in d.backordered), d.cost_minor)
                if before == after and r.cost_minor == d.cost_minor:
                    report.unchanged += 1
                elif len(report.changes) < keep:
                    report.changes.append(ReplayChange(r.order_id, r.code, r.external_id, before, after,
                                                       r.cost_minor, d.cost_minor))
            if progress is not None:
                progress(report.orders)
    return report
