"""Routing: where each order is fulfilled from, and why.

    rules.py       the rules as data (oms.toml [routing]), validated, kept by digest
    engine.py      the decision: a pure function of an order's facts, the locations, stock and load
    live.py        routing inside a write transaction: reserve what a decision places, record it
    backorders.py  backorders routed again when stock arrives
    autocancel.py  backordered units cancelled on a rule's day
    replay.py      past decisions decided again against other rules (`oms route --dry-run`)
"""

from __future__ import annotations

from .engine import Decision, LineFacts, OrderFacts, Site, decide
from .rules import DEFAULT_RULES, LocationFilter, OrderFilter, Rule, Rules, rules_from_dict, rules_to_dict

__all__ = [
    "DEFAULT_RULES", "Decision", "LineFacts", "LocationFilter", "OrderFacts", "OrderFilter", "Rule", "Rules",
    "Site", "decide", "rules_from_dict", "rules_to_dict",
]
