"""Opening the store: database URL, engine set-up, and the write transaction.

SQLite is the zero set-up default (`<OMS_HOME>/oms.db`, WAL, busy timeout, write
transactions taken with BEGIN IMMEDIATE so two writers queue instead of deadlocking).
PostgreSQL (`OMS_DATABASE_URL=postgresql+psycopg://...`) lets many processes share it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError

from .errors import ConfigError, ConflictError

__all__ = ["Store", "open_store", "default_url", "data_dir"]

T = TypeVar("T")

# SQLSTATEs after which a PostgreSQL transaction can simply be run again.
_PG_RETRYABLE = {"40001", "40P01", "55P03"}


def data_dir() -> Path:
    """The data directory: OMS_HOME, else $XDG_DATA_HOME/oms, else ~/.local/share/oms."""
    home = os.environ.get("OMS_HOME")
    if home:
        return Path(home).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(xdg) / "oms"


def default_url() -> str:
    url = os.environ.get("OMS_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{data_dir() / 'oms.db'}"


def _normalise(url: str) -> str:
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def _is_retryable(exc: DBAPIError) -> bool:
    code = getattr(exc.orig, "sqlstate", None)
    if code in _PG_RETRYABLE:
        return True
    text = str(exc.orig).lower()
    return "database is locked" in text or "deadlock" in text


class Store:
    """An open store: the engine plus the transaction helpers every write uses."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction; commits on success, rolls back on any error."""
        with self.engine.connect() as conn:
            conn.execution_options(oms_write=True)
            try:
                with conn.begin():
                    yield conn
            except OperationalError as exc:
                if _is_retryable(exc):
                    raise ConflictError(f"concurrent write, try again: {exc.orig}") from exc
                raise
            except Exception as exc:
                # The hot paths use the driver's cursor directly; its errors arrive unwrapped.
                if getattr(exc, "sqlstate", None) in _PG_RETRYABLE:
                    raise ConflictError(f"concurrent write, try again: {exc}") from exc
                raise

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            with conn.begin():
                yield conn

    def run(self, fn: Callable[[Connection], T], *, attempts: int = 8) -> T:
        """Run `fn` in a write transaction, again from the start if a concurrent writer won."""
        for attempt in range(attempts):
            try:
                with self.write() as conn:
                    return fn(conn)
            except ConflictError:
                if attempt == attempts - 1:
                    raise
                time.sleep(min(0.5, 0.005 * 2**attempt))
        raise AssertionError("unreachable")

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control from the driver so BEGIN is ours to issue.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=60000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get("oms_write"):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")


def open_store(url: str | None = None, **engine_kw: Any) -> Store:
    """Open (not create) the store at `url`, default `default_url()`."""
    raw = _normalise(url or default_url())
    try:
        parsed = make_url(raw)
    except Exception as exc:  # sqlalchemy raises ArgumentError with a terse text
        raise ConfigError(f"cannot read database URL {raw!r}: {exc}") from exc
    if parsed.get_backend_name() == "sqlite":
        db = parsed.database
        if db and db != ":memory:":
            Path(db).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, **engine_kw)
        _sqlite_setup(engine)
    elif parsed.get_backend_name() == "postgresql":
        engine_kw.setdefault("pool_pre_ping", True)
        engine = create_engine(parsed, **engine_kw)
    else:
        raise ConfigError(f"unsupported database {parsed.get_backend_name()!r}: use sqlite or postgresql")
    return Store(engine)
