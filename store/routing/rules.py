"""Routing rules as data: what the admin writes under `[routing]` in oms.toml.

Rules are tried in order. A rule applies to an order its `when` filter matches; it considers
the channel's locations its `locations` filter keeps, sorted by `sort`, and places the order
at one location (or split across several, each part worth at least `min_split_value_minor`).
When it cannot place every unit, `otherwise` says what happens: try the `next` rule,
`backorder` what is missing (optionally auto-cancelled later), `hold` the order for an
operator, or `cancel` it. When no rule places an order, `fallback` decides (backorder by
default, reserving what the channel's locations have, by rank).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from ..errors import RulesInvalid

__all__ = [
    "SORT_KEYS",
    "ACTIONS",
    "FALLBACKS",
    "OrderFilter",
    "LocationFilter",
    "Rule",
    "Rules",
    "DEFAULT_RULES",
    "rules_from_dict",
    "rules_to_dict",
]

# distance: nearest first; stock: most of the order's items on hand first (balances stock);
# cost: cheapest for this order first; rank: the location's priority, lowest first.
# A leading "-" turns a key around.
SORT_KEYS = ("distance", "stock", "cost", "rank")
ACTIONS = ("next", "backorder", "hold", "cancel")
FALLBACKS = ("backorder", "hold", "unroutable")
FULFILMENTS = ("ship", "pickup")
LOCATION_KINDS = ("warehouse", "store", "dropship")


@dataclass(frozen=True, slots=True)
class OrderFilter:
    """Which orders a rule is for; an empty field matches every order."""

    channels: tuple[str, ...] = ()
    partners: tuple[str, ...] = ()
    min_priority: int | None = None
    max_priority: int | None = None
    ship_to_countries: tuple[str, ...] = ()
    # "CA" matches any country's CA; "US-CA" only the United States'.
    ship_to_regions: tuple[str, ...] = ()
    # Orders that must ship within this many days of today (their requested ship date).
    ship_by_within_days: int | None = None
    fulfilment: str | None = None


@dataclass(frozen=True, slots=True)
class LocationFilter:
    """Which of the channel's locations a rule may use."""

    kinds: tuple[str, ...] = ()
    codes: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()  # the location's own region
    serves_ship_to: bool = True  # honour each location's regions_served
    within_capacity: bool = True  # skip a location whose orders today reached its daily capacity
    safety_stock: int = 0  # units of each SKU this rule leaves at every location
    max_distance_km: float | None = None


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    when: OrderFilter = OrderFilter()
    locations: LocationFilter = LocationFilter()
    sort: tuple[str, ...] = ("rank",)
    split: bool = False
    split_lines: bool = False  # with split: one line's units may come from several locations
    min_split_value_minor: int = 0
    max_locations: int | None = None
    otherwise: str = "next"
    hold_reason: str | None = None
    auto_cancel_after_days: int | None = None
    cancel_at_cancel_after: bool = False


@dataclass(frozen=True, slots=True)
class Rules:
    rules: tuple[Rule, ...] = ()
    fallback: str = "backorder"
    region_coordinates: Mapping[str, tuple[float, float]] = field(default_factory=dict)

    @property
    def digest(self) -> str:
        blob = json.dumps(rules_to_dict(self), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def validate(self) -> None:
        seen: set[str] = set()
        if self.fallback not in FALLBACKS:
            raise RulesInvalid(f"routing.fallback {self.fallback!r} is not one of {', '.join(FALLBACKS)}")
        for n, rule in enumerate(self.rules, 1):
            where = f"routing.rules[{n}] ({rule.name})"
            if not rule.name.strip():
                raise RulesInvalid(f"routing.rules[{n}]: a rule needs a name")
            if rule.name in seen:
                raise RulesInvalid(f"{where}: another rule has the same name")
            seen.add(rule.name)
            for key in rule.sort:
                if key.removeprefix("-") not in SORT_KEYS:
                    raise RulesInvalid(f"{where}.sort: {key!r} is not one of {', '.join(SORT_KEYS)} (or -key)")
            if rule.otherwise not in ACTIONS:
                raise RulesInvalid(f"{where}.otherwise: {rule.otherwise!r} is not one of {', '.join(ACTIONS)}")
            for kind in rule.locations.kinds:
                if kind not in LOCATION_KINDS:
                    raise RulesInvalid(f"{where}.locations.kinds: {kind!r} is not one of {', '.join(LOCATION_KINDS)}")
            if rule.when.fulfilment is not None and rule.when.fulfilment not in FULFILMENTS:
                raise RulesInvalid(f"{where}.when.fulfilment: {rule.when.fulfilment!r} is not ship or pickup")
            if rule.min_split_value_minor < 0 or rule.locations.safety_stock < 0:
                raise RulesInvalid(f"{where}: min_split_value_minor and safety_stock cannot be negative")
            if rule.max_locations is not None and rule.max_locations < 1:
                raise RulesInvalid(f"{where}.max_locations: at least 1")
            if (rule.auto_cancel_after_days is not None or rule.cancel_at_cancel_after) and rule.otherwise != "backorder":
                raise RulesInvalid(f"{where}: auto-cancel applies to backorders; set otherwise = \"backorder\"")
            if rule.auto_cancel_after_days is not None and rule.auto_cancel_after_days < 0:
                raise RulesInvalid(f"{where}.auto_cancel_after_days cannot be negative")
            if rule.split_lines and not rule.split:
                raise RulesInvalid(f"{where}: split_lines needs split = true")


# Without configured rules: every line at the best-ranked location of the channel that has it,
# lines split across locations, what no location has is backordered.
DEFAULT_RULES = Rules(rules=(), fallback="backorder")


def rules_to_dict(rules: Rules) -> dict[str, Any]:
    """The JSON form kept in the store (and hashed into the rule set's digest)."""

    def plain(obj: Any) -> Any:
        if hasattr(obj, "__dataclass_fields__"):
            return {f.name: plain(getattr(obj, f.name)) for f in fields(obj)}
        if isinstance(obj, tuple):
            return [plain(x) for x in obj]
        if isinstance(obj, Mapping):
            return {str(k): plain(v) for k, v in sorted(obj.items())}
        return obj

    result: dict[str, Any] = plain(rules)
    return result


def _build(cls: Any, data: Mapping[str, Any], where: str) -> Any:
    known = {f.name: f for f in fields(cls)}
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key not in known:
            raise RulesInvalid(f"{where}: unknown key {key!r} (known: {', '.join(known)})")
        if isinstance(value, list):
            value = tuple(value)
        values[key] = value
    return cls(**values)


def rules_from_dict(data: Mapping[str, Any]) -> Rules:
    """Rules from their JSON/TOML form (already type-checked by the config loader or stored by us)."""
    rules = []
    for n, raw in enumerate(data.get("rules", ()), 1):
        where = f"routing.rules[{n}]"
        raw = dict(raw)
        when = _build(OrderFilter, raw.pop("when", {}) or {}, f"{where}.when")
        locations = _build(LocationFilter, raw.pop("locations", {}) or {}, f"{where}.locations")
        rules.append(_build(Rule, {**raw, "when": when, "locations": locations}, where))
    # Regions are matched without regard to case ("us-tx" is "US-TX").
    coords = {str(k).upper(): (float(v[0]), float(v[1])) for k, v in (data.get("region_coordinates") or {}).items()}
    result = Rules(rules=tuple(rules), fallback=str(data.get("fallback", "backorder")), region_coordinates=coords)
    result.validate()
    return result
