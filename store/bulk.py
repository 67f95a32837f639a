"""Bulk inserts for the intake hot path: COPY on PostgreSQL, executemany on SQLite.

Rows must carry their primary keys already (see `store.ids`) and all have the same keys.
Constraint violations surface as `ConflictError` so the caller's transaction is retried.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import JSON, Connection, insert
from sqlalchemy.orm import DeclarativeBase

from .errors import ConflictError

__all__ = ["insert_rows"]


def insert_rows(conn: Connection, model: type[DeclarativeBase], rows: Sequence[dict[str, Any]]) -> None:
    if not rows:
        return
    if conn.dialect.name != "postgresql":
        conn.execute(insert(model), rows)
        return
    _copy(conn, model, rows)


def _copy(conn: Connection, model: type[DeclarativeBase], rows: Sequence[dict[str, Any]]) -> None:
    import psycopg
    from psycopg.types.json import Jsonb

    table = model.__table__
    names = list(rows[0])
    json_cols = {n for n in names if isinstance(table.c[n].type, JSON)}
    columns = ", ".join(f'"{n}"' for n in names)
    dbapi: Any = conn.connection.dbapi_connection
    try:
        with dbapi.cursor() as cur:
            with cur.copy(f'COPY "{table.name}" ({columns}) FROM STDIN') as copy:  # type: ignore[attr-defined]
                for row in rows:
                    copy.write_row(
                        [Jsonb(row[n]) if n in json_cols and row[n] is not None else row[n] for n in names]
                    )
    except psycopg.errors.IntegrityError as exc:
        raise ConflictError(f"bulk insert into {table.name} conflicted: {exc}") from exc  # type: ignore[attr-defined]
