"""`oms check`: prove that stock levels agree with the ledger and nothing is negative."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Connection, func, select

from .db import Store
from .models import Location, OrderLine, Reservation, Sku, StockLevel, StockMovement

__all__ = ["Problem", "CheckReport", "check"]


@dataclass(frozen=True, slots=True)
class Problem:
    kind: str
    where: str
    detail: str

    def __str__(self) -> str:
        return f"{self.kind:<22} {self.where:<32} {self.detail}"


@dataclass
class CheckReport:
    levels: int = 0
    movements: int = 0
    reservations: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def check(store: Store) -> CheckReport:
    """Read-only; every figure comes from one snapshot on PostgreSQL (REPEATABLE READ)."""
    with store.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            return _check(conn)


def _names(conn: Connection) -> tuple[dict[int, str], dict[int, str]]:
    skus = dict(conn.execute(select(Sku.id, Sku.code)).all())
    locs = dict(conn.execute(select(Location.id, Location.code)).all())
    return skus, locs


def _check(conn: Connection) -> CheckReport:
    report = CheckReport()
    skus, locs = _names(conn)

    def where(sku: int, loc: int) -> str:
        return f"{skus.get(sku, sku)} @ {locs.get(loc, loc)}"

    levels = {
        (r.sku_id, r.location_id): r
        for r in conn.execute(
            select(StockLevel.sku_id, StockLevel.location_id, StockLevel.on_hand, StockLevel.reserved, StockLevel.safety)
        )
    }
    report.levels = len(levels)
    ledger = {
        (s, l): (int(q), int(n))
        for s, l, q, n in conn.execute(
            select(StockMovement.sku_id, StockMovement.location_id, func.sum(StockMovement.qty), func.count()).group_by(
                StockMovement.sku_id, StockMovement.location_id
            )
        )
    }
    report.movements = sum(n for _, n in ledger.values())
    held = {
        (s, l): (int(q), int(n))
        for s, l, q, n in conn.execute(
            select(Reservation.sku_id, Reservation.location_id, func.sum(Reservation.qty), func.count())
            .where(Reservation.state == "active")
            .group_by(Reservation.sku_id, Reservation.location_id)
        )
    }
    report.reservations = sum(n for _, n in held.values())

    for key in sorted(set(levels) | set(ledger) | set(held)):
        lvl = levels.get(key)
        on_hand = lvl.on_hand if lvl else 0
        reserved = lvl.reserved if lvl else 0
        booked = ledger.get(key, (0, 0))[0]
        promised = held.get(key, (0, 0))[0]
        if on_hand != booked:
            report.problems.append(
                Problem("on_hand != ledger", where(*key), f"level says {on_hand}, movements sum to {booked}")
            )
        if reserved != promised:
            report.problems.append(
                Problem("reserved != reservations", where(*key), f"level says {reserved}, active reservations hold {promised}")
            )
        if on_hand < 0 or reserved < 0:
            report.problems.append(Problem("negative stock", where(*key), f"on_hand {on_hand}, reserved {reserved}"))
        if reserved > on_hand:
            report.problems.append(Problem("oversold", where(*key), f"reserved {reserved} > on_hand {on_hand}"))

    # Each line's reserved quantity must equal its active reservations.
    per_line = (
        select(Reservation.line_id.label("line_id"), func.sum(Reservation.qty).label("qty"))
        .where(Reservation.state == "active")
        .group_by(Reservation.line_id)
        .subquery()
    )
    bad_lines = conn.execute(
        select(OrderLine.id, OrderLine.order_id, OrderLine.qty_reserved, func.coalesce(per_line.c.qty, 0))
        .outerjoin(per_line, per_line.c.line_id == OrderLine.id)
        .where(OrderLine.qty_reserved != func.coalesce(per_line.c.qty, 0))
        .limit(50)
    ).all()
    for lid, oid, said, held_qty in bad_lines:
        report.problems.append(
            Problem("line reserved mismatch", f"order {oid} line {lid}", f"line says {said}, reservations hold {held_qty}")
        )
    return report
