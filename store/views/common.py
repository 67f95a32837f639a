"""What every read-only view shares: a read connection with errors translated, money as text,
a prefix match an index answers, and the store's change marker."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import ColumnElement, Connection, SQLColumnExpression, and_
from sqlalchemy.exc import SQLAlchemyError

from ..db import Store
from ..errors import StoreError
from ..money import currency_exponent

__all__ = ["IN_CHUNK", "change_marker", "format_money", "reading", "starts_with"]

# Well under SQLite's and PostgreSQL's bound-parameter limits.
IN_CHUNK = 900
# Above every character a search could be followed by: `prefix <= x < prefix + _TOP` is a prefix match.
_TOP = "\U0010ffff"


@contextmanager
def reading(store: Store) -> Iterator[Connection]:
    """`store.read()` with database errors translated to `StoreError` at this boundary."""
    try:
        with store.read() as conn:
            yield conn
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot read the store: {getattr(exc, 'orig', None) or exc}") from exc


def format_money(minor: int, currency: str) -> str:
    """`1299, "USD"` -> `"USD 12.99"`; the currency's own number of decimals."""
    exponent = currency_exponent(currency)
    sign = "-" if minor < 0 else ""
    units, frac = divmod(abs(minor), 10**exponent)
    if exponent == 0:
        return f"{currency} {sign}{units:,}"
    return f"{currency} {sign}{units:,}.{frac:0{exponent}d}"


def change_marker(conn: Connection) -> int:
    """A number that grows whenever anything is written through `store/` (every write path
    records an audit event): the newest audit event's id, 0 for a new store."""
    from sqlalchemy import func, select

    from ..models import AuditEvent

    return int(conn.execute(select(func.coalesce(func.max(AuditEvent.id), 0))).scalar_one())


def starts_with(conn: Connection, column: SQLColumnExpression[Any], prefix: str) -> ColumnElement[bool]:
    """`column` starts with `prefix`, as a range an index on the column answers: compared
    byte-wise on PostgreSQL (its pattern operators, matching varchar_pattern_ops indexes)
    whatever the database's collation; SQLite's default collation is byte-wise."""
    high = prefix + _TOP
    if conn.dialect.name == "postgresql":
        return and_(column.op("~>=~")(prefix), column.op("~<~")(high))
    return and_(column >= prefix, column < high)
