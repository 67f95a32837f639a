from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData, Table, inspect, insert, select, update

from store import Store, check, ingest, open_store, upgrade
from store.catalog import NewSku, add_channel, add_location, add_skus
from store.inventory import receive
from store.types import utcnow
from store.migrate import alembic_config, current_revision, head_revision
from store.models import Base, Channel, OrderLine, Reservation, StockLevel
from tests.conftest import PG_SCHEMA, drop_pg_schema, need_postgres, reset_pg_schema
from tests.factories import order
from tests.store.helpers import count, order_row


def _allocated_order_as_0001_wrote_it(store: Store, external_id: str, *, qty: int) -> None:
    """Rows only in the columns revision 0001 has (today's intake writes newer ones)."""
    with store.write() as conn:
        # The tables as they are in the database, not as today's models describe them.
        old = MetaData()
        orders = Table("orders", old, autoload_with=conn)
        lines = Table("order_lines", old, autoload_with=conn)
        channel = conn.execute(select(Channel.id)).scalar_one()
        sku, location = conn.execute(select(StockLevel.sku_id, StockLevel.location_id)).one()
        oid = conn.execute(insert(orders).values(channel_id=channel, external_id=external_id, status="allocated",
                                                currency="USD", total_minor=qty * 1000, version=0, priority=0,
                                                received_at=utcnow(), updated_at=utcnow()).returning(orders.c.id)).scalar_one()
        lid = conn.execute(insert(lines).values(order_id=oid, line_no=1, sku_id=sku, item="S1", item_kind="sku",
                                                    item_ids={}, qty=qty, unit_price_minor=1000, qty_reserved=qty,
                                                    qty_backordered=0, qty_shipped=0, qty_cancelled=0,
                                                    ).returning(lines.c.id)).scalar_one()
        conn.execute(insert(Reservation).values(line_id=lid, sku_id=sku, location_id=location, qty=qty))
        conn.execute(update(StockLevel).values(reserved=StockLevel.reserved + qty))


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
    _allocated_order_as_0001_wrote_it(store, "old-1", qty=2)
    upgrade(store)
    assert current_revision(store) == head_revision()
    assert order_row(store, "old-1").status == "allocated"
    ingest(store, [order("new-1", ("S1", 1), ("S1", 0))])  # what 0002 allows
    assert count(store, OrderLine) == 3
    with store.read() as conn:  # 0004: old lines have no line id or unit, new ones may
        assert conn.execute(select(OrderLine.line_ref, OrderLine.uom).where(OrderLine.line_no == 1)).all() == [
            (None, None), (None, None)]
    assert check(store).ok
    store.dispose()
    if backend == "postgresql":
        drop_pg_schema(f"{PG_SCHEMA}_upgrade")


def _downgrade(store: Store, revision: str) -> None:
    """Alembic's downgrade on the store's connection, foreign keys off on SQLite for the table
    copies, as store.migrate.upgrade does."""
    cfg = alembic_config()
    with store.engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        raw = conn.connection.dbapi_connection
        assert raw is not None
        if sqlite:
            raw.execute("PRAGMA foreign_keys=OFF")
        try:
            with conn.begin():
                cfg.attributes["connection"] = conn
                command.downgrade(cfg, revision)
        finally:
            if sqlite:
                raw.execute("PRAGMA foreign_keys=ON")


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_downgrading_to_0005_and_back_leaves_exactly_what_the_models_describe(backend: str, tmp_path: Path) -> None:
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'round.db'}"
    else:
        need_postgres()
        url = reset_pg_schema(f"{PG_SCHEMA}_round")
    store = open_store(url)
    upgrade(store)
    _downgrade(store, "0005")  # 0007 (the KPI view) goes first, then 0006
    assert current_revision(store) == "0005"
    with store.engine.connect() as conn:
        seen = inspect(conn)
        left = {"routing_rulesets", "routing_decisions", "location_load", "dropship_orders", "counters"} & set(
            seen.get_table_names())
        assert left == set()
        assert "kpi_order_facts" not in seen.get_view_names()
    upgrade(store)
    assert current_revision(store) == head_revision()
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
        assert "kpi_order_facts" in inspect(conn).get_view_names()
    assert diff == []
    store.dispose()
    if backend == "postgresql":
        drop_pg_schema(f"{PG_SCHEMA}_round")
