from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from store import Store
from store.migrate import current_revision, head_revision
from store.models import Base


def test_store_is_at_the_newest_migration(store: Store) -> None:
    assert current_revision(store) == head_revision()


def test_migrations_create_exactly_what_the_models_describe(store: Store) -> None:
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []
