from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from store import Store, check, ingest, open_store, upgrade
from store.catalog import NewSku, add_channel, add_location, add_skus
from store.inventory import receive
from store.migrate import current_revision, head_revision
from store.models import Base, OrderLine
from tests.conftest import PG_SCHEMA, drop_pg_schema, need_postgres, reset_pg_schema
from tests.factories import order
from tests.store.helpers import count, order_row


def test_store_is_at_the_newest_migration(store: Store) -> None:
    assert current_revision(store) == head_revision()


def test_migrations_create_exactly_what_the_models_describe(store: Store) -> None:
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_upgrading_a_store_with_orders_keeps_them(backend: str, tmp_path: Path) -> None:
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'old.db'}"
    else:
        need_postgres()
        url = reset_pg_schema(f"{PG_SCHEMA}_upgrade")
    store = open_store(url)
    upgrade(store, "0001")
    add_channel(store, "web", "Web", "cart")
    add_location(store, "A", "Alpha")
    add_skus(store, [NewSku("S1", "Thing")])
    receive(store, "S1", "A", 5)
    ingest(store, [order("old-1", ("S1", 2))])
    upgrade(store)
    assert current_revision(store) == head_revision()
    assert order_row(store, "old-1").status == "allocated"
    ingest(store, [order("new-1", ("S1", 1), ("S1", 0))])  # what 0002 allows
    assert count(store, OrderLine) == 3
    assert check(store).ok
    store.dispose()
    if backend == "postgresql":
        drop_pg_schema(f"{PG_SCHEMA}_upgrade")
