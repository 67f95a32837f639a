"""A routing decision as lines a person reads (`oms route --explain`, the order screen): what
was decided and by whom, each rule tried, each candidate location with its scores or why it was
rejected, what was reserved and backordered. Costs are in minor units of the order's currency."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

__all__ = ["explain_lines"]

_PLACING = ("allocated", "split", "backordered")


def _cost(minor: int) -> str:
    return f"{minor / 100:,.2f}"


def explain_lines(*, at: dt.datetime, trigger: str, outcome: str, rule: str | None, cost: str | None,
                  explanation: Mapping[str, Any]) -> list[str]:
    """The decision's head line, then its details indented by two spaces. `cost` is the
    decision's estimated cost as the caller shows money."""
    e = explanation
    if e.get("chosen_by"):  # an operator chose the locations, or accepted a rule's proposal
        by = f" ({e['decided_by']})"
    elif rule:
        by = f" by rule {rule!r}"
    elif outcome in _PLACING:
        by = " (fallback: best-ranked locations)"
    else:
        by = f" ({e.get('decided_by', 'fallback')})"
    out = [f"{at:%Y-%m-%d %H:%M} {trigger}: {outcome}{by}"
           + (f", est. cost {cost}" if cost is not None else "")]
    if e.get("how") and not e.get("placements"):
        out.append(f"  {e['how']}")
    for step in e.get("rules", []):
        if not step.get("applies"):
            out.append(f"  rule {step['rule']}: does not apply ({step['why']})")
            continue
        out.append(f"  rule {step['rule']}: {step.get('result', '')} -> {step.get('action', '')}")
        for c in step.get("candidates", []):
            if c.get("rejected"):
                out.append(f"    {c['location']}: rejected, {c['rejected']}")
                continue
            s = c.get("scores", {})
            bits = [f"#{c.get('position', '?')}", f"covers {c.get('covers', '?')}", f"stock {s.get('stock')}"]
            if s.get("distance_km") is not None:
                bits.append(f"{s['distance_km']:,.0f} km")
            if s.get("cost") is not None:
                bits.append(f"cost {_cost(s['cost'])}")
            if c.get("skipped"):
                bits.append(c["skipped"])
            out.append(f"    {c['location']}: " + ", ".join(bits))
    if e.get("placements"):
        out.append("  reserved: " + ", ".join(f"line {n} x{q} at {loc}" for n, loc, q in e["placements"]))
    if e.get("backordered"):
        out.append("  backordered: " + ", ".join(f"line {n} x{q}" for n, q in e["backordered"]))
    if e.get("hold_reason"):
        out.append(f"  held: {e['hold_reason']}")
    if e.get("auto_cancel_on"):
        out.append(f"  backorder auto-cancels on {e['auto_cancel_on']}")
    return out
