"""Alembic environment: runs on the connection `store.migrate` hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

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


def _migrate(conn: object) -> None:
    context.configure(
        connection=conn,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite ALTER TABLE goes through table copies
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run()
