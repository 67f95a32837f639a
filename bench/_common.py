"""Shared plumbing for the bench scripts: JSON-line output, stderr progress, medians, and
throw-away PostgreSQL schemas (one per run, so every run starts from an empty store)."""

from __future__ import annotations

import json
import os
import statistics
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.engine import URL, make_url

__all__ = ["emit", "log", "median", "pg_url", "pg_reachable", "pg_conninfo", "PgSchema"]

DEFAULT_PG_URL = "postgresql+psycopg://127.0.0.1/test"


def emit(**fields: Any) -> None:
    """One figure, one JSON object, on stdout (nothing else goes there)."""
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


def log(msg: str) -> None:
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()


def median(values: list[float]) -> float:
    return float(statistics.median(values))


def percentile(values: list[float], p: float) -> float:
    """The `p`th percentile (0-100), nearest rank: a value that was measured."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def pg_url() -> URL:
    raw = os.environ.get("OMS_BENCH_PG_URL") or DEFAULT_PG_URL
    if raw.startswith(("postgresql://", "postgres://")):
        raw = "postgresql+psycopg://" + raw.split("://", 1)[1]
    return make_url(raw)


def pg_conninfo(url: URL) -> str:
    """The libpq URI psycopg takes, from an SQLAlchemy URL (driver name dropped)."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def pg_reachable(url: URL) -> str | None:
    """None if we can connect, else the reason (for the stderr note)."""
    import psycopg

    try:
        with psycopg.connect(pg_conninfo(url), connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:  # any failure means: no PostgreSQL figures this run
        return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
    return None


class PgSchema:
    """A schema of our own in the bench database; `fresh()` empties it for the next run.

    The name carries the pid so two people running the bench on one server do not collide.
    """

    def __init__(self, url: URL, prefix: str) -> None:
        self.base = url
        self.name = f"{prefix}_{os.getpid()}"
        # libpq `options`: every connection (SQLAlchemy's and the raw driver's) sees only our schema.
        self.options = f"-csearch_path={self.name}"
        self.url = url.update_query_dict({"options": self.options})

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(pg_conninfo(self.base), autocommit=True) as conn:
            conn.execute(sql)

    def fresh(self) -> None:
        self._admin(f'DROP SCHEMA IF EXISTS "{self.name}" CASCADE; CREATE SCHEMA "{self.name}"')

    def drop(self) -> None:
        self._admin(f'DROP SCHEMA IF EXISTS "{self.name}" CASCADE')

    def connect(self, **kw: Any) -> Any:
        import psycopg

        return psycopg.connect(pg_conninfo(self.base), options=self.options, **kw)

    @contextmanager
    def kept(self) -> Iterator[PgSchema]:
        """Drop the schema on the way out, whatever happened."""
        try:
            yield self
        finally:
            try:
                self.drop()
            except Exception as exc:  # cleanup must not hide the real error
                log(f"warning: could not drop schema {self.name}: {exc}")
