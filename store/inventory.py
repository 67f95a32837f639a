"""Stock: receipts and adjustments through the ledger, reservations by one conditional
UPDATE (invariant 4), safety stock, and available-to-promise per channel."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, update

from .bulk import upsert_insert
from .catalog import channel_location_ids, location_id, sku_id
from .db import Store
from .errors import InsufficientStock, StockError
from .journal import audit
from .models import Channel, StockLevel, StockMovement
from .types import utcnow

__all__ = [
    "StockRow",
    "reserve",
    "reserve_many",
    "release",
    "receive",
    "adjust",
    "set_safety",
    "stock_of",
    "available_to_promise",
    "apply_movement",
]


@dataclass(frozen=True, slots=True)
class StockRow:
    sku: str
    location: str
    on_hand: int
    reserved: int
    safety: int

    @property
    def available(self) -> int:
        return max(0, self.on_hand - self.reserved - self.safety)


_RESERVE = (
    update(StockLevel)
    .where(
        StockLevel.sku_id == bindparam("p_sku"),
        StockLevel.location_id == bindparam("p_loc"),
        StockLevel.on_hand - StockLevel.reserved - StockLevel.safety >= bindparam("p_qty"),
    )
    .values(reserved=StockLevel.reserved + bindparam("p_qty"))
)
_RELEASE = (
    update(StockLevel)
    .where(
        StockLevel.sku_id == bindparam("p_sku"),
        StockLevel.location_id == bindparam("p_loc"),
        StockLevel.reserved >= bindparam("p_qty"),
    )
    .values(reserved=StockLevel.reserved - bindparam("p_qty"))
)
# The same conditional UPDATE in the driver's own dialect, for reserving a batch at once.
_RESERVE_SQL = {
    "postgresql": "UPDATE stock_levels SET reserved = reserved + %(q)s WHERE sku_id = %(s)s AND location_id = %(l)s "
    "AND on_hand - reserved - safety >= %(q)s RETURNING 1",
    "sqlite": "UPDATE stock_levels SET reserved = reserved + :q WHERE sku_id = :s AND location_id = :l "
    "AND on_hand - reserved - safety >= :q",
}


def reserve(conn: Connection, sku: int, location: int, qty: int) -> bool:
    """Reserve `qty` units if, and only if, they are available: one conditional UPDATE.

    Never read-modify-write: the database re-checks the condition under the row lock,
    so concurrent reservations cannot take the same unit twice.
    """
    if qty <= 0:
        raise StockError(f"reservation quantity must be positive, got {qty}")
    result = conn.execute(_RESERVE, {"p_sku": sku, "p_loc": location, "p_qty": qty})
    return result.rowcount == 1


def reserve_many(conn: Connection, wanted: Sequence[tuple[int, int, int]]) -> list[bool]:
    """`reserve` for many (sku, location, qty) at once, in order; which ones got stock.

    Each is still its own conditional UPDATE; on PostgreSQL they travel in one pipeline
    instead of one round trip each.
    """
    if any(q <= 0 for _, _, q in wanted):
        raise StockError("reservation quantities must be positive")
    if not wanted:
        return []
    dbapi = conn.connection.dbapi_connection
    assert dbapi is not None
    params = [{"s": s, "l": loc, "q": q} for s, loc, q in wanted]
    cur: Any = dbapi.cursor()  # the driver's own cursor: psycopg's pipelined executemany
    try:
        if conn.dialect.name == "postgresql":
            cur.executemany(_RESERVE_SQL["postgresql"], params, returning=True)
            got = []
            for _ in cur.results():
                got.append(cur.fetchone() is not None)
            return got
        got = []
        for p in params:
            cur.execute(_RESERVE_SQL["sqlite"], p)
            got.append(cur.rowcount == 1)
        return got
    finally:
        cur.close()


def release(conn: Connection, sku: int, location: int, qty: int) -> None:
    """Give back reserved units (cancel, reroute, ship)."""
    result = conn.execute(_RELEASE, {"p_sku": sku, "p_loc": location, "p_qty": qty})
    if result.rowcount != 1:
        raise StockError(f"cannot release {qty} reserved units of sku {sku} at location {location}")


def apply_movement(
    conn: Connection,
    sku: int,
    location: int,
    qty: int,
    kind: str,
    *,
    reference: str | None = None,
    actor: str = "system",
    note: str | None = None,
) -> int:
    """Change on_hand by `qty` and append the ledger row, in the caller's transaction.

    A decrease that would take on_hand below zero or below what is reserved raises
    InsufficientStock and changes nothing. Returns the new on_hand.
    """
    if qty == 0:
        raise StockError("a stock movement of 0 units records nothing")
    now = utcnow()
    if qty > 0:
        stmt = upsert_insert(conn, StockLevel).values(sku_id=sku, location_id=location, on_hand=qty, reserved=0, safety=0, updated_at=now)
        stmt = stmt.on_conflict_do_update(
            index_elements=["sku_id", "location_id"],
            set_={"on_hand": StockLevel.on_hand + qty, "updated_at": now},
        )
        conn.execute(stmt)
    else:
        result = conn.execute(
            update(StockLevel)
            .where(
                StockLevel.sku_id == sku,
                StockLevel.location_id == location,
                StockLevel.on_hand - StockLevel.reserved >= -qty,
            )
            .values(on_hand=StockLevel.on_hand + qty, updated_at=now)
        )
        if result.rowcount != 1:
            row = conn.execute(
                select(StockLevel.on_hand, StockLevel.reserved).where(
                    StockLevel.sku_id == sku, StockLevel.location_id == location
                )
            ).first()
            have, held = (row.on_hand, row.reserved) if row else (0, 0)
            raise InsufficientStock(
                f"cannot remove {-qty} units: on hand {have}, of which {held} reserved for orders"
            )
    conn.execute(
        insert(StockMovement).values(
            sku_id=sku, location_id=location, qty=qty, kind=kind, reference=reference, actor=actor, note=note, at=now
        )
    )
    on_hand = conn.execute(
        select(StockLevel.on_hand).where(StockLevel.sku_id == sku, StockLevel.location_id == location)
    ).scalar_one()
    return int(on_hand)


def _book(
    store: Store, sku: str, location: str, qty: int, kind: str, action: str, *,
    actor: str, reference: str | None = None, note: str | None = None,
) -> int:
    def _do(conn: Connection) -> int:
        s, loc = sku_id(conn, sku), location_id(conn, location)
        on_hand = apply_movement(conn, s, loc, qty, kind, reference=reference, actor=actor, note=note)
        detail = {"sku": sku, "location": location, "qty": qty, "reference": reference, "note": note}
        audit(conn, actor, "stock", s, action, {k: v for k, v in detail.items() if v is not None})
        if qty > 0:
            # Imported here: routing reserves through this module.
            from .routing.backorders import fill_backorders

            fill_backorders(conn, [s], location=loc, actor=actor)
        return on_hand

    return store.run(_do)


def receive(
    store: Store, sku: str, location: str, qty: int, *, reference: str | None = None, actor: str = "system"
) -> int:
    """Goods received at a location: on_hand goes up through the ledger. Returns on_hand."""
    if qty <= 0:
        raise StockError(f"a receipt must be of a positive quantity, got {qty}")
    return _book(store, sku, location, qty, "receipt", "stock.received", actor=actor, reference=reference)


def adjust(
    store: Store, sku: str, location: str, delta: int, *, reason: str, actor: str = "system"
) -> int:
    """A counted correction (damage, cycle count). A reason is required. Returns on_hand."""
    if not reason.strip():
        raise StockError("an adjustment needs a reason")
    return _book(store, sku, location, delta, "adjustment", "stock.adjusted", actor=actor, note=reason)


def set_safety(store: Store, sku: str, location: str, qty: int, *, actor: str = "system") -> None:
    """Units held back from reservation at this location (damaged shelf, display stock, buffer)."""
    if qty < 0:
        raise StockError("safety stock cannot be negative")

    def _do(conn: Connection) -> None:
        s, loc = sku_id(conn, sku), location_id(conn, location)
        stmt = upsert_insert(conn, StockLevel).values(sku_id=s, location_id=loc, on_hand=0, reserved=0, safety=qty, updated_at=utcnow())
        conn.execute(stmt.on_conflict_do_update(index_elements=["sku_id", "location_id"], set_={"safety": qty}))
        audit(conn, actor, "stock", s, "stock.safety_set", {"sku": sku, "location": location, "safety": qty})

    store.run(_do)


def stock_of(conn: Connection, sku: str) -> list[StockRow]:
    from .models import Location, Sku

    rows = conn.execute(
        select(Sku.code, Location.code, StockLevel.on_hand, StockLevel.reserved, StockLevel.safety)
        .join(Sku, Sku.id == StockLevel.sku_id)
        .join(Location, Location.id == StockLevel.location_id)
        .where(Sku.code == sku)
        .order_by(Location.priority, Location.code)
    ).all()
    return [StockRow(*r) for r in rows]


def available_to_promise(conn: Connection, sku: str, channel: str) -> int:
    """Units a channel may sell now: available stock at the locations that serve it."""
    ch = conn.execute(select(Channel.id).where(Channel.code == channel)).scalar_one_or_none()
    if ch is None:
        from .errors import NotFound

        raise NotFound(f"no channel {channel!r}")
    locs = channel_location_ids(conn, ch)
    s = sku_id(conn, sku)
    avail = func.sum(
        func.max(StockLevel.on_hand - StockLevel.reserved - StockLevel.safety, 0)
        if conn.dialect.name == "sqlite"
        else func.greatest(StockLevel.on_hand - StockLevel.reserved - StockLevel.safety, 0)
    )
    value = conn.execute(
        select(avail).where(StockLevel.sku_id == s, StockLevel.location_id.in_(locs))
    ).scalar()
    return int(value or 0)
