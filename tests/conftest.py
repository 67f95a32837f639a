"""Fixtures: a migrated store on SQLite and on a real PostgreSQL, and a small catalog.

PostgreSQL comes from OMS_TEST_PG_URL (default postgresql+psycopg://127.0.0.1/test); tests
use their own schema in it. Without a server those tests skip, unless OMS_REQUIRE_SERVICES=1
(CI), where they fail.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text

from store import Store, open_store, upgrade
from store.catalog import NewSku, add_channel, add_location, add_skus
from store.models import Base

os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")

PG_URL = os.environ.get("OMS_TEST_PG_URL", "postgresql+psycopg://127.0.0.1/test")
# One schema per test run, so runs side by side (two developers, a helper) never share tables.
PG_SCHEMA = f"oms_test_{os.getpid()}"
REQUIRE_SERVICES = os.environ.get("OMS_REQUIRE_SERVICES") == "1"


def _pg_schema_url(schema: str) -> str:
    sep = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{sep}options=-csearch_path%3D{schema}"


def _pg_dsn() -> str:
    return PG_URL.replace("postgresql+psycopg://", "postgresql://")


def pg_available() -> str | None:
    """None if PostgreSQL answers, else why not."""
    try:
        with psycopg.connect(_pg_dsn(), connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0]


def need_postgres() -> None:
    why = pg_available()
    if why is None:
        return
    if REQUIRE_SERVICES:
        pytest.fail(f"PostgreSQL required (OMS_REQUIRE_SERVICES=1) but unreachable at {PG_URL}: {why}")
    pytest.skip(reason=f"postgres unreachable at {PG_URL}: {why}")


def reset_pg_schema(schema: str) -> str:
    """Create an empty schema and return a URL whose connections use it."""
    with psycopg.connect(_pg_dsn(), autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        conn.execute(f"CREATE SCHEMA {schema}")
    return _pg_schema_url(schema)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "oms.db"
    store = open_store(f"sqlite:///{path}")
    upgrade(store)
    store.dispose()
    return path


@pytest.fixture(scope="session")
def pg_migrated() -> Iterator[str]:
    need_postgres()
    url = reset_pg_schema(PG_SCHEMA)
    store = open_store(url)
    upgrade(store)
    store.dispose()
    yield url
    drop_pg_schema(PG_SCHEMA)


def drop_pg_schema(schema: str) -> None:
    with psycopg.connect(_pg_dsn(), autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def _truncate_all(store: Store) -> None:
    names = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with store.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> Iterator[str]:
    """A URL of an empty, migrated store; every store test runs once on each database."""
    if request.param == "sqlite":
        path = tmp_path / "oms.db"
        shutil.copy(sqlite_template, path)
        yield f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("pg_migrated")
        store = open_store(url)
        _truncate_all(store)
        store.dispose()
        yield url


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    s = open_store(db_url)
    yield s
    s.dispose()


@pytest.fixture
def catalog(store: Store) -> Store:
    """Channel `web` (cart) and `amz` (marketplace), locations A (preferred) and B, SKUs S1..S5."""
    add_channel(store, "web", "Web shop", "cart")
    add_channel(store, "amz", "Amazon", "marketplace")
    add_location(store, "A", "Alpha DC", priority=1)
    add_location(store, "B", "Beta DC", priority=2)
    add_skus(store, [NewSku(f"S{i}", f"Thing {i}", 1000 * i, "USD") for i in range(1, 6)])
    return store
