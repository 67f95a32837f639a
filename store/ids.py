"""Primary keys for bulk inserts, taken before the insert so rows can go in by executemany.

On PostgreSQL the ids come from the table's own sequence (safe under any concurrency). On
SQLite the write transaction holds the database's write lock (BEGIN IMMEDIATE), so the
next ids after the current maximum cannot be taken by anyone else.
"""

from __future__ import annotations

from sqlalchemy import Connection, func, select, text
from sqlalchemy.orm import DeclarativeBase

__all__ = ["allocate_ids"]


def allocate_ids(conn: Connection, model: type[DeclarativeBase], n: int) -> list[int]:
    if n <= 0:
        return []
    name: str = model.__tablename__
    if conn.dialect.name == "postgresql":
        rows = conn.execute(
            text("SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"),
            {"t": name, "n": n},
        ).scalars().all()
        return [int(v) for v in rows]
    top = conn.execute(select(func.coalesce(func.max(text("id")), 0)).select_from(text(name))).scalar_one()
    return list(range(int(top) + 1, int(top) + 1 + n))
