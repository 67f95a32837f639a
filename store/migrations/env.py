"""Alembic environment: runs on the connection `store.migrate` hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from store.models import Base

config = context.config
target_metadata = Base.metadata


def run() -> None:
    conn = config.attributes.get("connection")
    if conn is None:
        # `alembic` run by hand from a checkout: use the URL in the config.
        engine = create_engine(config.get_main_option("sqlalchemy.url") or "sqlite://")
        with engine.begin() as own:
            _migrate(own)
        return
    _migrate(conn)


def _migrate(conn: Connection) -> None:
    context.configure(
        connection=conn,
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite ALTER TABLE goes through table copies
        compare_type=True,
    )
    sqlite = conn.dialect.name == "sqlite"
    with context.begin_transaction():
        if sqlite:
            # A table copy ends by renaming the copy into place; since SQLite 3.26 that rename
            # fails while a view (kpi_order_facts) names the table just dropped.
            conn.exec_driver_sql("PRAGMA legacy_alter_table=ON")
        try:
            context.run_migrations()
        finally:
            if sqlite:
                conn.exec_driver_sql("PRAGMA legacy_alter_table=OFF")


run()
