"""Bulk inserts for the intake hot path: COPY on PostgreSQL, the driver's executemany on SQLite.

Values go through each column type's own bind processor, so what lands in the table is
exactly what an ORM insert would have written; only the per-row statement machinery is
skipped.

Rows must carry their primary keys already (see `store.ids`) and all have the same keys.
Constraint violations surface as `ConflictError` so the caller's transaction is retried.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import JSON, Connection, insert
from sqlalchemy.orm import DeclarativeBase

from .errors import ConflictError

__all__ = ["insert_rows", "upsert_insert"]


def upsert_insert(conn: Connection, model: type[DeclarativeBase]) -> Any:
    """An INSERT with `on_conflict_do_nothing/_do_update`, in the connection's dialect."""
    from sqlalchemy.dialects import postgresql, sqlite

    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(model)


def insert_rows(conn: Connection, model: type[DeclarativeBase], rows: Sequence[dict[str, Any]]) -> None:
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        _copy(conn, model, rows)
    elif conn.dialect.name == "sqlite":
        _executemany(conn, model, rows)
    else:
        conn.execute(insert(model), rows)


def _executemany(conn: Connection, model: type[DeclarativeBase], rows: Sequence[dict[str, Any]]) -> None:
    table = model.__table__
    names = list(rows[0])
    dialect = conn.dialect
    procs = [table.c[n].type.dialect_impl(dialect).bind_processor(dialect) for n in names]
    sql = f'INSERT INTO "{table.name}" ({", ".join(chr(34) + n + chr(34) for n in names)}) VALUES ({", ".join("?" * len(names))})'  # type: ignore[attr-defined]
    params = [
        tuple(row[n] if proc is None or row[n] is None else proc(row[n]) for n, proc in zip(names, procs))
        for row in rows
    ]
    conn.exec_driver_sql(sql, params)


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
