"""Numbers we hand out ourselves (SSCC serials, RMA and dropship PO numbers): one counter row
per name, taken by an atomic UPDATE ... RETURNING in the caller's transaction."""

from __future__ import annotations

from sqlalchemy import Connection, update

from .bulk import upsert_insert
from .errors import StoreError
from .models import Counter

__all__ = ["take"]


def take(conn: Connection, name: str, count: int = 1) -> list[int]:
    """The next `count` numbers of counter `name` (starting at 1); never handed out twice."""
    if count < 1:
        raise StoreError("take at least one number")
    conn.execute(
        upsert_insert(conn, Counter).values(name=name, next_value=1).on_conflict_do_nothing(index_elements=["name"])
    )
    after = conn.execute(
        update(Counter).where(Counter.name == name).values(next_value=Counter.next_value + count)
        .returning(Counter.next_value)
    ).scalar_one()
    first = int(after) - count
    return list(range(first, first + count))
