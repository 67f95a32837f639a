"""Routing many orders at once (the order list's bulk action): each accepts what the rules
propose for its open units now, as an operator accepting each proposal in turn would.

    route_many(store, [12, 13, 14], actor="ann")   -> [Routed, ...] in the order given

One transaction per order, proposal and placing together (`routing.manual.propose_in`,
`place_in`): an order that cannot be routed is skipped with the reason and the others go
ahead. Skipped: an order that is on hold, cancelled, shipped or closed, has an unknown item or
nothing open, one the rules would place nowhere now (no stock: it stays as it is), one whose
stock another transaction took first.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection

from ..db import Store
from ..errors import NotFound, StockError, TransitionError
from .manual import place_in, propose_in

__all__ = ["Routed", "route_many"]


@dataclass(frozen=True, slots=True)
class Routed:
    """What routing one order did: `status` is where it went and `units` how many units were
    placed, or `skipped` says why nothing changed."""

    order_id: int
    external_id: str | None
    status: str | None
    units: int = 0
    skipped: str | None = None


def route_many(store: Store, order_ids: Iterable[int], *, actor: str = "operator") -> list[Routed]:
    out: list[Routed] = []
    for oid in dict.fromkeys(order_ids):
        seen: dict[str, str] = {}  # the order's external id once read, for a refusal's row
        try:
            out.append(store.run(lambda conn: _route_one(conn, oid, actor, seen)))
        except NotFound:
            out.append(Routed(oid, None, None, skipped=f"no order {oid}"))
        except (TransitionError, StockError) as exc:
            out.append(Routed(oid, seen.get("external_id"), None, skipped=str(exc)))
    return out


def _route_one(conn: Connection, oid: int, actor: str, seen: dict[str, str]) -> Routed:
    """Propose and place in one transaction: what is placed is what was proposed."""
    proposal = propose_in(conn, oid)
    seen["external_id"] = proposal.external_id
    if proposal.refused is not None:
        return Routed(oid, proposal.external_id, None, skipped=proposal.refused)
    if not proposal.acceptable:
        return Routed(oid, proposal.external_id, None,
                      skipped=f"order {proposal.external_id}: the rules place nothing now ({proposal.outcome})")
    placed = place_in(conn, oid, proposal.placements, actor=actor, rule=proposal.rule)
    return Routed(oid, placed.external_id, placed.status, sum(p.qty for p in placed.placements))
