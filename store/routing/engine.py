"""The routing decision itself: a pure function of an order's facts, the locations, the stock
and load it sees, and the rules. Live intake and `oms route --dry-run` both call `decide`, so a
replay with unchanged rules and the same inputs gives the same decision, by construction.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .rules import LocationFilter, OrderFilter, Rule, Rules

__all__ = ["Site", "LineFacts", "OrderFacts", "Decision", "decide", "OUTCOMES"]

OUTCOMES = ("allocated", "split", "backordered", "held", "cancelled", "unroutable")


@dataclass(frozen=True, slots=True)
class Site:
    """A location as routing sees it."""

    id: int
    code: str
    kind: str = "warehouse"
    region: str | None = None
    country: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    rank: int = 100
    capacity: int | None = None
    regions_served: tuple[str, ...] | None = None
    cost_per_order_minor: int | None = None
    cost_per_unit_minor: int | None = None


@dataclass(frozen=True, slots=True)
class LineFacts:
    line_no: int
    sku: int
    qty: int  # the units to place now
    unit_price_minor: int


@dataclass(frozen=True, slots=True)
class OrderFacts:
    """What routing knows of an order (or of its backordered part)."""

    channel: str
    lines: tuple[LineFacts, ...]
    locations: tuple[int, ...]  # the channel's locations, preferred first
    today: dt.date
    partner: str | None = None
    priority: int = 0
    country: str | None = None
    region: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    ship_by: dt.date | None = None
    fulfilment: str = "ship"
    pickup: int | None = None
    placed_on: dt.date | None = None
    cancel_after: dt.date | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    outcome: str
    rule: str | None
    placements: tuple[tuple[int, int, int], ...] = ()  # (line_no, location id, qty)
    backordered: tuple[tuple[int, int], ...] = ()  # (line_no, qty)
    hold_reason: str | None = None
    auto_cancel_on: dt.date | None = None
    cost_minor: int | None = None
    explanation: dict[str, Any] = field(default_factory=dict)

    def locations(self) -> tuple[int, ...]:
        return tuple(dict.fromkeys(loc for _, loc, _ in self.placements))


def _money(minor: int) -> str:
    return f"{minor / 100:,.2f}"


def _haversine_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * math.asin(min(1.0, math.sqrt(h)))


def _region_keys(order: OrderFacts) -> set[str]:
    if not order.region:
        return set()
    keys = {order.region.upper()}
    if order.country:
        keys.add(f"{order.country.upper()}-{order.region.upper()}")
    return keys


def _order_mismatch(f: OrderFilter, order: OrderFacts) -> str | None:
    """Why the filter does not match the order, or None when it does."""
    if f.channels and order.channel not in f.channels:
        return f"channel {order.channel} is not {', '.join(f.channels)}"
    if f.partners and order.partner not in f.partners:
        return f"partner {order.partner or '(none)'} is not {', '.join(f.partners)}"
    if f.min_priority is not None and order.priority < f.min_priority:
        return f"priority {order.priority} is below {f.min_priority}"
    if f.max_priority is not None and order.priority > f.max_priority:
        return f"priority {order.priority} is above {f.max_priority}"
    if f.ship_to_countries and (order.country or "").upper() not in {c.upper() for c in f.ship_to_countries}:
        return f"ship-to country {order.country or '(none)'} is not {', '.join(f.ship_to_countries)}"
    if f.ship_to_regions and not (_region_keys(order) & {r.upper() for r in f.ship_to_regions}):
        return f"ship-to region {order.region or '(none)'} is not {', '.join(f.ship_to_regions)}"
    if f.ship_by_within_days is not None:
        if order.ship_by is None:
            return "the order has no ship-by date"
        days = (order.ship_by - order.today).days
        if days > f.ship_by_within_days:
            return f"ships by {order.ship_by.isoformat()}, {days} days away (rule: within {f.ship_by_within_days})"
    if f.fulfilment is not None and order.fulfilment != f.fulfilment:
        return f"fulfilment is {order.fulfilment}, not {f.fulfilment}"
    return None


class _View:
    """The inputs of one decision, with the derived numbers each rule needs."""

    def __init__(self, order: OrderFacts, sites: Mapping[int, Site], avail: Mapping[tuple[int, int], int],
                 load: Mapping[int, int], rules: Rules) -> None:
        self.order, self.sites, self.avail, self.load = order, sites, avail, load
        self.lines = [ln for ln in order.lines if ln.qty > 0]
        self.units = sum(ln.qty for ln in self.lines)
        self.price = {ln.line_no: ln.unit_price_minor for ln in self.lines}
        here: tuple[float, float] | None = None
        if order.latitude is not None and order.longitude is not None:
            here = (order.latitude, order.longitude)
        else:
            for key in sorted(_region_keys(order), key=len, reverse=True):  # "US-CA" before "CA"
                if key in rules.region_coordinates:
                    here = rules.region_coordinates[key]
                    break
        self.here = here
        self.order_index = {loc: i for i, loc in enumerate(order.locations)}

        self._km: dict[int, float | None] = {}

    def distance(self, site: Site) -> float | None:
        if site.id in self._km:
            return self._km[site.id]
        km = None
        if self.here is not None and site.latitude is not None and site.longitude is not None:
            km = round(_haversine_km(self.here, (site.latitude, site.longitude)), 1)
        self._km[site.id] = km
        return km

    def cost(self, site: Site, units: int) -> int | None:
        if site.cost_per_order_minor is None and site.cost_per_unit_minor is None:
            return None
        return (site.cost_per_order_minor or 0) + (site.cost_per_unit_minor or 0) * units


def _rejection(f: LocationFilter, site: Site, view: _View) -> str | None:
    order = view.order
    if order.fulfilment == "pickup" and order.pickup is not None and site.id != order.pickup:
        return "not the pick-up store"
    if f.kinds and site.kind not in f.kinds:
        return f"a {site.kind}; the rule takes {', '.join(f.kinds)}"
    if f.codes and site.code not in f.codes:
        return "not one of the rule's locations"
    if f.regions and (site.region or "").upper() not in {r.upper() for r in f.regions}:
        return f"in region {site.region or '(none)'}; the rule takes {', '.join(f.regions)}"
    if f.serves_ship_to and site.regions_served is not None:
        served = {r.upper() for r in site.regions_served}
        if not (_region_keys(order) & served):
            return f"serves {', '.join(site.regions_served)}, not ship-to region {order.region or '(none)'}"
    if f.within_capacity and site.capacity is not None:
        used = view.load.get(site.id, 0)
        if used >= site.capacity:
            return f"at capacity: {used} of {site.capacity} orders today"
    if f.max_distance_km is not None:
        km = view.distance(site)
        if km is None:
            return "distance unknown (no coordinates for the location or the ship-to)"
        if km > f.max_distance_km:
            return f"{km:,.0f} km away; the rule allows {f.max_distance_km:,.0f}"
    return None


def _sort_key(rule: Rule, site: Site, view: _View, stock: int) -> tuple[Any, ...]:
    key: list[Any] = []
    for name in rule.sort:
        flip = name.startswith("-")
        base = name.removeprefix("-")
        if base == "distance":
            km = view.distance(site)
            key.append((km is None, (-km if flip else km) if km is not None else 0.0))
        elif base == "stock":
            key.append(stock if flip else -stock)  # most stock first unless turned around
        elif base == "cost":
            c = view.cost(site, view.units)
            key.append((c is None, (-c if flip else c) if c is not None else 0))
        else:  # rank
            key.append(-site.rank if flip else site.rank)
    key.append(view.order_index.get(site.id, 0))
    return tuple(key)


@dataclass
class _Attempt:
    placements: list[tuple[int, int, int]]
    missing: list[tuple[int, int]]
    candidates: list[dict[str, Any]]
    note: str

    @property
    def complete(self) -> bool:
        return not self.missing


def _attempt(rule: Rule, view: _View, split: bool | None = None) -> _Attempt:
    """Place what this rule can: one location with everything, else (split) part by part."""
    order, safety = view.order, rule.locations.safety_stock
    split = rule.split if split is None else split
    records: list[dict[str, Any]] = []
    usable: list[tuple[tuple[Any, ...], Site]] = []
    skus = {ln.sku for ln in view.lines}
    for loc in order.locations:
        site = view.sites.get(loc)
        if site is None:
            continue
        why = _rejection(rule.locations, site, view)
        if why is not None:
            records.append({"location": site.code, "rejected": why})
            continue
        stock = sum(max(0, view.avail.get((sku, loc), 0) - safety) for sku in skus)
        usable.append((_sort_key(rule, site, view, stock), site))
        records.append({"location": site.code, "rejected": None, "scores": {
            "distance_km": view.distance(site), "stock": stock, "cost": view.cost(site, view.units),
            "rank": site.rank}})
    usable.sort(key=lambda x: x[0])
    ranked = [site for _, site in usable]
    by_code = {r["location"]: r for r in records}

    def free(sku: int, loc: int, used: Mapping[tuple[int, int], int]) -> int:
        return max(0, view.avail.get((sku, loc), 0) - safety - used.get((sku, loc), 0))

    def whole_lines(site: Site, todo: Sequence[LineFacts], used: dict[tuple[int, int], int],
                    partial_units: bool) -> list[tuple[int, int, int]]:
        taken = []
        for ln in todo:
            have = free(ln.sku, site.id, used)
            qty = ln.qty if have >= ln.qty else (have if partial_units else 0)
            if qty > 0:
                used[(ln.sku, site.id)] = used.get((ln.sku, site.id), 0) + qty
                taken.append((ln.line_no, site.id, qty))
        return taken

    # One location with every unit: no split, whatever the mode.
    for pos, site in enumerate(ranked, 1):
        by_code[site.code]["position"] = pos
    alone: list[tuple[Site, list[tuple[int, int, int]]]] = []  # what each location has in full
    for site in ranked:
        taken = whole_lines(site, view.lines, {}, False)
        alone.append((site, taken))
        covered = sum(q for _, _, q in taken)
        by_code[site.code]["covers"] = f"{len(taken)} of {len(view.lines)} lines"
        if covered == view.units:
            return _Attempt(taken, [], records, f"{site.code} has every line")
    if not ranked:
        return _Attempt([], [(ln.line_no, ln.qty) for ln in view.lines], records, "no location passes the filters")

    if not split:
        best: list[tuple[int, int, int]] = []
        best_value, best_site = -1, ranked[0]
        for site, taken in alone:
            value = sum(q * view.price[n] for n, _, q in taken)
            if value > best_value:
                best, best_value, best_site = taken, value, site
        placed = {n: q for n, _, q in best}
        missing = [(ln.line_no, ln.qty - placed.get(ln.line_no, 0)) for ln in view.lines
                   if ln.qty - placed.get(ln.line_no, 0) > 0]
        most = f"the most at {best_site.code}" if best else "none has any line in full"
        return _Attempt(best, missing, records, f"no single location has every line ({most}); the rule does not split")

    used: dict[tuple[int, int], int] = {}
    remaining = {ln.line_no: ln.qty for ln in view.lines}
    placements: list[tuple[int, int, int]] = []
    parts = 0
    notes: list[str] = []
    for site in ranked:
        todo = [LineFacts(ln.line_no, ln.sku, remaining[ln.line_no], ln.unit_price_minor)
                for ln in view.lines if remaining[ln.line_no] > 0]
        if not todo:
            break
        if rule.max_locations is not None and parts >= rule.max_locations:
            notes.append(f"stopped at {rule.max_locations} locations")
            break
        trial = dict(used)
        taken = whole_lines(site, todo, trial, rule.split_lines)
        if not taken:
            continue
        value = sum(q * view.price[n] for n, _, q in taken)
        if value < rule.min_split_value_minor:
            msg = f"part at {site.code} worth {_money(value)} is under the minimum split value {_money(rule.min_split_value_minor)}"
            by_code[site.code]["skipped"] = msg
            continue
        used = trial
        parts += 1
        placements.extend(taken)
        for n, _, q in taken:
            remaining[n] -= q
    missing = [(n, q) for n, q in remaining.items() if q > 0]
    if missing:
        notes.insert(0, "short: " + ", ".join(f"line {n} x{q}" for n, q in missing))
    return _Attempt(placements, missing, records, "; ".join(notes) or f"split over {parts} locations")


def _cost(view: _View, placements: Sequence[tuple[int, int, int]]) -> int | None:
    units: dict[int, int] = {}
    for _, loc, q in placements:
        units[loc] = units.get(loc, 0) + q
    total = 0
    for loc, n in units.items():
        c = view.cost(view.sites[loc], n)
        if c is None:
            return None
        total += c
    return total if units else None


def _placed(view: _View, rule: str | None, attempt: _Attempt, trail: list[dict[str, Any]], how: str) -> Decision:
    locs = {loc for _, loc, _ in attempt.placements}
    outcome = "backordered" if attempt.missing else ("split" if len(locs) > 1 else "allocated")
    return Decision(
        outcome=outcome, rule=rule, placements=tuple(sorted(attempt.placements, key=lambda p: p[0])),
        backordered=tuple(attempt.missing),
        cost_minor=_cost(view, attempt.placements),
        explanation={"rules": trail, "decided_by": rule or "fallback", "how": how},
    )


def _auto_cancel(rule: Rule, order: OrderFacts) -> dt.date | None:
    days: list[dt.date] = []
    if rule.auto_cancel_after_days is not None:
        days.append((order.placed_on or order.today) + dt.timedelta(days=rule.auto_cancel_after_days))
    if rule.cancel_at_cancel_after and order.cancel_after is not None:
        days.append(order.cancel_after)
    return min(days) if days else None


# Locations' own limits (regions served, daily capacity) hold here too.
_FALLBACK_RULE = Rule(name="fallback", split=True, otherwise="backorder")


def decide(order: OrderFacts, sites: Mapping[int, Site], avail: Mapping[tuple[int, int], int],
           load: Mapping[int, int], rules: Rules) -> Decision:
    """Where the order's lines go under `rules`, with the explanation of every step."""
    view = _View(order, sites, avail, load, rules)
    trail: list[dict[str, Any]] = []
    if not view.lines:
        return Decision("allocated", None, explanation={"rules": [], "decided_by": "nothing to place", "how": ""})
    if order.fulfilment == "pickup" and not order.locations:
        return Decision("unroutable", None, explanation={
            "rules": [], "decided_by": "pick-up", "how": "the pick-up store is not an active location"})
    for rule in rules.rules:
        why = _order_mismatch(rule.when, order)
        if why is not None:
            trail.append({"rule": rule.name, "applies": False, "why": why})
            continue
        attempt = _attempt(rule, view)
        step: dict[str, Any] = {"rule": rule.name, "applies": True, "candidates": attempt.candidates,
                                "result": attempt.note}
        trail.append(step)
        if attempt.complete:
            step["action"] = "placed"
            return _placed(view, rule.name, attempt, trail, attempt.note)
        step["action"] = rule.otherwise
        if rule.otherwise == "next":
            continue
        if rule.otherwise == "backorder":
            d = _placed(view, rule.name, attempt, trail, attempt.note)
            cancel_on = _auto_cancel(rule, order)
            return Decision(d.outcome, d.rule, d.placements, d.backordered, None, cancel_on, d.cost_minor,
                            {**d.explanation, "auto_cancel_on": cancel_on.isoformat() if cancel_on else None})
        if rule.otherwise == "hold":
            reason = rule.hold_reason or f"routing rule {rule.name!r} could not place the order: {attempt.note}"
            return Decision("held", rule.name, hold_reason=reason[:500],
                            explanation={"rules": trail, "decided_by": rule.name, "how": "held"})
        return Decision("cancelled", rule.name,
                        explanation={"rules": trail, "decided_by": rule.name, "how": f"cancelled: {attempt.note}"})
    if rules.fallback == "hold":
        return Decision("held", None, hold_reason="no routing rule could place the order",
                        explanation={"rules": trail, "decided_by": "fallback", "how": "held"})
    if rules.fallback == "unroutable":
        return Decision("unroutable", None,
                        explanation={"rules": trail, "decided_by": "fallback", "how": "no rule could place it"})
    attempt = _attempt(_FALLBACK_RULE, view)
    trail.append({"rule": "(fallback)", "applies": True, "candidates": attempt.candidates, "result": attempt.note,
                  "action": "placed" if attempt.complete else "backorder"})
    return _placed(view, None, attempt, trail, attempt.note)
