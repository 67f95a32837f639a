"""Routing inside the store's write transactions.

A `Router` serves one transaction: it loads the active rules, the locations, the stock of the
SKUs in hand and today's load once, decides each order with `engine.decide`, reserves what
the decision places with the conditional UPDATE (invariant 4) and, when another writer took
the stock first, decides that order again on fresh numbers. Each final decision is written
with the inputs it saw, so `oms route --dry-run` can replay it exactly.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, select, update

from ..bulk import insert_rows, upsert_insert
from ..catalog import channel_location_ids
from ..dropship import order_from_vendor
from ..errors import ConflictError
from ..ids import allocate_ids
from ..inventory import release, reserve_many
from ..journal import audit
from ..models import Channel, Location, LocationLoad, Order, RoutingDecision, RoutingRuleset, StockLevel
from ..types import utcnow
from .engine import Decision, LineFacts, OrderFacts, Site, decide
from .rules import DEFAULT_RULES, Rules, rules_from_dict, rules_to_dict

__all__ = ["Router", "activate_rules", "active_rules", "load_sites", "facts_to_json", "facts_from_json"]

_PARSED: dict[str, Rules] = {}
_ATTEMPTS = 5


def activate_rules(conn: Connection, rules: Rules, *, actor: str) -> bool:
    """Make `rules` the active rule set; False when they already are."""
    rules.validate()
    digest = rules.digest
    current = conn.execute(select(RoutingRuleset.digest).where(RoutingRuleset.active.is_(True))).scalar_one_or_none()
    if current == digest or (current is None and digest == DEFAULT_RULES.digest):
        return False
    conn.execute(update(RoutingRuleset).values(active=False))
    conn.execute(
        upsert_insert(conn, RoutingRuleset)
        .values(digest=digest, rules=rules_to_dict(rules), active=True, created_at=utcnow())
        .on_conflict_do_update(index_elements=["digest"], set_={"active": True})
    )
    audit(conn, actor, "routing", None, "routing.rules_activated",
          {"digest": digest, "previous": current, "rules": [r.name for r in rules.rules]})
    return True


def active_rules(conn: Connection) -> tuple[Rules, str]:
    row = conn.execute(
        select(RoutingRuleset.digest, RoutingRuleset.rules).where(RoutingRuleset.active.is_(True))
    ).first()
    if row is None:
        return DEFAULT_RULES, DEFAULT_RULES.digest
    rules = _PARSED.get(row.digest)
    if rules is None:
        rules = _PARSED[row.digest] = rules_from_dict(row.rules)
    return rules, row.digest


def load_sites(conn: Connection) -> dict[int, Site]:
    rows = conn.execute(
        select(Location.id, Location.code, Location.kind, Location.region, Location.country, Location.latitude,
               Location.longitude, Location.priority, Location.daily_capacity, Location.regions_served,
               Location.cost_per_order_minor, Location.cost_per_unit_minor)
        .where(Location.active.is_(True))
    ).all()
    return {
        r.id: Site(
            id=r.id, code=r.code, kind=r.kind, region=r.region, country=r.country, latitude=r.latitude,
            longitude=r.longitude, rank=r.priority, capacity=r.daily_capacity,
            regions_served=tuple(r.regions_served) if r.regions_served is not None else None,
            cost_per_order_minor=r.cost_per_order_minor, cost_per_unit_minor=r.cost_per_unit_minor,
        )
        for r in rows
    }


def _iso(d: dt.date | None) -> str | None:
    return d.isoformat() if d is not None else None


def _date(s: str | None) -> dt.date | None:
    return dt.date.fromisoformat(s) if s else None


def facts_to_json(f: OrderFacts) -> dict[str, Any]:
    return {
        "channel": f.channel, "partner": f.partner, "priority": f.priority, "country": f.country,
        "region": f.region, "latitude": f.latitude, "longitude": f.longitude, "ship_by": _iso(f.ship_by),
        "fulfilment": f.fulfilment, "pickup": f.pickup, "placed_on": _iso(f.placed_on),
        "cancel_after": _iso(f.cancel_after), "today": f.today.isoformat(), "locations": list(f.locations),
        "lines": [[ln.line_no, ln.sku, ln.qty, ln.unit_price_minor] for ln in f.lines],
    }


def facts_from_json(d: Mapping[str, Any]) -> OrderFacts:
    today = _date(d["today"])
    assert today is not None
    return OrderFacts(
        channel=d["channel"], partner=d["partner"], priority=d["priority"], country=d["country"],
        region=d["region"], latitude=d["latitude"], longitude=d["longitude"], ship_by=_date(d["ship_by"]),
        fulfilment=d["fulfilment"], pickup=d["pickup"], placed_on=_date(d["placed_on"]),
        cancel_after=_date(d["cancel_after"]), today=today, locations=tuple(d["locations"]),
        lines=tuple(LineFacts(*ln) for ln in d["lines"]),
    )


class Router:
    def __init__(self, conn: Connection, sku_ids: Iterable[int], *, now: dt.datetime | None = None) -> None:
        self.conn = conn
        self.now = now or utcnow()
        self.today = self.now.date()
        self.rules, self.digest = active_rules(conn)
        self.sites = load_sites(conn)
        self._by_code = {s.code: s.id for s in self.sites.values()}
        self.avail: dict[tuple[int, int], int] = {}
        self._known: set[int] = set()
        self._channels: dict[int, tuple[int, ...]] = {}
        capped = [s.id for s in self.sites.values() if s.capacity is not None]
        self.load: dict[int, int] = {}
        if capped:
            self.load = dict(conn.execute(
                select(LocationLoad.location_id, LocationLoad.orders)
                .where(LocationLoad.day == self.today, LocationLoad.location_id.in_(capped))
            ).all())
        self._added: dict[int, list[int]] = {}  # location -> [orders, units] routed here in this transaction
        self._vendors: dict[tuple[int, int], None] = {}  # (order, dropship location): a PO to write
        self._rows: list[dict[str, Any]] = []
        self._fetch(sku_ids)

    # -- the world ---------------------------------------------------------------------------

    def _fetch(self, sku_ids: Iterable[int], *, again: bool = False) -> None:
        todo = sorted(set(sku_ids) if again else set(sku_ids) - self._known)
        for i in range(0, len(todo), 900):
            chunk = todo[i : i + 900]
            for sku in chunk:
                for loc in self.sites:
                    self.avail.pop((sku, loc), None)
            for sid, loc, a in self.conn.execute(
                select(StockLevel.sku_id, StockLevel.location_id,
                       StockLevel.on_hand - StockLevel.reserved - StockLevel.safety)
                .where(StockLevel.sku_id.in_(chunk))
            ):
                self.avail[(sid, loc)] = a
        self._known.update(todo)

    def facts(
        self, *, channel_id: int, channel: str, partner: str | None, lines: Iterable[LineFacts], priority: int = 0,
        country: str | None = None, region: str | None = None, latitude: float | None = None,
        longitude: float | None = None, ship_by: dt.date | None = None, fulfilment: str = "ship",
        pickup: int | None = None, placed_at: dt.datetime | None = None, cancel_after: dt.date | None = None,
    ) -> OrderFacts:
        locations = self.locations(channel_id)
        if fulfilment == "pickup":
            # Only the pick-up store, whether or not it ships the channel's other orders.
            locations = (pickup,) if pickup is not None and pickup in self.sites else ()
        return OrderFacts(
            channel=channel, partner=partner, priority=priority, country=country, region=region, latitude=latitude,
            longitude=longitude, ship_by=ship_by, fulfilment=fulfilment, pickup=pickup,
            placed_on=(placed_at or self.now).date(), cancel_after=cancel_after, today=self.today,
            locations=locations, lines=tuple(ln for ln in lines if ln.qty > 0),
        )

    def facts_of_order(self, order_id: int, lines: Iterable[LineFacts]) -> OrderFacts:
        """Routing facts of a stored order, for the units in `lines`."""
        o = self.conn.execute(
            select(Order.channel_id, Channel.code, Order.partner_id, Order.priority, Order.ship_to_country,
                   Order.ship_to_region, Order.ship_to_latitude, Order.ship_to_longitude, Order.requested_ship_date,
                   Order.fulfilment, Order.pickup_location_id, Order.placed_at, Order.received_at, Order.cancel_after)
            .join(Channel, Channel.id == Order.channel_id).where(Order.id == order_id)
        ).one()
        return self.facts(
            channel_id=o.channel_id, channel=o.code, partner=o.code if o.partner_id is not None else None,
            lines=lines, priority=o.priority, country=o.ship_to_country, region=o.ship_to_region,
            latitude=o.ship_to_latitude, longitude=o.ship_to_longitude, ship_by=o.requested_ship_date,
            fulfilment=o.fulfilment, pickup=o.pickup_location_id, placed_at=o.placed_at or o.received_at,
            cancel_after=o.cancel_after,
        )

    def site_id(self, code: str | None) -> int | None:
        if code is None:
            return None
        return self._by_code.get(code)

    def locations(self, channel_id: int) -> tuple[int, ...]:
        if channel_id not in self._channels:
            self._channels[channel_id] = tuple(channel_location_ids(self.conn, channel_id))
        return self._channels[channel_id]

    def _snapshot(self, f: OrderFacts) -> dict[str, Any]:
        skus = sorted({ln.sku for ln in f.lines})
        avail = [[s, loc, self.avail[(s, loc)]] for s in skus for loc in f.locations if self.avail.get((s, loc))]
        load = [[loc, self.load[loc]] for loc in f.locations if self.load.get(loc)]
        return {"order": facts_to_json(f), "avail": avail, "load": load}

    # -- deciding ----------------------------------------------------------------------------

    def _decide(self, f: OrderFacts) -> tuple[Decision, dict[str, Any]]:
        self._fetch({ln.sku for ln in f.lines})
        inputs = self._snapshot(f)
        return decide(f, self.sites, self.avail, self.load, self.rules), inputs

    def _take(self, f: OrderFacts, d: Decision, sign: int) -> None:
        """Count a decision's placements against (sign=1) or back into (sign=-1) the local numbers."""
        sku_of = {ln.line_no: ln.sku for ln in f.lines}
        units: dict[int, int] = {}
        for line_no, loc, qty in d.placements:
            key = (sku_of[line_no], loc)
            self.avail[key] = self.avail.get(key, 0) - sign * qty
            units[loc] = units.get(loc, 0) + qty
        for loc, n in units.items():
            self.load[loc] = self.load.get(loc, 0) + sign
            added = self._added.setdefault(loc, [0, 0])
            added[0] += sign
            added[1] += sign * n

    @staticmethod
    def _wanted(f: OrderFacts, d: Decision) -> list[tuple[int, int, int]]:
        sku_of = {ln.line_no: ln.sku for ln in f.lines}
        return [(sku_of[n], loc, q) for n, loc, q in d.placements]

    def route(self, items: Sequence[tuple[int, OrderFacts]], trigger: str, *, keep_empty: bool = True
              ) -> dict[int, Decision]:
        """Decide and reserve for each (order id, facts), in order; returns each final decision.

        The batch's reservations go to the database together; an order whose UPDATE found
        the stock gone is undone and decided again on fresh numbers, on its own.
        """
        decided: list[tuple[int, OrderFacts, Decision, dict[str, Any]]] = []
        for oid, f in items:
            d, inputs = self._decide(f)
            self._take(f, d, 1)
            decided.append((oid, f, d, inputs))
        wanted = [self._wanted(f, d) for _, f, d, _ in decided]
        flat = [w for ws in wanted for w in ws]
        # Taken in (sku, location) order, so two writers reserving overlapping stock lock rows in
        # the same order and do not deadlock; the answers are put back in the decisions' order.
        order = sorted(range(len(flat)), key=lambda i: (flat[i][0], flat[i][1]))
        answers = reserve_many(self.conn, [flat[i] for i in order])
        got_at = [False] * len(flat)
        for i, ok in zip(order, answers):
            got_at[i] = ok
        oks = iter(got_at)
        out: dict[int, Decision] = {}
        for (oid, f, d, inputs), ws in zip(decided, wanted):
            got = [next(oks) for _ in ws]
            if all(got):
                out[oid] = d
                if keep_empty or d.placements:
                    self._record(oid, trigger, d, inputs)
                continue
            for (sku, loc, qty), ok in zip(ws, got):
                if ok:
                    release(self.conn, sku, loc, qty)
            self._take(f, d, -1)
            out[oid] = self._route_alone(oid, f, trigger, keep_empty)
        return out

    def _route_alone(self, oid: int, f: OrderFacts, trigger: str, keep_empty: bool) -> Decision:
        for _ in range(_ATTEMPTS):
            self._fetch({ln.sku for ln in f.lines}, again=True)
            d, inputs = self._decide(f)
            ws = self._wanted(f, d)
            got = reserve_many(self.conn, ws)
            if all(got):
                self._take(f, d, 1)
                if keep_empty or d.placements:
                    self._record(oid, trigger, d, inputs)
                return d
            for (sku, loc, qty), ok in zip(ws, got):
                if ok:
                    release(self.conn, sku, loc, qty)
        raise ConflictError(f"order {oid}: stock kept changing under routing; try again")

    def place(self, oid: int, f: OrderFacts, d: Decision, trigger: str) -> list[tuple[int, int, int]]:
        """Reserve a decision made elsewhere (an operator's choice of locations) and record it
        like one of routing's own. Returns the (sku, location, qty) it could not reserve: when
        any is short nothing is recorded, and the caller rolls its transaction back."""
        self._fetch({ln.sku for ln in f.lines})
        inputs = self._snapshot(f)
        wanted = sorted(self._wanted(f, d))  # (sku, location) order, as route() takes locks
        got = reserve_many(self.conn, wanted)
        short = [w for w, ok in zip(wanted, got) if not ok]
        if not short:
            self._take(f, d, 1)
            self._record(oid, trigger, d, inputs)
        return short

    # -- recording ---------------------------------------------------------------------------

    def _record(self, oid: int, trigger: str, d: Decision, inputs: dict[str, Any]) -> None:
        code = {s.id: s.code for s in self.sites.values()}
        explanation = {
            **d.explanation,
            "outcome": d.outcome,
            "placements": [[n, code.get(loc, str(loc)), q] for n, loc, q in d.placements],
            "backordered": [list(b) for b in d.backordered],
        }
        if d.hold_reason:
            explanation["hold_reason"] = d.hold_reason
        for loc in d.locations():
            if self.sites[loc].kind == "dropship":
                self._vendors[(oid, loc)] = None
        self._rows.append({
            "order_id": oid, "at": self.now, "trigger": trigger, "ruleset": self.digest, "rule": d.rule,
            "outcome": d.outcome, "cost_minor": d.cost_minor, "explanation": explanation, "inputs": inputs,
            "result": {"placements": [list(p) for p in d.placements], "backordered": [list(b) for b in d.backordered]},
        })

    def flush(self, actor: str = "routing") -> None:
        """Write the decisions, today's added load and the POs to dropship vendors (call once,
        after the orders and their reservations are written)."""
        if self._rows:
            ids = allocate_ids(self.conn, RoutingDecision, len(self._rows))
            insert_rows(self.conn, RoutingDecision, [{"id": i, **r} for i, r in zip(ids, self._rows)])
            self._rows = []
        for loc, (orders, units) in sorted(self._added.items()):
            if orders == 0 and units == 0:
                continue
            self.conn.execute(
                upsert_insert(self.conn, LocationLoad)
                .values(location_id=loc, day=self.today, orders=orders, units=units)
                .on_conflict_do_update(index_elements=["location_id", "day"],
                                       set_={"orders": LocationLoad.orders + orders, "units": LocationLoad.units + units})
            )
        self._added = {}
        for oid, loc in self._vendors:
            order_from_vendor(self.conn, oid, loc, actor=actor)
        self._vendors = {}
