"""Schema migrations (Alembic), driven from code so `oms init` needs no alembic.ini."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from .db import Store
from .errors import StoreError

__all__ = ["upgrade", "current_revision", "head_revision", "alembic_config"]

_HERE = Path(__file__).resolve().parent / "migrations"


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_HERE))
    return cfg


def upgrade(store: Store, revision: str = "head", *, config: Config | None = None) -> None:
    """Bring the store's schema to `revision` (default the newest); `config` names other
    migration scripts (a test of a migration yet to be written)."""
    cfg = config or alembic_config()
    with store.engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        raw: Any = conn.connection.dbapi_connection
        if sqlite:
            # SQLite changes a table by copying it; with foreign keys enforced, dropping the
            # old copy fails while other tables point at it. Off for the migration only (the
            # pragma is ignored inside a transaction, so it goes before BEGIN), then checked.
            raw.execute("PRAGMA foreign_keys=OFF")
        try:
            with conn.begin():
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, revision)
                if sqlite:
                    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise StoreError(f"migration to {revision} left broken references: {broken[:5]}")
        finally:
            if sqlite:
                raw.execute("PRAGMA foreign_keys=ON")


def current_revision(store: Store) -> str | None:
    with store.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()
